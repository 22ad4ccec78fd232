"""Closed-form global optimum of the linear Gaussian β-VAE: the kernel the objective-generic functions call
(docs/theory.md §1, §3, §7).

Every function here is a small pure ``jax.numpy`` function: it broadcasts over a grid of information prices
(leading axes) and PCA modes (last axis), can be jitted and differentiated, and computes in the dtype of its
inputs (float32 by default, float64 when ``jax_enable_x64`` is on).

Conventions (docs/theory.md §1): eigenvalues ``λ_k`` of the centred data covariance, sorted descending; total variance
``V = Σ λ_k``; normalised information price ``T = β σ_dec² / V``; mode threshold ``T_k = λ_k / V``;
local coordinate ``τ_k = T / T_k``. A zero (or, from rounding, slightly negative) eigenvalue has ``T_k = 0``:
that mode never activates and yields no NaN or inf anywhere.
"""

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from linvae._errors import InputError
from linvae.model import Params
from linvae.theory._branch import Branch

__all__ = [
    "Landau", "information_price", "beta_from_price", "beta_thresholds", "local_price",
    "beta_optimum", "reduced_min_loss", "stationary_weights", "price_grid", "beta_mean_path_utility",
    "sampled_path_utility", "beta_mean_path_truncated_distortion",
]


class Landau(NamedTuple):
    """Coefficients of ``ℓ(M²) = c0 + c2 M² + c4 M⁴ + O(M⁶)`` at ``A² = 1`` (docs/theory.md §3, §5).

    Attributes:
      c0: constant coefficient.
      c2: coefficient of ``M²`` (changes sign at the threshold).
      c4: coefficient of ``M⁴`` (its sign at the threshold decides whether the transition is continuous).
    """

    c0: jnp.ndarray  # the collapsed loss (β-VAE: 1)
    c2: jnp.ndarray  # changes sign at the collapse (β-VAE: τ − 1)
    c4: jnp.ndarray  # positive there: the transition is continuous (β-VAE: τ / 2)


def information_price(beta, sigma_dec2, total_variance):
    """Normalised information price ``T = β σ_dec² / V`` (docs/theory.md §1).

    Args:
      beta: ``β``.
      sigma_dec2: ``σ_dec²``.
      total_variance: ``V``.

    Returns:
      ``T``, the broadcast shape.
    """
    return jnp.asarray(beta) * sigma_dec2 / total_variance


def beta_from_price(T, sigma_dec2, total_variance):
    """Raw regularisation weight ``β = T V / σ_dec²`` for a given decoder-variance convention (docs/theory.md §1).

    Args:
      T: information prices.
      sigma_dec2: ``σ_dec²``.
      total_variance: ``V``.

    Returns:
      ``β``, the broadcast shape.
    """
    return jnp.asarray(T) * total_variance / sigma_dec2


def beta_thresholds(eigenvalues):
    """β-VAE collapse thresholds ``T_k = max(λ_k, 0) / V`` with ``V = Σ λ_k`` (docs/theory.md §1, §3)."""
    eig = jnp.asarray(eigenvalues)
    return jnp.maximum(eig, 0) / jnp.sum(eig, axis=-1, keepdims=True)


def local_price(T, thresholds):
    """``τ_k = T / T_k`` broadcast as ``(..., 1) / (d,)``; ``inf`` where ``T_k = 0`` (docs/theory.md §3).

    Args:
      T: information prices, any shape.
      thresholds: ``(d,)`` thresholds ``T_k``.

    Returns:
      ``(..., d)`` local prices.
    """
    T = jnp.asarray(T)[..., None]
    positive = thresholds > 0
    return jnp.where(positive, T / jnp.where(positive, thresholds, 1), jnp.inf)


