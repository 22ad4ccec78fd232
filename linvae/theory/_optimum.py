"""The objective-generic entry points: optimum, β choice, mean-path utilities and signal onsets (docs/theory.md §3, §5,
§7).

Each takes ``objective=Objective()`` (the β-VAE by default) and calls the β-VAE kernel of :mod:`._beta` for it.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linvae._errors import InputError
from linvae._numerics import log_bisect
from linvae.model import Objective
from linvae.theory._beta import (
    beta_from_price,
    beta_mean_path_truncated_distortion,
    beta_mean_path_utility,
    beta_optimum,
    beta_thresholds,
)
from linvae.theory._branch import Branch
from linvae.theory._family import mode_signal, normalised_spectrum, one_mode_optimum, one_mode_optimum_jit, thresholds
from linvae.theory._lr_mixing import lr_optimum

__all__ = ["BetaChoice", "MeanPath", "optimum", "choose_beta", "mean_path", "signal_onsets"]

_BETA = Objective()


class BetaChoice(NamedTuple):
    """Answer of :func:`choose_beta` (docs/theory.md §7, "Choosing β").

    Attributes:
      beta: the raw ``β = T V / σ_dec²``.
      T: the target information price.
      n_active: latents predicted active at ``T``.
      distortion: predicted normalised distortion ``D̃``.
      rate: predicted rate in nats.
    """

    beta: jnp.ndarray        # β = T V / σ_dec²
    T: jnp.ndarray           # the target information price
    n_active: jnp.ndarray    # predicted number of active latents
    distortion: jnp.ndarray  # predicted normalised distortion D̃(T)
    rate: jnp.ndarray        # predicted rate R(T) in nats


class MeanPath(NamedTuple):
    """Closed-form posterior-mean reconstructions of the optimum, latents ranked by ``M²`` (output of
    :func:`mean_path`) (docs/theory.md §7).

    Attributes:
      utility: ``ΔD̃_k``, the normalised distortion each latent removes from the posterior-mean reconstruction,
        ``S + (K,)``.
      truncated_distortion: the normalised distortion with only the first ``k`` latents kept, ``k = 0..K``,
        ``S + (K + 1,)``.
    """

    utility: jnp.ndarray               # (..., K) normalised distortion each ranked latent removes
    truncated_distortion: jnp.ndarray  # (..., K + 1) normalised distortion keeping ranked latents 1..k, k = 0..K


def _traced(*values):
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(values))


def optimum(T, eigenvalues, objective: Objective = _BETA, n_latents=None, sigma_dec2=1.0, *,
            lr_mixing=True) -> Branch:
    """Global optimum of any objective of the family at information prices ``T`` (docs/theory.md §3, §5).

    - β-VAE: the kernel :func:`linvae.theory._beta.beta_optimum` (``M_k² = [1 − T/T_k]_+``);
    - λβ-VAE (both paths) and LR with ``K ≥ d`` under ``jax.jit``: one latent per mode, in closed form
      (:func:`linvae.theory._family.one_mode_optimum`; called eagerly, a cached jitted copy);
    - LR called eagerly: latents that read two modes included (:func:`linvae.theory._lr_mixing.lr_optimum`,
      numpy float64; with fewer latents than modes they can beat one mode per latent). This case is not jittable:
      under ``jax.jit`` with ``K < d`` it raises :class:`linvae.InputError`. ``lr_mixing=False`` gives the optimum
      among latents that read one mode each instead (closed form, jittable).

    Args:
      T: information prices ``β σ_dec² / V``, any shape ``S``; positive.
      eigenvalues: ``(d,)`` raw PCA eigenvalues, descending.
      objective: :class:`linvae.model.Objective` (default the β-VAE).
      n_latents: ``K``; ``None`` means ``K = d``.
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).
      lr_mixing: LR only: allow latents that read two modes (``False``: one mode per latent).

    Returns:
      :class:`Branch` with per-mode fields of shape ``S + (d,)``: JAX arrays in the dtype of the eigenvalues (float64
      with ``jax_enable_x64``), except the eager LR optimum, whose fields are NumPy float64 arrays.
    """
    if objective.kind == "beta":
        return beta_optimum(T, eigenvalues, n_latents)
    traced = _traced(T, eigenvalues, objective, sigma_dec2)
    if objective.kind == "lr" and lr_mixing and not traced:
        return lr_optimum(T, eigenvalues, objective, n_latents, sigma_dec2)
    if objective.kind == "lr" and lr_mixing and n_latents is not None and n_latents < jnp.shape(eigenvalues)[-1]:
        raise InputError("the LR optimum with fewer latents than modes assigns latents with scipy's milp and cannot "
                         "be traced; call linvae.theory.optimum outside jax.jit / jax.vmap, or pass lr_mixing=False "
                         "for the optimum with one mode per latent")
    closed_form = one_mode_optimum if traced else one_mode_optimum_jit
    return closed_form(T, eigenvalues, objective, n_latents, sigma_dec2)


def choose_beta(target_T, eigenvalues, objective: Objective = _BETA, n_latents=None, sigma_dec2=1.0) -> BetaChoice:
    """β for a target information price, with the predicted outcome (docs/theory.md §7, "Choosing β").

    ``β = T V / σ_dec²``. For the β-VAE a target ``T = 0.01`` keeps the modes whose marginal normalised utility
    ``λ_k / V`` exceeds 1 %.

    Args:
      target_T: the information price to aim for.
      eigenvalues: ``(d,)`` raw PCA eigenvalues, descending.
      objective: the :class:`linvae.model.Objective` (default the β-VAE).
      n_latents: ``K``; ``None`` means ``K = d``.
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).

    Returns:
      The :class:`BetaChoice`.
    """
    eig = jnp.asarray(eigenvalues)
    branch = optimum(target_T, eig, objective, n_latents, sigma_dec2)
    T = jnp.asarray(target_T, eig.dtype)
    return BetaChoice(beta=beta_from_price(T, sigma_dec2, eig.sum()), T=T, n_active=jnp.asarray(branch.n_active),
                      distortion=jnp.asarray(branch.total_distortion), rate=jnp.asarray(branch.total_rate))


def mean_path(T, eigenvalues, objective: Objective = _BETA, n_latents=None, sigma_dec2=1.0) -> MeanPath:
    """Closed-form mean-path utilities and truncated distortions of the optimum (docs/theory.md §5, §7), latents kept in
    the order of ``M²`` (ties, all with zero utility, in PCA order).

    The posterior-mean reconstruction of a carried mode leaves ``λ_k u_k²`` (the optimum's ``mean_distortion``), so
    its utility is ``(λ_k − λ_k u_k²) / V``; an LR latent reading two modes removes both errors at once, so its
    utility is the sum over its modes. β-VAE: ``ΔD̃_k = T_k (1 − (T/T_k)²)_+``. Tail sums avoid cancellation.

    Args:
      T: information prices, any shape ``S``.
      eigenvalues: ``(d,)`` raw PCA eigenvalues, descending.
      objective: the :class:`linvae.model.Objective` (default the β-VAE).
      n_latents: ``K``; ``None`` means ``K = d``.
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).

    Returns:
      :class:`MeanPath` with fields ``S + (K,)`` and ``S + (K + 1,)``. Jittable for the β-VAE only.
    """
    d = jnp.shape(eigenvalues)[-1]
    K = d if n_latents is None else n_latents
    m = min(K, d)
    if objective.kind == "beta":
        Tk = beta_thresholds(eigenvalues)
        utility = jnp.pad(beta_mean_path_utility(T, Tk[:m]), ((0, 0),) * (jnp.ndim(T)) + ((0, K - m),))
        return MeanPath(utility, beta_mean_path_truncated_distortion(T, Tk, K))
    if _traced(T, eigenvalues, objective, sigma_dec2):
        raise InputError("mean_path of objectives other than the beta-VAE ranks latents in numpy and cannot be traced; "
                         "call it outside jax.jit / jax.vmap")
    shape = np.shape(T)
    branch = optimum(np.reshape(T, -1), eigenvalues, objective, K, sigma_dec2)
    eig = np.maximum(np.asarray(eigenvalues, np.float64), 0)
    t = np.array(np.broadcast_to(eig / eig.sum(), np.shape(branch.M2)))   # float64 whatever the JAX precision
    left = np.array(branch.mean_distortion, np.float64)
    partner = np.asarray(branch.partner)
    rows, second = np.nonzero((partner >= 0) & ~np.asarray(branch.active))  # the mode of a pair without its M²
    first = partner[rows, second]
    t[rows, first] += t[rows, second]
    left[rows, first] += left[rows, second]
    t[rows, second] = left[rows, second] = 0
    order = np.argsort(-np.asarray(branch.M2), axis=-1, kind="stable")
    t_sorted, left = np.take_along_axis(t, order, axis=-1), np.take_along_axis(left, order, axis=-1)
    G = t_sorted.shape[0]
    tail = np.concatenate([np.cumsum(t_sorted[:, ::-1], axis=1)[:, ::-1], np.zeros((G, 1))], axis=1)
    D = (np.concatenate([np.zeros((G, 1)), np.cumsum(left, axis=1)], axis=1) + tail)[:, :m + 1]
    utility = np.pad((t_sorted - left)[:, :m], ((0, 0), (0, K - m)))
    truncated = np.concatenate([D, np.repeat(D[:, -1:], K - m, axis=1)], axis=1)
    return MeanPath(utility.reshape(shape + (K,)), truncated.reshape(shape + (K + 1,)))


def signal_onsets(eigenvalues, levels, objective: Objective = _BETA, sigma_dec2=1.0, *, iterations=64):
    """Information prices ``(n_levels, d)`` below which a latent carrying mode ``k`` has ``M² > level``
    (docs/theory.md §5, §8), for each of ``levels`` (``(n_levels,)`` in ``[0, 1]``).

    β-VAE: ``T_k (1 − level)`` (clipped at 0). Other objectives: bisection on ``log T`` below the mode's threshold
    of the objective's decreasing law :func:`linvae.theory.mode_signal`. A mode that never reaches the level gives 0;
    one whose threshold is infinite (LR, zero mode) gives NaN. Under LR with fewer latents than modes a latent may
    read two modes (:func:`optimum`); inside such a window it follows ``1 − T/(√t_i + √t_j)²``, which these one-mode
    onsets do not describe.

    Args:
      eigenvalues: ``(d,)`` raw PCA eigenvalues, descending.
      levels: ``(n_levels,)`` signal fractions in ``[0, 1]``.
      objective: the :class:`linvae.model.Objective` (default the β-VAE).
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).
      iterations: bisection steps (other objectives than the β-VAE).

    Returns:
      ``(n_levels, d)`` information prices, float64 numpy.
    """
    eig = jnp.asarray(eigenvalues)
    level = jnp.asarray(levels, eig.dtype)[:, None]                                      # (n, 1)
    if objective.kind == "beta":
        return jnp.maximum(beta_thresholds(eig) * (1 - level), 0)
    Tk = thresholds(eig, objective, sigma_dec2)                                          # (d,)
    finite = jnp.isfinite(Tk) & (Tk > 0)
    top = jnp.log(jnp.where(finite, Tk, 1.0))
    t, V = normalised_spectrum(eig)

    def above(log_T):  # (n, d): M² of mode k at price exp(log_T[., k]) still above the level
        return mode_signal(jnp.exp(log_T), t, V, objective, sigma_dec2) > level

    lo = jnp.broadcast_to(top - 60.0, (level.shape[0], eig.shape[-1]))  # e^-60 T_k: far below any onset of interest
    ever = above(lo)                                                      # the level is reached somewhere
    lo, hi = log_bisect(above, lo, jnp.broadcast_to(top, lo.shape), iterations)
    onset = jnp.where(ever, jnp.exp(0.5 * (lo + hi)), 0.0)
    return jnp.where(finite, onset, jnp.where(jnp.isinf(Tk), jnp.nan, 0.0))
