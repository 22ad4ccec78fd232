"""Bootstrap intervals (docs/theory.md §7, "Uncertainty"): the percentile intervals against numpy transcriptions on
explicitly resampled rows, the coverage of the PCA-fraction intervals on Gaussian data with a known spectrum, the
exact-scan replicates against the replicate's own PCA, and the one-line errors."""

import jax
import numpy as np
import pytest

import linvae
from linvae import InputError
from linvae.analysis import (
    add_analysis,
    add_bootstrap,
    bootstrap_pca_fractions,
    percentile_interval,
    resample_counts,
)
from linvae.data import synthetic_data

dtype_promotion = "standard"  # the exact scan below trains through optax (see conftest)

LAM = np.array([4.0, 2.0, 1.0, 0.5])


def _numpy_fractions(x, counts, units, standardize):
    """Replicate PCA fractions by explicit resampling: repeat every row by its unit's count, numpy statistics."""
    out = []
    for c in counts:
        rows = np.repeat(x, c[units], axis=0)
        cov = np.cov(rows, rowvar=False, bias=True)
        if standardize:
            s = np.sqrt(np.diag(cov))
            cov = cov / np.outer(s, s)
        eig = np.sort(np.linalg.eigvalsh(cov))[::-1]
        out.append(eig / eig.sum())
    return np.array(out)


def test_counts_and_percentiles():
    counts = resample_counts(50, 7, seed=1)
    assert counts.shape == (7, 50) and np.all(counts.sum(1) == 50) and counts.min() >= 0
    np.testing.assert_array_equal(counts, resample_counts(50, 7, seed=1))
    samples = np.random.default_rng(0).normal(size=(400, 3))
    samples[:10, 1] = np.nan
    bounds = percentile_interval(samples, 0.9)
    for j in range(3):
        finite = samples[np.isfinite(samples[:, j]), j]
        np.testing.assert_allclose(bounds[j], np.quantile(finite, [0.05, 0.95]), rtol=1e-12)
    assert np.all(np.isnan(percentile_interval(np.full((5, 2), np.nan))))


@pytest.mark.parametrize("grouped", [False, True], ids=["rows", "blocks"])
def test_pca_fraction_replicates_equal_explicit_resampling(grouped):
    x, _ = synthetic_data(LAM, 600, seed=2)
    x = x + np.array([1.0, -2.0, 0.5, 3.0])                       # a mean the replicates must remove
    groups = np.arange(600) // 7 if grouped else None             # 86 blocks of 7 rows (the last of 5)
    units = np.arange(600) // 7 if grouped else np.arange(600)
    counts = resample_counts(int(units.max()) + 1, 25, seed=3)
    for standardize in (False, True):
        got = bootstrap_pca_fractions(x, n_replicates=25, groups=groups, standardize=standardize, seed=3)
        np.testing.assert_allclose(got, _numpy_fractions(x, counts, units, standardize), rtol=1e-10)


def test_pca_fraction_intervals_cover_the_truth():
    """Gaussian rows with a known spectrum: the 95 % percentile intervals of every λ_k / V cover the truth in
    90–99 % of 200 independent data sets."""
    truth = LAM / LAM.sum()
    covered = np.zeros(LAM.size)
    n_sets = 200
    for i in range(n_sets):
        x, _ = synthetic_data(LAM, 1000, seed=1000 + i)
        ci = percentile_interval(bootstrap_pca_fractions(x, n_replicates=200, standardize=False, seed=i))
        covered += (ci[:, 0] <= truth) & (truth <= ci[:, 1])
    rate = covered / n_sets
    assert np.all((0.90 <= rate) & (rate <= 0.99)), rate


@pytest.fixture(scope="module")
def exact_scan():
    x, _ = synthetic_data(np.array([5.0, 2.0, 0.8, 0.3, 0.05]), 3000, seed=4)
    ds = linvae.scan(x, linvae.price_grid(1e-3, 1, 24), linvae.ScanConfig(method="exact", n_latents=6, x64=True),
                     progress=False, bootstrap=40)
    split = linvae.data.random_split(len(x), seed=0)
    to_model = lambda rows: (rows - ds["data_mean"].values) / ds["data_scale"].values  # noqa: E731
    return ds, to_model(x[split.train]), to_model(x[split.test])


