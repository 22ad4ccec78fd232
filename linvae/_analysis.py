"""Held-out observables, collapse-spectrum fits and truncated reconstructions of a scanned T-grid (SPEC.md §7).

Everything is measured on evaluation data in the units the model was trained in (standardised features read
centred on ``center``). Shapes: ``G`` grid points, ``K`` latents, ``d`` features, ``N`` rows. One pass over the
data (JAX, vmapped over the grid, streamed over row blocks) gives the per-latent averages and the data's second
moments; everything else is small float64 numpy algebra on those. Names are attached only in :func:`add_analysis`.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from linvae import _objectives, _results, _theory
from linvae._errors import InputError
from linvae._model import Params, encode, kl_per_latent

__all__ = [
    "Observables", "observables", "rank_by_signal", "collapse_fit", "objective_collapse_fit", "truncated_distortion",
    "add_analysis", "duality_table", "activity_counts",
]

_ONE = "1"
_results.VARIABLE_ATTRS.update({
    "mu2": ("mean posterior mean squared, mean mu_k^2", _ONE),
    "sigma2": ("mean posterior variance, mean sigma_k^2", _ONE),
    "log_sigma2": ("mean posterior log-variance, mean log sigma_k^2", _ONE),
    "kl": ("KL rate of the latent R_k = mean KL_k", "nats"),
    "M2": ("signal fraction M_k^2 = mean mu_k^2 / (mean mu_k^2 + mean sigma_k^2)", _ONE),
    "snr": ("signal-to-noise ratio mean mu_k^2 / mean sigma_k^2", _ONE),
    "A2": ("posterior scale A_k^2 = mean mu_k^2 + mean sigma_k^2", _ONE),
    "jensen_gap": ("Jensen gap J_k = log mean sigma_k^2 - mean log sigma_k^2", _ONE),
    "rank_latent": ("latent index at each rank (M^2 descending) at each T", _ONE),
    "M2_ranked": ("signal fraction of the ranked latent", _ONE),
    "mu2_ranked": ("mean mu^2 of the ranked latent", _ONE),
    "sigma2_ranked": ("mean sigma^2 of the ranked latent", _ONE),
    "log_sigma2_ranked": ("mean log sigma^2 of the ranked latent", _ONE),
    "kl_ranked": ("KL rate of the ranked latent", "nats"),
    "A2_ranked": ("posterior scale A^2 of the ranked latent", _ONE),
    "jensen_gap_ranked": ("Jensen gap of the ranked latent", _ONE),
    "collapse_threshold": ("fitted collapse threshold T_k of M_k^2 = [1 - T/T_k]_+", _ONE),
    "collapse_fit_points": ("number of T points used in the collapse fit (M_k^2 above the threshold)", _ONE),
    "collapse_fit_rmse": ("rms residual of M_k^2 - [1 - T/T_k]_+ on the fitted points", _ONE),
    "truncated_distortion": ("normalised distortion from posterior means keeping ranked latents 1..k, "
                             "bias refitted", _ONE),
    "utility": ("utility of ranked latent k: D_{k-1} - D_k (truncated distortion)", _ONE),
    "utility_spectrum": ("utility of ranked latent k at the T of lowest full-model truncated distortion", _ONE),
    "theory_truncated_distortion": ("closed-form mean-path truncated distortion 1 - sum_{j<=k} dD_j", _ONE),
    "theory_utility": ("closed-form mean-path utility dD_k = lambda_k (1 - u_k^2) / V of the objective's optimum "
                       "(beta-VAE: T_k (1 - (T/T_k)^2)_+), modes ranked by closed-form M^2", _ONE),
})


class Observables(NamedTuple):
    """Held-out averages per grid point and latent (float64 numpy; SPEC.md §7) and the data's moments."""

    mu2: np.ndarray         # mean μ_k² (G, K)
    sigma2: np.ndarray      # mean σ_k² (G, K)
    log_sigma2: np.ndarray  # mean log σ_k² (G, K)
    kl: np.ndarray          # R_k = mean KL_k (G, K)
    M2: np.ndarray          # mu2 / (mu2 + sigma2) (G, K)
    snr: np.ndarray         # mu2 / sigma2 (G, K)
    A2: np.ndarray          # mu2 + sigma2 (G, K)
    jensen_gap: np.ndarray  # log sigma2 − log_sigma2 (G, K)
    x_mean: np.ndarray      # mean of x − center (d,)
    x_cov: np.ndarray       # centred (population) covariance C_xx of the evaluation data (d, d)
    n_rows: int


