"""Collapse-threshold fits (docs/theory.md §5, §7): the β-VAE law fit against scipy's least squares, the
objective-law fit of every objective against the closed form it inverts, and the held-out law with a known
variance ratio ``r`` (``M² = r m / (r m + 1 − m)``) for every objective."""

import numpy as np
import pytest
import scipy.optimize

from linvae.analysis import collapse_fit
from linvae.model import Objective
from linvae.theory import optimum, price_grid, thresholds

from helpers import LAM_OBJECTIVES


def test_collapse_fit_equals_scipy_least_squares():
    rng = np.random.default_rng(6)
    T = np.geomspace(1e-4, 1, 30)
    true = np.array([0.5, 0.05, 3e-3, 1.5e-4, 1e-6])
    M2 = np.clip(np.maximum(1 - T[:, None] / true, 0) + 0.02 * rng.normal(size=(30, 5)), 0, 0.999)
    Tk, count, rmse, ratio = collapse_fit(T, M2, threshold=0.1, min_points=2, variance_ratio=False)
    assert np.all(np.isnan(ratio))
    for k in range(5):
        used = M2[:, k] > 0.1
        assert count[k] == used.sum()
        if used.sum() < 2:
            assert np.isnan(Tk[k]) and np.isnan(rmse[k])
            continue
        fit = scipy.optimize.least_squares(lambda v, k=k, used=used: M2[used, k] - (1 - v[0] * T[used]), x0=[1.0],
                                           xtol=1e-15, ftol=1e-15, gtol=1e-15)
        np.testing.assert_allclose(Tk[k], 1 / fit.x[0], rtol=1e-8)  # the solver's own tolerance
        resid = M2[used, k] - np.maximum(1 - T[used] / Tk[k], 0)
        np.testing.assert_allclose(rmse[k], np.sqrt(np.mean(resid**2)), rtol=1e-12)
        np.testing.assert_allclose(Tk[k], true[k], rtol=0.2)
    assert count[4] < 2 and np.isnan(Tk[4])  # 1e-6 is below the grid: no point to fit
    Tk3, *_ = collapse_fit(T, M2, threshold=0.1, min_points=100)
    assert np.all(np.isnan(Tk3))


@pytest.mark.parametrize("objective", [Objective("lambda-beta", lam=1.0), Objective("lr", alpha=0.3)],
                         ids=["lambda-beta", "lr"])
def test_objective_collapse_fit_inverts_the_objectives_law(objective):
    """Fed the closed-form M²(T) of every mode, the objective-law fit returns the objective's thresholds, while the
    β-VAE law fit misses them (the λβ branch is not linear in T)."""
    T = price_grid(1e-4, 30, 64)
    Tk = np.asarray(thresholds(LAM_OBJECTIVES, objective, 0.7))
    order = np.argsort(-Tk)
    # one latent per mode (the LR closed form without two-mode latents), as the fitted law assumes
    M2 = np.asarray(optimum(T, LAM_OBJECTIVES, objective, None, 0.7, lr_mixing=False).M2)[:, order]
    fitted, points, rmse, ratio = collapse_fit(T, M2, objective, total_variance=LAM_OBJECTIVES.sum(),
                                               sigma_dec2=0.7)
    np.testing.assert_allclose(fitted, Tk[order], rtol=1e-5)
    np.testing.assert_allclose(ratio, 1, rtol=1e-5)  # the training law itself: r = 1
    assert np.all(rmse < 1e-5) and np.all(points == (M2 > 0.1).sum(0))
    if objective.kind == "lambda-beta":
        beta_law = collapse_fit(T, M2)[0]
        assert np.all(np.abs(beta_law / Tk[order] - 1) > 0.1)


def test_the_lr_fit_needs_the_total_variance():
    """The LR law depends on ``2ασ_dec²/V``: without ``V`` the fit refuses rather than assume ``V = 1``."""
    from linvae import InputError

    T = price_grid(1e-3, 1, 8)
    M2 = np.asarray(optimum(T, LAM_OBJECTIVES, Objective("lr", alpha=0.3), lr_mixing=False).M2)
    with pytest.raises(InputError, match="total_variance"):
        collapse_fit(T, M2, Objective("lr", alpha=0.3))


@pytest.mark.parametrize("objective", [Objective(), Objective("lambda-beta-sampled", lam=0.5),
                                       Objective("lambda-beta", lam=1.0), Objective("lr", alpha=0.3)],
                         ids=["beta", "lambda-beta-sampled", "lambda-beta", "lr"])
def test_variance_ratio_fit_recovers_a_known_ratio(objective):
    """Held-out data with ``r_k`` times the training variance along mode k: every objective's active branch has
    ``A² = 1``, so ``M² = r m / (r m + 1 − m)`` with ``m`` the closed-form training law. The two-parameter fit
    returns ``T_k`` and ``r_k``; the training law (``r = 1``) misses the thresholds."""
    T = price_grid(1e-4, 30, 64)
    Tk = np.asarray(thresholds(LAM_OBJECTIVES, objective, 0.7))
    order = np.argsort(-Tk)
    m = np.asarray(optimum(T, LAM_OBJECTIVES, objective, None, 0.7, lr_mixing=False).M2)[:, order]
    r = np.array([1.3, 0.75, 1.1, 0.8, 1.25, 0.9])
    M2 = r * m / (r * m + 1 - m)
    fit = collapse_fit(T, M2, objective, total_variance=LAM_OBJECTIVES.sum(), sigma_dec2=0.7)
    np.testing.assert_allclose(fit.threshold, Tk[order], rtol=1e-5)
    np.testing.assert_allclose(fit.variance_ratio, r, rtol=1e-5)
    assert np.all(fit.rmse < 1e-6)
    biased = collapse_fit(T, M2, objective, total_variance=LAM_OBJECTIVES.sum(), sigma_dec2=0.7,
                          variance_ratio=False)
    assert np.max(np.abs(biased.threshold / Tk[order] - 1)) > 0.02


def test_variance_ratio_needs_three_points():
    """With two points the two parameters are not determined: ``r`` is NaN and the threshold is the ``r = 1`` fit."""
    T = np.array([0.01, 0.02, 0.05])
    M2 = np.array([[0.9, 0.5], [0.8, 0.05], [0.6, 0.0]])
    fit = collapse_fit(T, M2)
    assert np.isfinite(fit.variance_ratio[0]) and np.isnan(fit.variance_ratio[1])
    np.testing.assert_allclose(fit.threshold[1], collapse_fit(T, M2, variance_ratio=False).threshold[1])