def test_exact_replicates_recover_each_replicates_own_spectrum(exact_scan):
    """An exact β-VAE replicate is the optimum of the replicate's data, measured on the replicate's evaluation
    rows; with the variance-ratio fit its thresholds are that replicate's λ_k / V, so both intervals coincide."""
    ds, x_train, _ = exact_scan
    fit = ds["collapse_fit_points"].values >= 3
    np.testing.assert_allclose(ds["collapse_threshold_ci"].values[fit], ds["pca_fraction_ci"].values[fit[:5]],
                               rtol=1e-6)
    counts = resample_counts(len(x_train), 40, seed=0)
    frac = _numpy_fractions(x_train, counts, np.arange(len(x_train)), True)
    np.testing.assert_allclose(ds["pca_fraction_ci"].values, percentile_interval(frac), rtol=1e-9)
    np.testing.assert_array_equal(ds["rank_separable"].values[:4], 1)    # λ ratios of 2.5 and more, 2,100 rows
    assert ds.attrs["bootstrap_replicates"] == 40 and ds["collapse_threshold_ci"].attrs["level"] == 0.95
    assert list(ds["bound"].values) == ["lower", "upper"]


def test_evaluation_replicates_equal_the_analysis_of_resampled_rows(exact_scan):
    """Scans without a closed-form replicate (here the exact scan relabelled sgd, with an affine variance head)
    keep their parameters: each replicate is :func:`add_analysis` of the explicitly resampled evaluation rows."""
    ds, x_train, x_eval = exact_scan
    rng = np.random.default_rng(5)
    ds = ds.assign_attrs(method="sgd")
    ds["log_sigma2_weight"] = ds["log_sigma2_weight"] + 0.05 * rng.normal(size=ds["log_sigma2_weight"].shape)
    ds = add_analysis(ds, x_eval)
    out = add_bootstrap(ds, x_train, x_eval, n_replicates=3, seed=7)
    assert out.attrs["bootstrap_resampled"].startswith("evaluation units only")
    counts = resample_counts(len(x_eval), 3, seed=np.random.SeedSequence([7, 1]))  # the evaluation stream
    with jax.numpy_dtype_promotion("standard"):
        reps = [add_analysis(ds, np.repeat(x_eval, c, axis=0)) for c in counts]
    for name, var in (("collapse_threshold_ci", "collapse_threshold"), ("utility_spectrum_ci", "utility_spectrum")):
        expected = percentile_interval(np.stack([r[var].values for r in reps]))
        np.testing.assert_allclose(out[name].values, expected, rtol=1e-7, atol=1e-15, err_msg=name)


def test_ranks_that_most_replicates_cannot_fit_get_no_interval(exact_scan):
    """A rank fitted in fewer than 95 % of the replicates (here: a grid that barely reaches the weakest active mode)
    gets NaN, not an interval from the biased subset of replicates that did fit it; nor is it called separable."""
    ds, x_train, x_eval = exact_scan
    T = ds["T"].values
    fit = linvae.analysis.collapse_fit(T, ds["M2_ranked"].values, min_points=100)   # no rank reaches 100 points
    none = ds.assign(collapse_threshold=("rank", fit.threshold))
    out = add_bootstrap(none, x_train, x_eval, n_replicates=20)
    assert np.all(np.isnan(out["collapse_threshold_ci"].values)) and np.all(out["rank_separable"].values == 0)
    same = add_bootstrap(ds, x_train, x_train, n_replicates=20)     # analysed on the training rows themselves
    np.testing.assert_allclose(same["collapse_threshold_ci"].values[:3], same["pca_fraction_ci"].values[:3],
                               rtol=1e-6)


def test_bootstrap_errors(exact_scan):
    ds, x_train, x_eval = exact_scan
    with pytest.raises(InputError, match="n_replicates"):
        add_bootstrap(ds, x_train, x_eval, n_replicates=1)
    with pytest.raises(InputError, match="level"):
        add_bootstrap(ds, x_train, x_eval, level=1.5)
    with pytest.raises(InputError, match=r"x_eval must be \(N, 5\)"):
        add_bootstrap(ds, x_train, x_eval[:, :3])
    with pytest.raises(InputError, match="groups"):
        add_bootstrap(ds, x_train, x_eval, train_groups=np.zeros(3))
    with pytest.raises(InputError, match="bootstrap"):
        linvae.scan(x_train, [0.1], linvae.ScanConfig(method="exact", n_latents=2), bootstrap=1)
