"""Exact method (docs/theory.md §4): the β-VAE grid reaches its closed form in float64 and float32, and the analytic
Hessian (with the λβ factor κ) equals ``jax.hessian`` of the scaled loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from linvae.theory import price_grid

# _exact: internals on purpose (the analytic Hessian and the scaled loss it differentiates are not public)
from linvae.train import ScanConfig, _exact, scan

from helpers import measured_M2, theory_M2

dtype_promotion = "standard"  # trains through optax (see conftest)


@pytest.mark.parametrize("K", [4, pytest.param(9, marks=pytest.mark.slow)])
def test_exact_reaches_closed_form(singular_gaussian, K):
    T = price_grid(1e-4, 1, 24)
    ds = scan(singular_gaussian, T, ScanConfig(method="exact", n_latents=K, steps=40_000, x64=True),
              standardize=False, progress=False)
    np.testing.assert_array_less(np.abs(measured_M2(ds) - theory_M2(ds)), 1e-3)
    np.testing.assert_allclose(ds["loss"], ds["theory_loss"], rtol=1e-5)
    assert ds["stopped_early"].all() and not ds["diverged"].any()


def test_exact_float32_reaches_closed_form(singular_gaussian):
    T = price_grid(1e-4, 1, 16)
    ds = scan(singular_gaussian, T, ScanConfig(method="exact", n_latents=8, steps=40_000), standardize=False,
              progress=False)
    assert ds["encoder_weight"].dtype == np.float64  # stored as float64 whatever the training precision
    np.testing.assert_array_less(np.abs(measured_M2(ds) - theory_M2(ds)), 1e-3)


def test_lambda_beta_hessian_is_exact():
    eig = jnp.asarray(np.array([5.0, 2.5, 1.2, 0.6]))
    p = jax.random.normal(jax.random.PRNGKey(8), (3 * 4 + 3,)) * 0.5
    H = _exact.hessian(p, eig, 0.2, 3, 1.7)
    reference = jax.jit(jax.hessian(_exact.scaled_loss), static_argnums=3)(p, eig, 0.2, 3, 1.7)  # one compile
    np.testing.assert_allclose(H, reference, rtol=1e-9, atol=1e-11)


def test_objective_weights_are_float64_whatever_the_precision():
    """The exact method's per-point weights (an internal: κ = 1 + λ and β / (1 + λ) of the eliminated-decoder
    program) are float64 even when JAX computes in float32: κ = 1.7 exactly, not float32's 1.70000005."""
    from linvae.model import Objective

    betas = np.array([0.3, 1.0])
    with jax.enable_x64(False):
        train_betas, weight = _exact.objective_weights(Objective("lambda-beta", lam=0.7), betas, [3.0, 1.0, 0.2])
        sampled_betas, one = _exact.objective_weights(Objective("lambda-beta-sampled", lam=0.7), betas, [3.0, 1.0])
    assert weight.dtype == np.float64 and np.all(weight == 1.7) and np.array_equal(train_betas, betas)
    assert np.array_equal(sampled_betas, betas / 1.7) and np.all(one == 1.0)
