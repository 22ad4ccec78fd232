"""The analysis at the Dataset boundary: held-out observables, ranking, collapse fits, truncated reconstructions
and activity criteria of a scan, added to its results Dataset (docs/theory.md §7, §8).

The numerics live in the sibling modules as plain-array functions; here they are run in order on a Dataset and
their outputs named through :func:`linvae.results.assign`.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from linvae._errors import InputError
from linvae.analysis._criteria import (
    BONHEME_LEGEND,
    ActivityThresholds,
    Onsets,
    activity_criteria,
    criterion_onsets,
    gaussian_entropy,
    mean_representation_entropy,
    prior_bandwidth,
)
from linvae.analysis._fits import collapse_fit
from linvae.analysis._observables import Observables, observables, rank_by_signal
from linvae.analysis._truncation import decoded_truncated_distortion, truncated_distortion, utilities_at_best
from linvae.model import MlpParams, Params, encode
from linvae.results import assign, dataset_objective, dataset_params
from linvae.theory import follows_beta_law, mean_path

__all__ = ["add_analysis", "add_activity_criteria"]

_PER_LATENT = ("mu2", "sigma2", "log_sigma2", "kl", "M2", "snr", "A2", "jensen_gap")
_RANKED = ("M2", "mu2", "sigma2", "log_sigma2", "kl", "A2", "jensen_gap")


def add_analysis(ds: xr.Dataset, x_eval, *, m2_threshold=0.1, min_fit_points=2, block_rows=8192,
                 obs: Observables | None = None) -> xr.Dataset:
    """Held-out analysis of a scan (docs/theory.md §7): observables, ranking, collapse spectrum, truncated
    reconstructions
    and their mean-path closed forms, added to a copy of ``ds``.

    Args:
      ds: a results Dataset holding the trained parameters (:func:`linvae.scan`).
      x_eval: ``(N, d)`` held-out data in the model's (standardised) feature units,
        ``(x_raw − data_mean) / data_scale``; the model reads it centred on 0.
      m2_threshold: points with ``M_k² > m2_threshold`` enter the collapse fit.
      min_fit_points: a rank with fewer such points gets NaN.
      block_rows: rows per block of the streamed pass (:func:`linvae.analysis.observables`).
      obs: the observables of ``x_eval`` under ``ds``'s parameters, when already computed (skips the pass).

    Returns:
      ``ds`` with ``(T, latent)`` observables, ``(T, rank)`` ranked observables and utilities, ``(rank,)``
      collapse fit and utility spectrum, ``(T, n_kept)`` truncated distortions (measured and closed form).
    """
    params = dataset_params(ds)
    if not 0 <= m2_threshold < 1 or min_fit_points < 1:
        raise InputError(f"m2_threshold must lie in [0, 1) and min_fit_points be >= 1, found {m2_threshold} and "
                         f"{min_fit_points}; e.g. 0.1 and 2")
    if obs is None:
        obs = observables(params, x_eval, np.zeros(ds.sizes["feature"]), block_rows=block_rows)
    order = rank_by_signal(obs.M2)
    out = assign(ds, **{name: getattr(obs, name) for name in _PER_LATENT}, rank_latent=order,
                 **{f"{name}_ranked": np.take_along_axis(getattr(obs, name), order, axis=1) for name in _RANKED})
    out = _with_collapse_fit(out, m2_threshold, min_fit_points)
    out = _with_truncation(out, obs, params, order, x_eval)
    out.attrs.update(analysis_m2_threshold=float(m2_threshold), analysis_min_fit_points=int(min_fit_points),
                     analysis_n_eval=int(obs.n_rows))
    return out


def _with_collapse_fit(ds, m2_threshold, min_fit_points):
    """The collapse fit of the measured ``M²`` by rank and, where the law is not the β-VAE's, the same fit of the
    closed-form ``M²`` ranked the same way (under LR the order by ``M²`` is not the order of the thresholds)."""
    objective, K = dataset_objective(ds), ds.sizes["rank"]
    fit = scan_fit(ds, m2_threshold, min_fit_points)
    measured = fit(ds["M2_ranked"].transpose("T", "rank").values)
    out = assign(ds, collapse_threshold=measured.threshold, collapse_fit_points=measured.n_points,
                 collapse_fit_rmse=measured.rmse, collapse_variance_ratio=measured.variance_ratio)
    out["collapse_threshold"].attrs["note"] = f"NaN where fewer than {min_fit_points} points have M2 > {m2_threshold}"
    if follows_beta_law(objective):
        return out
    closed = np.sort(ds["theory_M2"].transpose("T", "mode").values, axis=1)[:, ::-1]
    padded = np.pad(closed, ((0, 0), (0, max(0, K - closed.shape[1]))))[:, :K]
    out = assign(out, theory_collapse_threshold=fit(padded).threshold)
    out["collapse_threshold"].attrs["objective_note"] = (
        f"fit of the {objective.kind!r} law M2(T; t_k) of linvae.theory.mode_signal (with the variance ratio), "
        "reported as that objective's threshold; collapse_fit_rmse is its residual")
    return out


def scan_fit(ds, m2_threshold, min_fit_points):
    """``M2_ranked (T, rank) -> CollapseFit``: :func:`linvae.analysis.collapse_fit` with the scan's grid, objective,
    ``V`` and ``σ_dec²`` (docs/theory.md §7). An MLP scan with a nonlinear activation is fitted with the training
    law alone (``r = 1``): the variance ratio rests on the linear optimum's ``A² = 1``, which a nonlinear latent need
    not have (docs/nonlinear.md); an identity MLP is a linear model and keeps it."""
    linear = ds.attrs.get("config_model", "linear") == "linear" or ds.attrs.get("config_activation") == "identity"
    return lambda M2: collapse_fit(
        ds["T"].values, M2, dataset_objective(ds), total_variance=float(ds.attrs["total_variance"]),
        sigma_dec2=float(ds.attrs["sigma_dec2"]), threshold=m2_threshold, min_points=min_fit_points,
        variance_ratio=linear)


def _with_truncation(ds, obs: Observables, params: Params | MlpParams, order, x_eval):
    """Measured truncated distortions and utilities, their mean-path closed forms and ``eval_fraction``; an MLP's
    truncated reconstructions are decoded row by row (:func:`linvae.analysis.decoded_truncated_distortion`)."""
    T = ds["T"].values
    D = (decoded_truncated_distortion(params, x_eval, order) if isinstance(params, MlpParams)
         else truncated_distortion(obs.x_cov, params.encoder_weight, params.decoder_weight, order))
    utility, best = utilities_at_best(D)
    with jax.enable_x64(True):  # closed forms in float64 whatever the training precision
        theory = jax.tree.map(np.asarray, mean_path(T, ds["pca_eigenvalue"].values, dataset_objective(ds),
                                                    ds.sizes["rank"], float(ds.attrs["sigma_dec2"])))
    U = ds["pca_eigenvector"].transpose("feature", "mode").values
    out = assign(ds, eval_fraction=np.einsum("ik,ij,jk->k", U, obs.x_cov, U) / np.trace(obs.x_cov),
                 truncated_distortion=D, utility=utility, utility_spectrum=utility[best],
                 theory_truncated_distortion=theory.truncated_distortion, theory_utility=theory.utility)
    out["utility_spectrum"].attrs["read_at_T"] = float(T[best])
    return out


@jax.jit
def _means(params: Params | MlpParams, x):
    """Posterior means of a grid of models at the rows ``x``, ``(G, K, n)``."""
    return jax.vmap(lambda p: encode(p, x, 0.0)[0].T)(params)


def _renyi(params: Params | MlpParams, x_eval, rows, entropy, shape):
    """The Rényi entropies of ``μ_k`` on the drawn ``rows`` with ``entropy``'s bandwidth and with Silverman's, each
    ``(G, K)`` = ``shape``, float64 (NaN when there are too few rows for one batch)."""
    G, K = shape
    if len(rows) == 0:  # too few rows for one entropy batch: the criterion is skipped (NaN, never active)
        return np.full((G, K), np.nan), np.full((G, K), np.nan)
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        mu = _means(p64, jnp.asarray(np.asarray(x_eval[rows], np.float64)))  # (G, K, n) in drawing order
        # One grid point at a time: the Gram matrices of all points at once would not fit in memory.
        per_point = lambda **kw: np.stack([np.asarray(mean_representation_entropy(mu[g], **kw))  # noqa: E731
                                           for g in range(G)])
        silverman = per_point(**dict(entropy, bandwidth=None))
        return (silverman if entropy["bandwidth"] is None else per_point(**entropy)), silverman


def add_activity_criteria(ds: xr.Dataset, x_eval, thresholds: ActivityThresholds = ActivityThresholds(), *,
                          batch_size=100, n_batches=10, seed=0, alpha=2.0, bandwidth="prior",
                          entropy_method=None, block_rows=8192, obs=None) -> xr.Dataset:
    """Activity criteria of docs/theory.md §8 on held-out data, added to a copy of a scan's Dataset.

    Statistics (float64, whatever the training precision): ``M²``, ``R_k`` and ``mean σ_k²`` from
    :func:`linvae.analysis.observables`; ``Var_x μ_k = a_k C a_kᵀ`` exactly from its data covariance (``μ`` is
    affine in ``x``); ``Var_x σ_k²`` from one more streamed pass; the Rényi entropy on ``n_batches`` batches of
    ``batch_size`` rows drawn without replacement (seeded) from ``x_eval``, twice: with ``bandwidth`` (default the
    prior's, :func:`linvae.analysis.prior_bandwidth`, which sees scale) as ``renyi_entropy``, and with the
    published per-latent Silverman bandwidth as ``renyi_entropy_silverman`` (docs/criteria.md, "Two bandwidths").
    With fewer than ``batch_size`` rows the entropy criterion is skipped (``renyi_entropy`` NaN, never active) and
    the attr ``skipped_criteria`` says so (docs/how-to/own-data.md, "Minimum sizes").

    Args:
      ds: a results Dataset holding trained parameters (:func:`linvae.scan`).
      x_eval: ``(N, d)`` held-out rows in the model's (standardised) units, as for :func:`add_analysis`.
      thresholds: the :class:`ActivityThresholds`.
      batch_size: rows per batch of the Rényi entropy.
      n_batches: number of batches drawn for the Rényi entropy.
      seed: seed of the draw of the batches.
      alpha: order ``α`` of the Rényi entropy (:func:`linvae.analysis.renyi_entropy`).
      bandwidth: its kernel bandwidth: ``"prior"`` (default), ``"silverman"`` (per latent and batch, the published
        estimator) or a fixed positive float in latent units.
      entropy_method: its ``method``, ``"trace"`` or ``"eigvalsh"`` (``None``: chosen by ``α``).
      block_rows: rows per block of the streamed passes (:func:`linvae.analysis.observables`).
      obs: the observables of ``x_eval`` under ``ds``'s parameters, when already computed.

    Returns:
      ``ds`` with ``(T, latent)`` variables ``var_mu``, ``var_sigma2``, ``renyi_entropy``, ``gaussian_entropy``,
      the verdicts ``active_signal_fraction``, ``active_kl``, ``active_units``, ``active_renyi_entropy``,
      ``active_gaussian_entropy`` (0/1) and ``bonheme_class`` (``BONHEME_LEGEND``), each carrying its threshold
      in attrs, and ``criterion_onset_T`` ``(criterion, mode)``: the closed-form onsets of the Dataset's objective
      (:func:`linvae.analysis.criterion_onsets`; ``T_k τ*`` for the β-VAE).
    """
    n = np.shape(x_eval)[0] if np.ndim(x_eval) == 2 else 0
    if n < 1 or n_batches < 1 or batch_size < 1:
        raise InputError(f"the criteria need at least 1 evaluation row, n_batches >= 1 and batch_size >= 1, found "
                         f"{n} rows, n_batches={n_batches}, batch_size={batch_size}")
    h = _bandwidth(bandwidth, batch_size)
    params = dataset_params(ds)
    if obs is None:
        obs = observables(params, x_eval, np.zeros(ds.sizes["feature"]), block_rows=block_rows)
    n_batches = min(int(n_batches), n // batch_size)  # 0 when n < batch_size: the entropy criterion is skipped
    rows = np.sort(np.random.default_rng(seed).choice(n, n_batches * batch_size, replace=False))
    entropy = dict(batch_size=batch_size, alpha=alpha, bandwidth=h, method=entropy_method)
    renyi, silverman = _renyi(params, x_eval, rows, entropy, obs.M2.shape)
    var_mu, var_sigma2 = obs.var_mu, obs.var_sigma2
    crit = activity_criteria(M2=obs.M2, rate=obs.kl, var_mu=var_mu, mean_sigma2=obs.sigma2, var_sigma2=var_sigma2,
                             renyi=renyi, thresholds=thresholds, renyi_silverman=silverman)
    onset_T = _onsets(ds, thresholds, h, batch_size, alpha)
    out = assign(ds, coords=True, criterion=np.asarray(Onsets._fields, dtype=object))
    out = assign(out, var_mu=var_mu, var_sigma2=var_sigma2, renyi_entropy=renyi,
                 gaussian_entropy=gaussian_entropy(var_mu), bonheme_class=crit.bonheme, criterion_onset_T=onset_T,
                 active_signal_fraction=crit.signal_fraction, active_kl=crit.kl, active_units=crit.active_units,
                 active_renyi_entropy=crit.renyi_entropy, active_gaussian_entropy=crit.gaussian_entropy,
                 renyi_entropy_silverman=silverman, active_renyi_entropy_silverman=crit.renyi_entropy_silverman)
    _criteria_attrs(out, thresholds, dict(entropy, n_batches=n_batches, seed=seed, n_rows=n))
    return out


def _onsets(ds, thresholds, bandwidth, batch_size, alpha):
    """Closed-form onset prices ``(criterion, mode)`` of the scan's objective, in float64."""
    with jax.enable_x64(True):
        return np.asarray(criterion_onsets(ds["pca_eigenvalue"].values, dataset_objective(ds), thresholds,
                                           float(ds.attrs.get("sigma_dec2", 1.0)),
                                           bandwidth="silverman" if bandwidth is None else bandwidth,
                                           batch_size=batch_size, alpha=alpha))


def _bandwidth(bandwidth, batch_size):
    """The fixed bandwidth of ``"prior"`` or a float, ``None`` for ``"silverman"``; anything else is refused."""
    if isinstance(bandwidth, str) and bandwidth in ("prior", "silverman"):
        return prior_bandwidth(batch_size) if bandwidth == "prior" else None
    if isinstance(bandwidth, (int, float)) and not isinstance(bandwidth, bool) and np.isfinite(bandwidth) \
            and bandwidth > 0:
        return float(bandwidth)
    raise InputError(f"bandwidth must be 'prior', 'silverman' or a positive number, found {bandwidth!r}; e.g. "
                     "'prior' (the default)")


def _criteria_attrs(ds, thresholds: ActivityThresholds, entropy):
    """Each verdict's threshold and rule, the entropy estimator's settings and the thresholds as global attrs."""
    t = thresholds
    per_variable = {
        "active_signal_fraction": {"threshold": t.signal_fraction, "rule": "M2 > threshold"},
        "active_kl": {"threshold": t.kl, "rule": "kl > threshold (nats)"},
        "active_units": {"threshold": t.var_mu, "rule": "var_mu >= threshold"},
        "bonheme_class": {"var_sigma2_max": t.bonheme_var_sigma2, "tol": t.bonheme_tol, "legend": BONHEME_LEGEND},
        "active_renyi_entropy": {"threshold": t.renyi_entropy, "rule": "renyi_entropy > threshold (bits)"},
        "active_renyi_entropy_silverman": {"threshold": t.renyi_entropy,
                                           "rule": "renyi_entropy_silverman > threshold (bits)"},
        "active_gaussian_entropy": {"threshold": t.gaussian_entropy, "rule": "gaussian_entropy > threshold (bits)"},
        "renyi_entropy": {"alpha": float(entropy["alpha"]), "batch_size": int(entropy["batch_size"]),
                          "n_batches": int(entropy["n_batches"]), "seed": int(entropy["seed"]),
                          "method": entropy["method"] or ("trace" if entropy["alpha"] == 2 else "eigvalsh"),
                          "bandwidth": "silverman" if entropy["bandwidth"] is None else float(entropy["bandwidth"])},
        "renyi_entropy_silverman": {"bandwidth": "silverman"},
    }
    for name, attrs in per_variable.items():
        ds[name].attrs.update(attrs)
    if entropy["n_batches"] == 0:
        ds.attrs["skipped_criteria"] = (f"renyi_entropy: {entropy['n_rows']} evaluation rows are fewer than one batch "
                                        f"of {entropy['batch_size']}; active_renyi_entropy(_silverman) is 0 and "
                                        "renyi_entropy(_silverman) NaN")
    ds.attrs.update({f"criteria_{f.name}": getattr(t, f.name) for f in dataclasses.fields(t)})
