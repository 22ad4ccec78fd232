"""Tables and report text of an analysed scan: the duality table, activity counts and the printed report
(docs/theory.md §7, §8)."""

import numpy as np
import xarray as xr

from linvae._errors import InputError

__all__ = ["duality_table", "activity_counts", "scan_summary", "report"]


def duality_table(ds: xr.Dataset) -> xr.Dataset:
    """Mode-by-mode duality of docs/theory.md §7: fitted threshold, utility and ``λ_k / V`` per rank, with relative
    differences (``T_k = ΔD̃_k = λ_k / V`` in theory). Ranks beyond the number of modes compare with 0.

    ``eval_fraction`` is the evaluation split's own share of variance along each training direction,
    ``u_kᵀ C_eval u_k / tr C_eval``: the value the measured utilities tend to as ``T → 0`` when the evaluation
    data are not distributed like the training data (e.g. a spatial-block split). It is listed by mode, like
    ``λ_k / V``: the comparison by rank assumes the shift does not reorder the modes.

    ``variance_ratio`` is the fitted ratio ``r_k`` of evaluation to training variance along the rank's direction
    (:func:`linvae.analysis.collapse_fit`; NaN where it was not fitted, or in older files without it).

    With bootstrap intervals (:func:`linvae.analysis.add_bootstrap`) the table also has ``threshold_lower``,
    ``threshold_upper``, ``utility_lower``, ``utility_upper``, ``pca_fraction_lower``, ``pca_fraction_upper`` and
    ``separable`` (rank k's threshold interval lies above rank k + 1's), the level in its attrs.

    ``theory_threshold`` is the closed-form threshold of the scan's objective by rank: for the β-VAE and the
    sampled λβ-VAE the Dataset's ``theory_threshold`` sorted descending (rank k meets the k-th latest collapse);
    for the λβ- and LR-VAE the same objective-law fit as the measurement, applied to the closed-form ``M²`` ranked
    the same way (``theory_collapse_threshold``; under LR the order by ``M²`` is not the order of the thresholds,
    docs/theory.md §5).

    Args:
      ds: an analysed results Dataset (:func:`linvae.add_analysis`).

    Returns:
      ``xarray.Dataset`` of the comparison by rank.
    """
    K = ds.sizes["rank"]
    n = min(K, ds.sizes["mode"])
    frac, eval_frac, theory = np.zeros(K), np.zeros(K), np.zeros(K)
    frac[:n] = ds["pca_fraction"].values[:n]
    if "theory_collapse_threshold" in ds:  # λβ / LR: the objective-law fit of the closed form, rank by rank
        theory[:] = np.nan_to_num(ds["theory_collapse_threshold"].values, nan=0.0)
    else:  # β and sampled λβ keep the PCA order: rank k meets the k-th largest threshold
        finite = np.sort(np.nan_to_num(ds["theory_threshold"].values, posinf=0.0))[::-1]
        theory[:min(K, finite.size)] = finite[:K]
    theory[theory <= 1e-12 * theory.max()] = 0
    frac[frac <= 1e-12 * frac.max()] = 0  # a rounding-level eigenvalue is a zero mode (docs/theory.md §9)
    if "eval_fraction" in ds:
        eval_frac[:n] = np.where(frac[:n] > 0, ds["eval_fraction"].values[:n], 0)
    else:
        eval_frac[:] = np.nan
    fitted = ds["collapse_threshold"].values
    utility = ds["utility_spectrum"].values
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = lambda a: np.where(frac > 0, a / frac - 1, np.nan)  # noqa: E731
        return _with_intervals(ds, xr.Dataset(
            {"collapse_threshold": ("rank", fitted), "utility": ("rank", utility), "pca_fraction": ("rank", frac),
             "threshold_rel_diff": ("rank", rel(fitted)), "utility_rel_diff": ("rank", rel(utility)),
             "threshold_utility_rel_diff": ("rank", np.where(utility > 0, fitted / utility - 1, np.nan)),
             "eval_fraction": ("rank", eval_frac),
             "utility_eval_rel_diff": ("rank", np.where(eval_frac > 0, utility / eval_frac - 1, np.nan)),
             "theory_threshold": ("rank", theory),
             "threshold_theory_rel_diff": ("rank", np.where(theory > 0, fitted / theory - 1, np.nan)),
             "fit_points": ("rank", ds["collapse_fit_points"].values),
             "variance_ratio": ("rank", ds["collapse_variance_ratio"].values if "collapse_variance_ratio" in ds
                                else np.full(K, np.nan))},
            coords={"rank": ds["rank"].values},
        ))


