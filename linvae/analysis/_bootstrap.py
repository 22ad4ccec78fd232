"""Bootstrap confidence intervals of the collapse spectrum: PCA fractions, fitted thresholds and utilities
(docs/theory.md §7, "Uncertainty").

A replicate draws the resampling units (rows, or spatial blocks of rows) with replacement, as many as there are,
and recomputes every step from the replicate's weighted moments: the standardisation and PCA of the training rows;
for an exact β-VAE scan the optimum of every grid point (the exact method's fixed point, in closed form, one
``jax.jit(jax.vmap(jax.vmap(…)))`` call over replicate × T); the held-out observables, the ranking, the collapse fit
and the truncated reconstructions on the evaluation rows. Where the optimum has no closed form (sgd scans, the
λβ- and LR-VAE) the trained parameters are kept and only the evaluation rows are resampled: those intervals hold
the sampling error of the measurement, not that of training. Intervals are percentile intervals of the replicates.
"""

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from linvae._errors import InputError
from linvae.analysis._dataset import scan_fit
from linvae.analysis._observables import mean_square, rank_by_signal
from linvae.analysis._truncation import truncated_distortion, utilities_at_best
from linvae.model import Params
from linvae.results import assign, dataset_objective, dataset_params
from linvae.theory import stationary_weights

__all__ = ["add_bootstrap", "bootstrap_pca_fractions", "percentile_interval", "resample_counts"]

_BLOCK = 4096  # rows per block of the weighted passes


def resample_counts(n_units, n_replicates, seed=0):
    """How often each resampling unit is drawn in each replicate: ``n_units`` draws with replacement, ``(R, n)``
    int64 (docs/theory.md §7, "Uncertainty").

    Args:
      n_units: number of resampling units (rows or blocks).
      n_replicates: number of replicates ``R``.
      seed: seed of the draws (an integer or a ``numpy.random.SeedSequence``).

    Returns:
      ``(R, n_units)`` counts, each row summing to ``n_units``.
    """
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_replicates)


