"""Activity criteria (docs/theory.md §8): constructed cases with known answers, the Rényi entropy against numpy and the
α = 2 trace identity, the Gaussian entropy against scipy, and closed-form onsets against the criteria evaluated on
the closed-form branch of every objective."""

import jax
import numpy as np
import pytest
import scipy.optimize
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from linvae import InputError
from linvae.analysis import (
    ACTIVE,
    MIXED,
    PASSIVE,
    ActivityThresholds,
    activity_criteria,
    bonheme_class,
    criterion_onsets,
    gaussian_entropy,
    mean_representation_entropy,
    onset_levels,
    prior_bandwidth,
    renyi_entropy,
)
from linvae.model import Objective
from linvae.theory import optimum, thresholds

from helpers import numpy_renyi

# --- constructed cases ------------------------------------------------------------------------------------------

def test_bonheme_classes_of_constant_encoder_variances():
    mean = np.array([0.05, 0.5, 0.95, 0.0, 1.0, 0.1, 0.9, 0.05])
    var = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2])  # the last one switches across the data: mixed
    expected = [ACTIVE, MIXED, PASSIVE, ACTIVE, PASSIVE, ACTIVE, PASSIVE, MIXED]
    np.testing.assert_array_equal(bonheme_class(mean, var), expected)
    assert bonheme_class(mean, var).dtype == np.int8
    # A tighter tolerance turns the boundary values mixed.
    np.testing.assert_array_equal(bonheme_class([0.1, 0.9], [0, 0], tol=0.05), [MIXED, MIXED])


def test_threshold_criteria_on_known_values():
    c = activity_criteria(
        M2=np.array([[0.05, 0.2]]), rate=np.array([[0.005, 0.02]]), var_mu=np.array([[0.009, 0.011]]),
        mean_sigma2=np.array([[0.95, 0.05]]), var_sigma2=np.zeros((1, 2)), renyi=np.array([[0.0, 2.2]]))
    for name in ("signal_fraction", "kl", "active_units", "renyi_entropy"):
        np.testing.assert_array_equal(getattr(c, name), [[False, True]], err_msg=name)
    np.testing.assert_array_equal(c.bonheme, [[PASSIVE, ACTIVE]])
    # ½ log2(2πe · 0.011) < 0 bits: the Gaussian-entropy rule at its default threshold 0 calls neither active …
    np.testing.assert_array_equal(c.gaussian_entropy, [[False, False]])
    # … and at −1.5 bits (Var μ > 2^{−3}/(2πe) ≈ 0.0073) both.
    c2 = activity_criteria(M2=0, rate=0, var_mu=np.array([0.009, 0.011]), mean_sigma2=1, var_sigma2=0,
                           renyi=0, thresholds=ActivityThresholds(gaussian_entropy=-1.5))
    np.testing.assert_array_equal(c2.gaussian_entropy, [True, True])


@pytest.mark.parametrize("bad", [dict(signal_fraction=1.0), dict(kl=-1.0), dict(bonheme_tol=0.6),
                                 dict(renyi_entropy=float("nan")), dict(bonheme_var_sigma2=0.0)])
def test_bad_thresholds_raise_one_line_errors(bad):
    with pytest.raises(InputError) as err:
        ActivityThresholds(**bad)
    assert "\n" not in str(err.value) and next(iter(bad)) in str(err.value)


# --- entropies --------------------------------------------------------------------------------------------------

def test_renyi_entropy_matches_numpy_and_trace_identity():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(3, 100)), rng.exponential(size=(2, 100)),
                        np.where(rng.random((2, 100)) < 0.3, rng.normal(size=(2, 100)), 0.0),  # spike and slab
                        np.full((1, 100), 3.0)])                                                # constant: 0 bits
    eig = np.asarray(renyi_entropy(x, method="eigvalsh"))
    trace = np.asarray(renyi_entropy(x, method="trace"))
    ref = np.array([numpy_renyi(row) for row in x])
    np.testing.assert_allclose(eig, ref, rtol=1e-10, atol=1e-12)
    assert abs(eig[-1]) < 1e-12 and abs(trace[-1]) < 1e-12
    np.testing.assert_allclose(trace, eig, rtol=1e-12, atol=1e-12)  # S_2 = −log2 tr(Â²)
    np.testing.assert_allclose(np.asarray(renyi_entropy(x)), trace, rtol=0)  # default α = 2 path
    ref3 = np.array([numpy_renyi(row, alpha=3.0) for row in x])
    np.testing.assert_allclose(np.asarray(renyi_entropy(x, alpha=3.0)), ref3, rtol=1e-10, atol=1e-12)
    assert not np.allclose(ref3[:-1], ref[:-1], rtol=1e-3)       # the order matters: α = 3 is a different number
    with pytest.raises(InputError):
        renyi_entropy(x, alpha=3.0, method="trace")


