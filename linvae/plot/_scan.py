"""Figures from a results Dataset (matplotlib, no display needed).

Each ``plot_*`` function takes a results Dataset (:func:`linvae.load`) and returns a ``matplotlib`` Figure; they
follow the paper's figure set (Hirn 2026, Figs. 1-4) and docs/theory.md §7. Curves are coloured by ranked mode; measured
values are drawn as markers, closed forms (docs/theory.md §3) as thin light lines, fitted laws as dashed lines.
Only the ranks that carry signal somewhere in the scan (``max_T M_k² > min_signal``) are drawn, at least rank 1.
"""

import pathlib

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from linvae.plot._criteria import plot_activity_criteria
from linvae.plot._nonlinear import plot_model_comparison
from linvae.plot._style import (
    FIT,
    GUIDE,
    MEASURED,
    T_LABEL,
    THEORY,
    beta_law,
    by_mode,
    collapse_law,
    rank_colorbar,
    rank_colors,
    ranked,
    require,
    save_figure,
    shown_ranks,
    style_legend,
)
from linvae.theory import held_out_signal

__all__ = ["plot_theory", "plot_order_parameters", "plot_truncation", "plot_duality", "plot_diagnostics",
           "plot_split_map", "plot_all"]

def plot_theory(ds):
    """Closed-form collapse scan: ``M_k²(T)`` per mode with thresholds, and ``D̃(T)``, ``2T R(T)`` (docs/theory.md
    §3).

    Args:
      ds: a results Dataset (the closed-form columns suffice: :func:`linvae.results.theory_dataset` or a scan).

    Returns:
      The matplotlib Figure.
    """
    require(ds, "theory_M2", "theory_threshold", "theory_distortion", "theory_total_rate", "theory_loss")
    T = ds["T"].values
    M2 = by_mode(ds, "theory_M2")
    Tk = ds["theory_threshold"].values
    # modes whose threshold lies below the scan never activate in it: leave them out
    n = max(1, int((Tk > T.min()).sum()))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    colors = rank_colors(n)
    fine = np.geomspace(T.min(), T.max(), 400)
    follows = beta_law(ds)
    for k in range(n):
        if follows:  # other objectives: M²(T) is not [1 − T/T_k]_+, the closed-form points stand alone
            ax1.plot(fine, collapse_law(fine, Tk[k]), color=colors[k], lw=1)
        ax1.plot(T, M2[:, k], "o", ms=2.5, color=colors[k])
        if T.min() <= Tk[k] <= T.max():
            ax1.axvline(Tk[k], color=colors[k], lw=0.5, ls=":")
    ax1.set(xscale="log", xlabel=T_LABEL, ylabel=r"signal fraction $M_k^2$",
            title="Closed-form collapse scan", ylim=(-0.02, 1.02))
    rank_colorbar(fig, ax1, n, "PCA mode k")
    def positive(v):  # log axis: the rate is exactly 0 once every mode has collapsed
        return np.where(v > 0, v, np.nan)
    ax2.plot(T, positive(ds["theory_distortion"].values), label=r"distortion $\tilde D(T)$")
    ax2.plot(T, positive(2 * T * ds["theory_total_rate"].values), label=r"$2\,T R(T)$ (rate in nats)")
    ax2.plot(T, positive(ds["theory_loss"].values), "k--", lw=1, label=r"loss $\tilde L = \tilde D + 2TR$")
    ax2.set(xscale="log", yscale="log", xlabel=T_LABEL, ylabel="normalised value",
            title="Rate–distortion along the scan")
    ax2.legend(frameon=False)
    return fig


