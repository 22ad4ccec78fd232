"""The linear Gaussian VAE: parameters, encoder, decoder and loss terms (SPEC.md §2, §4).

Shapes: ``d`` features, ``K`` latents, ``N`` samples. The encoder reads data centred on a fixed data mean
``x̄`` (a property of the training data, not a parameter): ``μ(x) = A (x − x̄) + b``,
``log σ²(x) = S (x − x̄) + s`` (``S = 0`` is the canonical constant-variance encoder), ``z = μ + σ ⊙ ε``,
``x̂(z) = W z + c``. Loss per sample ``L = D + β R`` with ``D = ‖x − x̂‖² / (2 σ_dec²)`` and
``R = Σ_k KL_k``, ``KL_k = ½ [μ_k² + σ_k² − log σ_k² − 1]``.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Params", "encode", "decode", "kl_per_latent", "sample_loss", "exact_terms", "exact_loss", "init_params",
           "expected_loss"]


class Params(NamedTuple):
    """Parameters of one linear VAE (a pytree; a grid of models adds leading axes)."""

    encoder_weight: jnp.ndarray     # A (K, d)
    encoder_bias: jnp.ndarray       # b (K,)
    log_sigma2_weight: jnp.ndarray  # S (K, d); zero and frozen for the constant-variance encoder
    log_sigma2_bias: jnp.ndarray    # s (K,)
    decoder_weight: jnp.ndarray     # W (d, K)
    decoder_bias: jnp.ndarray       # c (d,)


def encode(params: Params, x, center):
    """Posterior mean and log-variance ``(μ, log σ²)``, each ``(N, K)``, for data ``x`` ``(N, d)``."""
    xc = x - center
    mu = xc @ params.encoder_weight.T + params.encoder_bias
    log_sigma2 = xc @ params.log_sigma2_weight.T + params.log_sigma2_bias
    return mu, log_sigma2


def decode(params: Params, z):
    """Reconstruction ``x̂ = W z + c``, ``(N, d)`` for ``z`` ``(N, K)``."""
    return z @ params.decoder_weight.T + params.decoder_bias


def kl_per_latent(mu, log_sigma2):
    """``KL_k = ½ [μ_k² + σ_k² − log σ_k² − 1]``; ``expm1`` keeps it accurate near ``σ² = 1``."""
    return 0.5 * (mu**2 + jnp.expm1(log_sigma2) - log_sigma2)


def sample_loss(params: Params, x, center, eps, beta, sigma_dec2):
    """Minibatch estimate of ``(L, D, R)`` with one reparameterised sample per data point (SPEC.md §2, §6).

    Args:
      x: ``(N, d)`` data; center: ``(d,)`` fixed data mean; eps: ``(N, K)`` standard normal noise.
    Returns:
      ``(loss, distortion, rate)``: means over the batch of ``D + βR``, ``D`` and ``R``.
    """
    mu, log_sigma2 = encode(params, x, center)
    z = mu + jnp.exp(0.5 * log_sigma2) * eps
    distortion = jnp.mean(jnp.sum((x - decode(params, z)) ** 2, axis=-1)) / (2 * sigma_dec2)
    rate = jnp.mean(jnp.sum(kl_per_latent(mu, log_sigma2), axis=-1))
    return distortion + beta * rate, distortion, rate


def exact_terms(params: Params, mean, cov):
    """Data-and-noise expectations ``(E‖x − x̂‖², R)`` of a constant-variance model (SPEC.md §4, *derived*).

    With ``C`` the centred covariance, ``Σ = diag σ²`` and ``S = 0``:
    ``E‖x − x̂‖² = tr C − 2 tr(W A C) + tr(W (A C Aᵀ + Σ) Wᵀ) + ‖x̄ − W b − c‖²``,
    ``R = ½ [tr(A C Aᵀ) + ‖b‖² + Σ σ_k² − Σ log σ_k² − K]``. (The slope ``S`` is ignored here.)
    """
    A, W, s = params.encoder_weight, params.decoder_weight, params.log_sigma2_bias
    AC = A @ cov                                   # (K, d)
    ACA = AC @ A.T                                 # (K, K)
    WA = W @ A                                     # (d, d)
    bias_err = mean - W @ params.encoder_bias - params.decoder_bias
    sq_err = (jnp.trace(cov) - 2 * jnp.sum(WA * cov.T) + jnp.sum((W @ ACA) * W)
              + jnp.sum(W**2 * jnp.exp(s)) + bias_err @ bias_err)
    rate = 0.5 * (jnp.trace(ACA) + params.encoder_bias @ params.encoder_bias + jnp.sum(jnp.expm1(s) - s))
    return sq_err, rate


def exact_loss(params: Params, mean, cov, beta, sigma_dec2):
    """Exact expected loss ``E‖x − x̂‖² / (2σ_dec²) + β R`` of a constant-variance model (SPEC.md §4)."""
    sq_err, rate = exact_terms(params, mean, cov)
    return sq_err / (2 * sigma_dec2) + beta * rate


def init_params(key, n_features, n_latents, dtype=jnp.float32, scale=0.01) -> Params:
    """Random small initialisation: ``A, W ~ N(0, scale²)``, ``S = 0``, ``s = 0``, biases 0."""
    ka, kw = jax.random.split(key)
    return Params(
        encoder_weight=scale * jax.random.normal(ka, (n_latents, n_features), dtype),
        encoder_bias=jnp.zeros((n_latents,), dtype),
        log_sigma2_weight=jnp.zeros((n_latents, n_features), dtype),
        log_sigma2_bias=jnp.zeros((n_latents,), dtype),
        decoder_weight=scale * jax.random.normal(kw, (n_features, n_latents), dtype),
        decoder_bias=jnp.zeros((n_features,), dtype),
    )


def expected_loss(params: Params, x_blocks, mask, center, beta, sigma_dec2):
    """Noise-expected loss, distortion and rate averaged over rows, streamed over row blocks.

    For the linear decoder ``E_ε ‖x − x̂‖² = ‖x − W μ(x) − c‖² + Σ_k ‖w_k‖² σ_k²(x)`` exactly.

    ``x_blocks`` is ``(n_blocks, block, d)``; ``mask`` ``(n_blocks, block)`` marks real rows (padding is 0).
    """
    col_norm2 = jnp.sum(params.decoder_weight**2, axis=0)  # ‖w_k‖²

    def block_sums(carry, xm):
        x, m = xm
        mu, log_sigma2 = encode(params, x, center)
        err = jnp.sum((x - decode(params, mu)) ** 2, axis=-1) + jnp.exp(log_sigma2) @ col_norm2
        kl = jnp.sum(kl_per_latent(mu, log_sigma2), axis=-1)
        return (carry[0] + jnp.sum(m * err), carry[1] + jnp.sum(m * kl)), None

    zero = jnp.zeros((), x_blocks.dtype)
    (err, kl), _ = jax.lax.scan(block_sums, (zero, zero), (x_blocks, mask))
    n = jnp.sum(mask)
    distortion, rate = err / (2 * sigma_dec2 * n), kl / n
    return distortion + beta * rate, distortion, rate
