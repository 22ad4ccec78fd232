"""Shared independent references and small helpers of the test suite; fixtures live in conftest.py.

Test files import these with ``from helpers import ...`` (``pythonpath = ["tests"]`` in pyproject.toml): under
``--import-mode=importlib`` a test file cannot import another one.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from linvae.analysis import add_analysis
from linvae.data import random_split
from linvae.model import MlpParams, Objective, Params, init_mlp_params
from linvae.theory import optimum, price_grid

# _sgd: internals on purpose (the hand-built inputs of the compiled sgd period: where sgd starts and what it reads)
from linvae.train import ScanConfig, _engine, _sgd, scan

# ---- theory: the objective family against losses written from the definitions (tests/theory) ------------------

SIGMA_DEC2 = 0.7          # not 1, so that the raw-unit LR weight is told apart from a /2σ_dec² weight
EIGS = np.array([2.0, 1.0, 0.45, 0.2])
OBJECTIVES = [
    Objective("lambda-beta", lam=0.7),
    Objective("lambda-beta", lam=3.0),
    Objective("lambda-beta-sampled", lam=0.7),
    Objective("lr", alpha=0.1),
    Objective("lr", alpha=0.5),
]
IDS = ["lb0.7", "lb3", "lbs0.7", "lr0.1", "lr0.5"]


def one_mode_closed_form(T, eigenvalues, objective, n_latents=None, sigma_dec2=1.0):
    """The family's closed form with one mode per latent (for LR: no latent reading two modes)."""
    return optimum(T, eigenvalues, objective, n_latents, sigma_dec2, lr_mixing=False)


closed = jax.jit(one_mode_closed_form, static_argnames="n_latents")  # scipy comparisons: one compile per kind


@functools.cache
def jitted(loss, kind):
    """Loss, gradient and Hessian in θ, compiled once per loss and objective kind (weights are traced)."""
    del kind  # part of the cache key: the kind is static in the Objective pytree
    return jax.jit(loss), jax.jit(jax.grad(loss)), jax.jit(jax.hessian(loss))


def newton_minimise(loss, args, objective, x0s):
    """Best of several trust-region Newton runs on ``loss(θ, *args, objective)`` (exact Hessian by jax)."""
    f, g, h = jitted(loss, objective.kind)
    runs = [scipy.optimize.minimize(lambda x: float(f(x, *args, objective)), np.asarray(x0, float),
                                    jac=lambda x: np.asarray(g(x, *args, objective)),
                                    hess=lambda x: np.asarray(h(x, *args, objective)), method="trust-exact",
                                    options={"gtol": 1e-13, "maxiter": 2000})
            for x0 in x0s]
    return min(runs, key=lambda r: r.fun)


def full_loss(theta, cov, mean, beta, objective, K, xp):
    """Expected loss of the linear VAE: data covariance C and mean x̄, σ_dec², constant per-latent variance."""
    d = cov.shape[0]
    A = theta[:K * d].reshape(K, d)
    W = theta[K * d:2 * K * d].reshape(d, K)
    b = theta[2 * K * d:2 * K * d + K]
    c = theta[2 * K * d + K:2 * K * d + K + d]
    log_s = theta[2 * K * d + K + d:]
    I_WA = xp.eye(d) - W @ A
    offset = mean - W @ b - c                                    # x − x̂(μ) = (I − WA)(x − x̄) + offset
    mean_err = xp.trace(I_WA @ cov @ I_WA.T) + offset @ offset
    sampled_err = mean_err + xp.sum(W**2 * xp.exp(log_s)[None, :])
    kl = 0.5 * (xp.trace(A @ cov @ A.T) + b @ b + xp.sum(xp.exp(log_s) - log_s - 1))
    loss = sampled_err / (2 * SIGMA_DEC2) + beta * kl
    if objective.kind == "lambda-beta":
        loss = loss + objective.lam * mean_err / (2 * SIGMA_DEC2)
    elif objective.kind == "lambda-beta-sampled":
        loss = loss + objective.lam * sampled_err / (2 * SIGMA_DEC2)
    elif objective.kind == "lr":   # μ(x̂(z)) − z = (AW − I) z + A(c − x̄) + b, z ~ N(0, I)
        lat = A @ (c - mean) + b
        loss = loss + objective.alpha * (xp.sum((A @ W - xp.eye(K)) ** 2) + lat @ lat)
    return loss


# ---- analysis: random models and data, numpy references (tests/analysis) ----------------------------------------