def plot_order_parameters(ds, *, min_signal=0.01):
    """Order-parameter collapse scan (paper Fig. 1): ``mean μ_k²``, ``M_k²`` and ``mean log σ_k²`` vs ``T``.

    ``M_k²`` carries the fitted laws ``r_k m / (r_k m + 1 − m)``, ``m = [1 − T/T_k]_+`` (``collapse_threshold``,
    ``collapse_variance_ratio``; docs/theory.md §7) and, with bootstrap intervals, each threshold's interval as a
    horizontal error bar at ``M² = 0``; ``mean log σ_k²`` follows
    ``log T − log T_k`` on the active branch (slope +1 on a log-T axis, docs/theory.md §3), shown by an offset guide.
    Closed forms (``theory_M2``, ``theory_log_sigma2``; ``mean μ² = M²`` there since ``A² = 1``) are thin.

    Args:
      ds: a results Dataset of :func:`linvae.scan` (or read back with ``linvae.results.load``), analysed.
      min_signal: ranks whose largest ``M²`` along the scan stays below this are not drawn (:func:`shown_ranks`).

    Returns:
      The matplotlib Figure.
    """
    require(ds, "M2_ranked", "mu2_ranked", "log_sigma2_ranked", "collapse_threshold", "theory_M2",
             "theory_log_sigma2", "theory_threshold")
    T = ds["T"].values
    n = shown_ranks(ds, min_signal)
    n_theory = min(n, ds.sizes["mode"])
    colors = rank_colors(n)
    fine = np.geomspace(T.min(), T.max(), 400)
    Tk = ds["collapse_threshold"].values[:n]
    fig, axes = plt.subplots(3, 1, figsize=(7.5, 10), sharex=True, layout="constrained")
    panels = [("mu2_ranked", "theory_M2", r"mean posterior $\mu_k^2$ (latent units)", "Posterior mean square"),
              ("M2_ranked", "theory_M2", r"signal fraction $M_k^2 = \overline{\mu^2}/(\overline{\mu^2}"
               r"+\overline{\sigma^2})$", "Signal fraction with fitted collapse laws"),
              ("log_sigma2_ranked", "theory_log_sigma2", r"mean $\ln \sigma_k^2$ (natural log)",
               "Posterior log-variance")]
    for ax, (name, theory, ylabel, title) in zip(axes, panels):
        measured, closed = ranked(ds, name), by_mode(ds, theory)
        for k in range(n):
            if k < n_theory:
                ax.plot(T, closed[:, k], color=colors[k], **THEORY)
            ax.plot(T, measured[:, k], color=colors[k], **MEASURED)
        ax.set(xscale="log", ylabel=ylabel, title=title)
    ratio = np.nan_to_num(ds["collapse_variance_ratio"].values[:n], nan=1.0) if "collapse_variance_ratio" in ds \
        else np.ones(n)
    for k in np.flatnonzero(np.isfinite(Tk) & (Tk > 0) & beta_law(ds)):
        axes[1].plot(fine, held_out_signal(collapse_law(fine, Tk[k]), ratio[k]), color=colors[k], **FIT)
    intervals = _threshold_intervals(ds, axes[1], Tk, colors)
    # slope +1 guide one nat below rank 1's law, so it runs beside the curves instead of over them
    T1 = next((t for t in (Tk[0], ds["theory_threshold"].values[0]) if np.isfinite(t) and t > 0), T.max())
    active = fine < T1
    axes[2].plot(fine[active], np.log(fine[active] / T1) - 1, **GUIDE)
    axes[0].set_ylim(bottom=-0.03 * max(1.0, np.nanmax(ranked(ds, "mu2_ranked")[:, :n])))
    axes[1].set_ylim(-0.03, 1.03)
    axes[2].set_xlabel(T_LABEL)
    fitted = [(r"fitted law $r_k m/(r_k m + 1 - m)$, $m = [1 - T/T_k]_+$ (middle)", FIT)] if beta_law(ds) else []
    style_legend(fig, [("measured", MEASURED), *fitted, *intervals, ("closed form", THEORY),
                        (r"slope +1 guide $\ln T - \ln T_1 - 1$ (bottom)", GUIDE)],
                  loc="outside lower center", ncol=2)
    rank_colorbar(fig, axes, n)
    fig.suptitle("Order-parameter collapse scan")
    return fig


