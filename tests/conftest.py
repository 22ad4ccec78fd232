"""Tests run in float64 with strict dtype promotion (STYLE.md: tolerances are set by precision).

A test module that trains through optax sets ``dtype_promotion = "standard"``: optax's Adam bias correction raises
a Python float to an int32 step count, which strict promotion rejects.

Fixtures shared by the files of several folders live here (those of one folder in its own conftest.py); plain
helpers and independent references in helpers.py.
"""

import os

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # two test workers share one accelerator
os.environ["LINVAE_NO_CACHE"] = "1"  # the CLI's compilation cache never writes to the user's home from the tests

import jax  # noqa: E402
import jax.numpy as jnp
import numpy as np
import pytest

from linvae.analysis import add_activity_criteria
from linvae.data import spectrum_from_eigenvalues, synthetic_data
from linvae.factors import factor_experiment
from linvae.results import PARAMETER_DIMS, theory_dataset
from linvae.theory import price_grid, stationary_weights

from helpers import CRITERIA_K, CRITERIA_LAM, CRITERIA_N, FACTOR_LAMS, LAM_OBJECTIVES

jax.config.update("jax_enable_x64", True)


@pytest.fixture(autouse=True)
def _dtype_promotion(request):
    with jax.numpy_dtype_promotion(getattr(request.module, "dtype_promotion", "strict")):
        yield


# ---- expensive data shared by the files of several folders (built once per session) -------------------------------

@pytest.fixture(scope="session")
def objectives_gaussian():
    """4000 Gaussian rows of the objectives' six-mode spectrum (tests/train, tests/plot, tests/cli)."""
    x, _ = synthetic_data(LAM_OBJECTIVES, 4000, seed=3)
    return x


@pytest.fixture(scope="session")
def criteria_dataset():
    """Exact stationary weights of synthetic data with an affine log-variance head on latent 1, analysed by
    add_activity_criteria: ``(x, params, ds, out)`` (tests/analysis/test_dataset.py, tests/plot)."""
    x, Q = synthetic_data(CRITERIA_LAM, CRITERIA_N, seed=5)
    spec = spectrum_from_eigenvalues(CRITERIA_LAM, eigenvectors=Q, n_samples=CRITERIA_N)
    T = price_grid(1e-3, 1, 9)
    params = jax.vmap(lambda t: stationary_weights(spec.mean, CRITERIA_LAM, Q, t, CRITERIA_K))(jnp.asarray(T))
    # An affine log-variance head on latent 1 spreads σ² over the data (Var σ² > 0 in both regimes).
    S = np.zeros((T.size, CRITERIA_K, CRITERIA_LAM.size))
    S[:, 1] = 0.4 * Q[:, 0]
    params = params._replace(log_sigma2_weight=jnp.asarray(S))
    ds = theory_dataset(spec, T, n_latents=CRITERIA_K)
    ds = ds.assign(**{name: (dims, np.asarray(getattr(params, name))) for name, dims in PARAMETER_DIMS.items()})
    return x, params, ds, add_activity_criteria(ds, x, n_batches=10)


@pytest.fixture(scope="session")
def lambda_beta_experiment():
    """The (λ, T) factor experiment of an entangled mixing: ``(G, noise variance, T, Dataset)`` (tests/factors,
    tests/plot)."""
    G = np.random.default_rng(24).normal(size=(6, 3))               # entangled: every factor on every signal mode
    T = np.geomspace(1e-3, 30.0, 57)
    return G, 0.1, T, factor_experiment(G, 0.1, FACTOR_LAMS, 4, T=T)
