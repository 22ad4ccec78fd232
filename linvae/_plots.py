"""Figures from a results Dataset (matplotlib, no display needed)."""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_theory", "save_figure", "rank_colors"]


def rank_colors(n):
    """One colour per ranked mode, from a perceptually ordered map."""
    return plt.get_cmap("viridis")(np.linspace(0, 0.92, max(n, 1)))


def _rank_colorbar(fig, ax, n, label="mode / rank"):
    sm = plt.cm.ScalarMappable(cmap=matplotlib.colors.ListedColormap(rank_colors(n)),
                               norm=matplotlib.colors.Normalize(0.5, n + 0.5))
    bar = fig.colorbar(sm, ax=ax, ticks=np.arange(1, n + 1, max(1, n // 10)))
    bar.set_label(label)


def plot_theory(ds):
    """Closed-form collapse scan: ``M_k²(T)`` per mode with thresholds, and ``D̃(T)``, ``2T R(T)`` (SPEC.md §3)."""
    T = ds["T"].values
    M2 = ds["theory_M2"].values
    Tk = ds["theory_threshold"].values
    n = int((Tk > 0).sum())
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    colors = rank_colors(n)
    fine = np.geomspace(T.min(), T.max(), 400)
    for k in range(n):
        ax1.plot(fine, np.clip(1 - fine / Tk[k], 0, None), color=colors[k], lw=1)
        ax1.plot(T, M2[:, k], "o", ms=2.5, color=colors[k])
        if T.min() <= Tk[k] <= T.max():
            ax1.axvline(Tk[k], color=colors[k], lw=0.5, ls=":")
    ax1.set(xscale="log", xlabel="information price T = β σ²_dec / V", ylabel="signal fraction M²_k",
            title="Closed-form collapse scan", ylim=(-0.02, 1.02))
    _rank_colorbar(fig, ax1, n, "PCA mode k")
    ax2.plot(T, ds["theory_distortion"].values, label="distortion D̃(T)")
    ax2.plot(T, 2 * T * ds["theory_total_rate"].values, label="2 T R(T)")
    ax2.plot(T, ds["theory_loss"].values, "k--", lw=1, label="loss L̃ = D̃ + 2TR")
    ax2.set(xscale="log", yscale="log", xlabel="information price T", ylabel="normalised value",
            title="Rate–distortion along the scan")
    ax2.legend(frameon=False)
    return fig


def save_figure(fig, stem, formats=("png", "pdf")):
    """Save ``fig`` as ``stem.png`` and ``stem.pdf``; returns the paths."""
    stem = pathlib.Path(stem)
    paths = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        fig.savefig(path, dpi=150)
        paths.append(path)
    plt.close(fig)
    return paths
