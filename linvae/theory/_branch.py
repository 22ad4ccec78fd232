"""The one result type of every closed-form optimum (β-VAE and the objective family)."""

from typing import NamedTuple

import jax.numpy as jnp

__all__ = ["Branch"]


class Branch(NamedTuple):
    """Global optimum on a grid of information prices ``T``. Per-mode fields ``(..., d)``, totals ``(...)``
    (docs/theory.md §3, §5).

    All quantities are normalised: distortions and penalties in units of ``V`` (the loss ``L̃ = (2σ_dec²/V) L``),
    rates in nats. For the β-VAE ``partner = −1``, ``penalty = 0`` and ``carried`` marks the first ``min(K, d)`` modes.

    Attributes:
      tau: ``τ_k = T / T_k``, the mode's local price.
      active: whether mode k's latent carries signal (``M² > 0``).
      carried: whether a latent is assigned to mode k (the first ``min(K, d)`` modes for the β-VAE).
      partner: LR: the other mode a latent reading two modes shares (−1: none).
      M2: signal fraction ``M_k²`` of the latent carrying mode k.
      mu2: its ``E μ²``.
      sigma2: its posterior variance ``σ²``.
      log_sigma2: ``log σ²``.
      rate: its KL rate in nats.
      A2: ``E μ² + σ²`` (1 on the active branch of every objective).
      distortion: the mode's sampled-path distortion, units of ``V``.
      mean_distortion: the mode's posterior-mean (mean-path) distortion, units of ``V``.
      penalty: the objective's extra term per mode, units of the normalised loss.
      total_distortion: sum of ``distortion`` over modes.
      total_rate: sum of ``rate``.
      total_penalty: sum of ``penalty``.
      loss: normalised loss ``L̃ = total_distortion + 2 T total_rate + total_penalty``.
      n_active: number of active modes.
    """

    tau: jnp.ndarray               # T / T_k with the objective's threshold T_k (0 where T_k = inf, inf where T_k = 0)
    active: jnp.ndarray            # bool: mode carried by a latent, T < T_k and λ_k > 0 (then M² > 0)
    carried: jnp.ndarray           # bool: a latent reads the mode (top min(K, d) by loss gain, pairs counted once)
    partner: jnp.ndarray           # int32: the other mode read by the same latent (LR mixing), −1 if none
    M2: jnp.ndarray                # signal fraction M_k² = 1 − σ_k² on the active branch, else 0
    mu2: jnp.ndarray               # mean μ_k² = M_k² (A_k² = 1 for every objective)
    sigma2: jnp.ndarray            # posterior variance σ_k²
    log_sigma2: jnp.ndarray        # log σ_k²
    rate: jnp.ndarray              # R_k = −½ log σ_k²
    A2: jnp.ndarray                # A_k² = mean μ_k² + σ_k² = 1
    distortion: jnp.ndarray        # E(sampled-path squared error in mode k) / V (β-VAE: T if active, T_k otherwise)
    mean_distortion: jnp.ndarray   # E(posterior-mean-path squared error in mode k) / V
    penalty: jnp.ndarray           # the objective's extra term in mode k, in the units of `loss`
    total_distortion: jnp.ndarray  # D̃ = Σ_k distortion
    total_rate: jnp.ndarray        # R = Σ_k R_k (nats)
    total_penalty: jnp.ndarray     # Σ_k penalty + α̃ per latent carrying no mode (LR)
    loss: jnp.ndarray              # L̃ = D̃ + 2 T R + total_penalty
    n_active: jnp.ndarray          # number of active latents (int32; one per active mode without LR mixing)
