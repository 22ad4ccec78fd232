"""Truncated reconstructions (docs/theory.md §7): the moment formula against brute-force pruning with a bias refit, and
the consistency of the closed-form mean-path utilities and truncated distortions."""

import numpy as np

from linvae.analysis import observables, truncated_distortion
from linvae.data import spectrum_from_eigenvalues
from linvae.theory import mean_path, sampled_path_utility, thresholds

from helpers import random_data, random_grid


def test_truncated_distortion_from_moments_equals_brute_force():
    """Explicit pruning (latents at 0) and least-squares bias refit, for an arbitrary rank order."""
    p, (x, center) = random_grid(7), random_data(8)
    o = observables(p, x, center)
    rng = np.random.default_rng(9)
    order = np.stack([rng.permutation(4) for _ in range(3)])
    D = truncated_distortion(o.x_cov, p.encoder_weight, p.decoder_weight, order)
    V = np.trace(np.cov(x.T, bias=True))
    for g in range(3):
        mu = (x - center) @ p.encoder_weight[g].T + p.encoder_bias[g]
        for k in range(5):
            z = np.zeros_like(mu)
            z[:, order[g, :k]] = mu[:, order[g, :k]]
            recon = z @ p.decoder_weight[g].T
            bias = (x - recon).mean(0)
            np.testing.assert_allclose(D[g, k], np.mean(np.sum((x - recon - bias) ** 2, 1)) / V, rtol=1e-10)
    assert np.all(D[:, 0] == 1)


def test_mean_path_closed_forms_are_consistent():
    """β-VAE mean path: the truncated distortions (tail sums) are 1 − the cumulated utilities, for K below, at and
    above d; at T → 0 both reach the PCA reference and the mean- and sampled-path utilities reach T_k."""
    eig = np.array([4.0, 2.0, 1.0, 0.5, 0.0])
    Tk = thresholds(eig)
    T = np.array([1e-9, 1e-3, 0.05, 0.2, 0.9])
    for K in (2, 5, 7):
        path = mean_path(T, eig, n_latents=K)
        D, util = np.asarray(path.truncated_distortion), np.asarray(path.utility)
        assert util.shape == (5, K)   # ranks beyond d carry no mode: zero utility
        np.testing.assert_allclose(D, 1 - np.concatenate([np.zeros((5, 1)), np.cumsum(util, 1)], 1), atol=1e-15)
    pca = spectrum_from_eigenvalues(eig).truncated_distortion
    np.testing.assert_allclose(D[0, 1:6], pca, rtol=1e-6, atol=1e-15)   # T → 0: the PCA reference
    np.testing.assert_allclose(mean_path(1e-12, eig).utility, Tk, rtol=1e-9)  # both paths → T_k
    np.testing.assert_allclose(sampled_path_utility(1e-12, Tk), Tk, rtol=1e-9, atol=1e-12)