def plot_truncation(ds, *, min_signal=0.01):
    """Truncated distortion and rank pruning (paper Fig. 2, docs/theory.md §7 "Truncated reconstructions").

    Left: ``D̃_k(T)`` keeping the first ``k`` ranked latents. Right: best level ``min_T D̃_k`` vs ``k`` with the PCA
    reference ``1 − Σ_{j≤k} λ_j/V`` (PCA's 0 drawn at a floor two decades down, as open triangles), for
    ``k ≤ min(K, number of nonzero PCA modes)`` in both panels: no rank beyond can carry signal, so none is drawn
    (a minibatch run's spurious residue there is in the order-parameter figure). One colour bar (the kept rank)
    serves both panels.

    Args:
      ds: an analysed results Dataset of :func:`linvae.scan`.
      min_signal: ranks whose largest ``M²`` along the scan stays below this are not drawn (:func:`shown_ranks`).

    Returns:
      The matplotlib Figure.
    """
    require(ds, "M2_ranked", "truncated_distortion", "pca_truncated_distortion")
    T = ds["T"].values
    n = min(shown_ranks(ds, min_signal), _carriable(ds))
    colors = rank_colors(n)
    D = ds["truncated_distortion"].transpose("T", "n_kept").values
    kept = ds["n_kept"].values
    D = np.where(D > 0, D, np.nan)  # log axis: non-positive values cannot be drawn
    best = np.nanmin(np.where(np.isfinite(D), D, np.inf), axis=0)
    best = np.where(np.isfinite(best), best, np.nan)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    for k in range(1, n + 1):
        col = np.flatnonzero(kept == k)[0]
        ax1.plot(T, D[:, col], color=colors[k - 1], **MEASURED)
        if np.isfinite(best[col]):
            ax1.axhline(best[col], color=colors[k - 1], lw=0.6, ls="--", alpha=0.7)
    ax1.set(xscale="log", yscale="log", xlabel=T_LABEL, ylabel=r"normalised distortion $\tilde D_k$",
            title="Truncated distortion, first k ranked latents kept")
    style_legend(ax1, [("measured (posterior means)", MEASURED),
                        ("best level of rank k", dict(lw=0.6, ls="--"))], loc="best", frameon=True,
                  framealpha=0.9, edgecolor="none")
    rank_colorbar(fig, [ax1, ax2], n, "kept rank k")
    shown = kept <= _carriable(ds)
    _best_by_rank(ds, ax2, kept[shown], best[shown], n, colors)
    fig.suptitle("Truncated distortion and rank pruning")
    return fig


def _best_by_rank(ds, ax2, kept, best, n, colors):
    """The right panel of :func:`plot_truncation`: best truncated distortion vs rank, with the PCA reference."""
    pca_k = np.concatenate([[0], ds["mode"].values])  # mode k = keep modes 1..k; k = 0 keeps nothing
    pca = np.concatenate([[1.0], ds["pca_truncated_distortion"].values])
    pca, pca_k = pca[pca_k <= kept.max()], pca_k[pca_k <= kept.max()]
    positive = best[np.isfinite(best)]
    floor = 10.0 ** (np.floor(np.log10(positive.min())) - 2) if positive.size else 1e-16
    ax2.plot(kept, np.where(best >= floor, best, np.nan), "k-", lw=0.8, zorder=1)
    ax2.scatter(kept[1:n + 1], best[1:n + 1], c=colors, s=22, zorder=2, label="linear VAE, best over T")
    other = (kept < 1) | (kept > n)
    ax2.scatter(kept[other], best[other], c="0.5", s=14, zorder=2,
                label="linear VAE, k = 0 and ranks without signal")
    ax2.plot(pca_k, np.where(pca >= floor, pca, np.nan), "s--", color="tab:red", mfc="none", ms=5, lw=0.8,
             label=r"PCA $1 - \Sigma_{j\leq k}\,\lambda_j/V$", zorder=1)
    low = pca < floor
    if low.any():
        ax2.plot(pca_k[low], np.full(low.sum(), floor), "v", color="tab:red", mfc="none", ms=6,
                 label=f"PCA below {floor:.0e} (drawn at floor)")
    below = ~(best >= floor)  # NaN (non-positive everywhere) included
    if below.any():
        ax2.plot(kept[below], np.full(below.sum(), floor), "v", color="k", mfc="none", ms=6,
                 label=f"VAE ≤ 0 or below {floor:.0e} (drawn at floor)")
    ax2.set(yscale="log", xlabel="kept rank k", ylabel=r"best normalised distortion $\min_T \tilde D_k$",
            title="Best truncated distortion vs rank")
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.legend(frameon=False, fontsize="small", loc="upper right")


