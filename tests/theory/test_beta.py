"""β-VAE closed form (docs/theory.md §3) against independent numerics: scipy minimisation of losses written here from
the
spec (the one-mode reduced loss and the multi-mode matrix loss), its Landau expansion, the stationary weights,
broadcasting, zero modes, dtypes and jit, and the units (information price, β, thresholds, choose_beta, price grid)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from linvae import InputError
from linvae.model import exact_loss
from linvae.theory import (
    beta_from_price,
    choose_beta,
    critical_betas,
    information_price,
    landau,
    optimum,
    price_grid,
    reduced_loss,
    reduced_min_loss,
    stationary_weights,
    thresholds,
)

RTOL = 1e-6


def random_spectrum(rng, d):
    return np.sort(rng.uniform(0.05, 3.0, d) ** 2)[::-1]


def safe_temperatures(rng, lam, n):
    """Information prices at least 5 % away from every threshold (the optimum converges slowly next to one)."""
    Tk = lam / lam.sum()
    out = []
    while len(out) < n:
        T = 10 ** rng.uniform(np.log10(Tk.min()) - 0.5, 0.0)
        if np.all(np.abs(T / Tk - 1) > 0.05):
            out.append(T)
    return np.array(out)


# ---- one-mode problem --------------------------------------------------------------------------------

@pytest.mark.parametrize("tau", [0.01, 0.2, 0.5, 0.9, 1.2, 3.0])
def test_one_mode_minimum_matches_scipy(tau):
    def loss(p):  # docs/theory.md §3 reduced loss, parameters unconstrained: M² = sigmoid(p0), A² = exp(p1)
        m2, a2 = 1 / (1 + np.exp(-p[0])), np.exp(p[1])
        return (1 - m2) + tau * (a2 - np.log(a2) - np.log(1 - m2) - 1)

    best = min((scipy.optimize.minimize(loss, x0, method="Nelder-Mead",
                                        options={"xatol": 1e-12, "fatol": 1e-15, "maxiter": 20000})
                for x0 in ([0.0, 0.3], [-3.0, -0.5], [3.0, 0.0])), key=lambda r: r.fun)
    m2 = 1 / (1 + np.exp(-best.x[0]))
    branch = optimum(tau, np.array([1.0]))   # one mode: T_1 = 1, so tau = T
    np.testing.assert_allclose(float(reduced_min_loss(tau)), best.fun, rtol=RTOL)
    np.testing.assert_allclose(float(reduced_loss(branch.M2[0], 1.0, tau)), best.fun, rtol=RTOL)
    if tau < 1:
        np.testing.assert_allclose(float(branch.M2[0]), m2, rtol=1e-4)
        np.testing.assert_allclose(np.exp(best.x[1]), 1.0, atol=1e-4)
    else:
        assert m2 < 1e-3 and float(branch.M2[0]) == 0.0


def test_landau_coefficients_match_finite_differences():
    h = 1e-4
    for tau in [0.3, 0.99, 1.0, 1.7]:
        ell = lambda m2: float(reduced_loss(jnp.float64(m2), 1.0, tau))  # noqa: E731, B023 (called in the loop)
        first = (ell(h) - ell(-h)) / (2 * h)
        second = (ell(h) - 2 * ell(0.0) + ell(-h)) / h**2
        c = landau(tau, np.array([1.0]))   # one mode: T_1 = 1, so tau = T
        assert float(c.c0[0]) == pytest.approx(ell(0.0), rel=1e-12)
        assert float(c.c2[0]) == pytest.approx(first, abs=1e-7)
        assert float(c.c4[0]) == pytest.approx(second / 2, abs=1e-5)


# ---- multi-mode constant-variance loss (docs/theory.md §4), written independently here -------------------------

def spec_loss(theta, cov, beta, d, K):
    """docs/theory.md §4 expected loss with σ_dec² = 1, b = 0, c = x̄ (the bias terms vanish at their optimum)."""
    A = theta[:K * d].reshape(K, d)
    W = theta[K * d:2 * K * d].reshape(d, K)
    s = theta[2 * K * d:]
    sq = (jnp.trace(cov) - 2 * jnp.trace(W @ A @ cov)
          + jnp.trace(W @ (A @ cov @ A.T + jnp.diag(jnp.exp(s))) @ W.T))
    rate = 0.5 * (jnp.trace(A @ cov @ A.T) + jnp.sum(jnp.exp(s) - s - 1))
    return sq / 2 + beta * rate, rate


def minimise_spec_loss(cov, beta, K, seed):
    d = cov.shape[0]
    f = jax.jit(lambda th: spec_loss(th, cov, beta, d, K)[0])
    g, h = jax.jit(jax.grad(f)), jax.jit(jax.hessian(f))
    best = None
    for restart in range(3):
        x0 = np.random.default_rng(seed + restart).normal(0, 0.3, 2 * K * d + K)
        res = scipy.optimize.minimize(lambda t: float(f(t)), x0, jac=lambda t: np.asarray(g(t)),
                                      hess=lambda t: np.asarray(h(t)), method="trust-exact",
                                      options={"gtol": 1e-11, "maxiter": 5000})
        if best is None or res.fun < best.fun:
            best = res
    return best.x


@pytest.mark.parametrize("d,K,seed", [(4, 4, 0), (5, 3, 1), (3, 5, 2), (6, 6, 3)])
def test_multimode_optimum_matches_scipy(d, K, seed):
    rng = np.random.default_rng(seed)
    lam = random_spectrum(rng, d)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    cov = (Q * lam) @ Q.T
    V = lam.sum()
    for T in safe_temperatures(rng, lam, 3):
        beta = T * V
        theta = minimise_spec_loss(cov, beta, K, seed)
        A = theta[:K * d].reshape(K, d)
        s = theta[2 * K * d:]
        mu2 = np.diag(A @ cov @ A.T)
        sigma2 = np.exp(s)
        kl = 0.5 * (mu2 + sigma2 - s - 1)
        order = np.argsort(-mu2 / (mu2 + sigma2))
        branch = optimum(T, lam, n_latents=K)
        m = min(K, d)
        pad = lambda v, fill: np.concatenate([np.asarray(v)[:m], np.full(K - m, fill)])  # noqa: E731, B023
        np.testing.assert_allclose((mu2 / (mu2 + sigma2))[order], pad(branch.M2, 0.0), rtol=RTOL, atol=1e-9)
        np.testing.assert_allclose(sigma2[order], pad(branch.sigma2, 1.0), rtol=RTOL, atol=1e-9)
        np.testing.assert_allclose(kl[order], pad(branch.rate, 0.0), rtol=RTOL, atol=1e-9)
        loss, rate = spec_loss(theta, cov, beta, d, K)
        np.testing.assert_allclose(2 * float(loss) / V, float(branch.loss), rtol=RTOL)
        np.testing.assert_allclose(float(rate), float(branch.total_rate), rtol=RTOL, atol=1e-9)


# ---- stationary weights -------------------------------------------------------------------------------

@pytest.mark.parametrize("lam,K", [
    ([3.0, 1.0, 0.5, 0.2], 4), ([3.0, 1.0, 0.5, 0.2], 2), ([3.0, 1.0, 0.5, 0.2], 7),
    ([2.0, 2.0, 1.0, 0.0], 4),        # repeated and zero eigenvalue
    ([1.0, 0.5, 0.25, -1e-17], 3),    # rounding-negative eigenvalue
])
def test_stationary_weights_are_stationary_and_optimal(lam, K):
    lam = np.asarray(lam)
    rng = np.random.default_rng(0)
    d = lam.size
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    mean = rng.normal(size=d)
    cov = (Q * lam) @ Q.T
    V = lam.sum()
    for T in [1e-3, 0.05, 0.2, 0.6]:
        params = stationary_weights(mean, lam, Q, T, K)
        assert all(np.all(np.isfinite(p)) for p in params)
        beta = T * V
        loss = exact_loss(params, mean, cov, beta, 1.0)
        np.testing.assert_allclose(2 * float(loss) / V, float(optimum(T, lam, n_latents=K).loss), rtol=1e-10)
        grads = jax.grad(exact_loss)(params, mean, cov, beta, 1.0)
        for name, grad in grads._asdict().items():
            if name != "log_sigma2_weight":  # the exact loss ignores the affine head's slope
                np.testing.assert_allclose(grad, 0.0, atol=1e-10, err_msg=name)


# ---- vectorisation, zero modes, conversions -----------------------------------------------------------

def test_closed_form_broadcasts_and_sums():
    lam = np.array([5.0, 2.0, 1.0, 0.5, 0.0])
    T = np.geomspace(1e-4, 2, 33).reshape(3, 11)
    b = optimum(T, lam, n_latents=3)
    assert b.M2.shape == (3, 11, 5) and b.loss.shape == (3, 11)
    Tk = lam / lam.sum()
    expected_active = (T[..., None] < Tk) & (np.arange(5) < 3)
    np.testing.assert_array_equal(b.active, expected_active)
    np.testing.assert_allclose(b.M2, np.where(expected_active, 1 - T[..., None] / np.where(Tk > 0, Tk, 1), 0))
    np.testing.assert_allclose(b.total_distortion, np.where(expected_active, T[..., None], Tk).sum(-1))
    np.testing.assert_allclose(b.total_rate, 0.5 * np.where(expected_active, np.log(
        np.where(Tk > 0, Tk, 1) / T[..., None]), 0).sum(-1))
    np.testing.assert_allclose(b.loss, b.total_distortion + 2 * T * b.total_rate)
    np.testing.assert_array_equal(b.n_active, expected_active.sum(-1))
    np.testing.assert_allclose(np.where(b.active, b.mu2 + b.sigma2, 0.0), np.where(expected_active, 1.0, 0.0))


def test_zero_mode_never_activates_and_gives_finite_gradients():
    lam = jnp.array([1.0, 0.3, 0.0, -1e-18])
    f = lambda T: optimum(T, lam).loss  # noqa: E731
    for T in [1e-12, 1e-3, 0.5, 2.0]:
        b = optimum(T, lam)
        assert not bool(b.active[2]) and not bool(b.active[3])
        for field in b:
            assert np.all(np.isfinite(np.where(np.isinf(b.tau), 0, field))) if field is b.tau else \
                np.all(np.isfinite(field))
        assert np.isfinite(float(jax.grad(f)(jnp.float64(T))))


def test_float32_inputs_stay_float32():
    b = optimum(np.float32(0.01), np.array([2.0, 1.0], dtype=np.float32))
    assert b.M2.dtype == jnp.float32 and b.loss.dtype == jnp.float32


def test_jit_matches_eager():
    lam = jnp.array([4.0, 1.0, 0.25])
    T = jnp.geomspace(1e-3, 1, 7)
    eager = optimum(T, lam, n_latents=2)
    jitted = jax.jit(optimum, static_argnames="n_latents")(T, lam, n_latents=2)
    for a, b in zip(eager, jitted):
        np.testing.assert_allclose(a, b)


def test_price_beta_conversions_and_thresholds():
    lam = np.array([6.0, 3.0, 1.0])
    V, s2 = lam.sum(), 0.25
    beta = np.array([0.1, 1.0, 7.0])
    T = information_price(beta, s2, V)
    np.testing.assert_allclose(T, beta * s2 / V)
    np.testing.assert_allclose(beta_from_price(T, s2, V), beta)
    np.testing.assert_allclose(thresholds(lam), lam / V)
    np.testing.assert_allclose(critical_betas(lam, sigma_dec2=s2), lam / s2)
    # Mode k collapses where the raw beta crosses beta_c,k: T at beta_c,k equals T_k.
    np.testing.assert_allclose(information_price(critical_betas(lam, sigma_dec2=s2), s2, V), lam / V)


def test_choose_beta():
    lam = np.array([50.0, 30.0, 10.0, 5.0, 3.0, 1.5, 0.5])
    c = choose_beta(0.01, lam, sigma_dec2=2.0)
    V = lam.sum()
    assert float(c.beta) == pytest.approx(0.01 * V / 2.0)
    assert int(c.n_active) == int(np.sum(lam / V > 0.01))
    assert float(c.distortion) == pytest.approx(np.minimum(0.01, lam / V).sum())
    assert int(choose_beta(0.01, lam, n_latents=2).n_active) == 2


def test_price_grid_validates():
    np.testing.assert_allclose(price_grid(1e-3, 1, 4), [1e-3, 1e-2, 1e-1, 1])
    for bad in [(0, 1, 4), (-1, 1, 4), (1, 0.1, 4), (1e-3, 1, 0), (1e-3, 1, 1), (np.inf, 1, 3)]:
        with pytest.raises(InputError):
            price_grid(*bad)
