"""The linear Gaussian VAE: parameters, encoder, decoder and loss terms (docs/theory.md §2, §4).

Shapes: ``d`` features, ``K`` latents, ``N`` samples. The encoder reads data centred on a fixed data mean
``x̄`` (a property of the training data, not a parameter): ``μ(x) = A (x − x̄) + b``,
``log σ²(x) = S (x − x̄) + s`` (``S = 0`` is the canonical constant-variance encoder), ``z = μ + σ ⊙ ε``,
``x̂(z) = W z + c``. Loss per sample ``L = D + β R`` with ``D = ‖x − x̂‖² / (2 σ_dec²)`` and
``R = Σ_k KL_k``, ``KL_k = ½ [μ_k² + σ_k² − log σ_k² − 1]``.

Objective family (docs/theory.md §5, :class:`linvae.model.Objective`; derivation in docs/objectives.md): the loss adds
:func:`objective_penalty` to ``D + β R``. With ``E_s = E‖x − x̂(z)‖²`` (sampled path) and
``E_μ = E‖x − x̂(μ(x))‖²`` (posterior-mean path):

- ``'beta'``: nothing;
- ``'lambda-beta'``: ``λ E_μ / (2σ_dec²)``;
- ``'lambda-beta-sampled'``: ``λ E_s / (2σ_dec²)``;
- ``'lr'``: ``α E_{z∼N(0,I)} ‖μ(x̂(z)) − z‖² = α (‖A W − I_K‖_F² + ‖A (c − x̄) + b‖²)``: for the linear model
  ``μ(x̂(z)) − z = (A W − I) z + A (c − x̄) + b``, so the expectation over the prior is this deterministic matrix
  expression exactly (no sampling of ``z`` needed, in the minibatch loss as in the exact one).

Every loss term of every objective is written here once: the minibatch estimate (:func:`sample_loss`), the
noise-expected row average (:func:`expected_loss`) and the covariance form (:func:`exact_terms`,
:func:`exact_loss`).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from linvae.model._mlp import MlpParams, mlp_decode, mlp_encode, mlp_sampled_error
from linvae.model._objective import Objective

__all__ = ["Params", "encode", "decode", "kl_per_latent", "sample_loss", "exact_terms", "exact_loss", "init_params",
           "expected_loss", "lr_penalty", "objective_penalty", "exact_penalty"]

_BETA = Objective()


class Params(NamedTuple):
    """Parameters of one linear Gaussian VAE (docs/theory.md §2): encoder ``μ = A(x − center) + b``,
    ``log σ² = S(x − center) + s``, decoder ``x̂ = W z + c``. A pytree; a grid of models adds leading axes to every
    leaf.

    Attributes:
      encoder_weight: ``A``, ``(K, d)``.
      encoder_bias: ``b``, ``(K,)``.
      log_sigma2_weight: ``S``, ``(K, d)``; zero (and frozen) for the constant-variance encoder.
      log_sigma2_bias: ``s``, ``(K,)``.
      decoder_weight: ``W``, ``(d, K)``.
      decoder_bias: ``c``, ``(d,)``.
    """

    encoder_weight: jnp.ndarray     # A (K, d)
    encoder_bias: jnp.ndarray       # b (K,)
    log_sigma2_weight: jnp.ndarray  # S (K, d); zero and frozen for the constant-variance encoder
    log_sigma2_bias: jnp.ndarray    # s (K,)
    decoder_weight: jnp.ndarray     # W (d, K)
    decoder_bias: jnp.ndarray       # c (d,)


def encode(params: Params | MlpParams, x, center):
    """Posterior mean and log-variance of the encoder, ``μ = A(x − center) + b`` and
    ``log σ² = S(x − center) + s`` (docs/theory.md §2); for :class:`linvae.model.MlpParams` the MLP's
    (:func:`linvae.model.mlp_encode`, docs/nonlinear.md).

    Args:
      params: the model's :class:`Params` (or :class:`linvae.model.MlpParams`).
      x: ``(N, d)`` data.
      center: ``(d,)`` the data mean the encoder subtracts (or a scalar 0).

    Returns:
      ``(μ, log σ²)``, each ``(N, K)``.
    """
    if isinstance(params, MlpParams):
        return mlp_encode(params, x, center)
    xc = x - center
    mu = xc @ params.encoder_weight.T + params.encoder_bias
    log_sigma2 = xc @ params.log_sigma2_weight.T + params.log_sigma2_bias
    return mu, log_sigma2


def decode(params: Params | MlpParams, z):
    """Decoder mean ``x̂ = W z + c`` (docs/theory.md §2); for :class:`linvae.model.MlpParams` the MLP's
    (:func:`linvae.model.mlp_decode`, docs/nonlinear.md).

    Args:
      params: the model's :class:`Params` (or :class:`linvae.model.MlpParams`).
      z: ``(N, K)`` latent codes.

    Returns:
      ``(N, d)`` reconstructions.
    """
    if isinstance(params, MlpParams):
        return mlp_decode(params, z)
    return z @ params.decoder_weight.T + params.decoder_bias


def kl_per_latent(mu, log_sigma2):
    """``KL(q(z_k|x) ‖ N(0, 1)) = ½ [μ_k² + σ_k² − log σ_k² − 1]`` per latent (docs/theory.md §2); ``expm1``
    keeps it accurate for a collapsed latent (``σ² → 1``).

    Args:
      mu: posterior means, any shape.
      log_sigma2: posterior log-variances, the same shape.

    Returns:
      The KL of each latent in nats, the shape of ``mu``.
    """
    return 0.5 * (mu**2 + jnp.expm1(log_sigma2) - log_sigma2)


def lr_penalty(params: Params, center):
    """The latent-reconstruction term ``E_{z∼N(0,I)} ‖μ(x̂(z)) − z‖² = ‖A W − I_K‖_F² + ‖A (c − x̄) + b‖²``
    (docs/theory.md §5), exact for the linear model: ``μ(x̂(z)) − z = (A W − I) z + A (c − x̄) + b`` and
    ``E zzᵀ = I``, so no prior sample is needed.

    Args:
      params: the model's :class:`Params`.
      center: ``(d,)`` the data mean ``x̄`` the encoder subtracts.

    Returns:
      The scalar penalty (before the weight ``α``).
    """
    A = params.encoder_weight
    AW = A @ params.decoder_weight
    gap = AW - jnp.eye(AW.shape[-1], dtype=AW.dtype)
    offset = A @ (params.decoder_bias - center) + params.encoder_bias
    return jnp.sum(gap * gap) + offset @ offset


def objective_penalty(params: Params, center, sq_err, mean_sq_err, sigma_dec2, objective: Objective = _BETA):
    """The objective's extra term in loss units (docs/theory.md §5): ``λ E_μ / (2σ_dec²)`` (λβ),
    ``λ E_s / (2σ_dec²)`` (sampled λβ), ``α`` × :func:`lr_penalty` (LR), 0 (β-VAE).

    Args:
      params: the model's :class:`Params`.
      center: ``(d,)`` the data mean the encoder subtracts.
      sq_err: ``E_s``, the mean squared error of the sampled reconstruction (``None`` where unused).
      mean_sq_err: ``E_μ``, the mean squared error of the reconstruction decoded from ``μ`` (``None`` where unused).
      sigma_dec2: decoder variance ``σ_dec²``.
      objective: the :class:`Objective`; default the β-VAE.

    Returns:
      The scalar penalty.
    """
    kind = objective.kind
    if kind == "lambda-beta":
        return objective.lam * mean_sq_err / (2 * sigma_dec2)
    if kind == "lambda-beta-sampled":
        return objective.lam * sq_err / (2 * sigma_dec2)
    if kind == "lr":
        return objective.alpha * lr_penalty(params, center)
    return jnp.zeros((), jnp.result_type(sq_err if mean_sq_err is None else mean_sq_err))


def sample_loss(params: Params | MlpParams, x, center, eps, beta, sigma_dec2, objective: Objective = _BETA):
    """Minibatch estimate of ``(L, D, R)`` with one reparameterised sample per data point (docs/theory.md §2, §5, §6).

    ``L = D + β R + penalty`` with :func:`objective_penalty`; the λβ penalty uses the reconstruction decoded from
    the posterior mean ``μ(x)`` of the same minibatch rows, the LR penalty is the deterministic expression of
    :func:`lr_penalty` (exact for the linear model, no prior sample needed). An MLP (docs/nonlinear.md) goes through
    the same lines with its own :func:`encode` and :func:`decode` (β-VAE only: the LR penalty is linear).

    Args:
      params: the model's :class:`Params` (or :class:`linvae.model.MlpParams`).
      x: ``(N, d)`` data.
      center: ``(d,)`` fixed data mean.
      eps: ``(N, K)`` standard normal noise.
      beta: ``β``.
      sigma_dec2: decoder variance ``σ_dec²``.
      objective: :class:`Objective` (``lam``, ``alpha`` may be traced); default the β-VAE.

    Returns:
      ``(loss, distortion, rate)``: means over the batch of ``L``, ``D`` and ``R``.
    """
    mu, log_sigma2 = encode(params, x, center)
    z = mu + jnp.exp(0.5 * log_sigma2) * eps
    sq_err = jnp.mean(jnp.sum((x - decode(params, z)) ** 2, axis=-1))
    distortion = sq_err / (2 * sigma_dec2)
    rate = jnp.mean(jnp.sum(kl_per_latent(mu, log_sigma2), axis=-1))
    mean_sq_err = (jnp.mean(jnp.sum((x - decode(params, mu)) ** 2, axis=-1)) if objective.uses_mean_path
                   else None)
    loss = distortion + beta * rate + objective_penalty(params, center, sq_err, mean_sq_err, sigma_dec2, objective)
    return loss, distortion, rate


def exact_terms(params: Params, mean, cov):
    """Data-and-noise expectations ``(E‖x − x̂‖², R)`` of a constant-variance model (docs/theory.md §4).

    With ``C`` the centred covariance, ``Σ = diag σ²`` and ``S = 0``:
    ``E‖x − x̂‖² = tr C − 2 tr(W A C) + tr(W (A C Aᵀ + Σ) Wᵀ) + ‖x̄ − W b − c‖²``,
    ``R = ½ [tr(A C Aᵀ) + ‖b‖² + Σ σ_k² − Σ log σ_k² − K]``. (The slope ``S`` is ignored here.)

    Args:
      params: the model's :class:`Params`; the covariance form takes the encoder's centre to be ``mean``.
      mean: ``(d,)`` data mean ``x̄`` (also the centre the encoder subtracts).
      cov: ``(d, d)`` centred covariance ``C``.

    Returns:
      ``(E‖x − x̂‖², R)``, scalars (squared data units; nats).
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


