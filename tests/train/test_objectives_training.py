"""Training under the objective family (docs/theory.md §5): the exact method reaches every objective's closed form (and
the Hessian certifies a minimum), and the analysis closed forms of trained scans."""

import numpy as np
import pytest

from linvae.analysis import add_analysis, duality_table
from linvae.data import random_split, synthetic_data
from linvae.model import Objective
from linvae.theory import mean_path, optimum, price_grid, thresholds

# the β-VAE mean-path formulas, no longer public: the independent reference of the general mean_path
from linvae.theory._beta import beta_mean_path_truncated_distortion, beta_mean_path_utility
from linvae.train import ScanConfig, scan

from helpers import LAM_OBJECTIVES, analysed_exact_scan, measured_M2

dtype_promotion = "standard"  # trains through optax (see conftest)

T_GRID = price_grid(1e-4, 1, 16)
OBJECTIVES = {  # id: (ScanConfig keywords, K)
    "lambda-beta-0.5": ({"objective": "lambda-beta", "lam": 0.5}, 6),
    "lambda-beta-2": ({"objective": "lambda-beta", "lam": 2.0}, 6),
    "lambda-beta-sampled-1": ({"objective": "lambda-beta-sampled", "lam": 1.0}, 6),
    "lr-0.1": ({"objective": "lr", "alpha": 0.1}, 6),
    "lr-1-K8": ({"objective": "lr", "alpha": 1.0}, 8),  # K > d: two latents carry no mode and pay α each
    "lr-0.5-K4": ({"objective": "lr", "alpha": 0.5}, 4),  # K < d: latents read two modes (eager optimum)
}


def padded_theory(M2, K):
    M2 = np.pad(M2, ((0, 0), (0, max(0, K - M2.shape[1]))))
    return np.sort(M2, axis=1)[:, ::-1][:, :K]   # the K largest: under LR they need not be the first K modes


# --- exact method = closed form (docs/theory.md §5) -------------------------------------------------------------------

@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_exact_reaches_objective_closed_form(objectives_gaussian, name):
    kw, K = OBJECTIVES[name]
    cfg = ScanConfig(method="exact", n_latents=K, steps=40_000, x64=True, **kw)
    ds = scan(objectives_gaussian, T_GRID, cfg, standardize=False, progress=False, analyse=False)
    objective = cfg.objective_spec
    eig = ds["pca_eigenvalue"].values
    branch = optimum(T_GRID, eig, objective, K, 1.0)
    if K < eig.size and objective.kind == "lr":
        assert np.any(branch.partner >= 0) and np.any(ds["theory_partner"] >= 0)
    # the theory columns are the objective's optimum
    np.testing.assert_allclose(ds["theory_M2"], branch.M2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ds["theory_loss"], branch.loss, rtol=1e-12)
    np.testing.assert_allclose(ds["theory_penalty"], branch.total_penalty, rtol=1e-12, atol=1e-15)
    Tk = thresholds(eig, objective, 1.0)
    np.testing.assert_allclose(ds["theory_threshold"], Tk, rtol=1e-12)
    np.testing.assert_allclose(ds["theory_beta_threshold"], Tk * eig.sum(), rtol=1e-12)
    assert (ds.attrs["objective"], ds.attrs["objective_lam"], ds.attrs["objective_alpha"]) == (
        objective.kind, objective.lam, objective.alpha)
    # training reaches it at every grid point, and the Hessian certifies a minimum
    np.testing.assert_array_less(np.abs(measured_M2(ds) - padded_theory(ds["theory_M2"].values, K)), 1e-3)
    np.testing.assert_allclose(ds["loss"], ds["theory_loss"], rtol=1e-5)
    np.testing.assert_allclose(ds["penalty"], ds["theory_penalty"], rtol=1e-4, atol=1e-9)
    assert ds["stopped_early"].all() and ds["minimum_certified"].all() and not ds["diverged"].any()


@pytest.mark.slow  # ~10 s: compiles the plain β-VAE program too; the closed-form test above covers sampled λβ
def test_sampled_lambda_beta_is_the_beta_vae_at_reduced_beta(objectives_gaussian):
    """Same parameters as the β-VAE at β/(1+λ) (docs/theory.md §5), and (1+λ) times its loss."""
    T = np.array([1e-3, 0.05, 0.4])
    sampled = scan(objectives_gaussian, T, ScanConfig(method="exact", n_latents=6, steps=40_000, x64=True,
                                                      objective="lambda-beta-sampled", lam=1.5),
                   standardize=False, progress=False, analyse=False)
    beta = scan(objectives_gaussian, T / 2.5, ScanConfig(method="exact", n_latents=6, steps=40_000, x64=True),
                standardize=False, progress=False, analyse=False)
    np.testing.assert_allclose(measured_M2(sampled), measured_M2(beta), atol=1e-8)
    np.testing.assert_allclose(sampled["loss"], 2.5 * beta["loss"], rtol=1e-8)