def plot_duality(ds, *, min_signal=0.01):
    """Utility–threshold duality (paper Fig. 3, docs/theory.md §7): ``ΔD̃_k`` vs fitted ``T_k``, one point per rank.

    In theory both equal ``λ_k/V``; the PCA fractions are drawn as open squares on the diagonal ``y = x``. Ranks
    beyond ``min(K, number of nonzero PCA modes)`` cannot carry signal and are not drawn. With
    bootstrap intervals (:func:`linvae.analysis.add_bootstrap`) each point carries both as error bars.
    Ranks without a fitted law (NaN threshold) or with a non-positive value are skipped.

    Args:
      ds: a results Dataset of :func:`linvae.scan` (or read back with ``linvae.results.load``), analysed.
      min_signal: ranks whose largest ``M²`` along the scan stays below this are not drawn (:func:`shown_ranks`).

    Returns:
      The matplotlib Figure.
    """
    require(ds, "M2_ranked", "collapse_threshold", "utility_spectrum", "pca_fraction")
    n = min(shown_ranks(ds, min_signal), _carriable(ds))
    colors = rank_colors(n)
    Tk = ds["collapse_threshold"].values[:n]
    utility = ds["utility_spectrum"].values[:n]
    ok = np.isfinite(Tk) & np.isfinite(utility) & (Tk > 0) & (utility > 0)
    frac = ds["pca_fraction"].values[:n]
    # modes with λ_k/V below the scan never activate in it, so no threshold can be measured for them
    frac = frac[np.isfinite(frac) & (frac >= ds["T"].values.min())]
    fig, ax = plt.subplots(figsize=(6.4, 5.4), layout="constrained")
    values = np.concatenate([Tk[ok], utility[ok], frac])
    lo, hi = (values.min() / 2, values.max() * 2) if values.size else (1e-4, 1.0)
    ax.plot([lo, hi], [lo, hi], color="0.4", lw=0.9, ls="--", label="y = x", zorder=1)
    ax.scatter(frac, frac, s=70, facecolors="none", edgecolors=colors[:frac.size], lw=1.0, marker="s",
               label=r"PCA fraction $\lambda_k/V$ (on $y = x$)", zorder=2)
    ax.scatter(Tk[ok], utility[ok], c=colors[ok], s=30, edgecolors="k", linewidths=0.4, zorder=3,
               label="ranked mode (fit, truncation)")
    if "collapse_threshold_ci" in ds and ok.any():
        xerr, yerr = (_error_bars(ds[name], centre, n)[:, ok] for name, centre in (
            ("collapse_threshold_ci", Tk), ("utility_spectrum_ci", utility)))
        ax.errorbar(Tk[ok], utility[ok], xerr=xerr, yerr=yerr, fmt="none", ecolor="0.25", elinewidth=0.8,
                    capsize=2, zorder=2.5, label=f"{_level(ds)} bootstrap interval")
    skipped = np.flatnonzero(~ok) + 1
    title = "Reconstruction utility vs collapse threshold"
    if skipped.size:
        ax.text(0.98, 0.02, f"no fitted law: rank{'s' if skipped.size > 1 else ''} "
                f"{', '.join(map(str, skipped))}", transform=ax.transAxes, ha="right", va="bottom",
                fontsize="small", color="0.35")
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), aspect="equal", title=title,
           xlabel=(r"collapse threshold $T_k$ (fit with variance ratio $r_k$)" if beta_law(ds) else
                   f"collapse threshold $T_k$ (fit of the {ds.attrs.get('objective')} law; not a duality)"),
           ylabel=r"utility $\Delta\tilde D_k = \tilde D_{k-1} - \tilde D_k$ (best T)")
    ax.legend(frameon=False, fontsize="small", loc="upper left")
    rank_colorbar(fig, ax, n)
    return fig


def _carriable(ds):
    """How many ranks can carry signal at all: ``min(K, number of nonzero PCA modes)`` (zero modes never activate,
    docs/theory.md §9); a rank beyond holds only training noise."""
    frac = ds["pca_fraction"].values if "pca_fraction" in ds else np.ones(ds.sizes["mode"])
    return max(1, int(min(ds.sizes["rank"], np.sum(frac > 1e-12 * np.nanmax(frac)))))


def _threshold_intervals(ds, ax, Tk, colors):
    """Each fitted threshold's bootstrap interval as a horizontal error bar where its law reaches ``M² = 0``;
    returns the legend entry (none without intervals)."""
    if "collapse_threshold_ci" not in ds:
        return []
    xerr = _error_bars(ds["collapse_threshold_ci"], Tk, Tk.size)
    for k in np.flatnonzero(np.isfinite(Tk) & (Tk > 0)):
        ax.errorbar(Tk[k], 0, xerr=xerr[:, k:k + 1], fmt="|", color=colors[k], ms=8, capsize=3, lw=1.2, zorder=4)
    return [(f"{_level(ds)} bootstrap interval of $T_k$ (at $M^2 = 0$)", dict(ls="-", marker="|"))]


