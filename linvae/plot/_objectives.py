"""Figures of the objective family (docs/theory.md §5): the phase diagram (:func:`linvae.theory.phase_diagram`) and
the LR latents along ``T`` (:func:`linvae.theory.optimum`)."""

import jax
import matplotlib.pyplot as plt
import numpy as np

from linvae.model import Objective
from linvae.plot._style import T_LABEL
from linvae.theory import optimum

__all__ = ["plot_phase_diagram", "plot_lr_latents"]

def plot_phase_diagram(diagram):
    """Two panels, ``T`` (log axis) against the λβ weight ``λ`` and the raw LR weight ``α`` (docs/theory.md §5).

    Colour: the signal dimension ``Σ_k M_k²`` (the number of active modes, each counted by its signal fraction).
    Lines: the collapse threshold of every mode, ``T_k = (1 + λ)² λ_k / V`` and
    ``T_k = (λ_k + 2 α σ_dec²)² / (λ_k V)``; mode ``k`` is active below its line. Every transition of the family
    is continuous, so each line is both the spinodal and the global transition.

    Args:
      diagram: a :class:`linvae.theory.PhaseDiagram`.

    Returns:
      A matplotlib Figure.
    """
    T = np.asarray(diagram.T)
    d = np.asarray(diagram.M2_lambda).shape[-1]
    colors = plt.get_cmap("plasma")(np.linspace(0, 0.85, max(d, 1)))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained", sharey=True)
    panels = [(axes[0], diagram.lam, diagram.M2_lambda, diagram.thresholds_lambda,
               r"$\lambda\beta$-VAE penalty weight $\lambda$", r"$\lambda\beta$-VAE: $T_k = (1+\lambda)^2\lambda_k/V$"),
              (axes[1], diagram.alpha, diagram.M2_alpha, diagram.thresholds_alpha,
               r"LR-VAE weight $\alpha$ (raw loss units)",
               r"LR-VAE: $T_k = (\lambda_k + 2\alpha\sigma^2_{\mathrm{dec}})^2/(\lambda_k V)$")]
    vmax = max(float(np.max(np.sum(panel[2], axis=-1))) for panel in panels) or 1.0
    for ax, weight, M2, Tk, xlabel, title in panels:
        weight, signal, Tk = np.asarray(weight), np.sum(np.asarray(M2), axis=-1), np.asarray(Tk)
        mesh = ax.pcolormesh(weight, T, signal.T, shading="nearest", cmap="Greys", vmin=0, vmax=vmax)
        for k in range(d):
            ax.plot(weight, np.where(np.isfinite(Tk[:, k]) & (Tk[:, k] > 0), Tk[:, k], np.nan), color=colors[k],
                    lw=1.2, label=f"mode {k + 1}")
        ax.set(yscale="log", ylim=(T.min(), T.max()), xlabel=xlabel, title=title)
    axes[0].set_ylabel(T_LABEL)
    axes[0].legend(frameon=False, fontsize="small", loc="upper left", ncols=2)
    fig.colorbar(mesh, ax=axes, label=r"signal dimension $\sum_k M_k^2$")
    return fig


def plot_lr_latents(T, eigenvalues, alpha, n_latents, sigma_dec2=1.0):
    """Signal fraction of each LR-VAE latent along ``T`` (docs/objectives.md §6): the optimum
    (:func:`linvae.theory.optimum`, thick)
    against the one-mode closed form (``lr_mixing=False``, thin dashed), coloured by the mode
    that gives the latent most of its signal. Grey bands: ``T`` where a latent reads two modes (labelled with the
    pair). With at least as many latents as modes the two curves coincide.

    Args:
      T: ``(n_T,)`` information prices, increasing.
      eigenvalues: ``(d,)`` raw, descending.
      alpha: raw LR weight.
      n_latents: ``K``.
      sigma_dec2: ``σ_dec²``.

    Returns:
      A matplotlib Figure.
    """
    T = np.asarray(T, np.float64)
    objective = Objective("lr", alpha=float(alpha))
    best = optimum(T, eigenvalues, objective, n_latents, sigma_dec2)
    with jax.enable_x64(True):  # closed forms in float64
        one = np.asarray(optimum(T, np.asarray(eigenvalues, np.float64), objective, n_latents, sigma_dec2,
                                 lr_mixing=False).M2)
    d = best.M2.shape[-1]
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(d, 1)))
    fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    rows, modes = np.nonzero(best.partner > np.arange(d))              # each pair once, at its first mode
    for i, j in sorted(set(zip(modes, best.partner[rows, modes]))):
        reads = np.any((np.arange(d) == i) & (best.partner == j), axis=-1)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], reads.astype(int), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):
            ax.axvspan(T[start], T[stop - 1], color="0.5", alpha=0.18, lw=0, zorder=0)
            ax.text(np.sqrt(T[start] * T[stop - 1]), 0.98, f"{i + 1}+{j + 1}", ha="center", va="top",
                    fontsize="small", transform=ax.get_xaxis_transform())
    for k in range(d):
        if np.any(one[:, k] > 0):
            ax.plot(T, np.where(one[:, k] > 0, one[:, k], np.nan), "--", color=colors[k], lw=0.9)
        if np.any(best.M2[:, k] > 0):
            ax.plot(T, np.where(best.M2[:, k] > 0, best.M2[:, k], np.nan), color=colors[k], lw=2,
                    label=f"mode {k + 1}")
    ax.set(xscale="log", xlim=(T.min(), T.max()), ylim=(0, 1), xlabel=T_LABEL,
           ylabel=r"signal fraction $M^2$ of the latent",
           title=f"LR-VAE, {n_latents} latents on {d} modes: optimum (solid), one mode per latent (dashed);\n"
                 "grey: a latent reads the two modes named")
    ax.title.set_fontsize("medium")
    ax.legend(frameon=False, fontsize="small", title="main mode", title_fontsize="small", loc="lower left")
    return fig