def exact_penalty(params: Params, mean, cov, sigma_dec2, objective: Objective = _BETA, sq_err=None):
    """The objective's extra term (loss units) of a constant-variance model in covariance form (docs/theory.md §4, §5).

    ``E_μ = E_s − Σ_k σ_k² ‖w_k‖²`` (the posterior noise adds ``tr(W Σ Wᵀ)`` to the mean-path error), then
    :func:`objective_penalty`.

    Args:
      params: the model's :class:`Params`.
      mean: ``(d,)`` data mean.
      cov: ``(d, d)`` centred covariance.
      sigma_dec2: decoder variance ``σ_dec²``.
      objective: the :class:`Objective`; default the β-VAE (penalty 0).
      sq_err: ``E_s`` from :func:`exact_terms`; recomputed when ``None``.

    Returns:
      The scalar penalty.
    """
    if sq_err is None:
        sq_err = exact_terms(params, mean, cov)[0]
    noise = jnp.sum(params.decoder_weight**2 * jnp.exp(params.log_sigma2_bias))
    return objective_penalty(params, mean, sq_err, sq_err - noise, sigma_dec2, objective)


def exact_loss(params: Params, mean, cov, beta, sigma_dec2, objective: Objective = _BETA):
    """Exact expected loss ``E_s / (2σ_dec²) + β R + penalty`` of a constant-variance model (docs/theory.md §4, §5):
    λβ ``(E_s + λ E_μ) / (2σ_dec²) + β R``; sampled λβ ``(1 + λ) E_s / (2σ_dec²) + β R``;
    LR ``E_s / (2σ_dec²) + β R + α (‖A W − I_K‖_F² + ‖A (c − x̄) + b‖²)``.

    Args:
      params: the model's :class:`Params`.
      mean: ``(d,)`` data mean.
      cov: ``(d, d)`` centred covariance.
      beta: ``β``.
      sigma_dec2: decoder variance ``σ_dec²``.
      objective: the :class:`Objective`; default the β-VAE.

    Returns:
      The scalar loss.
    """
    sq_err, rate = exact_terms(params, mean, cov)
    return sq_err / (2 * sigma_dec2) + beta * rate + exact_penalty(params, mean, cov, sigma_dec2, objective, sq_err)