def _error_bars(ci, centre, n):
    """``(2, n)`` distances from ``centre`` to the interval's bounds (0 where the estimate lies outside)."""
    bounds = ci.transpose(..., "bound").values[:n]
    return np.nan_to_num(np.maximum(np.stack([centre - bounds[:, 0], bounds[:, 1] - centre]), 0))


def _level(ds):
    return f"{100 * float(ds['collapse_threshold_ci'].attrs.get('level', 0.95)):g} %"


def plot_diagnostics(ds, *, min_signal=0.01):
    """Posterior-scale and Jensen-gap diagnostics (paper Fig. 4, Appendix C; docs/theory.md §7).

    ``A_k² = mean μ_k² + mean σ_k²`` (1 on the closed form; departures are latent-scale drift) and
    ``J_k = ln mean σ_k² − mean ln σ_k²`` (0 for a constant posterior variance, ≥ 0 by Jensen). Values within the
    training precision's resolution of their reference (16 ε: 1.9e-6 in float32, 3.6e-15 in float64) are drawn at
    the reference, and a panel that is at its reference everywhere says so instead of showing rounding noise. On
    held-out data ``A² = 1 + (r_k − 1) M²_train`` (the fitted variance ratio ``r_k`` of
    ``collapse_variance_ratio``, docs/theory.md §7), drawn dashed where the β-VAE law applies.

    Args:
      ds: a results Dataset of :func:`linvae.scan` (or read back with ``linvae.results.load``), analysed.
      min_signal: ranks whose largest ``M²`` along the scan stays below this are not drawn (:func:`shown_ranks`).

    Returns:
      The matplotlib Figure.
    """
    require(ds, "M2_ranked", "A2_ranked", "jensen_gap_ranked")
    T = ds["T"].values
    n = shown_ranks(ds, min_signal)
    colors = rank_colors(n)
    precision = "float64" if ds.attrs.get("config_x64", 0) else "float32"
    resolution = 16 * float(np.finfo(precision).eps)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    panels = [("A2_ranked", 1.0, r"posterior scale $A_k^2 = \overline{\mu^2} + \overline{\sigma^2}$",
               r"Posterior scale ($A^2 = 1$ at the optimum)"),
              ("jensen_gap_ranked", 0.0, r"Jensen gap $J_k = \ln\overline{\sigma^2} - \overline{\ln\sigma^2}$"
               " (nats)", r"Posterior-variance Jensen gap ($J = 0$ if $\sigma^2$ is constant)")]
    for ax, (name, ref, ylabel, title) in zip(axes, panels):
        values = ranked(ds, name)[:, :n]
        values = np.where(np.abs(values - ref) <= resolution, ref, values)
        ax.axhline(ref, color="k", lw=0.9, ls="--", zorder=3)
        for k in range(n):
            ax.plot(T, values[:, k], color=colors[k], **MEASURED)
        if np.all((values == ref) | np.isnan(values)):
            ax.text(0.5, 0.62, f"{ref:g} at every point and rank, to {precision} resolution\n"
                    f"(|deviation| ≤ 16 ε = {resolution:.1e})", transform=ax.transAxes, ha="center",
                    fontsize="small", color="0.3")
        ax.set(xscale="log", xlabel=T_LABEL, ylabel=ylabel, title=title)
    _held_out_scale(ds, axes[0], n, colors)
    rank_colorbar(fig, axes, n)
    fig.suptitle("Posterior-scale and Jensen-gap diagnostics")
    return fig


def _held_out_scale(ds, ax, n, colors):
    """The held-out prediction ``A² = 1 + (r_k − 1) m_k(T)`` of the fitted laws, where they are the β-VAE's."""
    if not (beta_law(ds) and "collapse_variance_ratio" in ds and ds.attrs.get("analysis_split", "test") != "train"):
        return
    T = ds["T"].values
    fine = np.geomspace(T.min(), T.max(), 400)
    Tk, r = ds["collapse_threshold"].values[:n], ds["collapse_variance_ratio"].values[:n]
    for k in np.flatnonzero(np.isfinite(Tk) & np.isfinite(r) & (Tk > 0)):
        ax.plot(fine, 1 + (r[k] - 1) * collapse_law(fine, Tk[k]), color=colors[k], **FIT)
    style_legend(ax, [("measured (held out)", MEASURED),
                      (r"$1 + (r_k - 1)\,[1 - T/T_k]_+$, $r_k$ = held-out / training variance (fit)", FIT)],
                 loc="best", fontsize="x-small")


