"""Exact method (SPEC.md §4): the β-VAE grid reaches its closed form in float64 and float32, and the analytic
Hessian (with the λβ factor κ) equals ``jax.hessian`` of the scaled loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from linvae.data import synthetic_data
from linvae.theory import price_grid

# _exact: internals on purpose (the analytic Hessian and the scaled loss it differentiates are not public)
from linvae.train import ScanConfig, _exact, scan

dtype_promotion = "standard"  # trains through optax (see conftest)

LAM = np.array([1.0, 0.45, 0.2, 0.09, 0.04, 0.018, 0.0])   # with an exactly singular direction


@pytest.fixture(scope="module")
def gaussian():
    x, _ = synthetic_data(LAM, 4000, seed=3)
    return x


def measured_M2(ds):
    """Sorted signal fractions of the trained constant-variance encoders, from the stored parameters."""
    C = (ds["pca_eigenvector"].values * ds["pca_eigenvalue"].values) @ ds["pca_eigenvector"].values.T
    A = ds["encoder_weight"].values
    mu2 = np.einsum("gkd,de,gke->gk", A, C, A)
    return np.sort(mu2 / (mu2 + np.exp(ds["log_sigma2_bias"].values)), axis=1)[:, ::-1]


def theory_M2(ds):
    th = ds["theory_M2"].values
    K = ds.sizes["latent"]
    return np.pad(th, ((0, 0), (0, max(0, K - th.shape[1]))))[:, :K]


@pytest.mark.parametrize("K", [4, pytest.param(9, marks=pytest.mark.slow)])
def test_exact_reaches_closed_form(gaussian, K):
    T = price_grid(1e-4, 1, 24)
    ds = scan(gaussian, T, ScanConfig(method="exact", n_latents=K, steps=40_000, x64=True), standardize=False,
              progress=False)
    np.testing.assert_array_less(np.abs(measured_M2(ds) - theory_M2(ds)), 1e-3)
    np.testing.assert_allclose(ds["loss"], ds["theory_loss"], rtol=1e-5)
    assert ds["stopped_early"].all() and not ds["diverged"].any()


def test_exact_float32_reaches_closed_form(gaussian):
    T = price_grid(1e-4, 1, 16)
    ds = scan(gaussian, T, ScanConfig(method="exact", n_latents=8, steps=40_000), standardize=False, progress=False)
    assert ds["encoder_weight"].dtype == np.float64  # stored as float64 whatever the training precision
    np.testing.assert_array_less(np.abs(measured_M2(ds) - theory_M2(ds)), 1e-3)


def test_lambda_beta_hessian_is_exact():
    eig = jnp.asarray(np.array([5.0, 2.5, 1.2, 0.6]))
    p = jax.random.normal(jax.random.PRNGKey(8), (3 * 4 + 3,)) * 0.5
    H = _exact.hessian(p, eig, 0.2, 3, 1.7)
    reference = jax.jit(jax.hessian(_exact.scaled_loss), static_argnums=3)(p, eig, 0.2, 3, 1.7)  # one compile
    np.testing.assert_allclose(H, reference, rtol=1e-9, atol=1e-11)