def _with_intervals(ds, table):
    """The bootstrap bounds by rank (``*_lower``, ``*_upper``; PCA fractions by mode) and ``separable``, where the
    Dataset has them (:func:`linvae.analysis.add_bootstrap`)."""
    if "collapse_threshold_ci" not in ds:
        return table
    K = table.sizes["rank"]
    pca = np.full((K, 2), np.nan)
    n = min(K, ds.sizes["mode"])
    pca[:n] = ds["pca_fraction_ci"].transpose("mode", "bound").values[:n]
    bounds = {"threshold": ds["collapse_threshold_ci"].transpose("rank", "bound").values,
              "utility": ds["utility_spectrum_ci"].transpose("rank", "bound").values, "pca_fraction": pca}
    for name, b in bounds.items():
        table[f"{name}_lower"], table[f"{name}_upper"] = ("rank", b[:, 0]), ("rank", b[:, 1])
    table["separable"] = ("rank", ds["rank_separable"].values.astype(bool))
    table.attrs["level"] = float(ds["collapse_threshold_ci"].attrs.get("level", np.nan))
    return table


def activity_counts(ds: xr.Dataset) -> xr.Dataset:
    """Number of latents each activity criterion of docs/theory.md §8 calls active at each T, from the verdicts stored
    by :func:`linvae.add_activity_criteria` (thresholds in their attrs), with the closed-form active count.

    Args:
      ds: a results Dataset with activity criteria (:func:`linvae.add_activity_criteria`).

    Returns:
      ``xarray.Dataset`` of counts along ``T``.
    """
    verdicts = {"M2": "active_signal_fraction", "kl": "active_kl", "active_units": "active_units",
                "renyi_entropy": "active_renyi_entropy", "renyi_entropy_silverman": "active_renyi_entropy_silverman",
                "gaussian_entropy": "active_gaussian_entropy"}
    if "active_renyi_entropy_silverman" not in ds:  # files written before the second bandwidth
        verdicts.pop("renyi_entropy_silverman")
    missing = [v for v in verdicts.values() if v not in ds]
    if missing:
        raise InputError(f"the Dataset lacks the activity verdicts {', '.join(missing)}; run "
                         "linvae.add_activity_criteria (linvae.scan does)")
    counts = {name: ("T", ds[var].values.sum(1).astype(np.int64)) for name, var in verdicts.items()}
    counts["bonheme_active"] = ("T", (ds["bonheme_class"].values == 2).sum(1).astype(np.int64))
    counts["theory"] = ("T", ds["theory_n_active"].values.astype(np.int64))
    return xr.Dataset(counts, coords={"T": ds["T"].values})


def scan_summary(ds: xr.Dataset) -> str:
    """Two lines on a trained scan: points, budget, convergence, and the loss against the closed form
    (docs/training.md; for an MLP scan the ratio to the linear optimum, docs/nonlinear.md).

    Args:
      ds: a trained results Dataset (:func:`linvae.scan`).

    Returns:
      The summary text.
    """
    n_conv = int(ds["stopped_early"].sum())
    stopped = "converged" if ds.attrs["method"] == "exact" else "stopped early"
    first = (f"{ds.attrs['method']} scan ({ds.attrs.get('objective', 'beta')}): {ds.sizes['T']} points, "
             f"K = {ds.attrs['n_latents']}, {ds.attrs['train_wall_seconds']:.1f} s training, "
             f"{int(ds['train_steps'].max())} updates max, {n_conv} {stopped}, {int(ds['diverged'].sum())} diverged")
    if ds.attrs.get("config_model", "linear") == "mlp":  # the linear optimum is a reference, not the target
        ratio = ds["loss"].values / ds["theory_loss"].values
        return (f"{first}\nnormalised loss / linear closed form: median {np.median(ratio):.3f}, range "
                f"{ratio.min():.3f}-{ratio.max():.3f} (below 1: the MLP beats the linear optimum)")
    rel = np.abs(ds["loss"].values / ds["theory_loss"].values - 1)
    return f"{first}\nnormalised loss vs closed form: median rel. diff {np.median(rel):.2e}, worst {rel.max():.2e}"


def _percent(x):
    return f"{100 * x:+.2f}%" if np.isfinite(x) else "n/a"


def _duality_lines(ds, table):
    # the objective's own thresholds get a column where they are not λ_k/V (every objective but the β-VAE)
    beta = np.allclose(table["theory_threshold"].values, table["pca_fraction"].values, rtol=1e-9, atol=0)
    where = ds.attrs.get("analysis_split", "test")
    extra = "" if beta else f"  {'theory T_k':>10}  {'T_k rel':>8}"
    lines = [f"Duality (docs/theory.md §7): fitted collapse threshold T_k and utility dD_k (measured on the {where} "
             "split) vs PCA fraction lambda_k/V (training split);\n  eval frac = the evaluation split's variance share "
             "along u_k, the T -> 0 limit of the utility;\n  r = fitted ratio of evaluation to training variance "
             "along the rank's direction (the fit's second parameter)"
             + ("" if beta else "; theory T_k = the objective's threshold"),
             f"{'rank':>4}  {'T_k (fit)':>10}  {'utility':>10}  {'lambda_k/V':>10}  {'T_k rel':>8}  {'util rel':>8}  "
             f"{'points':>6}  {'r':>6}  {'eval frac':>10}  {'util rel':>8}{extra}"]
    col = {name: table[name].values for name in table.data_vars}
    for i, rank in enumerate(table["rank"].values):
        if col["pca_fraction"][i] <= 0 and col["theory_threshold"][i] <= 0 and not np.isfinite(
                col["collapse_threshold"][i]):
            continue
        extra = "" if beta else (f"  {col['theory_threshold'][i]:>10.4e}  "
                                 f"{_percent(col['threshold_theory_rel_diff'][i]):>8}")
        lines.append(f"{rank:>4}  {col['collapse_threshold'][i]:>10.4e}  {col['utility'][i]:>10.4e}  "
                     f"{col['pca_fraction'][i]:>10.4e}  {_percent(col['threshold_rel_diff'][i]):>8}  "
                     f"{_percent(col['utility_rel_diff'][i]):>8}  {int(col['fit_points'][i]):>6}  "
                     f"{col['variance_ratio'][i]:>6.3f}  "
                     f"{col['eval_fraction'][i]:>10.4e}  {_percent(col['utility_eval_rel_diff'][i]):>8}" + extra)
    return lines