def percentile_interval(samples, level=0.95):
    """Percentile interval over the first axis, ignoring NaN replicates: ``(..., 2)`` lower and upper bounds at
    ``(1 − level)/2`` and ``(1 + level)/2`` (docs/theory.md §7, "Uncertainty").

    Args:
      samples: ``(R, ...)`` replicate values.
      level: the interval's coverage, in ``(0, 1)``.

    Returns:
      ``(..., 2)`` bounds; NaN where no replicate is finite.
    """
    samples = np.asarray(samples, np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN bounds
        bounds = np.nanquantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return np.moveaxis(bounds, 0, -1)


def _units(groups, n_rows):
    """Unit index of every row, ``0 … n_units − 1`` (each row its own unit when ``groups`` is ``None``)."""
    if groups is None:
        return np.arange(n_rows), n_rows
    groups = np.asarray(groups)
    if groups.shape != (n_rows,):
        raise InputError(f"groups must give one resampling unit per row, found shape {groups.shape} for {n_rows} "
                         "rows; pass e.g. the WorldClim block index of each row")
    unique, index = np.unique(groups, return_inverse=True)
    return index.ravel(), unique.size


def _weighted_moments(x, units, counts, extra=None):
    """Per replicate: weighted mean ``(R, d)``, population covariance ``(R, d, d)`` of the rows ``x`` (row weight =
    its unit's count) and, with ``extra(rows) -> (b, m)``, the weighted mean of ``extra`` ``(R, m)``."""
    n, d = np.shape(x)
    shift = np.asarray(x[: min(n, _BLOCK)], np.float64).mean(0)  # a shift against cancellation in the sums
    R = counts.shape[0]
    s0, s1, s2, se = np.zeros(R), np.zeros((R, d)), np.zeros((R, d * d)), None
    for start in range(0, n, _BLOCK):
        rows = np.asarray(x[start:start + _BLOCK], np.float64) - shift
        w = counts[:, units[start:start + _BLOCK]].astype(np.float64)  # (R, b)
        s0 += w.sum(1)
        s1 += w @ rows
        s2 += w @ (rows[:, :, None] * rows[:, None, :]).reshape(len(rows), d * d)
        if extra is not None:
            part = w @ extra(rows + shift)
            se = part if se is None else se + part
    mean = s1 / s0[:, None]
    cov = s2.reshape(R, d, d) / s0[:, None, None] - mean[:, :, None] * mean[:, None, :]
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    return mean + shift, cov, (None if se is None else se / s0[:, None])


def _standardised(mean, cov, standardize):
    """The replicate's own standardisation: ``(mean, scale, correlation or covariance)``."""
    scale = np.sqrt(np.diagonal(cov, axis1=1, axis2=2)) if standardize else np.ones(mean.shape)
    return mean, scale, cov / (scale[:, :, None] * scale[:, None, :])


def _spectrum(cov):
    """Descending eigenvalues and eigenvectors of a stack of covariances."""
    eig, vec = np.linalg.eigh(cov)
    return np.clip(eig[:, ::-1], 0, None), vec[:, :, ::-1]


def bootstrap_pca_fractions(x, *, n_replicates=200, groups=None, standardize=True, seed=0):
    """Bootstrap replicates of the PCA fractions ``λ_k / V`` of the rows ``x`` (standardised per replicate, as
    :func:`linvae.scan` does), resampling rows or the units ``groups`` (docs/theory.md §7, "Uncertainty").

    Args:
      x: ``(N, d)`` rows (e.g. the training split).
      n_replicates: number of replicates ``R``.
      groups: optional ``(N,)`` resampling unit of each row (e.g. spatial blocks); ``None``: rows.
      standardize: standardise each replicate with its own statistics.
      seed: seed of the draws.

    Returns:
      ``(R, d)`` fractions, descending in each replicate.
    """
    units, n_units = _units(groups, np.shape(x)[0])
    _, cov, _ = _weighted_moments(x, units, resample_counts(n_units, n_replicates, seed))
    eig, _ = _spectrum(_standardised(np.zeros(cov.shape[:2]), cov, standardize)[2])
    return eig / eig.sum(1, keepdims=True)


@functools.partial(jax.jit, static_argnames="n_latents")
def _optima(eigenvalues, eigenvectors, T, n_latents):
    """The β-VAE optimum of every (replicate, T): stationary weights ``(R, G, …)`` in one vmapped call."""
    one = jax.vmap(stationary_weights, in_axes=(None, None, None, 0, None))   # over T
    both = jax.vmap(one, in_axes=(None, 0, 0, None, None))                    # over replicates
    return both(jnp.zeros(eigenvalues.shape[-1], eigenvalues.dtype), eigenvalues, eigenvectors, T, n_latents)


def _spectra_of(params: Params, mean, cov, sigma2, fit):
    """Fitted thresholds and utility spectrum ``(K,)`` each, of one grid of models on evaluation moments."""
    _, mu2 = mean_square(params.encoder_weight, params.encoder_bias, mean, cov)
    order = rank_by_signal(mu2 / (mu2 + sigma2))
    utility, best = utilities_at_best(truncated_distortion(cov, params.encoder_weight, params.decoder_weight, order))
    return fit(np.take_along_axis(mu2 / (mu2 + sigma2), order, axis=1)).threshold, utility[best]


def _sigma2_rows(params: Params):
    """``rows -> (b, G·K)`` posterior variances of an affine variance head, for the weighted evaluation pass."""
    S, t = np.asarray(params.log_sigma2_weight, np.float64), np.asarray(params.log_sigma2_bias, np.float64)
    fn = jax.jit(lambda x, S, t: jnp.exp(jnp.einsum("nd,gkd->ngk", x, S) + t).reshape(x.shape[0], -1))

    def sigma2(rows):
        with jax.enable_x64(True):  # float64 whatever the training precision, like the analysis
            return np.asarray(fn(jnp.asarray(rows), jnp.asarray(S), jnp.asarray(t)))

    return sigma2


def add_bootstrap(ds: xr.Dataset, x_train, x_eval, *, n_replicates=200, level=0.95, train_groups=None,
                  eval_groups=None, seed=0) -> xr.Dataset:
    """Bootstrap intervals of an analysed scan's collapse spectrum, added to a copy of ``ds`` (docs/theory.md §7,
    "Uncertainty"): ``pca_fraction_ci(mode, bound)``, ``collapse_threshold_ci(rank, bound)``,
    ``utility_spectrum_ci(rank, bound)`` (``bound`` = lower, upper; the level in their attrs) and
    ``rank_separable(rank)``, 1 where rank k's threshold interval lies above rank k + 1's.

    Exact β-VAE scans resample the training and the evaluation rows and recompute the optimum of every
    (replicate, T) in one vmapped call; other scans (sgd, λβ, LR) keep their trained parameters and resample the
    evaluation rows only (the module docstring says why). Units: rows, or the ``*_groups`` of each row (e.g. the
    WorldClim 500 km blocks, whose cells are spatially correlated).

    Args:
      ds: an analysed results Dataset (:func:`linvae.add_analysis`) with its trained parameters.
      x_train: ``(N_train, d)`` training rows in the model's units (as ``x_eval``).
      x_eval: ``(N, d)`` evaluation rows in the model's units, the rows the analysis was measured on.
      n_replicates: number of replicates ``R`` (at least 2).
      level: coverage of the intervals, in ``(0, 1)``.
      train_groups: optional ``(N_train,)`` resampling unit of each training row; ``None``: rows.
      eval_groups: optional ``(N,)`` resampling unit of each evaluation row; ``None``: rows.
      seed: seed of the draws. Training and evaluation draws are independent streams, except when ``x_eval`` is
        ``x_train`` (the same object, same groups): then each replicate resamples those rows once for both.

    Returns:
      ``ds`` with the intervals and ``rank_separable``; global attrs ``bootstrap_*`` say what was resampled.

    Raises:
      InputError: ``ds`` not analysed or of an MLP scan, rows of the wrong width, fewer than 2 replicates or a level
        outside (0, 1).
    """
    _check(ds, x_train, x_eval, n_replicates, level)
    T, K, R = ds["T"].values, ds.sizes["latent"], int(n_replicates)
    params, objective = dataset_params(ds), dataset_objective(ds)
    refit = ds.attrs.get("method") == "exact" and objective.kind == "beta"
    (t_units, n_t), (e_units, n_e) = _units(train_groups, len(x_train)), _units(eval_groups, len(x_eval))
    t_counts = resample_counts(n_t, R, seed)
    t_mean, t_cov, _ = _weighted_moments(x_train, t_units, t_counts)
    mean_r, scale_r, corr_r = _standardised(t_mean, t_cov, bool(ds.attrs.get("config_standardize", 1)))
    eig, vec = _spectrum(corr_r)
    affine = not refit and bool(np.any(np.asarray(params.log_sigma2_weight) != 0))
    same = x_eval is x_train and eval_groups is train_groups  # the training rows: their own draws, not new ones
    e_counts = t_counts if same else resample_counts(n_e, R, np.random.SeedSequence([int(seed), 1]))
    e_mean, e_cov, e_sigma2 = _weighted_moments(x_eval, e_units, e_counts, _sigma2_rows(params) if affine else None)
    if refit:  # the optimum of every (replicate, T), evaluated in the replicate's own standardised units
        with jax.enable_x64(True):
            grid = jax.tree.map(np.asarray, _optima(jnp.asarray(eig), jnp.asarray(vec), jnp.asarray(T), K))
        models = [(jax.tree.map(lambda a, r=r: a[r], grid), (e_mean[r] - mean_r[r]) / scale_r[r],
                   e_cov[r] / np.outer(scale_r[r], scale_r[r]), np.exp(grid.log_sigma2_bias[r])) for r in range(R)]
    else:
        models = [(params, e_mean[r], e_cov[r], e_sigma2[r].reshape(len(T), K) if affine
                   else np.exp(np.asarray(params.log_sigma2_bias))) for r in range(R)]
    fit = scan_fit(ds, ds.attrs.get("analysis_m2_threshold", 0.1), ds.attrs.get("analysis_min_fit_points", 2))
    thresholds, utilities = np.stack([np.stack(_spectra_of(*model, fit)) for model in models], axis=1)
    what = ("training and evaluation units; the optimum of each replicate and T recomputed (exact beta-VAE)"
            if refit else "evaluation units only; the trained parameters kept")
    thresholds[:, ~np.isfinite(ds["collapse_threshold"].values)] = np.nan  # no interval around a missing estimate
    return _with_intervals(ds, level, R, eig / eig.sum(1, keepdims=True), thresholds, utilities, {
        "bootstrap_resampled": what, "bootstrap_seed": int(seed),
        "bootstrap_train_unit": "rows" if train_groups is None else f"{n_t} groups",
        "bootstrap_eval_unit": "rows" if eval_groups is None else f"{n_e} groups"})


def _check(ds, x_train, x_eval, n_replicates, level):
    if "collapse_threshold" not in ds:
        raise InputError("the Dataset is not analysed; run linvae.add_analysis first (linvae.scan does)")
    if ds.attrs.get("config_model", "linear") != "linear":
        raise InputError("bootstrap intervals are computed for linear-model scans only (they use the affine encoder's "
                         "moments); drop --bootstrap for an MLP scan")
    d = ds.sizes["feature"]
    for name, x in (("x_train", x_train), ("x_eval", x_eval)):
        if np.ndim(x) != 2 or np.shape(x)[1] != d or np.shape(x)[0] < 2:
            raise InputError(f"{name} must be (N, {d}) rows in the model's units with N >= 2, found shape "
                             f"{np.shape(x)}")
    if int(n_replicates) != n_replicates or n_replicates < 2:
        raise InputError(f"n_replicates must be an integer >= 2, found {n_replicates!r}; e.g. 200")
    if not 0 < level < 1:
        raise InputError(f"level must lie in (0, 1), found {level!r}; e.g. 0.95")


def _with_intervals(ds, level, R, fractions, thresholds, utilities, attrs):
    """The intervals, ``rank_separable`` and the provenance attrs, named through the schema. A value missing (NaN)
    in more than ``1 − level`` of the replicates gets no interval (NaN): the replicates that did give it are a
    biased selection."""
    pca, tk, util = (percentile_interval(v, level) for v in (fractions, thresholds, utilities))
    tk[np.mean(np.isfinite(thresholds), axis=0) < level] = np.nan
    util[np.mean(np.isfinite(utilities), axis=0) < level] = np.nan
    below = np.concatenate([tk[1:, 1], [0.0]])              # the next rank's upper bound (0 past the last)
    separable = np.isfinite(tk[:, 0]) & (tk[:, 0] > np.nan_to_num(below, nan=0.0))
    out = assign(ds, coords=True, bound=np.asarray(["lower", "upper"], dtype=object))
    out = assign(out, pca_fraction_ci=pca[: ds.sizes["mode"]], collapse_threshold_ci=tk, utility_spectrum_ci=util,
                 rank_separable=separable.astype(np.int8))
    for name in ("pca_fraction_ci", "collapse_threshold_ci", "utility_spectrum_ci"):
        out[name].attrs.update(level=float(level), replicates=int(R), method="percentile bootstrap")
    out["collapse_threshold_ci"].attrs["note"] = (f"NaN where the point estimate is NaN or fewer than {level:g} of "
                                                  "the replicates fit the rank")
    out.attrs.update(attrs, bootstrap_replicates=int(R), bootstrap_level=float(level))
    return out
