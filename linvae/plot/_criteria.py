"""Figure comparing the activity criteria of docs/theory.md §8 along one scan (matplotlib, no display needed)."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D

from linvae.analysis import BONHEME_LEGEND
from linvae.plot._style import T_LABEL, require

__all__ = ["plot_activity_criteria"]

# (variable, panel title, onset criteria drawn on it)
_PANELS = [
    ("active_signal_fraction", "signal fraction $M_k^2$", ("signal_fraction",)),
    ("active_kl", "KL rate $R_k$", ("kl",)),
    ("active_units", r"active units $\mathrm{Var}_x\,\mu_k$", ("active_units",)),
    ("bonheme_class", "Bonheme & Grzes (passive / mixed / active)", ("bonheme_active", "bonheme_passive")),
    ("active_renyi_entropy", r"Rényi entropy of $\mu_k$, prior bandwidth", ("renyi_entropy",)),
    ("active_renyi_entropy_silverman", r"Rényi entropy of $\mu_k$, Silverman (published)",
     ("renyi_entropy_silverman",)),
    ("active_gaussian_entropy", r"Gaussian entropy $\frac{1}{2}\log_2(2\pi e\,\mathrm{Var}\,\mu_k)$",
     ("gaussian_entropy",)),
]
_BINARY = ListedColormap(["white", "#31688e"])
_BONHEME = ListedColormap(["white", "#9ecae1", "#31688e"])  # 0 passive, 1 mixed, 2 active


def _edges(T):
    """Cell edges on a log axis: geometric midpoints, the end cells mirrored."""
    logT = np.log(T)
    mid = 0.5 * (logT[1:] + logT[:-1])
    step = np.diff(logT)[[0, -1]] if T.size > 1 else np.array([0.5, 0.5])
    return np.exp(np.concatenate([[logT[0] - step[0] / 2], mid, [logT[-1] + step[1] / 2]]))


def _last_called(ranked, K):
    """One past the last rank any criterion calls active somewhere (at least 1, at most ``K``)."""
    called = np.zeros(K, bool)
    for name, value in ranked.items():
        called |= np.any(value == (2 if name == "bonheme_class" else 1), axis=0)
    return min(K, int(np.flatnonzero(called).max()) + 2) if called.any() else 1


def plot_activity_criteria(ds, *, max_rank=None):
    """One panel per criterion: where it calls each ranked latent active along the scan (docs/theory.md §8).

    ``T`` on a log x-axis, ranked latent (by ``M²``, :func:`linvae.add_analysis`) on the y-axis; active cells are
    shaded (Bonheme & Grzes: passive white, mixed light, active dark). Red ticks mark the closed-form onsets
    ``T_k τ*`` of PCA mode ``k`` drawn on rank ``k`` (from :func:`linvae.add_activity_criteria`), where the
    measured shading should end. ``max_rank``: ranks shown; by default one past the last rank any criterion calls
    active somewhere.

    Args:
      ds: a results Dataset with the activity criteria (:func:`linvae.add_activity_criteria`).
      max_rank: ranks shown (``None``: one past the last rank any criterion calls active).

    Returns:
      The matplotlib Figure.
    """
    panels = [p for p in _PANELS if p[0] in ds or p[0] != "active_renyi_entropy_silverman"]  # older files: 6
    names = [name for name, _, _ in panels]
    require(ds, "rank_latent", "criterion_onset_T", *names)
    T = ds["T"].values
    order = ds["rank_latent"].transpose("T", "rank").values
    ranked = {name: np.take_along_axis(ds[name].transpose("T", "latent").values, order, axis=1) for name in names}
    max_rank = _last_called(ranked, order.shape[1]) if max_rank is None else max_rank
    onset = ds["criterion_onset_T"]
    n_modes = min(max_rank, onset.sizes["mode"])
    x_edges, y_edges = _edges(T), np.arange(max_rank + 1) + 0.5
    ncols = (len(panels) + 1) // 2
    fig, axes = plt.subplots(2, ncols, figsize=(4.3 * ncols, 7), sharex=True, sharey=True, layout="constrained")
    for ax in axes.flat[len(panels):]:
        ax.set_axis_off()
    for ax, (name, title, criteria) in zip(axes.flat, panels):
        bonheme = name == "bonheme_class"
        ax.pcolormesh(x_edges, y_edges, ranked[name][:, :max_rank].T, cmap=_BONHEME if bonheme else _BINARY,
                      vmin=0, vmax=2 if bonheme else 1, shading="flat")
        for criterion in (c for c in criteria if c in onset["criterion"].values):
            T_on = onset.sel(criterion=criterion).transpose("mode").values[:n_modes]
            k = np.arange(1, n_modes + 1)
            shown = (T_on > 0) & (T_on >= x_edges[0]) & (T_on <= x_edges[-1])
            ax.plot(T_on[shown], k[shown], ls="none", marker="|", ms=9, mew=2, color="tab:red")
        ax.set_xscale("log")
        ax.set_xlim(x_edges[0], x_edges[-1])
        ax.set_ylim(max_rank + 0.5, 0.5)
        threshold = ds[name].attrs.get("threshold")  # in the title: a label inside the axes would sit on data
        sign = "≥" if name == "active_units" else ">"
        ax.set_title(title + ("" if threshold is None else f" {sign} {threshold:g}"), fontsize="medium")
    for ax in axes[-1][:len(panels) - ncols]:
        ax.set_xlabel(T_LABEL)
    if len(panels) % 2:  # the panel above the empty slot carries its own T axis
        axes[0, -1].set_xlabel(T_LABEL)
        axes[0, -1].xaxis.set_tick_params(labelbottom=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("ranked latent k")
    fig.legend(handles=[Line2D([], [], ls="none", marker="s", ms=9, color="#31688e", label="called active"),
                        Line2D([], [], ls="none", marker="s", ms=9, color="#9ecae1", label="mixed (B&G)"),
                        Line2D([], [], ls="none", marker="|", ms=9, mew=2, color="tab:red",
                               label=r"closed-form onset $T_k\,\tau^*$")],
               loc="outside lower center", ncols=3, frameon=False, fontsize="small")
    fig.suptitle(f"Activity criteria along the scan (docs/theory.md §8); Bonheme & Grzes: {BONHEME_LEGEND}",
                 fontsize="medium")
    return fig
