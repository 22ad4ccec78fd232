"""Theory columns of a results Dataset (docs/theory.md §5): ``theory_dataset`` writes each objective's optimum, its
thresholds and the latents that read two modes (no training)."""

import numpy as np

from linvae.data import spectrum_from_eigenvalues
from linvae.model import Objective
from linvae.results import theory_dataset
from linvae.theory import optimum, price_grid, thresholds

from helpers import LAM_OBJECTIVES

T_GRID = price_grid(1e-4, 1, 16)


def test_theory_dataset_for_each_objective():
    spectrum = spectrum_from_eigenvalues(LAM_OBJECTIVES)
    beta = theory_dataset(spectrum, T_GRID, n_latents=4)
    np.testing.assert_array_equal(beta["theory_M2"], optimum(T_GRID, LAM_OBJECTIVES, n_latents=4).M2)
    assert beta.attrs["objective"] == "beta" and not beta["theory_penalty"].any()
    for objective in (Objective("lambda-beta", lam=0.5), Objective("lr", alpha=0.3)):
        ds = theory_dataset(spectrum, T_GRID, n_latents=4, objective=objective.kind, lam=objective.lam,
                            alpha=objective.alpha)
        branch = optimum(T_GRID, LAM_OBJECTIVES, objective, 4)
        for column, field in [("theory_M2", "M2"), ("theory_sigma2", "sigma2"), ("theory_rate", "rate"),
                              ("theory_distortion", "total_distortion"), ("theory_loss", "loss"),
                              ("theory_n_active", "n_active")]:
            np.testing.assert_allclose(ds[column], getattr(branch, field), rtol=1e-12, atol=1e-15, err_msg=column)
        np.testing.assert_allclose(ds["theory_threshold"], thresholds(LAM_OBJECTIVES, objective), rtol=1e-12)
        # LR with K < d: latents may read two modes, linked by theory_partner (written for every objective since
        # 0.2: all -1 where no latent reads two modes)
        np.testing.assert_array_equal(ds["theory_partner"], branch.partner)
        if objective.kind != "lr":
            assert np.all(ds["theory_partner"] == -1)