def test_renyi_entropy_averages_batches():
    x = np.random.default_rng(1).normal(size=(2, 350))            # 3 full batches of 100, 50 rows dropped
    got = np.asarray(mean_representation_entropy(x, batch_size=100))
    ref = [np.mean([numpy_renyi(row[b * 100:(b + 1) * 100]) for b in range(3)]) for row in x]
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    assert np.all((got > 2.0) & (got < 2.5))                      # a Gaussian batch of 100: ≈ 2.2 bits


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(1e-6, 1e4), shift=st.floats(-10, 10))
def test_silverman_renyi_entropy_is_scale_and_shift_invariant(scale, shift):
    """The documented blind spot: a shrinking mean representation keeps its entropy unless the bandwidth is fixed."""
    x = np.random.default_rng(2).normal(size=100)
    np.testing.assert_allclose(float(renyi_entropy(scale * x + shift)), float(renyi_entropy(x)), rtol=1e-8)


def test_fixed_bandwidth_sees_scale():
    x = np.random.default_rng(3).normal(size=100)
    assert float(renyi_entropy(1e-4 * x, bandwidth=1.0)) < 1e-6
    assert float(renyi_entropy(x, bandwidth=1.0)) > 1.0


def test_gaussian_entropy_matches_scipy_in_bits():
    var = np.array([1e-3, 0.05, 1.0, 7.0])
    ref = np.array([scipy.stats.norm(scale=np.sqrt(v)).entropy() for v in var]) / np.log(2)
    np.testing.assert_allclose(gaussian_entropy(var), ref, rtol=1e-13)
    with np.errstate(divide="ignore"):
        assert gaussian_entropy(0.0) == -np.inf


# --- closed-form onsets against the criteria on the closed-form branch ---------------------------------------------

LAM = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.0])
CUSTOM = ActivityThresholds(signal_fraction=0.3, kl=0.2, var_mu=0.25, bonheme_tol=0.2, gaussian_entropy=-0.5)


@pytest.mark.parametrize("thresholds_", [ActivityThresholds(), CUSTOM])
def test_onsets_match_criteria_on_the_closed_form_branch(thresholds_):
    T = np.geomspace(1e-4, 2.0, 3001)
    b = jax.tree.map(np.asarray, optimum(T, LAM))
    tau = b.tau
    # Statistics of the branch (docs/theory.md §3): Var μ = mean μ² (b = 0), σ² constant over the data.
    with np.errstate(divide="ignore"):
        c = activity_criteria(M2=b.M2, rate=b.rate, var_mu=b.mu2, mean_sigma2=b.sigma2,
                              var_sigma2=np.zeros_like(tau), renyi=np.zeros_like(tau), thresholds=thresholds_)
    on = onset_levels(thresholds_)
    np.testing.assert_array_equal(c.signal_fraction, tau < on.signal_fraction)
    np.testing.assert_array_equal(c.kl, tau < on.kl)
    np.testing.assert_array_equal(c.active_units, tau <= on.active_units)
    np.testing.assert_array_equal(c.bonheme == ACTIVE, tau <= on.bonheme_active)
    np.testing.assert_array_equal(c.bonheme == PASSIVE, tau >= on.bonheme_passive)
    np.testing.assert_array_equal(c.gaussian_entropy, tau < on.gaussian_entropy)
    for name in ("signal_fraction", "kl", "active_units", "gaussian_entropy"):
        flags = getattr(c, name)
        assert flags.any() and not flags.all(), name                # every rule switches inside the grid
    # The measured onset of mode 1 (first T where the rule stops calling it active) sits at T_1 τ*.
    T1 = LAM[0] / LAM.sum()
    for name in ("signal_fraction", "kl", "gaussian_entropy"):
        first_off = T[np.argmin(getattr(c, name)[:, 0])]
        ratio = T[1] / T[0]
        assert T1 * getattr(on, name) <= first_off < T1 * getattr(on, name) * ratio, name


def test_renyi_onset_is_the_collapse_on_closed_form_samples():
    """Gaussian mean representations sqrt(1 − τ) y of the branch: with Silverman's bandwidth the Rényi rule
    switches exactly at τ = 1."""
    T = np.geomspace(1e-3, 2.0, 30)
    b = jax.tree.map(np.asarray, optimum(T, LAM))
    y = np.random.default_rng(4).normal(size=200)
    mu = np.sqrt(b.mu2)[..., None] * y                            # (T, mode, N)
    renyi = np.asarray(mean_representation_entropy(mu, batch_size=100))
    flags = renyi > ActivityThresholds().renyi_entropy
    np.testing.assert_array_equal(flags, b.tau < onset_levels().renyi_entropy_silverman)
    assert flags.any() and not flags.all()