def _interval_lines(ds, table):
    """The bootstrap intervals by rank, inseparable ranks marked, when the Dataset has them."""
    if "separable" not in table:
        return []
    level = 100 * table.attrs["level"]
    lines = [f"{level:g} % bootstrap intervals, {ds.attrs.get('bootstrap_replicates')} replicates (units: training "
             f"{ds.attrs.get('bootstrap_train_unit')}, evaluation {ds.attrs.get('bootstrap_eval_unit')});\n"
             f"  resampled: {ds.attrs.get('bootstrap_resampled')};\n"
             "  '~' after the rank: its threshold interval overlaps the next rank's (not separable)",
             f"{'rank':>4}  {'T_k low':>10}  {'T_k high':>10}  {'util low':>10}  {'util high':>10}  "
             f"{'frac low':>10}  {'frac high':>10}"]
    col = {name: table[name].values for name in table.data_vars}
    for i, rank in enumerate(table["rank"].values):
        if not np.isfinite(col["threshold_lower"][i]) and not col["pca_fraction"][i] > 0:
            continue
        mark = " " if col["separable"][i] else "~"
        lines.append(f"{rank:>4}{mark} {col['threshold_lower'][i]:>10.4e}  {col['threshold_upper'][i]:>10.4e}  "
                     f"{col['utility_lower'][i]:>10.4e}  {col['utility_upper'][i]:>10.4e}  "
                     f"{col['pca_fraction_lower'][i]:>10.4e}  {col['pca_fraction_upper'][i]:>10.4e}")
    return lines


def _activity_lines(ds):
    counts = activity_counts(ds)
    labels = {"M2": f"M2>{ds['active_signal_fraction'].attrs['threshold']:g}",
              "kl": f"KL>{ds['active_kl'].attrs['threshold']:g}",
              "active_units": f"Var(mu)>={ds['active_units'].attrs['threshold']:g}", "bonheme_active": "B&G active",
              "renyi_entropy": "Renyi H2", "renyi_entropy_silverman": "H2 Silverm.", "gaussian_entropy": "Gauss H",
              "theory": "closed form"}
    lines = ["Active latents per criterion (docs/theory.md §8; thresholds in the variables' attrs):\n"
             "  Renyi H2 = bandwidth fixed in prior units (sees scale); H2 Silverm. = the published per-latent "
             "bandwidth (scale-free:\n  any varying mean counts, rounding residue included; docs/criteria.md)",
             f"  {'T':>9}  " + "  ".join(f"{labels[c]:>11}" for c in counts.data_vars)]
    n = ds.sizes["T"]
    for i in sorted(set(range(0, n, max(1, n // 8))) | {n - 1}):
        lines.append(f"  {counts['T'].values[i]:>9.3e}  "
                     + "  ".join(f"{int(counts[c][i]):>11}" for c in counts.data_vars))
    if ds.attrs.get("skipped_criteria"):  # small data: a criterion that could not be estimated
        lines.append(f"  note: skipped {ds.attrs['skipped_criteria']}")
    return lines


def report(ds: xr.Dataset) -> str:
    """The report of an analysed scan, as ``linvae report`` prints it: for an MLP scan a line naming the model and
    the linear reference (docs/nonlinear.md), the duality table by rank, its bootstrap
    intervals when the Dataset has them (inseparable ranks marked ``~``), and the number of latents each activity
    criterion calls active along ``T``, with a note on any criterion skipped for small data
    (docs/how-to/own-data.md).

    Args:
      ds: an analysed results Dataset.

    Returns:
      The report text.
    """
    table = duality_table(ds)
    return "\n".join(_model_lines(ds) + _duality_lines(ds, table) + _interval_lines(ds, table) + _activity_lines(ds))


def _model_lines(ds):
    """For an MLP scan: the model, and that the closed-form columns are the linear reference (docs/nonlinear.md)."""
    if ds.attrs.get("config_model", "linear") != "mlp":
        return []
    return [f"Model: MLP VAE (hidden {ds.attrs.get('config_hidden', '?')}, {ds.attrs.get('config_activation', '?')}); "
            "lambda_k/V, the closed form and its active count are the linear optimum of the same data, the reference "
            "(docs/nonlinear.md)"]
