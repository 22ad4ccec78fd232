"""Figure of the λβ factor experiment (:func:`linvae._factors.factor_experiment`; docs/factors.md)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from linvae._plots import T_LABEL, _require  # noqa: E402

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
      ds: a Dataset from :func:`linvae._factors.factor_experiment` (or :func:`linvae.load` of one).
    Returns:
      A matplotlib Figure.
    """
    _require(ds, "joint_information", "mig", "threshold", "pca_eigenvalue", "information_drop_T",
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
    for col, rescaled in enumerate((False, True)):
        for row, (values, ylabel) in enumerate(((I, r"$I(z; v)$ (nats)"),
                                                (mig, rf"MIG (normalised by $\log {ds.attrs.get('n_bins', 20)}$)"))):
            ax = axes[row, col]
            for i, lam in enumerate(lams):
                x = T / scale[i] if rescaled else T
                ax.plot(x, values[i], color=colors[i], lw=1.4, label=rf"$\lambda = {lam:g}$", gid="curve")
                if not rescaled:
                    Tk = thresholds[i, shown]
                    ax.axvline(Tk[0], color=colors[i], ls="--", lw=0.9, gid="threshold")
                    for t in Tk[1:]:
                        ax.axvline(t, ymin=0.94, ymax=1, color=colors[i], lw=1.2, gid="threshold_tick")
                if row == 0 and np.isfinite(drop_T[i]):
                    x_drop = drop_T[i] / scale[i] if rescaled else drop_T[i]
                    ax.plot([x_drop], [drop_I], ls="none", marker="o", ms=5, mfc="none", color=colors[i], gid="drop")
            if rescaled:  # every λ's thresholds land on the β-VAE ones
                base = thresholds[0, shown] / scale[0]
                ax.axvline(base[0], color="k", ls="--", lw=0.9, gid="threshold")
                for t in base[1:]:
                    ax.axvline(t, ymin=0.94, ymax=1, color="k", lw=1.2, gid="threshold_tick")
            ax.set_xscale("log")
            ax.set_xlim(T.min() / scale.max() if rescaled else T.min(), T.max())
            ax.set_ylabel(ylabel if col == 0 else "")
            ax.set_ylim(bottom=0)
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
