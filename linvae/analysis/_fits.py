"""Collapse-threshold fits of measured signal fractions, with the law of the scan's objective (docs/theory.md §5,
§7)."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from linvae._errors import InputError
from linvae.model import Objective
from linvae.theory import follows_beta_law, held_out_signal, mode_signal, mode_threshold

__all__ = ["CollapseFit", "collapse_fit"]


class CollapseFit(NamedTuple):
    """Per-rank result of :func:`collapse_fit`, each ``(K,)`` (docs/theory.md §7, "Collapse spectrum").

    Attributes:
      threshold: fitted ``T_k`` (NaN where fewer than ``min_points`` points qualify).
      n_points: number of points with ``M²`` above the fit threshold (int64).
      rmse: rms residual of the law on those points.
      variance_ratio: fitted ratio ``r_k`` of evaluation to training variance along the rank's direction (NaN where
        it was not fitted: fewer than 3 points, or ``variance_ratio=False``; the threshold then assumes ``r = 1``).
    """

    threshold: np.ndarray       # fitted T_k (NaN where fewer than min_points points qualify)
    n_points: np.ndarray        # number of points with M² above the fit threshold (int64)
    rmse: np.ndarray            # rms residual of the law on those points
    variance_ratio: np.ndarray  # fitted r_k (NaN where not fitted; the threshold then assumes r = 1)


def collapse_fit(T, M2_ranked, objective: Objective = Objective(), *, total_variance=None, sigma_dec2=1.0,
                 threshold=0.1, min_points=2, variance_ratio=True) -> CollapseFit:
    """Least-squares fit of the objective's collapse law ``M_k²(T)`` per rank to the points with
    ``M_k² > threshold`` (docs/theory.md §5, §7), with the variance ratio ``r_k`` of held-out data.

    Every objective's active branch has ``A² = 1``, so a latent with training signal fraction ``m`` has
    ``σ² = 1 − m``; on evaluation data whose variance along its direction is ``r`` times the training variance it
    measures ``M² = r m / (r m + 1 − m)``. With ``variance_ratio=True`` (default) ``(T_k, r_k)`` are fitted together
    (scipy's trust-region least squares in ``(log T_k, log r_k)``, started from the ``r = 1`` fit below) wherever a
    rank has at least 3 points; ``r = 1`` recovers the training law. The ``r = 1`` fit is:

    - Objectives with the β-VAE law ``M² = 1 − T/T_k`` (:func:`linvae.theory.follows_beta_law`: β-VAE, sampled
      λβ-VAE): fixed exponent and intercept 1, so the fit is linear in ``1/T_k``:
      ``1/T_k = Σ T_i (1 − M_i²) / Σ T_i²``.
    - λβ- and LR-VAE: one parameter per rank, the normalised eigenvalue ``t`` of the mode whose law ``M²(T; t)`` is
      :func:`linvae.theory.mode_signal`; the sum of squares is minimised on a log grid of ``t`` and refined three
      times around the best value (~1e-9 relative); the threshold is :func:`linvae.theory.mode_threshold` of that
      ``t``. (Under LR with fewer latents than modes a latent inside a mixing window follows
      ``1 − T/(√t_i + √t_j)²`` instead; the one-mode law then misdescribes those points.)

    Args:
      T: ``(G,)`` information prices.
      M2_ranked: ``(G, K)`` signal fractions in rank order.
      objective: the scan's :class:`linvae.model.Objective`.
      total_variance: ``V`` (the LR law depends on ``2ασ_dec²/V``, so the LR-VAE needs it; the others ignore it).
      sigma_dec2: ``σ_dec²`` (LR only, as ``total_variance``).
      threshold: points with ``M_k² > threshold`` enter the fit.
      min_points: a rank with fewer such points gets NaN.
      variance_ratio: fit ``r_k`` with the threshold (``False``: the training law, ``r = 1``).

    Returns:
      The :class:`CollapseFit` per rank.
    """
    if objective.kind == "lr" and total_variance is None:
        raise InputError("the LR collapse law depends on 2 alpha sigma_dec2 / V: pass total_variance (the scan's "
                         "attrs['total_variance'])")
    T = np.asarray(T, np.float64)
    M2 = np.asarray(M2_ranked, np.float64)
    used = M2 > threshold
    count = used.sum(axis=0)
    enough = count >= max(min_points, 1)
    if follows_beta_law(objective):
        Tk, rmse = _linear_fit(T[:, None], M2, used, count)
        start, law, to_threshold = np.log(Tk), lambda T, q: np.maximum(1 - T * np.exp(-q), 0), np.exp
    else:
        V = 1.0 if total_variance is None else float(total_variance)  # V enters the LR law only
        t, Tk, rmse = _law_fit(T, M2, used, count, objective, V, sigma_dec2)
        start = np.log(t)
        law = lambda T, q: _as_numpy(mode_signal, T, np.exp(q), V, objective, sigma_dec2)  # noqa: E731
        to_threshold = lambda q: _as_numpy(mode_threshold, np.exp(q), V, objective, sigma_dec2)  # noqa: E731
    Tk, rmse, ratio = np.array(Tk), np.array(rmse), np.full(Tk.shape, np.nan)
    if variance_ratio:
        for k in np.flatnonzero(enough & (count >= 3) & (Tk > 0)):
            fitted = _ratio_fit(T[used[:, k]], M2[used[:, k], k], start[k], law)
            if fitted is not None:  # a failed solve keeps the r = 1 fit (r stays NaN)
                q, ratio[k], rmse[k] = fitted
                Tk[k] = to_threshold(q)
    return CollapseFit(np.where(enough, Tk, np.nan), count.astype(np.int64), np.where(enough, rmse, np.nan), ratio)


def _as_numpy(fn, *args):
    with jax.enable_x64(True):
        return np.asarray(fn(*args), np.float64)


def _ratio_fit(T, M2, q0, law):
    """``(q, r, rmse)`` of the held-out law ``r m / (r m + 1 − m)``, ``m = law(T, q)``, on one rank's points."""
    def residual(p):
        return held_out_signal(law(T, p[0]), np.exp(p[1])) - M2

    sol = scipy.optimize.least_squares(residual, [q0, 0.0], xtol=1e-12, ftol=1e-12, gtol=1e-12)
    if not (sol.success and np.all(np.isfinite(sol.x))):
        return None
    return sol.x[0], np.exp(sol.x[1]), np.sqrt(np.mean(sol.fun**2))


def _linear_fit(T, M2, used, count):
    with np.errstate(divide="ignore", invalid="ignore"):  # ranks without points become NaN in collapse_fit
        inv = np.sum(np.where(used, T * (1 - M2), 0), axis=0) / np.sum(np.where(used, T**2, 0), axis=0)
        resid = np.where(used, M2 - np.maximum(1 - T * inv, 0), 0)
        return 1 / inv, np.sqrt(np.sum(resid**2, axis=0) / np.maximum(count, 1))


def _law_fit(T, M2, used, count, objective, V, sigma_dec2):
    def sse(ts):  # (n, K) sums of squares for candidate eigenvalues ts: (n, 1) shared by all ranks, or (n, K)
        models = np.asarray(mode_signal(T, jnp.asarray(ts)[..., None], V, objective, sigma_dec2))  # (n, 1|K, G)
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
        Tk = np.asarray(mode_threshold(jnp.asarray(t_fit), V, objective, sigma_dec2))
    return t_fit, Tk, np.sqrt(rss / np.maximum(count, 1))
