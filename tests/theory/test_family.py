"""Objective family (docs/theory.md §5): the one-mode closed form (``optimum(..., lr_mixing=False)``), its thresholds,
coupling, reduced loss and Landau expansion, against losses written here from the definitions and minimised with
scipy (one mode and the full matrix model); the β-VAE special case; the continuity of every transition; zero modes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from linvae.model import Objective
from linvae.theory import (
    collapse_is_continuous,
    coupling,
    landau,
    mode_loss,
    mode_signal,
    optimum,
    price_grid,
    reduced_loss,
    thresholds,
)

from helpers import (
    EIGS,
    IDS,
    OBJECTIVES,
    SIGMA_DEC2,
    closed,
    full_loss,
    newton_minimise,
    one_mode_closed_form,
)

# ---- one-mode loss written independently from the definitions ---------------------------------------

def one_mode_loss(theta, lam_k, beta, objective, xp=np):
    """E(y − w z)²/(2σ_dec²) + β KL + extra term, with y ~ N(0, λ_k), z = a y + σ ε; θ = (a, w, log σ²)."""
    a, w, log_s = theta[0], theta[1], theta[2]
    s = xp.exp(log_s)
    mean_err = lam_k * (1 - a * w) ** 2                 # E(y − w a y)²
    sampled_err = mean_err + w**2 * s                   # + E(w σ ε)²
    kl = 0.5 * (a**2 * lam_k + s - log_s - 1)
    extra = {"beta": 0.0,
             "lambda-beta": objective.lam * mean_err / (2 * SIGMA_DEC2),
             "lambda-beta-sampled": objective.lam * sampled_err / (2 * SIGMA_DEC2),
             "lr": objective.alpha * (a * w - 1) ** 2}[objective.kind]   # E_z (a w z − z)², z ~ N(0, 1)
    return sampled_err / (2 * SIGMA_DEC2) + beta * kl + extra


def jnp_one_mode_loss(theta, lam_k, beta, objective):
    return one_mode_loss(theta, lam_k, beta, objective, jnp)


ONE_MODE_STARTS = [(0.01, 0.01, 0.0), (1.0, 1.0, -1.0), (-2.0, 0.5, -3.0), (0.3, -3.0, 0.5), (5.0, 0.2, -0.2)]


def scipy_one_mode(lam_k, beta, objective):
    res = newton_minimise(jnp_one_mode_loss, (lam_k, beta), objective, ONE_MODE_STARTS)
    a, w, log_s = res.x
    mu2 = a**2 * lam_k
    return res, mu2 / (mu2 + np.exp(log_s))


def collapsed_hessian_min_eig(lam_k, beta, objective):
    """Smallest eigenvalue of the Hessian of the one-mode loss at a = w = 0, σ² = 1 (finite differences)."""
    f = lambda th: one_mode_loss(th, lam_k, beta, objective)  # noqa: E731
    x0, h = np.zeros(3), 1e-4
    H = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * h, np.eye(3)[j] * h
            H[i, j] = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej) + f(x0 - ei - ej)) / (4 * h * h)
    return np.linalg.eigvalsh(H)[0]


def beta_of(T):
    return T * EIGS.sum() / SIGMA_DEC2


# ---- thresholds -------------------------------------------------------------------------------------

@pytest.mark.parametrize("objective", OBJECTIVES, ids=IDS)
def test_threshold_is_where_the_collapsed_point_loses_stability(objective):
    """Bisect the T where the numerical Hessian at the collapsed point stops being positive definite."""
    Tk = np.asarray(thresholds(EIGS, objective, SIGMA_DEC2))
    for k, lam_k in enumerate(EIGS):
        lo, hi = 1e-4, 1e2                          # unstable at lo, stable at hi
        assert collapsed_hessian_min_eig(lam_k, beta_of(lo), objective) < 0
        assert collapsed_hessian_min_eig(lam_k, beta_of(hi), objective) > 0
        for _ in range(60):
            mid = np.sqrt(lo * hi)
            lo, hi = (mid, hi) if collapsed_hessian_min_eig(lam_k, beta_of(mid), objective) < 0 else (lo, mid)
        assert Tk[k] == pytest.approx(np.sqrt(lo * hi), rel=1e-5)


def test_spec_threshold_formulas_hold_with_alpha_in_raw_units():
    V, lam, alpha = EIGS.sum(), 1.3, 0.9
    lb = thresholds(EIGS, Objective("lambda-beta", lam=lam), SIGMA_DEC2)
    np.testing.assert_allclose(lb, (1 + lam) ** 2 * EIGS / V, rtol=1e-13)                    # docs/theory.md §5 claim
    lbs = thresholds(EIGS, Objective("lambda-beta-sampled", lam=lam), SIGMA_DEC2)
    np.testing.assert_allclose(lbs, (1 + lam) * EIGS / V, rtol=1e-13)
    lr = np.asarray(thresholds(EIGS, Objective("lr", alpha=alpha), SIGMA_DEC2))
    # the claim of docs/theory.md §5
    np.testing.assert_allclose(lr, (EIGS + 2 * alpha * SIGMA_DEC2) ** 2 / (EIGS * V), rtol=1e-13)
    # The factor 2σ_dec² matters: a weight read in the units of D (α/(2σ_dec²)) would give a different spectrum.
    assert not np.allclose(lr, (EIGS + alpha) ** 2 / (EIGS * V), rtol=1e-3)
    # LR lifts weak modes most: here the weakest mode collapses last, not first.
    assert np.argmax(lr) == len(EIGS) - 1 and np.argmin(lr) != len(EIGS) - 1


# ---- active branch against scipy, one mode ------------------------------------------------------------

@pytest.mark.parametrize("objective", OBJECTIVES, ids=IDS)
def test_one_mode_optimum_matches_scipy(objective):
    Tk = np.asarray(thresholds(EIGS, objective, SIGMA_DEC2))
    V = EIGS.sum()
    for k in (0, 3):
        for ratio in (0.05, 0.4, 0.8, 0.97, 1.05, 2.0):          # T / T_k on both sides of the threshold
            T = ratio * Tk[k]
            res, m2 = scipy_one_mode(EIGS[k], beta_of(T), objective)
            branch = closed(T, EIGS, objective, sigma_dec2=SIGMA_DEC2)
            assert float(branch.M2[k]) == pytest.approx(m2, abs=1e-6)
            a, w, log_s = res.x
            assert float(branch.log_sigma2[k]) == pytest.approx(log_s, abs=1e-6)
            assert float(branch.A2[k]) == pytest.approx(a**2 * EIGS[k] + np.exp(log_s), abs=1e-6)
            loss_k = branch.distortion[k] + 2 * T * branch.rate[k] + branch.penalty[k]  # units of L̃ = 2σ²L/V
            assert float(loss_k) == pytest.approx(2 * SIGMA_DEC2 * res.fun / V, rel=1e-9, abs=1e-13)
            sampled_err = EIGS[k] * (1 - a * w) ** 2 + w**2 * np.exp(log_s)
            assert float(branch.distortion[k]) == pytest.approx(sampled_err / V, abs=1e-7)
            assert float(branch.mean_distortion[k]) == pytest.approx(EIGS[k] * (1 - a * w) ** 2 / V, abs=1e-7)


def test_one_mode_loss_of_module_matches_the_definition():
    rng = np.random.default_rng(0)
    for objective in OBJECTIVES + [Objective()]:
        for _ in range(5):
            a, w, log_s = rng.normal(size=3)
            ours = mode_loss(a, w, np.exp(log_s), 0.8, 1.7, objective, SIGMA_DEC2)
            assert float(ours) == pytest.approx(one_mode_loss((a, w, log_s), 0.8, 1.7, objective), rel=1e-13)


reduced = jax.jit(reduced_loss)


def test_reduced_loss_is_the_decoder_eliminated_loss_and_its_minimum_is_the_closed_form():
    for objective in OBJECTIVES:
        cp = coupling(EIGS, objective, SIGMA_DEC2)
        for k in (0, 2):
            p, t = float(cp.p[k]), EIGS[k] / EIGS.sum()
            T = 0.5 * float(thresholds(EIGS, objective, SIGMA_DEC2)[k])
            tau = T / (float(cp.t_scale) * t)
            for m2 in (0.1, 0.5, 0.9):                               # at A² = 1: a² λ = M², σ² = 1 − M²
                a = np.sqrt(m2 / EIGS[k])
                best_w = scipy.optimize.minimize_scalar(
                    lambda w: one_mode_loss((a, w, np.log1p(-m2)), EIGS[k], beta_of(T), objective)).fun  # noqa: B023
                ours = reduced(m2, 1.0, tau, p, cp.t_scale)
                assert float(ours) == pytest.approx(best_w / (EIGS[k] / (2 * SIGMA_DEC2)), rel=1e-9)
            res = scipy.optimize.minimize_scalar(lambda m: float(reduced(m, 1.0, tau, p, cp.t_scale)),  # noqa: B023
                                                 bounds=(0, 1 - 1e-12), method="bounded", options={"xatol": 1e-12})
            M2 = float(closed(T, EIGS, objective, sigma_dec2=SIGMA_DEC2).M2[k])
            assert M2 == pytest.approx(res.x, abs=1e-7)


def test_landau_coefficients_match_finite_differences():
    h = 1e-4
    for p in (1.0, 1.7, 4.0):
        objective = Objective("lambda-beta", lam=p - 1)             # coupling p = 1 + λ, s_T = 1
        for tau in (0.5 * p**2, p**2, 1.5 * p**2):
            ell = lambda m: float(reduced_loss(m, 1.0, tau, p))  # noqa: E731, B023 (called in the loop)
            c = landau(tau, np.array([1.0]), objective)             # one mode: t = 1, so τ = T / (s_T t) = T
            assert float(c.c0[0]) == pytest.approx(ell(0.0), rel=1e-12)
            assert float(c.c2[0]) == pytest.approx((ell(h) - ell(-h)) / (2 * h), abs=1e-6 * p**3)
            assert float(c.c4[0]) == pytest.approx((ell(h) - 2 * ell(0.0) + ell(-h)) / (2 * h * h), rel=1e-4)


# ---- continuity of the transition ---------------------------------------------------------------------

@pytest.mark.parametrize("objective", OBJECTIVES, ids=IDS)
def test_transition_is_continuous_without_coexistence(objective):
    assert bool(jnp.all(collapse_is_continuous(EIGS, objective, SIGMA_DEC2)))
    Tk = np.asarray(thresholds(EIGS, objective, SIGMA_DEC2))
    p = np.asarray(coupling(EIGS, objective, SIGMA_DEC2).p)
    k = 3
    for delta in (1e-2, 1e-3):
        # Just below: the collapsed point is a saddle and the global minimum (scipy) has M² ∝ δ, not a jump.
        below = Tk[k] * (1 - delta)
        assert collapsed_hessian_min_eig(EIGS[k], beta_of(below), objective) < 0
        _, m2 = scipy_one_mode(EIGS[k], beta_of(below), objective)
        M2 = float(closed(below, EIGS, objective, sigma_dec2=SIGMA_DEC2).M2[k])
        assert M2 == pytest.approx(m2, abs=1e-6)
        # Landau slope: M² ≈ δ / (2p − 1) (closed form and scipy), so M² → 0 as δ → 0.
        assert M2 / delta == pytest.approx(1 / (2 * p[k] - 1), rel=3 * delta)
        # Just above: collapsed point stable and global (no lower minimum from any start): no hysteresis.
        above = Tk[k] * (1 + delta)
        assert collapsed_hessian_min_eig(EIGS[k], beta_of(above), objective) > 0
        res, m2 = scipy_one_mode(EIGS[k], beta_of(above), objective)
        assert m2 < 1e-6
        assert res.fun == pytest.approx(one_mode_loss(np.zeros(3), EIGS[k], beta_of(above), objective), rel=1e-10)


def test_signal_fraction_decreases_monotonically_to_zero_at_every_threshold():
    T = np.geomspace(1e-3, 10.0, 400)
    for objective in OBJECTIVES:
        M2 = np.asarray(closed(T, EIGS, objective, sigma_dec2=SIGMA_DEC2).M2)
        Tk = np.asarray(thresholds(EIGS, objective, SIGMA_DEC2))
        assert np.all(np.diff(M2, axis=0) <= 1e-15)
        assert np.all((M2 > 0) == (T[:, None] < Tk))


# ---- full matrix model (d = 4, K = 3), its loss written independently (helpers.full_loss) ----------------

def jnp_full_loss(theta, cov, mean, beta, objective):
    return full_loss(theta, cov, mean, beta, objective, 3, jnp)


@pytest.mark.parametrize("objective, T", [
    (Objective("lambda-beta", lam=0.7), 0.3),
    (Objective("lambda-beta-sampled", lam=0.7), 0.12),
    (Objective("lr", alpha=0.5 / SIGMA_DEC2), 0.72),   # the 3 latents carry modes 1, 3, 4, not the top-3 PCA modes
    (Objective("lr", alpha=0.1), 0.2),
], ids=["lb", "lbs", "lr-reordered", "lr"])
def test_full_model_optimum_matches_closed_form(objective, T):
    rng = np.random.default_rng(3)
    d, K = 4, 3
    U = scipy.stats.special_ortho_group.rvs(d, random_state=4)
    cov = U @ np.diag(EIGS) @ U.T
    mean = rng.normal(size=d)
    beta = beta_of(T)
    n = 2 * K * d + K + d + K
    res = newton_minimise(jnp_full_loss, (jnp.asarray(cov), jnp.asarray(mean), beta), objective,
                          [rng.normal(scale=0.5, size=n) for _ in range(6)])
    theta = res.x
    A = theta[:K * d].reshape(K, d)
    b = theta[2 * K * d:2 * K * d + K]
    s = np.exp(theta[-K:])
    mu2 = np.einsum("kd,de,ke->k", A, cov, A) + b**2
    m2_scipy = np.sort(mu2 / (mu2 + s))[::-1]

    branch = closed(T, EIGS, objective, n_latents=K, sigma_dec2=SIGMA_DEC2)
    m2_closed = np.sort(np.asarray(branch.M2))[::-1][:K]
    np.testing.assert_allclose(m2_closed, m2_scipy, atol=1e-6)
    assert float(branch.loss) == pytest.approx(2 * SIGMA_DEC2 * res.fun / EIGS.sum(), rel=1e-9)
    assert float(jnp_full_loss(theta, cov, mean, beta, objective)) == pytest.approx(
        full_loss(theta, cov, mean, beta, objective, K, np), rel=1e-12)
    if T == 0.72:
        assert list(np.asarray(branch.carried)) == [True, False, True, True]


# ---- special cases -------------------------------------------------------------------------------------

@pytest.mark.parametrize("objective", [Objective(), Objective("lambda-beta"), Objective("lambda-beta-sampled"),
                                       Objective("lr")], ids=["beta", "lb0", "lbs0", "lr0"])
@pytest.mark.parametrize("n_latents", [None, 2, 6])
def test_zero_weight_is_the_beta_vae_closed_form(objective, n_latents):
    # Private on purpose: the family's one-mode formula (one_mode_optimum) against the β kernel that
    # optimum(..., Objective()) calls; the public optimum never sends Objective() through the family formula, and
    # thresholds(eigs, Objective()) is the family formula, so the β thresholds come from the kernel's own function.
    from linvae.theory._beta import beta_thresholds
    from linvae.theory._family import one_mode_optimum

    eigs = np.array([3.0, 1.0, 1.0, 0.5, 0.0])
    T = np.geomspace(1e-3, 2.0, 30)
    ours = jax.jit(one_mode_optimum, static_argnames="n_latents")(T, eigs, objective, n_latents)
    ref = optimum(T, eigs, Objective(), n_latents)
    for field in ("tau", "active", "M2", "mu2", "sigma2", "log_sigma2", "rate", "A2", "distortion",
                  "total_distortion", "total_rate", "loss", "n_active"):
        np.testing.assert_allclose(getattr(ours, field), getattr(ref, field), rtol=1e-13, atol=1e-15, err_msg=field)
    np.testing.assert_array_equal(ours.total_penalty, 0.0)
    np.testing.assert_allclose(thresholds(eigs, objective), beta_thresholds(eigs), rtol=1e-15)


def test_sampled_penalty_is_a_beta_vae_at_beta_over_one_plus_lambda():
    lam = 1.6
    rng = np.random.default_rng(1)
    # The loss itself: (1 + λ) × the β-VAE loss at β / (1 + λ), for any parameters.
    for _ in range(10):
        a, w, s, lam_k, beta = rng.uniform(0.1, 2.0, 5)
        sampled = mode_loss(a, w, s, lam_k, beta, Objective("lambda-beta-sampled", lam=lam))
        beta_vae = mode_loss(a, w, s, lam_k, beta / (1 + lam), Objective())
        assert float(sampled) == pytest.approx((1 + lam) * float(beta_vae), rel=1e-13)
    # Hence the optimum: the β-VAE closed form at T / (1 + λ), loss scaled by (1 + λ).
    T = np.geomspace(1e-3, 3.0, 25)
    ours = closed(T, EIGS, Objective("lambda-beta-sampled", lam=lam))
    ref = optimum(T / (1 + lam), EIGS)
    for field in ("M2", "sigma2", "rate", "distortion", "active"):
        np.testing.assert_allclose(getattr(ours, field), getattr(ref, field), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ours.loss, (1 + lam) * ref.loss, rtol=1e-13)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_zero_and_negative_eigenvalues_give_no_nan(dtype):
    eigs = jnp.asarray([2.0, 0.5, 0.0, -1e-9], dtype)
    T = jnp.asarray([1e-6, 1e-2, 0.5, 10.0], dtype)
    for objective in OBJECTIVES + [Objective()]:
        branch, grad, Tk = checked(T, eigs, objective)
        for name, value in branch._asdict().items():
            assert bool(jnp.all(~jnp.isnan(value))), (objective, name)
            assert value.dtype in (dtype, jnp.bool_, jnp.int32), (name, value.dtype)
        assert bool(jnp.all(branch.M2[..., 2:] == 0))
        assert bool(jnp.isfinite(grad)) and not bool(jnp.any(jnp.isnan(Tk)))


@jax.jit
def checked(T, eigs, objective):
    branch = one_mode_closed_form(T, eigs, objective, n_latents=3)
    grad = jax.grad(lambda t: one_mode_closed_form(t, eigs, objective).loss)(T[1])
    return branch, grad, thresholds(eigs, objective)


def test_lr_zero_mode_is_the_limit_of_a_vanishing_mode():
    objective = Objective("lr", alpha=0.4)
    T = np.array([0.05, 0.3])
    zero = closed(T, np.array([1.0, 0.5, 0.0]), objective)
    tiny = closed(T, np.array([1.0, 0.5, 1e-12]), objective)
    for field in ("M2", "sigma2", "rate", "distortion", "penalty"):
        np.testing.assert_allclose(getattr(zero, field), getattr(tiny, field), atol=1e-5, err_msg=field)
    assert np.all(np.asarray(zero.penalty)[:, 2] == 0)            # the latent cancels its LR penalty
    assert np.all(np.asarray(tiny.M2)[:, 2] > 0) and not np.any(np.asarray(zero.active)[:, 2])


@pytest.mark.parametrize("objective", OBJECTIVES, ids=IDS)
def test_mode_signal_is_the_closed_forms_per_mode_law(objective):
    """With a latent for every mode, M² of each mode in the one-mode closed form is mode_signal of its own
    normalised eigenvalue alone."""
    eigs = np.append(EIGS, 0.0)
    T = price_grid(1e-4, 10, 40)
    M2 = np.asarray(closed(T, eigs, objective, n_latents=None, sigma_dec2=SIGMA_DEC2).M2)
    alone = np.asarray(mode_signal(T[:, None], eigs / eigs.sum(), eigs.sum(), objective, SIGMA_DEC2))
    np.testing.assert_allclose(alone, M2, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("objective", [Objective()] + OBJECTIVES, ids=["beta"] + IDS)
def test_critical_betas_are_the_thresholds_in_raw_units(objective):
    """``β_c,k = T_k V / σ_dec²`` for every objective; exactly ``λ_k / σ_dec²`` for the β-VAE; a zero mode gives 0
    (LR: inf, its threshold)."""
    from linvae.theory import critical_betas, thresholds

    eigs = np.append(EIGS, 0.0)
    beta_c = np.asarray(critical_betas(eigs, objective, SIGMA_DEC2))
    Tk = np.asarray(thresholds(eigs, objective, SIGMA_DEC2))
    finite = np.isfinite(Tk)
    np.testing.assert_allclose(beta_c[finite], Tk[finite] * eigs.sum() / SIGMA_DEC2, rtol=1e-14)
    assert np.array_equal(np.isinf(beta_c), np.isinf(Tk))
    if objective.kind == "beta":
        assert np.array_equal(beta_c, eigs / SIGMA_DEC2)


def test_mean_path_takes_any_shape_and_stays_exact_in_float32():
    """``mean_path`` of a non-β objective accepts any shape of ``T`` like the β kernel, and computes in float64
    whatever JAX's precision: collapsed modes remove exactly nothing (no negative utility from float32 rounding)."""
    from linvae.theory import mean_path

    objective = Objective("lr", alpha=0.3)
    T = np.geomspace(1e-3, 1, 12)
    flat = mean_path(T, EIGS, objective, 3, SIGMA_DEC2)
    grid = mean_path(T.reshape(3, 4), EIGS, objective, 3, SIGMA_DEC2)
    assert grid.utility.shape == (3, 4, 3) and grid.truncated_distortion.shape == (3, 4, 4)
    np.testing.assert_array_equal(grid.utility.reshape(12, 3), flat.utility)
    with jax.enable_x64(False):
        single = mean_path(T, EIGS, objective, 3, SIGMA_DEC2)
    assert np.all(np.asarray(single.utility) >= 0)
    np.testing.assert_allclose(single.truncated_distortion, flat.truncated_distortion, atol=1e-6)


def test_jit_of_the_lr_optimum_with_few_latents_says_what_to_do():
    from linvae import InputError
    from linvae.theory import optimum

    with pytest.raises(InputError, match="lr_mixing=False"):
        jax.jit(lambda T: optimum(T, EIGS, Objective("lr", alpha=0.3), 2).M2)(0.1)