@jax.jit
def _block_sums(params: Params, xc, weight):
    """Weighted row sums of ``(μ², σ², log σ², KL)`` over one block, ``(G, 4, K)``; ``weight`` masks padding."""
    def one(p):
        mu, log_sigma2 = encode(p, xc, 0.0)
        terms = (mu**2, jnp.exp(log_sigma2), log_sigma2, kl_per_latent(mu, log_sigma2))
        return jnp.stack([weight @ t for t in terms])
    return jax.vmap(one)(params)


def observables(params: Params, x, center, *, block_rows=8192) -> Observables:
    """Per-latent held-out averages of a grid of models in one streamed pass over ``x`` (SPEC.md §7).

    ``mu2 = mean μ_k²``, ``sigma2 = mean σ_k²``, ``log_sigma2 = mean log σ_k²``, ``kl = mean KL_k`` with
    ``KL_k = ½ [μ_k² + σ_k² − log σ_k² − 1]``; derived ``M2 = mu2 / (mu2 + sigma2)``, ``snr = mu2 / sigma2``,
    ``A2 = mu2 + sigma2``, ``jensen_gap = log sigma2 − log_sigma2``. Also the mean and centred covariance of
    ``x − center``: the encoder mean is affine in ``x``, so the moments the truncated reconstructions need follow
    from them exactly (``C_xμ = C_xx Aᵀ``, ``C_μμ = A C_xx Aᵀ``) and need not be accumulated per model.

    Precision: always float64, whatever the training precision (a one-off pass, cheap next to training). In
    float32 the block sums of ``log σ²`` carry ~1e-4 relative error, which swamps the Jensen gap of a
    constant-variance encoder (exactly 0) with ±1e-3 noise of either sign. The data moments are accumulated in
    float64 on the host.

    Args:
      params: a grid of :class:`Params`, every leaf with a leading grid axis ``G``.
      x: ``(N, d)`` evaluation data (any array, e.g. a memory map: read one block at a time).
      center: ``(d,)`` the data mean the encoder subtracts.
      block_rows: rows per block; the last block is padded and masked, so one compilation serves all blocks.
    """
    if np.ndim(x) != 2 or np.shape(x)[1] != np.shape(params.encoder_weight)[-1] or np.shape(x)[0] < 1:
        raise InputError(f"evaluation data must be (N, {np.shape(params.encoder_weight)[-1]}) with N >= 1, "
                         f"found shape {np.shape(x)}; pass held-out rows in the model's feature units")
    with jax.enable_x64(True):
        return _observables64(params, x, center, block_rows)