def init_params(key, n_features, n_latents, dtype=jnp.float32, scale=0.01) -> Params:
    """Random small initialisation for SGD training (docs/theory.md §6): ``A, W ~ N(0, scale²)`` i.i.d.,
    ``S = 0``, ``s = 0`` (so ``σ² = 1``), biases 0.

    Args:
      key: a JAX PRNG key.
      n_features: ``d``.
      n_latents: ``K``.
      dtype: floating type of every leaf.
      scale: standard deviation of the random weights.

    Returns:
      The :class:`Params`.
    """
    ka, kw = jax.random.split(key)
    return Params(
        encoder_weight=scale * jax.random.normal(ka, (n_latents, n_features), dtype),
        encoder_bias=jnp.zeros((n_latents,), dtype),
        log_sigma2_weight=jnp.zeros((n_latents, n_features), dtype),
        log_sigma2_bias=jnp.zeros((n_latents,), dtype),
        decoder_weight=scale * jax.random.normal(kw, (n_features, n_latents), dtype),
        decoder_bias=jnp.zeros((n_features,), dtype),
    )


def expected_loss(params: Params | MlpParams, x_blocks, mask, center, beta, sigma_dec2,
                  objective: Objective = _BETA):
    """Noise-expected loss, distortion, rate and objective penalty averaged over rows, streamed over row blocks
    (docs/theory.md §4, §5).

    For the linear decoder ``E_ε ‖x − x̂‖² = ‖x − W μ(x) − c‖² + Σ_k ‖w_k‖² σ_k²(x)`` exactly; the first term is the
    mean-path error of the λβ penalty. For an MLP (:class:`linvae.model.MlpParams`) the expectation is the average
    over fixed posterior draws of :func:`linvae.model.mlp_sampled_error` (docs/nonlinear.md, "Validation").

    Args:
      params: the model's :class:`Params` (or :class:`linvae.model.MlpParams`).
      x_blocks: ``(n_blocks, block, d)`` rows, zero-padded.
      mask: ``(n_blocks, block)``, 1 for real rows and 0 for padding.
      center: ``(d,)`` the data mean the encoder subtracts.
      beta: ``β``.
      sigma_dec2: decoder variance ``σ_dec²``.
      objective: the :class:`Objective`; default the β-VAE.

    Returns:
      ``(L, D, R, penalty)`` with ``L = D + β R + penalty`` (:func:`objective_penalty`), means over the real rows.
    """
    nonlinear = isinstance(params, MlpParams)
    col_norm2 = None if nonlinear else jnp.sum(params.decoder_weight**2, axis=0)  # ‖w_k‖²

    def block_sums(carry, xm):
        x, m, index = xm
        mu, log_sigma2 = encode(params, x, center)
        if nonlinear and not objective.uses_mean_path:  # the β-VAE's MLP needs no posterior-mean decode
            mean_err = jnp.zeros(x.shape[:-1], x.dtype)
        else:
            mean_err = jnp.sum((x - decode(params, mu)) ** 2, axis=-1)
        if nonlinear:  # fixed draws per block: every evaluation sees the same noise
            err = mlp_sampled_error(params, x, mu, log_sigma2, jax.random.fold_in(jax.random.PRNGKey(0), index))
        else:
            err = mean_err + jnp.exp(log_sigma2) @ col_norm2
        kl = jnp.sum(kl_per_latent(mu, log_sigma2), axis=-1)
        return (carry[0] + jnp.sum(m * err), carry[1] + jnp.sum(m * kl), carry[2] + jnp.sum(m * mean_err)), None

    zero = jnp.zeros((), x_blocks.dtype)
    (err, kl, mean_err), _ = jax.lax.scan(block_sums, (zero, zero, zero),
                                          (x_blocks, mask, jnp.arange(x_blocks.shape[0])))
    n = jnp.sum(mask)
    distortion, rate = err / (2 * sigma_dec2 * n), kl / n
    penalty = objective_penalty(params, center, err / n, mean_err / n, sigma_dec2, objective)
    return distortion + beta * rate + penalty, distortion, rate, penalty