def beta_optimum(T, eigenvalues, n_latents=None) -> Branch:
    """Global optimum of the β-VAE at information prices ``T`` (docs/theory.md §3); :func:`linvae.theory.optimum` with
    the default objective calls it.

    Mode k (0-based, eigenvalues descending) is active iff ``T < T_k`` and ``k < min(K, d)``; then
    ``M_k² = 1 − τ_k``, ``σ_k² = τ_k``, ``R_k = −½ log τ_k`` and it leaves distortion ``T`` behind (``T τ_k`` on the
    posterior-mean path); a collapsed mode has ``M_k² = 0``, ``σ_k² = 1``, ``R_k = 0`` and leaves ``T_k``. Totals:
    ``D̃ = Σ min(T, T_k)``, ``R = Σ ½ log(T_k/T)_+``, ``L̃ = D̃ + 2 T R``.

    Args:
      T: information prices, any shape ``S``; must be positive.
      eigenvalues: ``(d,)`` PCA eigenvalues, descending.
      n_latents: number of latents ``K``; ``None`` means ``K = d``.

    Returns:
      :class:`Branch` with per-mode fields of shape ``S + (d,)``.
    """
    eig = jnp.asarray(eigenvalues)
    d = eig.shape[-1]
    Tk = beta_thresholds(eig)
    T = jnp.asarray(T, dtype=Tk.dtype)
    tau = local_price(T, Tk)
    carried = jnp.broadcast_to(jnp.arange(d) < (d if n_latents is None else min(n_latents, d)), tau.shape)
    active = carried & (tau < 1)
    # Double-where: collapsed entries see harmless values, so neither values nor gradients turn NaN.
    tau_a = jnp.where(active, tau, 1)
    log_tau = jnp.log(tau_a)
    M2 = jnp.where(active, -jnp.expm1(log_tau), 0)
    rate = -0.5 * log_tau
    distortion = jnp.where(active, T[..., None], Tk)
    zeros = jnp.zeros_like(M2)
    total_distortion = distortion.sum(-1)
    total_rate = rate.sum(-1)
    return Branch(
        tau=tau, active=active, carried=carried, partner=jnp.full(M2.shape, -1, jnp.int32), M2=M2, mu2=M2,
        sigma2=tau_a, log_sigma2=log_tau, rate=rate, A2=jnp.ones_like(M2), distortion=distortion,
        mean_distortion=jnp.where(active, Tk * tau_a**2, Tk), penalty=zeros, total_distortion=total_distortion,
        total_rate=total_rate, total_penalty=zeros.sum(-1), loss=total_distortion + 2 * T * total_rate,
        n_active=active.sum(-1).astype(jnp.int32),
    )


def reduced_min_loss(tau):
    """Minimum over ``(M², A²)`` of the β-VAE reduced loss (:func:`linvae.theory.reduced_loss` with ``p = 1``):
    ``τ (1 − log τ)`` for ``τ < 1``, else 1 (docs/theory.md §3).

    Args:
      tau: local prices ``τ = T / T_k``, any shape.

    Returns:
      The minimum loss in units of ``D_0 = λ_k / (2σ_dec²)``, the shape of ``tau``.
    """
    tau = jnp.asarray(tau)
    below = tau < 1
    tau_a = jnp.where(below, tau, 1)
    return jnp.where(below, tau_a * (1 - jnp.log(tau_a)), 1)


def stationary_weights(mean, eigenvalues, eigenvectors, T, n_latents) -> Params:
    """Exact stationary weights of the β-VAE global optimum at one information price ``T`` (docs/theory.md §3).

    Latent ``k < min(K, d)`` carries PCA mode ``k``: encoder row ``a_k = sqrt((1 − τ_k)/λ_k) u_kᵀ``, decoder column
    ``w_k = sqrt(λ_k − β σ_dec²) u_k`` (PPCA with noise ``β σ_dec² = T V``), ``log σ_k² = log τ_k``; collapsed and
    surplus latents have ``a_k = 0``, ``w_k = 0``, ``log σ_k² = 0``. Biases: ``b = 0``, ``c = x̄``; the affine
    log-variance head has zero slope. Unique up to latent permutations, signs and rotations inside degenerate
    eigenspaces.

    Args:
      mean: ``(d,)`` data mean ``x̄``.
      eigenvalues: ``(d,)`` descending.
      eigenvectors: ``(d, d)`` with ``u_k`` in column k.
      T: scalar information price (the weights depend on β and σ_dec² only through ``β σ_dec² = T V``);
      n_latents: ``K``.

    Returns:
      :class:`linvae.model.Params` of the optimum (``K`` latents, ``d`` features).
    """
    eig = jnp.asarray(eigenvalues)
    U = jnp.asarray(eigenvectors)
    d = eig.shape[-1]
    branch = beta_optimum(T, eig, n_latents)
    m = min(n_latents, d)
    active = branch.active[:m]
    eig_m = jnp.where(active, eig[:m], 1)
    noise = jnp.asarray(T, eig.dtype) * eig.sum()  # β σ_dec²
    enc_scale = jnp.where(active, jnp.sqrt(branch.M2[:m] / eig_m), 0)
    dec_scale = jnp.where(active, jnp.sqrt(jnp.maximum(eig_m - noise, 0)), 0)
    pad = n_latents - m
    A = jnp.pad(enc_scale[:, None] * U[:, :m].T, ((0, pad), (0, 0)))
    W = jnp.pad(U[:, :m] * dec_scale[None, :], ((0, 0), (0, pad)))
    log_sigma2 = jnp.pad(branch.log_sigma2[:m], (0, pad))
    zeros_k = jnp.zeros((n_latents,), eig.dtype)
    return Params(
        encoder_weight=A, encoder_bias=zeros_k, log_sigma2_weight=jnp.zeros_like(A),
        log_sigma2_bias=log_sigma2, decoder_weight=W, decoder_bias=jnp.asarray(mean, eig.dtype),
    )