def _observables64(params, x, center, block_rows):
    dtype = jnp.float64
    params = jax.tree.map(lambda a: jnp.asarray(a, dtype), params)
    center = np.asarray(center, np.float64)
    n, d = np.shape(x)
    block = max(1, min(int(block_rows), n))
    s1, s2, partials = np.zeros(d), np.zeros((d, d)), []
    for start in range(0, n, block):
        xc = np.asarray(x[start:start + block], np.float64) - center
        if not np.all(np.isfinite(xc)):
            raise InputError(f"evaluation data contain NaN or inf in rows {start}..{start + len(xc) - 1}; "
                             "drop or impute them first")
        s1 += xc.sum(axis=0)
        s2 += xc.T @ xc
        weight = (np.arange(block) < len(xc)).astype(np.float64)
        xc = np.pad(xc, ((0, block - len(xc)), (0, 0)))
        partials.append(_block_sums(params, jnp.asarray(xc, dtype), jnp.asarray(weight, dtype)))
    sums = sum(np.asarray(p, np.float64) for p in partials) / n
    mu2, sigma2, log_sigma2, kl = (sums[:, i] for i in range(4))
    x_mean = s1 / n
    x_cov = s2 / n - np.outer(x_mean, x_mean)
    A2 = mu2 + sigma2
    return Observables(mu2=mu2, sigma2=sigma2, log_sigma2=log_sigma2, kl=kl, M2=mu2 / A2, snr=mu2 / sigma2,
                       A2=A2, jensen_gap=np.log(sigma2) - log_sigma2, x_mean=x_mean,
                       x_cov=0.5 * (x_cov + x_cov.T), n_rows=int(n))


def rank_by_signal(M2):
    """Latent indices by descending ``M_k²`` at each grid point, ``(G, K)`` (SPEC.md §7, "Ranking").

    Ties keep latent order (stable sort); NaN ranks last.
    """
    return np.argsort(-np.asarray(M2), axis=-1, kind="stable")


def collapse_fit(T, M2_ranked, *, threshold=0.1, min_points=2):
    """Least-squares fit of ``M_k²(T) = 1 − T/T_k`` per rank to the points with ``M_k² > threshold`` (SPEC.md §7).

    Fixed exponent and intercept 1, so the fit is linear in ``1/T_k``: ``1/T_k = Σ T_i (1 − M_i²) / Σ T_i²``.

    Args:
      T: ``(G,)`` information prices; M2_ranked: ``(G, K)`` signal fractions in rank order.
    Returns:
      ``(T_k, n_points, rmse)``, each ``(K,)``: the threshold (NaN where fewer than ``min_points`` points
      qualify), the number of points used, and the rms residual of ``M² − [1 − T/T_k]_+`` on those points.
    """
    T = np.asarray(T, np.float64)[:, None]
    M2 = np.asarray(M2_ranked, np.float64)
    used = M2 > threshold
    count = used.sum(axis=0)
    enough = count >= max(min_points, 1)
    with np.errstate(divide="ignore", invalid="ignore"):  # ranks without points become NaN just below
        inv = np.sum(np.where(used, T * (1 - M2), 0), axis=0) / np.sum(np.where(used, T**2, 0), axis=0)
        inv = np.where(enough, inv, np.nan)
        resid = np.where(used, M2 - np.maximum(1 - T * inv, 0), 0)
        rmse = np.where(enough, np.sqrt(np.sum(resid**2, axis=0) / np.maximum(count, 1)), np.nan)
        return 1 / inv, count.astype(np.int64), rmse


