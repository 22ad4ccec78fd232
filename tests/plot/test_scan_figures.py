"""Figures of a scan (linvae.plot): each is built from a real scan and carries the artists its caption promises."""

import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection

import linvae
import linvae.plot
from linvae.data import synthetic_data

dtype_promotion = "standard"  # the scan trains through optax (see conftest)


@pytest.fixture(scope="module")
def ds():
    x = synthetic_data([4, 2, 1, 0.5, 0.1], 3000, seed=0)[0]
    with jax.numpy_dtype_promotion("standard"):
        return linvae.scan(x, linvae.price_grid(1e-3, 1, 12), linvae.ScanConfig(method="exact", n_latents=6),
                           standardize=False, progress=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _data_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _measured_lines(ax):
    return [line for line in ax.get_lines() if line.get_marker() == "o"]


def _assert_labelled(ax):
    assert ax.get_xlabel().strip() and ax.get_ylabel().strip() and ax.get_title().strip()


def test_shown_ranks_keeps_signal_ranks_only(ds):
    # five data modes, six latents: the sixth ranked latent carries no signal anywhere in the scan
    assert linvae.plot.shown_ranks(ds) == 5
    assert linvae.plot.shown_ranks(ds, min_signal=2.0) == 1  # never fewer than the first rank


def test_order_parameters(ds):
    fig = linvae.plot.plot_order_parameters(ds)
    axes = _data_axes(fig)
    assert len(axes) == 3 and len(fig.axes) == 4  # three panels and the rank colour bar
    n = linvae.plot.shown_ranks(ds)
    for ax in axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
        assert len(_measured_lines(ax)) == n
        assert ax.get_ylabel().strip() and ax.get_title().strip()
    assert axes[2].get_xlabel().strip()  # shared T axis, labelled once at the bottom
    n_fits = int(np.isfinite(ds["collapse_threshold"].values[:n]).sum())
    assert n_fits >= 4
    assert len([line for line in axes[1].get_lines() if line.get_linestyle() == "--"]) == n_fits
    # the slope +1 guide of the log-variance panel: slope 1 in (ln T, y)
    guide = [line for line in axes[2].get_lines() if line.get_linestyle() == ":"]
    assert len(guide) == 1
    tx, ty = guide[0].get_data()
    np.testing.assert_allclose(np.diff(ty) / np.diff(np.log(tx)), 1.0, rtol=1e-10)
    assert "natural log" in axes[2].get_ylabel()


def test_truncation(ds):
    fig = linvae.plot.plot_truncation(ds)
    left, right = _data_axes(fig)
    n = linvae.plot.shown_ranks(ds)
    assert (left.get_xscale(), left.get_yscale(), right.get_yscale()) == ("log", "log", "log")
    assert len(_measured_lines(left)) == n
    best = ds["truncated_distortion"].min("T").values
    guides = sorted(line.get_ydata()[0] for line in left.get_lines() if line.get_linestyle() == "--")
    np.testing.assert_allclose(guides, np.sort(best[1:n + 1]))
    for ax in (left, right):
        _assert_labelled(ax)
    # PCA keeps all 5 modes at k = 5: D̃ is (numerically) zero, so it is drawn at the floor and said so
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert any("PCA" in t for t in labels) and any("floor" in t for t in labels)
    for line in right.get_lines():
        y = np.asarray(line.get_ydata(), float)
        assert np.all(y[np.isfinite(y)] > 0)
    # no rank beyond min(K, nonzero PCA modes) is drawn: it cannot carry signal
    possible = min(ds.sizes["rank"], int(np.sum(ds["pca_fraction"].values > 1e-12)))
    xs = np.concatenate([np.asarray(c.get_offsets())[:, 0] for c in right.collections if len(c.get_offsets())])
    assert xs.max() <= max(possible, n)


def test_duality(ds):
    fig = linvae.plot.plot_duality(ds)
    (ax,) = _data_axes(fig)
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    _assert_labelled(ax)
    diagonal = [line for line in ax.get_lines() if line.get_label() == "y = x"]
    assert len(diagonal) == 1
    np.testing.assert_array_equal(*diagonal[0].get_data())
    n = linvae.plot.shown_ranks(ds)
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    offsets = [c.get_offsets() for c in points]
    assert sum(len(o) for o in offsets) == n + 5  # one point per ranked mode + 5 PCA fractions
    thresholds = ds["collapse_threshold"].values[:n]
    assert any(np.allclose(np.sort(o[:, 0]), np.sort(thresholds)) for o in offsets)


def test_duality_skips_ranks_without_a_fit(ds):
    broken = ds.copy(deep=True)
    broken["collapse_threshold"][1] = np.nan
    broken["utility_spectrum"][2] = 0.0
    fig = linvae.plot.plot_duality(broken)
    (ax,) = _data_axes(fig)
    n = linvae.plot.shown_ranks(ds)
    assert sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)) == n - 2 + 5
    assert any("2, 3" in t.get_text() for t in ax.texts)


def test_diagnostics(ds):
    fig = linvae.plot.plot_diagnostics(ds)
    axes = _data_axes(fig)
    assert len(axes) == 2
    n = linvae.plot.shown_ranks(ds)
    for ax, ref in zip(axes, (1.0, 0.0)):
        assert ax.get_xscale() == "log"
        _assert_labelled(ax)
        assert len(_measured_lines(ax)) == n
        refs = [line for line in ax.get_lines() if line.get_linestyle() == "--" and len(line.get_xdata()) == 2]
        assert len(refs) == 1 and np.all(np.asarray(refs[0].get_ydata()) == ref)
    # held out: A² = 1 + (r_k − 1) m_k(T), one dashed prediction per fitted rank
    predictions = [line for line in axes[0].get_lines() if len(line.get_xdata()) == 400]
    assert len(predictions) == np.sum(np.isfinite(ds["collapse_variance_ratio"].values[:n]))
    assert predictions and axes[0].get_legend() is not None
    # a quantity at its reference to rounding is drawn exactly there, and the panel says so
    resolution = 16 * np.finfo(np.float32).eps
    at_ref = np.abs(ds["jensen_gap_ranked"].values[:, :n]) <= resolution
    for line in _measured_lines(axes[1]):
        y = np.asarray(line.get_ydata(), float)
        assert np.all((y == 0) | ~at_ref.all(1) | np.isnan(y))
    said = any("to float32 resolution" in t.get_text() for t in axes[1].texts)
    assert said == bool(at_ref.all())


def test_theory_figure_masks_zero_rate(ds):
    fig = linvae.plot.plot_theory(ds)
    rd = _data_axes(fig)[1]
    for line in rd.get_lines():
        y = np.asarray(line.get_ydata(), float)
        assert np.all(y[np.isfinite(y)] > 0)


def test_plot_all_writes_every_figure(ds, tmp_path):
    plt.close("all")
    paths = linvae.plot.plot_all(ds, tmp_path / "figs")
    stems = {"order_parameters", "truncation", "duality", "diagnostics", "theory", "activity_criteria"}
    assert {(p.stem, p.suffix) for p in paths} == {(s, f) for s in stems for f in (".png", ".pdf")}
    for path in paths:
        assert path.parent == tmp_path / "figs" and path.stat().st_size > 1000
        head = path.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if path.suffix == ".png" else head.startswith(b"%PDF")
    assert not plt.get_fignums()  # every figure closed


def test_missing_variables_name_what_is_needed(ds):
    with pytest.raises(linvae.InputError, match="missing collapse_threshold"):
        linvae.plot.plot_duality(ds.drop_vars("collapse_threshold"))