def test_prior_bandwidth_onset_matches_monte_carlo():
    """Fixed bandwidth h: the mean of tr Â² over batches of n Gaussian samples of variance v is
    1/n + (1 − 1/n)/√(1 + 4v/h²) (checked by Monte Carlo with numpy), and the averaged entropy crosses the
    threshold within a few hundredths of a bit of v* = 1 − τ* of :func:`onset_levels`; the rule's verdicts on the
    branch equal τ < τ* wherever τ is 10 % away from τ*."""
    n, h = 100, (4 / 300) ** 0.2
    assert prior_bandwidth(100) == pytest.approx(h, rel=1e-15)
    rng = np.random.default_rng(5)
    y = rng.normal(size=(400, n))
    for v in (0.01, 0.05, 0.3):
        x = np.sqrt(v) * y
        trace = np.mean(np.exp(-(x[:, :, None] - x[:, None, :]) ** 2 / h**2).sum((1, 2)) / n**2)
        np.testing.assert_allclose(trace, 1 / n + (1 - 1 / n) / np.sqrt(1 + 4 * v / h**2), rtol=0.01)
    tau_star = onset_levels().renyi_entropy
    assert 0.9 < tau_star < 1
    at_onset = float(mean_representation_entropy(np.sqrt(1 - tau_star) * y.ravel(), bandwidth=h))
    assert 0 <= at_onset - ActivityThresholds().renyi_entropy < 0.05
    tau = np.concatenate([np.linspace(0.01, 0.9 * tau_star, 20), np.linspace(1.1 * tau_star, 1.5, 5)])
    mu = np.sqrt(np.clip(1 - tau, 0, None))[:, None] * y[:10].ravel()
    flags = np.asarray(mean_representation_entropy(mu, bandwidth=h)) > ActivityThresholds().renyi_entropy
    np.testing.assert_array_equal(flags, tau < tau_star)
    assert onset_levels(bandwidth="silverman").renyi_entropy == 1.0


@pytest.mark.parametrize("thresholds_", [ActivityThresholds(), CUSTOM])
def test_beta_criterion_onsets_are_mode_thresholds_times_onset_levels(thresholds_):
    """β-VAE: the onset price of every rule is ``T_k τ*`` (τ* from :func:`onset_levels`), whatever σ_dec² (it
    does not enter the β-VAE law); a zero mode never activates (0)."""
    for sigma_dec2 in (1.0, 0.7):
        onsets = np.asarray(criterion_onsets(LAM, Objective(), thresholds_, sigma_dec2))
        np.testing.assert_allclose(onsets, np.outer(onset_levels(thresholds_), thresholds(LAM)), rtol=1e-15,
                                   atol=1e-15)
    assert np.all(onsets[:, -1] == 0)


@pytest.mark.parametrize("objective", [Objective("lambda-beta", lam=1.0), Objective("lr", alpha=0.3),
                                       Objective("lambda-beta-sampled", lam=0.5)],
                         ids=["lambda-beta", "lr", "sampled"])
def test_objective_onsets_are_where_the_closed_form_crosses_each_rule(objective):
    """Every rule reads M² > 1 − τ* on an objective's branch (A² = 1, constant variance); its onset is the root of
    M²(T) = 1 − τ*, found here independently by scipy's brentq on the closed form."""
    lam = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1, 0.0])
    onsets = np.asarray(criterion_onsets(lam, objective, sigma_dec2=0.7))
    beta = np.asarray(criterion_onsets(lam, Objective()))
    np.testing.assert_allclose(beta, np.outer(onset_levels(), thresholds(lam)), atol=1e-15)
    Tk = np.asarray(thresholds(lam, objective, 0.7))
    targets = 1 - np.asarray(onset_levels())
    for k in range(6):
        def gap(T, m, k=k):
            # one latent per mode (the LR closed form without two-mode latents), as the onsets assume
            return float(optimum(T, lam, objective, None, 0.7, lr_mixing=False).M2[k]) - m
        for i, m in enumerate(targets):
            if m <= 0:  # the Rényi rule: active up to the collapse itself
                assert onsets[i, k] == pytest.approx(Tk[k], rel=1e-9)
                continue
            root = scipy.optimize.brentq(gap, Tk[k] * 1e-12, Tk[k] * (1 - 1e-15), args=(m,), xtol=1e-16, rtol=1e-13)
            assert onsets[i, k] == pytest.approx(root, rel=1e-9), (i, k)
    assert onsets[0, 6] == 0 or np.isnan(onsets[0, 6])  # the zero mode never activates (LR: infinite threshold)