def objective_collapse_fit(T, M2_ranked, objective, total_variance, sigma_dec2=1.0, *, threshold=0.1,
                           min_points=2):
    """Least-squares fit of an objective's own collapse law per rank (SPEC.md §5, §7), for objectives whose
    ``M²(T)`` is not the β-VAE's ``[1 − T/T_k]_+``.

    One parameter per rank: the normalised eigenvalue ``t`` of the mode, whose law ``M²(T; t)`` is
    :func:`linvae.objective_mode_signal` (λβ: ``p = 1 + λ``; LR: ``p = 1 + 2ασ_dec²/(tV)``). The
    sum of squares over the points with ``M² > threshold`` is minimised on a log grid of ``t`` and refined on a
    finer grid around the best value; the fitted threshold is :func:`linvae.objective_mode_threshold` of that ``t``.
    (Under LR with fewer latents than modes a latent inside a mixing window follows ``1 − T/(√t_i + √t_j)²``
    instead, :func:`linvae.lr_mixed_latent`; the one-mode law then misdescribes those points.)

    Returns:
      ``(T_k, n_points, rmse)`` like :func:`collapse_fit`.
    """
    T = np.asarray(T, np.float64)
    M2 = np.asarray(M2_ranked, np.float64)
    used = M2 > threshold
    count = used.sum(axis=0)
    enough = count >= max(min_points, 1)
    V = float(total_variance)

    def sse(ts):  # (n, K) sums of squares for candidate eigenvalues ts: (n, 1) shared by all ranks, or (n, K)
        models = np.asarray(_objectives.objective_mode_signal(T, jnp.asarray(ts)[..., None], V, objective,
                                                              sigma_dec2))     # (n, 1 or K, G)
        return np.sum(np.where(used.T[None], (models - M2.T[None]) ** 2, 0), axis=-1)

    with jax.enable_x64(True):
        k = np.arange(M2.shape[1])
        grid = np.geomspace(1e-9, 1 - 1e-9, 1200)[:, None]
        for _ in range(3):  # each pass zooms into the two grid steps around the best value, ~1e-9 in the end
            err = sse(grid)
            full = np.broadcast_to(grid, err.shape)
            best = np.argmin(err, axis=0)
            t_fit, rss = full[best, k], err[best, k]
            lo, hi = full[np.maximum(best - 1, 0), k], full[np.minimum(best + 1, full.shape[0] - 1), k]
            grid = np.exp(np.linspace(np.log(lo), np.log(hi), 200))                # (200, K)
        Tk = np.asarray(_objectives.objective_mode_threshold(jnp.asarray(t_fit), V, objective, sigma_dec2))
        rmse = np.sqrt(rss / np.maximum(count, 1))
    return (np.where(enough, Tk, np.nan), count.astype(np.int64), np.where(enough, rmse, np.nan))


def truncated_distortion(x_cov, encoder_weight, decoder_weight, order):
    """Normalised distortion ``D̃_k`` of posterior-mean reconstructions keeping the first ``k`` ranked latents,
    ``k = 0 … K``, ``(G, K + 1)`` (SPEC.md §7, "Truncated reconstructions").

    Pruned latents sit at the prior mean 0 and the decoder bias is re-fitted by least squares for every ``k``
    (``c = x̄ − Σ_{r≤k} w_r mean μ_r``), which leaves centred second moments only:
    ``D_k = tr C − 2 Σ_{r≤k} w_rᵀ C a_r + Σ_{r,r'≤k} (w_rᵀ w_r') (a_rᵀ C a_r')``, ``D̃_k = D_k / tr C``
    (``C_xμ = C Aᵀ``, ``C_μμ = A C Aᵀ`` because ``μ`` is affine in ``x``; so ``D̃_0 = 1`` exactly). The sums
    over kept ranks are cumulative sums in rank order, one evaluation for all ``k``.

    Args:
      x_cov: ``(d, d)`` centred covariance of the evaluation data.
      encoder_weight: ``(G, K, d)``; decoder_weight: ``(G, d, K)``; order: ``(G, K)`` latent index at each rank.
    """
    C = np.asarray(x_cov, np.float64)
    order = np.asarray(order)
    A = np.take_along_axis(np.asarray(encoder_weight, np.float64), order[:, :, None], axis=1)  # (G, K, d)
    W = np.take_along_axis(np.asarray(decoder_weight, np.float64), order[:, None, :], axis=2)  # (G, d, K)
    AC = A @ C                                                                                  # C_μx rows
    cross = np.einsum("gdk,gkd->gk", W, AC)
    quad = np.einsum("gdk,gdl->gkl", W, W) * (AC @ np.swapaxes(A, 1, 2))
    quad_kept = np.diagonal(np.cumsum(np.cumsum(quad, axis=1), axis=2), axis1=1, axis2=2)
    trace = np.trace(C)
    D = trace - 2 * np.cumsum(cross, axis=1) + quad_kept
    return np.concatenate([np.ones((D.shape[0], 1)), D / trace], axis=1)