def test_lr_on_singular_data_stays_finite(objectives_gaussian):
    """A zero-variance direction: the LR infimum (a latent reading it with diverging gain, docs/objectives.md §7) is
    not parameterised, so training is finite, not flagged diverged, and pays exactly α̃ = 2ασ²/V more."""
    x, _ = synthetic_data(np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.0]), 2000, seed=3)
    T = np.array([1e-3, 0.03, 0.5])
    ds = scan(x, T, ScanConfig(method="exact", n_latents=6, steps=40_000, x64=True, objective="lr", alpha=0.5),
              standardize=False, progress=False, analyse=False)
    assert np.all(np.isfinite(ds["loss"])) and not ds["diverged"].any() and ds["minimum_certified"].all()
    alpha_n = 2 * 0.5 / ds.attrs["total_variance"]
    np.testing.assert_allclose(ds["loss"] - ds["theory_loss"], alpha_n, rtol=1e-6)


# --- analysis closed forms of trained scans (docs/theory.md §5, §7) ---------------------------------------------------

def test_objective_analysis_closed_forms(objectives_gaussian):
    """The mean-path utilities of an objective: the general helper reproduces the β-VAE forms, and the measured
    truncated distortions of a converged λβ scan (on its own training split) equal the closed form."""
    for K in (4, 6, 8):
        Tk = thresholds(LAM_OBJECTIVES)
        m = min(K, LAM_OBJECTIVES.size)
        # Objective() takes the β kernel; λβ at λ = 0 is the β-VAE through the general (any objective) code
        for objective in (Objective(), Objective("lambda-beta", lam=0.0)):
            u, D = mean_path(T_GRID, LAM_OBJECTIVES, objective, K, 1.0)
            np.testing.assert_allclose(u, np.pad(beta_mean_path_utility(T_GRID, Tk[:m]), ((0, 0), (0, K - m))),
                                       atol=1e-15)
            np.testing.assert_allclose(D, beta_mean_path_truncated_distortion(T_GRID, Tk, K), atol=1e-15)
    T = np.array([1e-3, 0.05, 0.4])
    ds = scan(objectives_gaussian, T, ScanConfig(method="exact", n_latents=6, steps=40_000, x64=True,
                                                 objective="lambda-beta", lam=1.0),
              standardize=False, progress=False, analyse=False)
    train = random_split(len(objectives_gaussian), seed=0).train
    x_train = objectives_gaussian[train] - objectives_gaussian[train].mean(0)
    out = add_analysis(ds, x_train)
    np.testing.assert_allclose(out["truncated_distortion"], out["theory_truncated_distortion"], atol=1e-7)
    np.testing.assert_allclose(out["utility"], out["theory_utility"], atol=1e-7)
    assert "lambda-beta" in out["collapse_threshold"].attrs["objective_note"]


def test_lr_mixed_latent_utilities_equal_the_trained_truncations(objectives_gaussian):
    """LR, K = 4 on six modes: where a latent reads two modes, the measured truncated distortions of the converged
    exact scan (on its own training split) equal the closed form, which counts the latent's two modes together."""
    T = T_GRID       # the grid of test_exact_reaches_objective_closed_form: its compiled program is reused
    ds = scan(objectives_gaussian, T, ScanConfig(method="exact", n_latents=4, steps=40_000, x64=True,
                                                 objective="lr", alpha=0.5),
              standardize=False, progress=False, analyse=False)
    mixing = np.any(ds["theory_partner"].values >= 0, axis=1)
    assert mixing[11] and not mixing[9]                        # T = 0.086: a latent reads modes 4 and 6
    train = random_split(len(objectives_gaussian), seed=0).train
    out = add_analysis(ds, objectives_gaussian[train] - objectives_gaussian[train].mean(0))
    np.testing.assert_allclose(out["truncated_distortion"], out["theory_truncated_distortion"], atol=1e-7)
    np.testing.assert_allclose(out["utility"], out["theory_utility"], atol=1e-7)
    # the mixed latent's utility is larger than what its main mode alone would give back
    eig = ds["pca_eigenvalue"].values
    branch = optimum(T[11], eig, Objective("lr", alpha=0.5), 4)
    main_mode = int(np.flatnonzero((branch.partner >= 0) & branch.active)[0])
    rank = int(np.flatnonzero(np.sort(branch.M2)[::-1] == branch.M2[main_mode])[0])
    own = (eig[main_mode] - branch.mean_distortion[main_mode]) / eig.sum()
    assert float(out["theory_utility"][11, rank]) > own * (1 + 1e-3)


@pytest.mark.slow  # ~15 s; tests/analysis/test_fits.py checks the same fit on the closed form
def test_exact_lambda_beta_scan_fits_its_own_thresholds(objectives_gaussian):
    table = duality_table(analysed_exact_scan(objectives_gaussian, 24, objective="lambda-beta", lam=1.0))
    big = table["theory_threshold"].values > 5e-3
    np.testing.assert_allclose(table["collapse_threshold"].values[big], table["theory_threshold"].values[big],
                               rtol=1e-3)
