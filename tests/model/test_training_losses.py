"""Loss terms of the objective family as training uses them (docs/theory.md §4, §5, §6): the row-averaged loss equals
the
covariance form, the LR penalty is its prior expectation, one mode equals the theory's one-mode loss, and the
minibatch loss adds each objective's penalty."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from linvae.model import (
    Objective,
    Params,
    decode,
    encode,
    exact_loss,
    exact_penalty,
    expected_loss,
    lr_penalty,
    sample_loss,
)
from linvae.theory import mode_loss


def random_params(key, d, K, scale=0.7):
    ks = jax.random.split(key, 6)
    return Params(
        encoder_weight=scale * jax.random.normal(ks[0], (K, d)), encoder_bias=0.3 * jax.random.normal(ks[1], (K,)),
        log_sigma2_weight=jnp.zeros((K, d)), log_sigma2_bias=0.5 * jax.random.normal(ks[2], (K,)),
        decoder_weight=scale * jax.random.normal(ks[3], (d, K)), decoder_bias=0.3 * jax.random.normal(ks[4], (d,)))


@pytest.mark.parametrize("objective", [Objective("lambda-beta", lam=0.7), Objective("lambda-beta-sampled", lam=0.7),
                                       Objective("lr", alpha=0.4), Objective()])
def test_row_average_equals_covariance_form(objective):
    """expected_loss (rows, noise expectation) = exact_loss (covariance form) for a constant-variance model, with
    biases and a data mean: the same loss written twice, compared exactly."""
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (500, 4))) @ np.diag([2.0, 1.0, 0.5, 0.2]) + 0.8
    params = random_params(jax.random.PRNGKey(2), 4, 3)
    center = jnp.asarray(x.mean(0) + 0.1)
    # expected_loss's input: 500 rows in 4 blocks of 128, the last padded with 12 zero rows that the mask leaves out
    blocks = jnp.asarray(np.concatenate([x, np.zeros((12, 4))]).reshape(4, 128, 4))
    mask = jnp.asarray(np.arange(512).reshape(4, 128) < 500, jnp.float64)
    loss, distortion, rate, penalty = expected_loss(params, blocks, mask, center, 0.3, 1.5, objective)
    mean = jnp.asarray(x.mean(0))
    cov = jnp.asarray(np.cov(x.T, bias=True))
    # exact_loss reads the encoder centred on the data mean: shift the encoder bias by A (x̄ − center).
    shifted = params._replace(encoder_bias=params.encoder_bias + params.encoder_weight @ (mean - center))
    exact = exact_loss(shifted, mean, cov, 0.3, 1.5, objective)
    np.testing.assert_allclose(loss, exact, rtol=1e-12)
    np.testing.assert_allclose(penalty, exact_penalty(shifted, mean, cov, 1.5, objective), rtol=1e-12, atol=1e-15)


def test_lr_penalty_is_the_prior_expectation():
    """α (‖AW − I‖² + ‖A(c − x̄) + b‖²) against a Monte Carlo average of ‖μ(x̂(z)) − z‖² over z ~ N(0, I)."""
    params = random_params(jax.random.PRNGKey(3), 5, 3)
    center = jnp.asarray(np.linspace(-1, 1, 5))
    z = jax.random.normal(jax.random.PRNGKey(4), (400_000, 3))
    mu, _ = encode(params, decode(params, z), center)
    mc = jnp.mean(jnp.sum((mu - z) ** 2, axis=-1))
    np.testing.assert_allclose(lr_penalty(params, center), mc, rtol=5e-3)


@pytest.mark.parametrize("objective", [Objective("lambda-beta", lam=1.3), Objective("lambda-beta-sampled", lam=1.3),
                                       Objective("lr", alpha=0.6)])
def test_exact_loss_of_one_mode_equals_objectives_one_mode_loss(objective):
    """A one-latent, one-feature model: exact_loss equals the theory's mode_loss (written independently)."""
    a, w, s2, lam, beta = 0.8, 1.1, 0.3, 2.0, 0.4
    params = Params(jnp.array([[a]]), jnp.zeros(1), jnp.zeros((1, 1)), jnp.log(jnp.array([s2])), jnp.array([[w]]),
                    jnp.zeros(1))
    got = exact_loss(params, jnp.zeros(1), jnp.array([[lam]]), beta, 1.7, objective)
    want = mode_loss(a, w, s2, lam, beta, objective, 1.7)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_sample_loss_adds_the_penalty():
    x = jax.random.normal(jax.random.PRNGKey(5), (64, 4))
    eps = jax.random.normal(jax.random.PRNGKey(6), (64, 3))
    params = random_params(jax.random.PRNGKey(7), 4, 3)
    base, D, R = sample_loss(params, x, jnp.zeros(4), eps, 0.5, 1.0)
    mean_err = jnp.mean(jnp.sum((x - decode(params, encode(params, x, 0.0)[0])) ** 2, axis=-1))
    cases = {("lambda-beta", 0.5, 0.0): 0.5 * mean_err / 2, ("lambda-beta-sampled", 0.5, 0.0): 0.5 * D,
             ("lr", 0.0, 0.3): 0.3 * lr_penalty(params, jnp.zeros(4))}
    for (kind, lam, alpha), extra in cases.items():
        loss, D2, R2 = sample_loss(params, x, jnp.zeros(4), eps, 0.5, 1.0, Objective(kind, lam, alpha))
        np.testing.assert_allclose(loss, base + extra, rtol=1e-13)
        assert D2 == D and R2 == R