def add_analysis(ds: xr.Dataset, x_eval, *, m2_threshold=0.1, min_fit_points=2, block_rows=8192,
                 obs: Observables | None = None) -> xr.Dataset:
    """Held-out analysis of a scan (SPEC.md §7): observables, ranking, collapse spectrum, truncated reconstructions
    and their mean-path closed forms, added to a copy of ``ds``.

    Args:
      ds: a results Dataset holding the trained parameters (:func:`linvae.scan`).
      x_eval: ``(N, d)`` held-out data in the model's (standardised) feature units,
        ``(x_raw − data_mean) / data_scale``; the model reads it centred on 0.
      m2_threshold: points with ``M_k² > m2_threshold`` enter the collapse fit; min_fit_points: fewer give NaN.
      block_rows: rows per block of the streamed pass (:func:`observables`).
      obs: the :func:`observables` of ``x_eval`` under ``ds``'s parameters, when already computed (skips the pass).
    Returns:
      ``ds`` with ``(T, latent)`` observables, ``(T, rank)`` ranked observables and utilities, ``(rank,)``
      collapse fit and utility spectrum, ``(T, n_kept)`` truncated distortions (measured and closed form).
    """
    params = _results.dataset_params(ds)
    if not 0 <= m2_threshold < 1 or min_fit_points < 1:
        raise InputError(f"m2_threshold must lie in [0, 1) and min_fit_points be >= 1, found {m2_threshold} and "
                         f"{min_fit_points}; e.g. 0.1 and 2")
    T = ds["T"].values
    K = ds.sizes["latent"]
    if obs is None:
        obs = observables(params, x_eval, np.zeros(ds.sizes["feature"]), block_rows=block_rows)
    order = rank_by_signal(obs.M2)
    ranked = {f"{name}_ranked": (("T", "rank"), np.take_along_axis(getattr(obs, name), order, axis=1))
              for name in ("M2", "mu2", "sigma2", "log_sigma2", "kl", "A2", "jensen_gap")}
    objective = _results.dataset_objective(ds)
    if objective.kind in _objectives.BETA_LAW_KINDS:  # the β-VAE law (sampled λβ: at T/(1+λ), same shape)
        threshold, n_points, rmse = collapse_fit(T, ranked["M2_ranked"][1], threshold=m2_threshold,
                                                 min_points=min_fit_points)
        theory_fit = None
    else:
        fit = functools.partial(objective_collapse_fit, objective=objective,
                                total_variance=float(ds.attrs["total_variance"]),
                                sigma_dec2=float(ds.attrs["sigma_dec2"]), threshold=m2_threshold,
                                min_points=min_fit_points)
        threshold, n_points, rmse = fit(T, ranked["M2_ranked"][1])
        # the same fit on the closed form ranked the same way: under LR the order by M² is not the order of T_k
        closed = np.sort(ds["theory_M2"].transpose("T", "mode").values, axis=1)[:, ::-1]
        theory_fit = fit(T, np.pad(closed, ((0, 0), (0, max(0, K - closed.shape[1]))))[:, :K])[0]
    D = truncated_distortion(obs.x_cov, params.encoder_weight, params.decoder_weight, order)
    utility = D[:, :-1] - D[:, 1:]
    full = D[:, -1]
    best = int(np.nanargmin(full)) if np.any(np.isfinite(full)) else 0
    with jax.enable_x64(True):  # closed forms in float64 whatever the training precision
        if objective.kind == "beta":
            Tk = _theory.mode_thresholds(ds["pca_eigenvalue"].values)
            m = min(K, Tk.shape[-1])
            theory_utility = np.pad(np.asarray(_theory.mean_path_utility(T, Tk[:m])), ((0, 0), (0, K - m)))
            theory_truncated = np.asarray(_theory.mean_path_truncated_distortion(T, Tk, K))
        else:
            theory_utility, theory_truncated = _objective_mean_path(T, ds["pca_eigenvalue"].values, objective, K,
                                                                    float(ds.attrs["sigma_dec2"]))
    U = ds["pca_eigenvector"].transpose("feature", "mode").values
    eval_fraction = np.einsum("ik,ij,jk->k", U, obs.x_cov, U) / np.trace(obs.x_cov)
    per_latent = ("T", "latent")
    out = ds.assign(
        eval_fraction=("mode", eval_fraction),
        **{name: (per_latent, getattr(obs, name))
           for name in ("mu2", "sigma2", "log_sigma2", "kl", "M2", "snr", "A2", "jensen_gap")},
        rank_latent=(("T", "rank"), order.astype(np.int64)), **ranked,
        collapse_threshold=("rank", threshold), collapse_fit_points=("rank", n_points),
        collapse_fit_rmse=("rank", rmse),
        truncated_distortion=(("T", "n_kept"), D), utility=(("T", "rank"), utility),
        utility_spectrum=("rank", utility[best]),
        theory_truncated_distortion=(("T", "n_kept"), theory_truncated),
        theory_utility=(("T", "rank"), theory_utility),
    )
    if theory_fit is not None:
        out = out.assign(theory_collapse_threshold=("rank", theory_fit))
    out.attrs.update(analysis_m2_threshold=float(m2_threshold), analysis_min_fit_points=int(min_fit_points),
                     analysis_n_eval=int(obs.n_rows))
    out = _results._named(out)
    out["collapse_threshold"].attrs["note"] = (f"NaN where fewer than {min_fit_points} points have "
                                               f"M2 > {m2_threshold}")
    out["utility_spectrum"].attrs["read_at_T"] = float(T[best])
    if objective.kind not in _objectives.BETA_LAW_KINDS:
        out["collapse_threshold"].attrs["objective_note"] = (
            f"fit of the {objective.kind!r} law M2(T; t_k) of objective_mode_signal (one parameter per rank), "
            "reported as that objective's threshold; collapse_fit_rmse is its residual")
    return out