def price_grid(t_min, t_max, n_points):
    """``n_points`` information prices log-spaced from ``t_min`` to ``t_max`` (docs/theory.md §6), float64 numpy.

    Args:
      t_min: smallest price, > 0.
      t_max: largest price, > ``t_min``.
      n_points: number of prices.

    Returns:
      ``(n_points,)`` prices.
    """
    if not (np.isfinite(t_min) and np.isfinite(t_max) and t_min > 0 and t_max > 0):
        raise InputError(f"T grid bounds must be positive and finite, found {t_min}:{t_max}; e.g. 1e-4:1:64")
    if t_max < t_min or n_points < 1 or (n_points == 1 and t_max != t_min):
        raise InputError(f"T grid needs TMIN <= TMAX and N >= 1 (N = 1 only with TMIN = TMAX), "
                         f"found {t_min}:{t_max}:{n_points}; e.g. 1e-4:1:64")
    return np.geomspace(t_min, t_max, int(n_points))


def beta_mean_path_utility(T, thresholds):
    """β-VAE mean-path utility ``ΔD̃_k(T) = T_k (1 − (T/T_k)²)_+`` (docs/theory.md §7, *derived*), ``(..., n)``.

    At the optimum the posterior-mean reconstruction of mode ``k`` is ``(1 − τ_k) y_k u_k``, so it leaves
    ``τ_k² λ_k`` of the mode's variance instead of ``λ_k``. 0 where ``T_k = 0``.
    """
    Tk = jnp.asarray(thresholds)
    T = jnp.asarray(T, Tk.dtype)[..., None]
    positive = Tk > 0
    Tk_safe = jnp.where(positive, Tk, 1)
    return jnp.where(positive, Tk_safe * jnp.maximum(1 - (T / Tk_safe) ** 2, 0), 0)


def sampled_path_utility(T, thresholds):
    """Sampled-path utility of the β-VAE ``ΔD̃_k(T) = (T_k − T)_+`` (docs/theory.md §7, *derived*): decoding
    ``z = μ + σ ε`` leaves ``τ_k λ_k`` of the mode's variance (the per-mode distortion of docs/theory.md §3).

    Args:
      T: information prices, shape ``(..., 1)`` or broadcastable with ``thresholds``.
      thresholds: ``(d,)`` the thresholds ``T_k``.

    Returns:
      The utilities, the broadcast shape.
    """
    Tk = jnp.asarray(thresholds)
    return jnp.maximum(Tk - jnp.asarray(T, Tk.dtype)[..., None], 0)


def beta_mean_path_truncated_distortion(T, thresholds, n_latents):
    """β-VAE mean-path ``D̃_k = 1 − Σ_{j≤k} ΔD̃_j`` for ``k = 0 … K``, ``(..., K + 1)`` (docs/theory.md §7).

    Evaluated as ``Σ_{j>k} T_j + Σ_{j≤k} min(T²/T_j, T_j)`` (tail sums over all ``d`` modes, ``Σ_j T_j = 1``), so
    small distortions are not lost to cancellation; only the first ``min(K, d)`` modes can be kept.

    Args:
      T: information prices, any shape.
      thresholds: ``(d,)`` all mode thresholds ``T_k = λ_k / V``, descending.
    """
    Tk = jnp.asarray(thresholds)
    T = jnp.asarray(T, Tk.dtype)[..., None]
    d = Tk.shape[-1]
    m = min(n_latents, d)
    tail = jnp.concatenate([jnp.cumsum(Tk[::-1])[::-1], jnp.zeros(1, Tk.dtype)])  # Σ_{j>k} T_j, k = 0 … d
    Tk_safe = jnp.where(Tk[:m] > 0, Tk[:m], 1)
    left = jnp.where(T < Tk[:m], T**2 / Tk_safe, Tk[:m])                     # τ_j² T_j if active, else T_j
    head = jnp.concatenate([jnp.zeros_like(T), jnp.cumsum(left, axis=-1)], axis=-1)
    D = head + tail[: m + 1]
    # Ranks beyond min(K, d) carry no mode: keeping them changes nothing.
    return jnp.concatenate([D, jnp.repeat(D[..., -1:], n_latents - m, axis=-1)], axis=-1)
