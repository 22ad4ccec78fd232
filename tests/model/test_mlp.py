"""The MLP VAE (docs/nonlinear.md): encoder and decoder against a numpy transcription, the identity MLP against the
linear model it is a product of, the documented initialisation, and the validation loss's fixed draws."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from linvae import InputError
from linvae.model import (
    ACTIVATIONS,
    VALIDATION_SAMPLES,
    Params,
    decode,
    encode,
    expected_loss,
    init_mlp_params,
    kl_per_latent,
    sample_loss,
)

from helpers import numpy_forward, random_mlp


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_encoder_and_decoder_equal_a_numpy_transcription(activation):
    with jax.enable_x64(True):
        p = random_mlp(activation)
        x = np.random.default_rng(1).standard_normal((40, 6))
        center = np.linspace(-0.3, 0.3, 6)
        mu, log_sigma2 = encode(p, jnp.asarray(x), jnp.asarray(center))
        x_hat = decode(p, mu)
    mu_np, ls_np, x_hat_np = numpy_forward(p, x, center)
    np.testing.assert_allclose(mu, mu_np, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(log_sigma2, ls_np, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x_hat, x_hat_np, rtol=1e-12, atol=1e-12)
    assert p.hidden == (7, 5) and [layer.weight.shape for layer in p.decoder] == [(5, 3), (7, 5)]


def test_identity_mlp_is_the_linear_model_of_its_matrix_products():
    """With φ the identity, μ = A W₂ W₁ (x − x̄) + …: the same numbers as the linear Params of those products, and
    the same minibatch loss."""
    with jax.enable_x64(True):
        p = random_mlp("identity")
        (W1, b1), (W2, b2) = p.encoder
        (V1, c1), (V2, c2) = p.decoder
        enc = lambda head: (head.weight @ W2 @ W1, head.weight @ (W2 @ b1 + b2) + head.bias)  # noqa: E731
        dec_w = p.output.weight @ V2 @ V1
        dec_b = p.output.weight @ (V2 @ c1 + c2) + p.output.bias
        linear = Params(*enc(p.mean), *enc(p.log_sigma2), dec_w, dec_b)
        x = jnp.asarray(np.random.default_rng(2).standard_normal((30, 6)))
        eps = jnp.asarray(np.random.default_rng(3).standard_normal((30, 3)))
        for a, b in zip(encode(p, x, 0.0), encode(linear, x, 0.0)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sample_loss(p, x, 0.0, eps, 0.7, 1.3), sample_loss(linear, x, 0.0, eps, 0.7, 1.3),
                                   rtol=1e-10)


def test_validation_loss_of_an_identity_mlp_estimates_the_linear_closed_form():
    """The MLP's expected loss averages fixed posterior draws; for a linear decoder the expectation is the closed form
    of the linear model (E‖x − x̂‖² = ‖x − x̂(μ)‖² + Σ_k ‖w_k‖² σ_k²): within the Monte-Carlo error, and the same
    value on every call (common random numbers)."""
    with jax.enable_x64(True):
        p = random_mlp("identity")
        x = np.random.default_rng(4).standard_normal((4000, 6))
        blocks, mask = jnp.asarray(x.reshape(4, 1000, 6)), jnp.ones((4, 1000))
        got = expected_loss(p, blocks, mask, 0.0, 0.5, 1.0)
        again = expected_loss(p, blocks, mask, 0.0, 0.5, 1.0)
        mu, log_sigma2, x_hat = numpy_forward(p, x, 0.0)
        W = np.asarray(p.output.weight @ p.decoder[1].weight @ p.decoder[0].weight)
        err = np.sum((x - x_hat) ** 2, axis=1) + np.exp(log_sigma2) @ np.sum(W**2, axis=0)
        rate = np.mean(np.sum(np.asarray(kl_per_latent(mu, log_sigma2)), axis=1))
    np.testing.assert_array_equal(np.asarray(got), np.asarray(again))
    np.testing.assert_allclose(got[2], rate, rtol=1e-12)
    # Monte-Carlo error of the S-draw average: with r = x − x̂(μ) and M = W diag(σ²) Wᵀ per row,
    # Var_ε ‖r − W σ ε‖² = 4 rᵀ M r + 2 tr(M²); the mean over S draws and N rows has variance Σ_rows (…) / (S N²)
    r = x - x_hat
    M = np.einsum("dk,nk,ek->nde", W, np.exp(log_sigma2), W)
    var = np.sum(4 * np.einsum("nd,nde,ne->n", r, M, r) + 2 * np.einsum("nde,ned->n", M, M))
    sd = np.sqrt(var / (VALIDATION_SAMPLES * len(x) ** 2)) / 2  # of D = err / 2
    assert abs(float(got[1]) - np.mean(err) / 2) < 4 * sd, (float(got[1]), np.mean(err) / 2, sd)


@pytest.mark.parametrize("activation, gain", [("gelu", 1.0), ("relu", math.sqrt(2.0))])
def test_initialisation_is_the_documented_one(activation, gain):
    p = init_mlp_params(jax.random.PRNGKey(0), 40, 30, (400, 300), activation)
    for layer, fan_in in [(p.encoder[0], 40), (p.encoder[1], 400), (p.decoder[0], 30), (p.decoder[1], 300)]:
        w = np.asarray(layer.weight)
        assert abs(w.std() * math.sqrt(fan_in) / gain - 1) < 0.02 and not np.any(layer.bias)
    assert abs(np.asarray(p.mean.weight).std() * math.sqrt(300) - 1) < 0.05   # heads and output: LeCun, gain 1
    assert abs(np.asarray(p.output.weight).std() * math.sqrt(400) - 1) < 0.05
    assert not np.any(p.log_sigma2.weight) and not np.any(p.log_sigma2.bias)  # σ² = 1 at the start


def test_bad_architecture_is_refused():
    with pytest.raises(InputError, match="whole widths"):
        init_mlp_params(jax.random.PRNGKey(0), 4, 2, ())
    with pytest.raises(InputError, match="activation"):
        init_mlp_params(jax.random.PRNGKey(0), 4, 2, (8,), "swish")
