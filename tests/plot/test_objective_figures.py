"""Figures of the objective family (docs/theory.md §5): the LR latents plot draws the optimum and its mixing bands, the
phase-diagram plot one line per mode, and for a scan under LR the duality table compares rank by rank and the
order-parameter figure draws no β-VAE law."""

import jax
import matplotlib.pyplot as plt
import numpy as np

from linvae.analysis import duality_table
from linvae.model import Objective
from linvae.plot import plot_lr_latents, plot_order_parameters, plot_phase_diagram
from linvae.theory import optimum, phase_diagram

from helpers import EIGS, SIGMA_DEC2, analysed_exact_scan


def test_lr_latents_plot_shows_the_optimum_and_the_mixing_bands():
    T = np.geomspace(1e-2, 2.0, 60)
    eigs = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1])
    fig = plot_lr_latents(T, eigs, 0.5, 4)
    ax = fig.axes[0]
    best = optimum(T, eigs, Objective("lr", alpha=0.5), 4)
    thick = [line for line in ax.lines if line.get_linewidth() == 2]
    assert len(thick) == int(np.sum(np.any(best.M2 > 0, axis=0)))
    for line in thick:
        k = int(line.get_label().split()[-1]) - 1
        np.testing.assert_allclose(line.get_ydata(), np.where(best.M2[:, k] > 0, best.M2[:, k], np.nan))
    assert sorted(text.get_text() for text in ax.texts) == ["3+5", "4+6"]
    plt.close(fig)


def test_phase_diagram_plot():
    pd = phase_diagram(np.geomspace(1e-2, 3.0, 12), EIGS, np.linspace(0, 2, 5), np.linspace(0, 1, 5),
                       sigma_dec2=SIGMA_DEC2)
    fig = plot_phase_diagram(pd)
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(axes) == 2 and all(ax.get_yscale() == "log" for ax in axes)
    assert len(axes[0].lines) == len(EIGS) and len(axes[1].lines) == len(EIGS)
    plt.close(fig)


def test_lr_duality_compares_rank_by_rank_and_plots_draw_no_beta_law(objectives_gaussian):
    """Under LR the order by M² is not the order of the thresholds: the table's theory column is the same fit on
    the closed form ranked by M², so an exact scan matches it; the figures draw no β-VAE law for LR."""
    with jax.numpy_dtype_promotion("standard"):  # the scan trains through optax (see conftest)
        out = analysed_exact_scan(objectives_gaussian, 16, objective="lr", alpha=0.5)
    table = duality_table(out)
    ok = (table["fit_points"].values >= 3) & (table["theory_threshold"].values > 0)
    assert ok.sum() >= 4
    np.testing.assert_allclose(table["collapse_threshold"].values[ok], table["theory_threshold"].values[ok],
                               rtol=1e-3)
    fig = plot_order_parameters(out)
    assert not any(line.get_linestyle() == "--" for line in fig.axes[1].get_lines())
    plt.close("all")
