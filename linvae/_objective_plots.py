"""Phase diagram of the objective family (SPEC.md §5): a figure from :func:`linvae._objectives.phase_diagram`."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_phase_diagram"]

_T_LABEL = r"information price $T = \beta\,\sigma^2_{\mathrm{dec}}/V$ (normalised)"


def plot_phase_diagram(diagram):
    """Two panels, ``T`` (log axis) against the λβ weight ``λ`` and the raw LR weight ``α``.

    Colour: the signal dimension ``Σ_k M_k²`` (the number of active modes, each counted by its signal fraction).
    Lines: the collapse threshold of every mode, ``T_k = (1 + λ)² λ_k / V`` and
    ``T_k = (λ_k + 2 α σ_dec²)² / (λ_k V)``; mode ``k`` is active below its line. Every transition of the family
    is continuous, so each line is both the spinodal and the global transition.

    Args:
      diagram: a :class:`linvae._objectives.PhaseDiagram`.
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
    axes[0].set_ylabel(_T_LABEL)
    axes[0].legend(frameon=False, fontsize="small", loc="upper left", ncols=2)
    fig.colorbar(mesh, ax=axes, label=r"signal dimension $\sum_k M_k^2$")
    return fig