def random_grid(seed=0, G=3, K=4, d=5):
    """A grid of random models with an affine log-variance head (S ≠ 0) and nonzero biases."""
    rng = np.random.default_rng(seed)
    return Params(
        encoder_weight=rng.normal(size=(G, K, d)), encoder_bias=0.3 * rng.normal(size=(G, K)),
        log_sigma2_weight=0.2 * rng.normal(size=(G, K, d)), log_sigma2_bias=0.5 * rng.normal(size=(G, K)),
        decoder_weight=rng.normal(size=(G, d, K)), decoder_bias=rng.normal(size=(G, d)),
    )


def random_data(seed=1, n=500, d=5):
    rng = np.random.default_rng(seed)
    return 0.5 + rng.normal(size=(n, d)) @ rng.normal(size=(d, d)), 0.3 * rng.normal(size=d)


def numpy_renyi(x, alpha=2.0, bandwidth=None):
    """Independent reference: Silverman bandwidth (or a given one), RBF Gram, unit-trace normalisation, numpy
    eigenvalues."""
    x = np.asarray(x, np.float64)
    n = x.size
    h = 1.0592238410488122 * np.std(x, ddof=1) * n ** (-0.2) if bandwidth is None else bandwidth  # (4/3n)^{1/5} σ̂
    K = np.exp(-np.subtract.outer(x, x) ** 2 / (2 * h**2)) if h > 0 else np.ones((n, n))
    lam = np.clip(np.linalg.eigvalsh(K / np.trace(K)), 0, None)
    return np.log2(np.sum(lam**alpha)) / (1 - alpha)


# The activity-criteria Dataset (fixture ``criteria_dataset`` of tests/conftest.py): exact stationary weights.
CRITERIA_LAM = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.0])
CRITERIA_K, CRITERIA_N = 7, 1000  # one surplus latent; N = n_batches × batch_size: the entropy rows are all rows

# ---- training: spectra of the Gaussian data fixtures, trained scans read back (tests/train, tests/plot) ----------

LAM_SINGULAR = np.array([1.0, 0.45, 0.2, 0.09, 0.04, 0.018, 0.0])   # with an exactly singular direction
LAM_OBJECTIVES = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1])


def covariance(ds):
    return (ds["pca_eigenvector"].values * ds["pca_eigenvalue"].values) @ ds["pca_eigenvector"].values.T


def measured_M2(ds):
    """Sorted signal fractions of the trained constant-variance encoders, from the stored parameters."""
    A = ds["encoder_weight"].values
    mu2 = np.einsum("gkd,de,gke->gk", A, covariance(ds), A)
    return np.sort(mu2 / (mu2 + np.exp(ds["log_sigma2_bias"].values)), axis=1)[:, ::-1]


def theory_M2(ds):
    th = ds["theory_M2"].values
    K = ds.sizes["latent"]
    return np.pad(th, ((0, 0), (0, max(0, K - th.shape[1]))))[:, :K]


def analysed_exact_scan(x, n_points, **objective):
    """An exact float64 scan of 6 latents over T in 1e-3..5, analysed on its own training split."""
    ds = scan(x, price_grid(1e-3, 5, n_points), ScanConfig(method="exact", n_latents=6, x64=True, **objective),
              standardize=False, progress=False, analyse=False)
    train = random_split(len(x), seed=0).train
    return add_analysis(ds, x[train] - x[train].mean(0))


def sgd_inputs(x_train, x_val, betas, K, architecture=None):
    """Initial state and inputs of the compiled sgd period for a grid of β-VAEs, built by hand (float64, learning
    rate 3e-3, no α warm-up): one point per β; linear, or an MLP of ``architecture = (hidden, activation)``."""
    G, d = len(betas), x_train.shape[1]
    key = jax.random.PRNGKey(0)
    state = jax.vmap(_sgd.init_state, in_axes=(0, None, None, None, None))(jax.random.split(key, G), d, K,
                                                                             jnp.float64, architecture)
    val_blocks, val_mask = _sgd.device_blocks(x_val, 256, jnp.float64)
    args = _sgd.SgdArgs(
        beta=jnp.asarray(betas), learning_rate=jnp.full((G,), 3e-3), budget=jnp.int32(10_000),
        patience=jnp.int32(1_000), key=jax.random.split(key, G), shared_key=jax.random.PRNGKey(7),
        x_train=jnp.asarray(x_train), center=jnp.zeros(d), val_blocks=val_blocks, val_mask=val_mask,
        sigma_dec2=jnp.float64(1.0), objective=Objective(), alpha_warmup=jnp.int32(0))
    return state, args