def _objective_mean_path(T, eigenvalues, objective, n_latents, sigma_dec2):
    """Closed-form mean-path utilities ``(G, K)`` and truncated distortions ``(G, K + 1)`` of an objective's
    optimum (SPEC.md §5, §7): the posterior-mean reconstruction of a carried mode leaves ``λ_k u_k²``
    (:func:`linvae.objective_optimum` ``mean_distortion``), so its utility is ``(λ_k − λ_k u_k²) / V``; an LR latent
    reading two modes removes both errors at once, so its utility is the sum over its modes (stored on the mode
    that holds its ``M²``); latents are kept in the order of ``M²`` (ties, all with zero utility, in PCA order). Tail
    sums avoid cancellation. The β-VAE case equals :func:`linvae.mean_path_utility` /
    :func:`linvae.mean_path_truncated_distortion`.
    """
    branch = _objectives.objective_optimum(T, eigenvalues, objective, n_latents, sigma_dec2)
    lam = np.maximum(np.asarray(eigenvalues, np.float64), 0)
    t = np.array(np.broadcast_to(lam / lam.sum(), np.shape(branch.M2)))
    left = np.array(branch.mean_distortion)
    rows, second = np.nonzero((branch.partner >= 0) & ~branch.active)   # the mode of a pair without its M²
    first = branch.partner[rows, second]
    t[rows, first] += t[rows, second]
    left[rows, first] += left[rows, second]
    t[rows, second] = left[rows, second] = 0
    order = np.argsort(-np.asarray(branch.M2), axis=-1, kind="stable")
    t_sorted = np.take_along_axis(t, order, axis=-1)
    left = np.take_along_axis(left, order, axis=-1)
    G, d = t_sorted.shape
    m = min(n_latents, d)
    utility = np.pad((t_sorted - left)[:, :m], ((0, 0), (0, n_latents - m)))
    tail = np.concatenate([np.cumsum(t_sorted[:, ::-1], axis=1)[:, ::-1], np.zeros((G, 1))], axis=1)
    head = np.concatenate([np.zeros((G, 1)), np.cumsum(left, axis=1)], axis=1)
    D = (head + tail)[:, :m + 1]
    return utility, np.concatenate([D, np.repeat(D[:, -1:], n_latents - m, axis=1)], axis=1)