def plot_split_map(ds):
    """Map of the per-sample split (``sample_split`` over ``lat``/``lon``, stored by ``scan(store_split=True)``):
    where the training, validation and test blocks lie (docs/theory.md §9). Samples on a regular grid are drawn as one
    image, whatever their number; scattered samples as points.

    Args:
      ds: a results Dataset with ``sample_split`` and ``lat``/``lon`` coordinates.

    Returns:
      The matplotlib Figure.
    """
    require(ds, "sample_split", "lat", "lon")
    labels, lat, lon = ds["sample_split"].values, ds["lat"].values, ds["lon"].values
    colors = ["#4c72b0", "#dd8452", "#55a868"]
    fig, ax = plt.subplots(figsize=(9, 4.6), layout="constrained")
    steps = [np.diff(np.unique(v)) for v in (lat, lon)]
    dy, dx = (float(st.min()) if st.size else 1.0 for st in steps)
    r, c = np.rint((lat.max() - lat) / dy), np.rint((lon - lon.min()) / dx)
    gridded = np.allclose(r * dy, lat.max() - lat, atol=dy / 100) and np.allclose(c * dx, lon - lon.min(),
                                                                                 atol=dx / 100)
    if gridded and (r.max() + 1) * (c.max() + 1) <= 5e7:
        image = np.full((int(r.max()) + 1, int(c.max()) + 1), np.nan)
        image[r.astype(int), c.astype(int)] = labels
        ax.imshow(np.ma.masked_invalid(image), cmap=ListedColormap(colors), vmin=-0.5, vmax=2.5,
                  interpolation="nearest", extent=(lon.min() - dx / 2, lon.max() + dx / 2, lat.min() - dy / 2,
                                                   lat.max() + dy / 2))
    else:
        for code in range(3):
            keep = labels == code
            ax.scatter(lon[keep], lat[keep], s=0.5, c=colors[code], marker=".", linewidths=0, rasterized=True)
    ax.set(xlim=(-180, 180), ylim=(-90, 90), aspect="equal", xlabel="longitude (°)", ylabel="latitude (°)")
    title = "spatial-block split"
    if "split_block_km" in ds.attrs:
        title += f": {ds.attrs['split_block_km']:g} km equal-area blocks, seed {ds.attrs.get('split_seed', '?')}"
    ax.set_title(title)
    ax.legend(handles=[Patch(color=colors[k], label=f"{name} ({(labels == k).sum():,})")
                       for k, name in enumerate(("train", "validation", "test"))], loc="lower left", fontsize=8)
    return fig


_FIGURES = {"order_parameters": plot_order_parameters, "truncation": plot_truncation, "duality": plot_duality,
            "diagnostics": plot_diagnostics, "theory": plot_theory}


def plot_all(ds, out_dir, formats=("png", "pdf")):
    """Write every figure (``order_parameters``, ``truncation``, ``duality``, ``diagnostics``, ``theory``,
    ``activity_criteria`` when the criteria are stored, ``split_map`` when the split labels are, ``model_comparison``
    for an MLP scan, docs/nonlinear.md) into ``out_dir``
    in each of ``formats``; returns the paths (docs/how-to/cli.md).

    Args:
      ds: a results Dataset of :func:`linvae.scan` (or read back with ``linvae.results.load``), analysed.
      out_dir: folder for the files (created if missing).
      formats: file formats, e.g. ``("png", "pdf")``.

    Returns:
      The paths written.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, plot in _FIGURES.items():
        paths += save_figure(plot(ds), out_dir / stem, formats)
    if "active_units" in ds and "rank_latent" in ds:
        paths += save_figure(plot_activity_criteria(ds), out_dir / "activity_criteria", formats)
    if "sample_split" in ds and "lat" in ds.coords:
        paths += save_figure(plot_split_map(ds), out_dir / "split_map", formats)
    if ds.attrs.get("config_model", "linear") == "mlp" and "active_kl" in ds:
        paths += save_figure(plot_model_comparison(ds), out_dir / "model_comparison", formats)
    return paths


