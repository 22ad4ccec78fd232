"""The nonlinear Gaussian VAE: multilayer-perceptron encoder and decoder (docs/nonlinear.md).

Shapes as in :mod:`linvae.model._linear`: ``d`` features, ``K`` latents, ``N`` rows; ``h_1 … h_L`` the hidden
widths. The encoder maps ``x − center`` through ``L`` hidden layers ``h_i = φ(W_i h_{i−1} + b_i)`` (``h_0 = x −
center``) to two affine heads, the posterior mean ``μ = A h_L + b`` and log-variance ``log σ² = S h_L + s``; the
decoder mirrors it, ``z → h_L → … → h_1`` with the same widths and activation, then an affine output layer
``x̂ = W_out g_1 + c``. The decoder's variance ``σ_dec²`` is fixed, as for the linear model, so the loss per row is
again ``D + β R`` with ``D = ‖x − x̂(z)‖² / (2 σ_dec²)`` and one reparameterised sample ``z = μ + σ ⊙ ε``.

With ``φ`` the identity the model is a linear VAE written as a product of matrices (docs/nonlinear.md, "The linear
limit"): its optimum is the closed form of docs/theory.md §3.
"""

import dataclasses
import functools
import math
import operator
from typing import NamedTuple

import jax
import jax.numpy as jnp

from linvae._errors import InputError

__all__ = ["Dense", "MlpParams", "ACTIVATIONS", "hidden_widths", "init_mlp_params", "mlp_encode", "mlp_decode",
           "mlp_sampled_error", "VALIDATION_SAMPLES"]

ACTIVATIONS = {"gelu": functools.partial(jax.nn.gelu, approximate=False), "tanh": jnp.tanh, "relu": jax.nn.relu,
               "identity": lambda a: a}
"""The hidden-layer activations ``φ`` by name (docs/nonlinear.md): exact (erf) GELU, tanh, ReLU and the identity."""


class Dense(NamedTuple):
    """One affine layer ``y = W x + b`` (docs/nonlinear.md).

    Attributes:
      weight: ``W``, ``(out, in)``.
      bias: ``b``, ``(out,)``.
    """

    weight: jnp.ndarray  # (out, in)
    bias: jnp.ndarray    # (out,)


@functools.partial(jax.tree_util.register_dataclass,
                   data_fields=["encoder", "mean", "log_sigma2", "decoder", "output"], meta_fields=["activation"])
@dataclasses.dataclass(frozen=True)
class MlpParams:
    """Parameters of one MLP Gaussian VAE (docs/nonlinear.md). A pytree whose activation is static; a grid of models
    adds leading axes to every array.

    Attributes:
      encoder: the hidden layers, a tuple of :class:`Dense`: ``d → h_1 → … → h_L``.
      mean: the mean head ``μ = A h_L + b``, ``h_L → K``.
      log_sigma2: the log-variance head ``log σ² = S h_L + s``, ``h_L → K``.
      decoder: the decoder's hidden layers, ``K → h_L → … → h_1``.
      output: the output layer ``x̂ = W_out g_1 + c``, ``h_1 → d``.
      activation: the name of ``φ`` in :data:`ACTIVATIONS`.
    """

    encoder: tuple
    mean: Dense
    log_sigma2: Dense
    decoder: tuple
    output: Dense
    activation: str = "gelu"

    @property
    def hidden(self) -> tuple:
        """The hidden widths ``(h_1, …, h_L)``."""
        return tuple(int(layer.bias.shape[-1]) for layer in self.encoder)


def hidden_widths(hidden) -> tuple:
    """The hidden widths of an MLP as a tuple of ints ``(h_1, …, h_L)``, from a tuple or list of whole numbers, one
    whole number, or a comma-separated string such as ``"64,64"`` (docs/nonlinear.md).

    Args:
      hidden: the widths.

    Returns:
      The tuple.

    Raises:
      InputError: not at least one whole width ``>= 1``.
    """
    if isinstance(hidden, (int, str)) and not isinstance(hidden, bool):  # one width, or "64,64"
        parts = hidden.split(",") if isinstance(hidden, str) else (hidden,)
    else:
        parts = hidden
    try:
        widths = tuple(operator.index(h) if not isinstance(h, str) else int(h.strip()) for h in parts)
    except (TypeError, ValueError):
        widths = ()
    if not widths or min(widths) < 1 or any(isinstance(h, bool) for h in parts):
        raise InputError(f"hidden must be one or more whole widths >= 1, found {hidden!r}; use e.g. --hidden 64,64 "
                         "(Python: hidden=(64, 64))")
    return widths


def _dense(key, n_out, n_in, dtype, gain):
    """A layer with weights ``N(0, gain² / n_in)`` and zero bias."""
    return Dense(gain / math.sqrt(n_in) * jax.random.normal(key, (n_out, n_in), dtype), jnp.zeros((n_out,), dtype))