def assert_grid_equals_loop(period, state, args, n_periods):
    """Run ``n_periods`` of the compiled sgd ``period`` on the whole grid and on each point alone (the same compiled
    model, one point); every leaf of every point must agree to 1e-10. Returns the grid's final state."""
    grid = state
    for i in range(n_periods):
        grid = period(grid, jnp.int32(i), args)
    for g in range(len(args.beta)):
        one = jax.tree.map(lambda a, g=g: a[g:g + 1], state)
        one_args = args._replace(beta=args.beta[g:g + 1], learning_rate=args.learning_rate[g:g + 1],
                                 key=args.key[g:g + 1])
        for i in range(n_periods):
            one = period(one, jnp.int32(i), one_args)
        for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(grid)):
            np.testing.assert_allclose(np.asarray(a)[0], np.asarray(b)[g], rtol=1e-10, atol=1e-12)
    return grid


def killed_then_resumed(data, T, config, checkpoint, monkeypatch, kill_after):
    """A scan (unstandardised, no progress bar) interrupted by a KeyboardInterrupt when its period ``kill_after + 1``
    starts, its checkpoint written after every period, then resumed from that checkpoint: the resumed Dataset."""
    original = _engine.run_grid

    def killed(period_fn, *a, **kw):
        calls = {"n": 0}

        def period(*args):
            if calls["n"] == kill_after:
                raise KeyboardInterrupt
            calls["n"] += 1
            return period_fn(*args)
        return original(period, *a, **kw)

    monkeypatch.setattr(_engine, "run_grid", killed)
    with pytest.raises(KeyboardInterrupt):
        scan(data, T, config, standardize=False, progress=False, checkpoint=checkpoint, checkpoint_every=0)
    monkeypatch.setattr(_engine, "run_grid", original)
    assert checkpoint.exists()
    return scan(data, T, config, standardize=False, progress=False, checkpoint=checkpoint, resume=True)

# ---- factors: the λβ factor experiment (fixture ``lambda_beta_experiment`` of tests/conftest.py) ------------------

FACTOR_LAMS = np.array([0.0, 1.0, 3.0])   # (1 + λ)² = 1, 4, 16: powers of two, so the rescaled thresholds are exact


# ---- MLP: a numpy transcription of docs/nonlinear.md and random parameters -------------------------------------

NUMPY_ACTIVATIONS = {"gelu": lambda a: 0.5 * a * (1 + np.vectorize(math.erf)(a / math.sqrt(2))), "tanh": np.tanh,
                     "relu": lambda a: np.maximum(a, 0), "identity": lambda a: a}


def numpy_forward(params: MlpParams, x, center):
    """Encoder and decoder of docs/nonlinear.md written out layer by layer in float64 numpy."""
    phi = NUMPY_ACTIVATIONS[params.activation]
    f64 = lambda a: np.asarray(a, np.float64)  # noqa: E731
    h = f64(x) - center
    for layer in params.encoder:
        h = phi(h @ f64(layer.weight).T + f64(layer.bias))
    mu = h @ f64(params.mean.weight).T + f64(params.mean.bias)
    log_sigma2 = h @ f64(params.log_sigma2.weight).T + f64(params.log_sigma2.bias)
    return mu, log_sigma2, numpy_decode(params, mu)


def numpy_decode(params: MlpParams, z):
    """The decoder of docs/nonlinear.md written out layer by layer in float64 numpy."""
    f64 = lambda a: np.asarray(a, np.float64)  # noqa: E731
    g = f64(z)
    for layer in params.decoder:
        g = NUMPY_ACTIVATIONS[params.activation](g @ f64(layer.weight).T + f64(layer.bias))
    return g @ f64(params.output.weight).T + f64(params.output.bias)


def random_mlp(activation, hidden=(7, 5), d=6, K=3, seed=0):
    """An MLP with every weight and bias random (the initialisation's zero heads would hide mistakes)."""
    p = init_mlp_params(jax.random.PRNGKey(seed), d, K, hidden, activation, jnp.float64)
    leaves, tree = jax.tree.flatten(p)
    keys = jax.random.split(jax.random.PRNGKey(seed + 1), len(leaves))
    return jax.tree.unflatten(tree, [0.5 * jax.random.normal(k, leaf.shape, jnp.float64)
                                     for k, leaf in zip(keys, leaves)])