def duality_table(ds: xr.Dataset) -> xr.Dataset:
    """Mode-by-mode duality of SPEC.md §7: fitted threshold, utility and ``λ_k / V`` per rank, with relative
    differences (``T_k = ΔD̃_k = λ_k / V`` in theory). Ranks beyond the number of modes compare with 0.

    ``eval_fraction`` is the evaluation split's own share of variance along each training direction,
    ``u_kᵀ C_eval u_k / tr C_eval``: the value the measured utilities tend to as ``T → 0`` when the evaluation
    data are not distributed like the training data (e.g. a spatial-block split). It is listed by mode, like
    ``λ_k / V``: the comparison by rank assumes the shift does not reorder the modes.

    ``theory_threshold`` is the closed-form threshold of the scan's objective by rank: for the β-VAE and the
    sampled λβ-VAE the Dataset's ``theory_threshold`` sorted descending (rank k meets the k-th latest collapse);
    for the λβ- and LR-VAE the same objective-law fit as the measurement, applied to the closed-form ``M²`` ranked
    the same way (``theory_collapse_threshold``; under LR the order by ``M²`` is not the order of the thresholds,
    SPEC.md §5)."""
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
    frac[frac <= 1e-12 * frac.max()] = 0  # a rounding-level eigenvalue is a zero mode (SPEC.md §9)
    if "eval_fraction" in ds:
        eval_frac[:n] = np.where(frac[:n] > 0, ds["eval_fraction"].values[:n], 0)
    else:
        eval_frac[:] = np.nan
    fitted = ds["collapse_threshold"].values
    utility = ds["utility_spectrum"].values
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = lambda a: np.where(frac > 0, a / frac - 1, np.nan)  # noqa: E731
        return xr.Dataset(
            {"collapse_threshold": ("rank", fitted), "utility": ("rank", utility), "pca_fraction": ("rank", frac),
             "threshold_rel_diff": ("rank", rel(fitted)), "utility_rel_diff": ("rank", rel(utility)),
             "threshold_utility_rel_diff": ("rank", np.where(utility > 0, fitted / utility - 1, np.nan)),
             "eval_fraction": ("rank", eval_frac),
             "utility_eval_rel_diff": ("rank", np.where(eval_frac > 0, utility / eval_frac - 1, np.nan)),
             "theory_threshold": ("rank", theory),
             "threshold_theory_rel_diff": ("rank", np.where(theory > 0, fitted / theory - 1, np.nan)),
             "fit_points": ("rank", ds["collapse_fit_points"].values)},
            coords={"rank": ds["rank"].values},
        )


def activity_counts(ds: xr.Dataset) -> xr.Dataset:
    """Number of latents each activity criterion of SPEC.md §8 calls active at each T, from the verdicts stored
    by :func:`linvae.add_activity_criteria` (thresholds in their attrs), with the closed-form active count."""
    verdicts = {"M2": "active_signal_fraction", "kl": "active_kl", "active_units": "active_units",
                "renyi_entropy": "active_renyi_entropy", "gaussian_entropy": "active_gaussian_entropy"}
    missing = [v for v in verdicts.values() if v not in ds]
    if missing:
        raise InputError(f"the Dataset lacks the activity verdicts {', '.join(missing)}; run "
                         "linvae.add_activity_criteria (linvae.scan does)")
    counts = {name: ("T", ds[var].values.sum(1).astype(np.int64)) for name, var in verdicts.items()}
    counts["bonheme_active"] = ("T", (ds["bonheme_class"].values == 2).sum(1).astype(np.int64))
    counts["theory"] = ("T", ds["theory_n_active"].values.astype(np.int64))
    return xr.Dataset(counts, coords={"T": ds["T"].values})