def init_mlp_params(key, n_features, n_latents, hidden, activation="gelu", dtype=jnp.float32) -> MlpParams:
    """Initialisation for SGD training (docs/nonlinear.md, "Defaults"): the hidden layers' weights ``N(0, g² /
    fan_in)`` with gain ``g = √2`` for ReLU (He) and 1 otherwise (LeCun), the mean head and the output layer (affine,
    no activation after them) LeCun, ``N(0, 1 / fan_in)``, every bias 0, and the log-variance head zero, so that
    every latent starts at ``σ² = 1`` as the linear model does.

    Args:
      key: a JAX PRNG key.
      n_features: ``d``.
      n_latents: ``K``.
      hidden: the hidden widths ``(h_1, …, h_L)``, at least one (:func:`hidden_widths`).
      activation: a name in :data:`ACTIVATIONS`.
      dtype: floating type of every leaf.

    Returns:
      The :class:`MlpParams`.
    """
    hidden = hidden_widths(hidden)
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise InputError(f"the activation must be one of {', '.join(ACTIVATIONS)}, found {activation!r}; e.g. 'gelu'")
    gain = math.sqrt(2.0) if activation == "relu" else 1.0
    keys = iter(jax.random.split(key, 2 * len(hidden) + 2))
    widths = (n_features, *hidden)
    encoder = tuple(_dense(next(keys), n_out, n_in, dtype, gain) for n_in, n_out in zip(widths[:-1], widths[1:]))
    back = (n_latents, *hidden[::-1])
    decoder = tuple(_dense(next(keys), n_out, n_in, dtype, gain) for n_in, n_out in zip(back[:-1], back[1:]))
    zero_head = Dense(jnp.zeros((n_latents, hidden[-1]), dtype), jnp.zeros((n_latents,), dtype))
    mean, output = _dense(next(keys), n_latents, hidden[-1], dtype, 1.0), _dense(next(keys), n_features, hidden[0],
                                                                              dtype, 1.0)
    return MlpParams(encoder=encoder, mean=mean, log_sigma2=zero_head, decoder=decoder, output=output,
                     activation=activation)


def _apply(layers, a, phi):
    for layer in layers:
        a = phi(a @ layer.weight.T + layer.bias)
    return a


def mlp_encode(params: MlpParams, x, center):
    """Posterior mean and log-variance, ``μ = A h_L + b`` and ``log σ² = S h_L + s`` (docs/nonlinear.md).

    Args:
      params: the model's :class:`MlpParams`.
      x: ``(N, d)`` data.
      center: ``(d,)`` the data mean the encoder subtracts (or a scalar 0).

    Returns:
      ``(μ, log σ²)``, each ``(N, K)``.
    """
    h = _apply(params.encoder, x - center, ACTIVATIONS[params.activation])
    return h @ params.mean.weight.T + params.mean.bias, h @ params.log_sigma2.weight.T + params.log_sigma2.bias


def mlp_decode(params: MlpParams, z):
    """Decoder mean ``x̂ = W_out g_1 + c`` after the decoder's hidden layers (docs/nonlinear.md).

    Args:
      params: the model's :class:`MlpParams`.
      z: ``(N, K)`` latent codes.

    Returns:
      ``(N, d)`` reconstructions.
    """
    g = _apply(params.decoder, z, ACTIVATIONS[params.activation])
    return g @ params.output.weight.T + params.output.bias


VALIDATION_SAMPLES = 4
"""Posterior samples per row in :func:`mlp_sampled_error` (docs/nonlinear.md, "Validation")."""


def mlp_sampled_error(params: MlpParams, x, mu, log_sigma2, key):
    """The sampled-path squared error ``E_ε ‖x − x̂(μ + σ ε)‖²`` of each row, averaged over
    :data:`VALIDATION_SAMPLES` draws from ``key`` (docs/nonlinear.md, "Validation").

    The decoder is not linear, so the noise expectation has no closed form; a fixed ``key`` gives every evaluation
    the same draws (common random numbers), so that two periods' losses differ by the parameters only.

    Args:
      params: the model's :class:`MlpParams`.
      x: ``(n, d)`` rows.
      mu: ``(n, K)`` their posterior means.
      log_sigma2: ``(n, K)`` their posterior log-variances.
      key: a JAX PRNG key for the posterior samples.

    Returns:
      ``(n,)`` the averaged squared errors.
    """
    eps = jax.random.normal(key, (VALIDATION_SAMPLES, *mu.shape), mu.dtype)
    recon = jax.vmap(lambda e: mlp_decode(params, mu + jnp.exp(0.5 * log_sigma2) * e))(eps)  # (S, n, d)
    return jnp.mean(jnp.sum((x - recon) ** 2, axis=-1), axis=0)
