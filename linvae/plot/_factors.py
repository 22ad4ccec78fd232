"""Figure of the λβ factor experiment (:func:`linvae.factors.factor_experiment`; docs/factors.md)."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from linvae.plot._style import T_LABEL, require

__all__ = ["plot_factor_experiment"]

_RESCALED_LABEL = r"rescaled price $T/(1+\lambda)^2$"


def plot_factor_experiment(ds):
    """Informativeness of the λβ-VAE optimum against the information price, for each λ (docs/factors.md).

    Columns: (a) against ``T = β σ_dec² / V`` (log axis); (b) against ``T / (1 + λ)²``. Rows: the total
    information ``I(z; v)`` (nats) and MIG (normalised by ``log n_bins``). Curves are coloured by λ. Thresholds
    ``T_k(λ) = (1 + λ)² λ_k / V`` of the modes that carry factor information (``λ_k > σ_n²``, ``k ≤ K``): the top
    one, beyond which ``I(z; v) = 0``, as a dashed line, the others as ticks at the top; in (b) every λ's thresholds
    fall on the β-VAE's ``λ_k / V`` (black). Circles: where ``I(z; v)`` falls to the stored fraction of its
    ``T → 0`` value (``information_drop_T``).

    Artists carry a ``gid``: ``'curve'`` (one per λ and panel), ``'threshold'``, ``'threshold_tick'``, ``'drop'``.

    Args:
      ds: a Dataset from :func:`linvae.factors.factor_experiment` (or :func:`linvae.load` of one).

    Returns:
      A matplotlib Figure.
    """
    require(ds, "joint_information", "mig", "threshold", "pca_eigenvalue", "information_drop_T",
             "information_limit")
    T, lams = ds["T"].values, ds["lam"].values
    I, mig = ds["joint_information"].transpose("lam", "T").values, ds["mig"].transpose("lam", "T").values
    thresholds = ds["threshold"].transpose("lam", "mode").values
    drop_T = ds["information_drop_T"].values
    fraction = float(ds["information_drop_T"].attrs.get("fraction", 0.01))
    drop_I = fraction * float(ds["information_limit"])
    scale = (1 + lams) ** 2
    eig = ds["pca_eigenvalue"].values
    shown = (eig > ds.attrs.get("noise_var", 0.0) * (1 + 1e-9)) & (np.arange(eig.size) < ds.sizes["latent"])
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, max(lams.size, 1)))

    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharey="row", layout="constrained")
    rows = ((I, r"$I(z; v)$ (nats)"), (mig, rf"MIG (normalised by $\log {ds.attrs.get('n_bins', 20)}$)"))
    for col, rescaled in enumerate((False, True)):
        for row, (values, ylabel) in enumerate(rows):
            ax = axes[row, col]
            _panel(ax, T, values, lams, scale if rescaled else np.ones_like(scale), colors, thresholds[:, shown],
                   (drop_T, drop_I) if row == 0 else None, rescaled)
            ax.set_xlim(T.min() / scale.max() if rescaled else T.min(), T.max())
            ax.set_ylabel(ylabel if col == 0 else "")
        axes[1, col].set_xlabel(_RESCALED_LABEL if rescaled else T_LABEL)
    axes[0, 0].set_title(r"(a) against $T$: threshold $T_1(\lambda) = (1+\lambda)^2\lambda_1/V$ (dashed)",
                         fontsize="medium")
    axes[0, 1].set_title(r"(b) against $T/(1+\lambda)^2$: collapse points coincide at $\lambda_k/V$",
                         fontsize="medium")
    handles = [Line2D([], [], color=colors[i], lw=1.4, label=rf"$\lambda = {lam:g}$") for i, lam in enumerate(lams)]
    handles += [Line2D([], [], color="0.3", ls="--", lw=0.9, label=r"top threshold $T_1$"),
                Line2D([], [], color="0.3", marker="|", ls="none", ms=8, label=r"other thresholds $T_k$"),
                Line2D([], [], color="0.3", marker="o", mfc="none", ls="none",
                       label=rf"$I$ at {100 * fraction:g}% of its $T\to 0$ value")]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize="small")
    fig.suptitle(r"$\lambda\beta$-VAE optimum on the linear-Gaussian factor model "
                 f"(d = {ds.sizes['feature']}, K = {ds.sizes['latent']}, s = {ds.sizes['factor']})",
                 fontsize="medium")
    return fig


def _thresholds(ax, Tk, color):
    """The top threshold as a dashed line, the others as ticks at the top of the panel."""
    ax.axvline(Tk[0], color=color, ls="--", lw=0.9, gid="threshold")
    for t in Tk[1:]:
        ax.axvline(t, ymin=0.94, ymax=1, color=color, lw=1.2, gid="threshold_tick")


def _panel(ax, T, values, lams, scale, colors, thresholds, drop, rescaled):
    """One panel: a curve per λ against ``T / scale``; thresholds (per λ, or the β-VAE's when rescaled) and the
    drop points of ``I(z; v)`` (``drop = (drop_T, drop_I)``, top row only)."""
    for i, lam in enumerate(lams):
        ax.plot(T / scale[i], values[i], color=colors[i], lw=1.4, label=rf"$\lambda = {lam:g}$", gid="curve")
        if not rescaled:
            _thresholds(ax, thresholds[i], colors[i])
        if drop is not None and np.isfinite(drop[0][i]):
            ax.plot([drop[0][i] / scale[i]], [drop[1]], ls="none", marker="o", ms=5, mfc="none", color=colors[i],
                    gid="drop")
    if rescaled:  # every λ's thresholds land on the β-VAE ones
        _thresholds(ax, thresholds[0] / scale[0], "k")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
