"""LR-VAE latents that read two modes (docs/theory.md §5; docs/objectives.md §6) and the global LR optimum with them
(``optimum`` called eagerly): scipy on the full matrix loss written independently (helpers.full_loss), an
independent two-mode loss, plain enumeration of every packing, continuity along T, the null direction of a zero mode,
and the optimum reducing to the one-mode closed form where no latent mixes (the LR latents plot:
tests/plot/test_objective_figures.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from linvae.model import Objective
from linvae.theory import lr_mixed_latent, optimum, price_grid

from helpers import EIGS, IDS, OBJECTIVES, SIGMA_DEC2, closed, full_loss, newton_minimise


def scipy_full_optimum(eigs, K, T, objective, n_starts, seed):
    """Best of ``n_starts`` random-start Newton runs on the full matrix loss of a randomly rotated, shifted copy of
    the spectrum; returns the result, the normalised loss and the encoder in the PCA basis."""
    d = eigs.size
    rng = np.random.default_rng(seed)
    U = scipy.stats.special_ortho_group.rvs(d, random_state=seed + 1)
    cov, mean = U @ np.diag(eigs) @ U.T, rng.normal(size=d)
    beta = T * eigs.sum() / SIGMA_DEC2

    def loss(theta, cov, mean, beta, objective):
        return full_loss(theta, cov, mean, beta, objective, K, jnp)

    n = 2 * K * d + K + d + K
    res = newton_minimise(loss, (jnp.asarray(cov), jnp.asarray(mean), beta), objective,
                          [rng.normal(scale=scale, size=n) for scale in np.resize([0.3, 1.0, 2.0], n_starts)])
    assert res.success or np.linalg.norm(res.jac) < 1e-8
    return res, 2 * SIGMA_DEC2 * res.fun / eigs.sum(), res.x[:K * d].reshape(K, d) @ U


# ---- the optimum against scipy on the full matrix loss --------------------------------------------------

def test_lr_with_fewer_latents_than_modes_mixes_two_modes():
    """docs/theory.md §5's one-mode reduction fails for the LR-VAE with fewer latents than modes: a latent reads two
    weak
    modes and pays its LR cost once. Scipy on the full matrix loss (random rotation and mean) finds the loss of
    the optimum, below the one-mode closed form, with the latent reading modes 4 and 6 in the closed-form
    proportions."""
    eigs = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1])
    K, T = 4, 0.0858
    objective = Objective("lr", alpha=0.5 / SIGMA_DEC2)  # 2 α σ_dec² = 1
    res, found, A = scipy_full_optimum(eigs, K, T, objective, 8, seed=0)
    branch = optimum(T, eigs, objective, K, SIGMA_DEC2)
    assert found == pytest.approx(float(branch.loss), rel=1e-10)
    assert found < float(closed(T, eigs, objective, n_latents=K, sigma_dec2=SIGMA_DEC2).loss) * (1 - 1e-4)
    assert list(branch.partner) == [-1, -1, -1, 5, -1, 3]
    shares = A**2 * eigs                                            # mean μ² each latent reads from each mode
    two = np.flatnonzero((shares > 1e-6).sum(1) == 2)
    assert two.size == 1 and list(np.flatnonzero(shares[two[0]] > 1e-6)) == [3, 5]
    t, alpha_n = eigs / eigs.sum(), 2 * objective.alpha * SIGMA_DEC2 / eigs.sum()
    mixed = lr_mixed_latent(T, t[3], t[5], alpha_n)
    np.testing.assert_allclose(shares[two[0], [3, 5]], [mixed.share_i, mixed.share_j], rtol=1e-6)
    mu2 = np.einsum("kd,d,kd->k", A, eigs, A)
    s = np.exp(res.x[-K:])
    np.testing.assert_allclose(np.sort(mu2 / (mu2 + s)), np.sort(branch.M2[branch.active]), atol=1e-7)


@pytest.mark.parametrize("eigs, K, alpha, T", [
    ([1.0, 0.4, 0.1], 1, 1.0, 0.73),                      # one latent, three modes: it reads modes 1 and 3
    pytest.param([4.0, 2.0, 0.5, 0.3, 0.08], 2, 1.0, 0.28, marks=pytest.mark.slow),
    ([2.0, 1.0, 0.3, 0.2, 0.1, 0.05], 3, 0.6, 0.094),
], ids=["K1-d3", "K2-d5", "K3-d6"])
def test_lr_optimum_is_the_full_model_optimum(eigs, K, alpha, T):
    """Random-start scipy minimisation of the full matrix loss finds nothing below the optimum, and reaches
    it; where the optimum mixes modes it is below the one-mode closed form."""
    eigs = np.asarray(eigs)
    objective = Objective("lr", alpha=alpha)
    _, found, _ = scipy_full_optimum(eigs, K, T, objective, 6, seed=K)
    branch = optimum(T, eigs, objective, K, SIGMA_DEC2)
    assert found == pytest.approx(float(branch.loss), rel=1e-9)
    assert np.any(branch.partner >= 0)
    assert float(branch.loss) < float(closed(T, eigs, objective, n_latents=K, sigma_dec2=SIGMA_DEC2).loss)


# ---- one latent reading two modes (lr_mixed_latent) -----------------------------------------------------

def test_mixed_latent_is_a_stationary_point_of_the_two_mode_loss():
    """At the closed-form point (encoder gains √c_k, the decoder optimal for them) the gradient of an
    independently written one-latent, two-mode loss vanishes, and its value is the closed-form loss."""
    # α̃ in units of √(t_i t_j); T across the window (√t_j ρ̂ (1 + t_i/α̃), √t_i ρ̂ (1 + t_j/α̃)), ρ̂ = √t_i + √t_j
    grid = []
    for t_i, t_j in [(0.3, 0.05), (0.12, 0.02), (0.5, 0.4)]:
        for m in (0.8, 2, 4, 10):
            alpha_n = m * np.sqrt(t_i * t_j)
            lo = np.sqrt(t_j) * (np.sqrt(t_i) + np.sqrt(t_j)) * (1 + t_i / alpha_n)
            hi = np.sqrt(t_i) * (np.sqrt(t_i) + np.sqrt(t_j)) * (1 + t_j / alpha_n)
            grid += [(t_i, t_j, alpha_n, lo + f * (hi - lo), lo < lo + f * (hi - lo) < hi)
                     for f in (-0.2, 0.1, 0.5, 0.9, 1.2)]
    t_i, t_j, alpha_n, T, inside = (np.array(x) for x in zip(*grid))
    mixed = lr_mixed_latent(T, t_i, t_j, alpha_n)
    np.testing.assert_array_equal(mixed.exists, inside)
    assert 20 < int(np.sum(inside)) < len(grid)
    def loss(theta, lam, T, alpha_n):                             # θ = (a_1, a_2, w_1, w_2, log σ²), V = σ_dec² = 1
        a, w, log_s = theta[:2], theta[2:4], theta[4]
        mu_err = jnp.sum(lam * (1 - a * w) ** 2) + jnp.sum(w**2) * jnp.sum(a**2 * lam) - jnp.sum(
            w**2 * a**2 * lam)                                     # E‖y − w aᵀy‖², y ~ N(0, diag λ)
        kl = jnp.sum(a**2 * lam) + jnp.exp(log_s) - log_s - 1
        return mu_err + jnp.sum(w**2) * jnp.exp(log_s) + T * kl + alpha_n * (a @ w - 1) ** 2

    f, g, h = jax.jit(loss), jax.jit(jax.grad(loss)), jax.jit(jax.hessian(loss))
    for k in np.flatnonzero(mixed.exists):
        lam = np.array([t_i[k], t_j[k]])                          # V = 1 after normalising: raw = normalised units
        a = np.sqrt(np.array([mixed.share_i[k], mixed.share_j[k]]) / lam)
        args = (lam, T[k], alpha_n[k])
        # the decoder optimal for (a, σ²): the loss is quadratic in w
        theta0 = np.concatenate([a, np.zeros(2), np.log(np.asarray(mixed.sigma2)[k])[None]])
        w = -np.linalg.solve(np.asarray(h(theta0, *args))[2:4, 2:4], np.asarray(g(theta0, *args))[2:4])
        theta = np.concatenate([a, w, theta0[4:]])
        assert float(jnp.max(jnp.abs(g(theta, *args)))) < 1e-12
        assert float(f(theta, *args)) == pytest.approx(float(mixed.loss[k]), rel=1e-12)
    assert np.all(np.isfinite(np.asarray(mixed.loss)[np.asarray(mixed.exists)]))
    for field in mixed:
        assert not np.any(np.isnan(np.asarray(field)))


@pytest.mark.parametrize("t_i, t_j, m", [(0.3, 0.05, 2.0), (0.12, 0.02, 5.0), (0.5, 0.4, 1.5)])
def test_mixed_latent_turns_continuously_from_one_mode_to_the_other(t_i, t_j, m):
    """At the ends of its window the mixed latent is the one-mode latent of mode i (low T) or mode j (high T):
    same loss (the other mode left unread), all of its signal from that mode."""
    alpha_n = m * np.sqrt(t_i * t_j)
    root = np.sqrt(t_i) + np.sqrt(t_j)
    lo, hi = np.sqrt(t_j) * root * (1 + t_i / alpha_n), np.sqrt(t_i) * root * (1 + t_j / alpha_n)
    eps = 1e-9 * (hi - lo)
    mixed = lr_mixed_latent(np.array([lo + eps, hi - eps]), t_i, t_j, alpha_n)
    assert np.all(mixed.exists)
    eigs = np.array([t_i, t_j, 1 - t_i - t_j])                     # V = 1: raw = normalised units
    one = closed(np.array([lo, hi]), eigs, Objective("lr", alpha=alpha_n / 2), n_latents=None, sigma_dec2=1.0)
    single = np.asarray(one.distortion + 2 * np.array([lo, hi])[:, None] * one.rate + one.penalty)
    np.testing.assert_allclose(mixed.loss, [single[0, 0] + t_j, single[1, 1] + t_i], rtol=1e-7)
    np.testing.assert_allclose([mixed.share_j[0], mixed.share_i[1]], 0, atol=1e-7)
    np.testing.assert_allclose(mixed.M2, [one.M2[0, 0], one.M2[1, 1]], rtol=1e-7)


# ---- the packing of latents along T ---------------------------------------------------------------------

def test_lr_optimum_has_no_jump_where_the_one_mode_assignment_jumps():
    """One latent, six modes, α̃ = 2/V: with one mode per latent the latent jumps between modes as T rises (its M²
    falls by > 0.1 between neighbouring grid points); the optimum turns it continuously (steps of the order of
    the grid spacing times the slope, < 0.01)."""
    T = np.geomspace(1e-2, 2.0, 800)
    eigs = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1])
    objective = Objective("lr", alpha=1.0)
    best = np.sort(optimum(T, eigs, objective, 1).M2, axis=1)
    one = np.sort(np.asarray(optimum(T, eigs, objective, 1, lr_mixing=False).M2), axis=1)
    assert np.max(np.abs(np.diff(one, axis=0))) > 0.1
    assert np.max(np.abs(np.diff(best, axis=0))) < 0.02       # |dM²/d log T| ≤ 1, log-spacing 0.0067


def brute_force_loss(T, eigs, alpha_n, K):
    """Lowest loss over every packing of the modes into single latents, pair latents (lr_mixed_latent) and modes
    left alone, with at most K latents (idle ones cost α̃): plain enumeration, no integer programming."""
    t = eigs / eigs.sum()
    d = t.size
    one = closed(np.array([T]), eigs, Objective("lr", alpha=alpha_n * eigs.sum() / 2), n_latents=None,
                 sigma_dec2=1.0)
    single = np.asarray(one.distortion + 2 * T * one.rate + one.penalty)[0]
    hi, lo = np.triu_indices(d, 1)
    hi, lo = np.where(t[hi] > t[lo], hi, lo), np.where(t[hi] > t[lo], lo, hi)
    mixed = lr_mixed_latent(T, t[hi], t[lo], alpha_n)
    pair = {(int(i), int(j)): float(loss) for i, j, loss, ok in zip(hi, lo, mixed.loss, mixed.exists)
            if ok and t[i] - t[j] > 1e-6 * t[i]}

    def best(k, used, latents):
        if latents > K:
            return np.inf
        if k == d:
            return (K - latents) * alpha_n
        if used & (1 << k):
            return best(k + 1, used, latents)
        options = [t[k] + best(k + 1, used, latents), single[k] + best(k + 1, used, latents + 1)]
        for j in range(k + 1, d):
            key = (k, j) if t[k] > t[j] else (j, k)
            if not used & (1 << j) and key in pair:
                options.append(pair[key] + best(k + 1, used | (1 << j), latents + 1))
        return min(options)

    return best(0, 0, 0)


@pytest.mark.parametrize("seed", range(4))
def test_lr_optimum_is_the_best_packing(seed):
    """The 0/1 program picks the best packing: equal to plain enumeration over every assignment, at T where
    latents mix and where they do not, zero modes included."""
    rng = np.random.default_rng(seed)
    d = 5
    eigs = np.sort(np.exp(rng.uniform(-4, 1, d)))[::-1]
    if seed == 3:
        eigs[-1] = 0.0
    t = eigs / eigs.sum()
    alpha_n = float(np.exp(rng.uniform(np.log(t[t > 0].min()), np.log(t.max()))))
    T = np.geomspace(1e-3, 2.0, 12)
    for K in (1, 2, 3):
        ours = optimum(T, eigs, Objective("lr", alpha=alpha_n * eigs.sum() / 2), K, 1.0)
        ref = [brute_force_loss(T_, eigs, alpha_n, K) for T_ in T]
        np.testing.assert_allclose(ours.loss, ref, rtol=1e-12)


def test_lr_optimum_resolves_packings_a_billionth_apart():
    """Near the edge of a mixing window two packings differ by 1e-9 of the loss ({1}, {2,5}, {6} vs {1}, {2,5},
    {3,6}): the 0/1 program must not stop within its default absolute gap (found by an adversarial search)."""
    t = np.array([0.27434492292389007, 0.20248696625875667, 0.19345921020685275, 0.16566423162290625,
                  0.09395113367233289, 0.0700935353152615])
    alpha = 0.209115542400215515
    T = np.array([0.3617, 0.3618, 0.36182213])
    ours = optimum(T, t, Objective("lr", alpha=alpha), 3, 1.0)
    np.testing.assert_allclose(ours.loss, [brute_force_loss(x, t, 2 * alpha, 3) for x in T], rtol=1e-14)
    np.testing.assert_array_equal(ours.partner[:, [2, 5]], [[5, 2]] * 3)


def test_lr_zero_mode_is_a_null_direction_that_cancels_a_latents_lr_cost():
    """With a zero eigenvalue and fewer latents than modes, a latent reads a mode and the null direction (gain → ∞):
    its LR cost vanishes and it is the β-VAE latent of that mode. The optimum is the limit of a vanishing mode,
    and an independently evaluated full-matrix point with a large null gain reaches its loss."""
    T = np.array([0.05, 0.2, 0.4])
    objective = Objective("lr", alpha=0.5)
    zero = optimum(T, np.array([1.0, 0.5, 0.0]), objective, 1, SIGMA_DEC2)
    tiny = optimum(T, np.array([1.0, 0.5, 1e-300]), objective, 1, SIGMA_DEC2)
    np.testing.assert_allclose(zero.loss, tiny.loss, rtol=1e-12)
    np.testing.assert_array_equal(zero.partner[:, 2], [0, 0, 0])
    eigs = np.array([1.0, 0.5, 0.0])
    for row, T_ in enumerate(T):
        M2 = 1 - T_ / (1.0 / 1.5)                                    # β-VAE latent on mode 1
        np.testing.assert_allclose(zero.M2[row], [M2, 0, 0], rtol=1e-12)
        a = np.sqrt(M2 / eigs[0])
        gain = 1e8                                                   # encoder gain on the null direction
        theta = np.zeros(2 * 3 + 1 + 3 + 1)
        theta[0], theta[2] = a, gain                                 # A = (a, 0, G)
        theta[3], theta[5] = M2 / a, (1 - M2) / gain                 # W = (M²/a, 0, σ²/G): a·w = 1
        theta[-1] = np.log(1 - M2)
        beta = T_ * eigs.sum() / SIGMA_DEC2
        value = full_loss(theta, np.diag(eigs), np.zeros(3), beta, objective, 1, np)
        assert 2 * SIGMA_DEC2 * value / eigs.sum() == pytest.approx(float(zero.loss[row]), rel=1e-9)


# ---- the optimum without mixing -------------------------------------------------------------------------

@pytest.mark.parametrize("objective", OBJECTIVES + [Objective(), Objective("lr", alpha=0.0)],
                         ids=IDS + ["beta", "lr0"])
def test_optimum_is_the_closed_form_without_mixing(objective):
    """Objectives without mixing, and LR with a latent for every mode, give the closed form field by field."""
    # Private on purpose: the reference is the family's one-mode formula itself, so that the β-VAE case compares
    # the β kernel (what optimum calls for Objective()) with the family formula at zero weight.
    from linvae.theory._family import one_mode_optimum

    T = price_grid(1e-3, 3, 25)
    family = jax.jit(one_mode_optimum, static_argnames="n_latents")
    ref = jax.tree.map(np.asarray, family(T, EIGS, objective, n_latents=None, sigma_dec2=SIGMA_DEC2))
    ours = optimum(T, EIGS, objective, None, SIGMA_DEC2)
    for name, value in ref._asdict().items():
        np.testing.assert_allclose(getattr(ours, name), value, rtol=1e-13, atol=1e-15, err_msg=name)  # jit rounding


def test_optimum_grid_is_continuous_in_loss_and_a_lower_bound_to_the_closed_form():
    """Along a T grid the optimum's loss never exceeds the one-mode closed form, is continuous, its totals are
    the sums of its per-mode fields, and pairs are symmetric."""
    eigs = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1])
    objective = Objective("lr", alpha=0.5 / SIGMA_DEC2)
    T = np.geomspace(1e-3, 2.0, 200)
    ours = optimum(T, eigs, objective, 4, SIGMA_DEC2)
    ref = closed(T, eigs, objective, n_latents=4, sigma_dec2=SIGMA_DEC2)
    assert np.all(ours.loss <= np.asarray(ref.loss) * (1 + 1e-14))
    assert np.any(ours.loss < np.asarray(ref.loss) * (1 - 1e-4))
    assert np.max(np.abs(np.diff(ours.loss))) < 5 * np.max(np.abs(np.diff(np.asarray(ref.loss))))
    np.testing.assert_allclose(ours.total_distortion, ours.distortion.sum(-1), rtol=1e-14)
    np.testing.assert_allclose(ours.loss, ours.total_distortion + 2 * T * ours.total_rate + ours.total_penalty,
                               rtol=1e-14)
    rows, modes = np.nonzero(ours.partner >= 0)
    assert rows.size and np.all(ours.partner[rows, ours.partner[rows, modes]] == modes)
    n_pairs = (ours.partner >= 0).sum(-1) // 2
    assert np.all(ours.carried.sum(-1) - n_pairs == np.minimum(4, 6 - n_pairs))   # every latent reads something
    assert np.all(ours.n_active <= 4) and np.any(n_pairs > 0)
