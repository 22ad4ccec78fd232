"""Ground-truth factor model (Vu, Wan & Wei 2026): closed-form mutual information against scipy's Gaussian
entropies, MIG and SAP on representations with known answers, closed form against the histogram estimator and
regressions on samples, and the β-VAE scan (λ = 0) losing factor information mode by mode at its thresholds."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import linvae
from linvae import _factors


def random_model(seed=0, d=6, s=3, m=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(d, s)), 0.3, rng.normal(size=(m, d)) * 0.5, rng.uniform(0.2, 1.0, m)


def joint_covariance(A, sigma2, G, noise_var):
    """Covariance of (z, v) built from the generative model: z = A (G v + n) + σ ε."""
    C = G @ G.T + noise_var * np.eye(G.shape[0])
    zz = A @ C @ A.T + np.diag(sigma2)
    zv = A @ G
    return np.block([[zz, zv], [zv.T, np.eye(G.shape[1])]])


def sample(A, sigma2, G, noise_var, n, seed=1):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, G.shape[1]))
    y = v @ G.T + np.sqrt(noise_var) * rng.normal(size=(n, G.shape[0]))
    return y @ A.T + np.sqrt(sigma2) * rng.normal(size=(n, A.shape[0])), v


def test_mutual_information_matches_scipy_entropies():
    G, nv, A, s2 = random_model()
    m, s = A.shape[0], G.shape[1]
    J = joint_covariance(A, s2, G, nv)
    H = lambda cov: scipy.stats.multivariate_normal(cov=cov).entropy()  # noqa: E731  (nats)
    ref = np.array([[H(J[i, i]) + H(J[m + j, m + j]) - H(J[np.ix_([i, m + j], [i, m + j])]) for j in range(s)]
                    for i in range(m)])
    got = _factors.factor_metrics(A, s2, G, nv)
    np.testing.assert_allclose(got.mutual_information, ref, rtol=1e-10)
    joint = H(J[:m, :m]) + H(J[m:, m:]) - H(J)
    np.testing.assert_allclose(float(got.joint_information), joint, rtol=1e-10)
    assert float(got.joint_information) > float(np.max(ref))     # the code knows more than any one latent


def test_identity_representation_is_maximal():
    G, A = np.eye(3), np.eye(3)
    got = _factors.factor_metrics(A, np.zeros(3), G, 0.0)
    np.testing.assert_allclose(got.sap, 1.0, rtol=0)              # R² = 1 for the own latent, 0 for the others
    assert np.all(np.isinf(got.mig_per_factor))                   # continuous I(z; v) of a noiseless copy is +inf
    v = np.random.default_rng(2).normal(size=(20_000, 3))
    per_factor, mean = _factors.histogram_mig(v, v, n_bins=20)
    assert 0.99 < mean <= 1.0                                     # only the plug-in bias of the runner-up is lost
    np.testing.assert_allclose(_factors.histogram_mutual_information(v, v).diagonal(), np.log(20), rtol=1e-12)


def test_independent_representation_scores_zero():
    G = np.random.default_rng(3).normal(size=(5, 3))
    got = _factors.factor_metrics(np.zeros((4, 5)), np.ones(4), G, 0.1)
    np.testing.assert_array_equal(got.mutual_information, 0)
    assert float(got.mig) == 0 and float(got.sap) == 0 and float(got.joint_information) == 0
    rng = np.random.default_rng(4)
    _, mean = _factors.histogram_mig(rng.normal(size=(50_000, 4)), rng.normal(size=(50_000, 3)))
    assert 0 <= mean < 0.005                                      # plug-in bias (19²/2N ≈ 0.004 nats) / log 20


def test_duplicated_latent_gives_zero_gap_for_its_factor():
    G = np.eye(2)
    A = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])            # z = [v1, v1, v2] + equal noise
    got = _factors.factor_metrics(A, np.full(3, 0.1), G, 0.0)
    assert float(got.mig_per_factor[0]) == 0 and float(got.sap_per_factor[0]) == 0
    assert float(got.mig_per_factor[1]) > 0.3 and float(got.sap_per_factor[1]) > 0.9
    v = np.random.default_rng(5).normal(size=(20_000, 2))
    per_factor, _ = _factors.histogram_mig(v[:, [0, 0, 1]], v)
    assert per_factor[0] == 0 and per_factor[1] > 0.99


def test_mig_closed_form_matches_histogram_estimator():
    """Latents leaning towards one factor each, moderate correlations (I well below log n_bins). The plug-in
    estimate on 200,000 samples with 20 equal-probability bins loses ≈ 5 % of the information to the discretisation
    (data processing: it cannot exceed the continuous I except by the sample bias, 19²/2N ≈ 0.001 nats), so the
    tolerance is: I_hist within [0.9 I − 0.005, I + 0.005] pair by pair, MIG within 10 % + 0.005 factor by factor."""
    G, nv, _, _ = random_model(seed=6)
    A = np.vstack([G.T / np.linalg.norm(G, axis=0)[:, None], 0.5 * np.random.default_rng(6).normal(size=(1, 6))])
    A = A + 0.3 * np.random.default_rng(7).normal(size=A.shape)
    s2 = np.full(4, 0.5)
    got = _factors.factor_metrics(A, s2, G, nv, n_bins=20)
    mi = np.asarray(got.mutual_information)
    assert 0.5 < mi.max() < 0.5 * np.log(20) and float(np.min(got.mig_per_factor)) > 0.05
    z, v = sample(A, s2, G, nv, 200_000)
    hist = _factors.histogram_mutual_information(z, v, 20)
    assert np.all(hist <= mi + 0.005) and np.all(hist >= 0.9 * mi - 0.005)
    per_factor, mean = _factors.histogram_mig(z, v, n_bins=20)
    np.testing.assert_allclose(per_factor, got.mig_per_factor, rtol=0.1, atol=0.005)
    np.testing.assert_allclose(mean, got.mig, rtol=0.1)


def test_sap_closed_form_matches_regressions_on_samples():
    G, nv, A, s2 = random_model(seed=7)
    z, v = sample(A, s2, G, nv, 100_000, seed=8)
    r2 = np.array([[scipy.stats.linregress(z[:, i], v[:, j]).rvalue ** 2 for j in range(v.shape[1])]
                   for i in range(z.shape[1])])
    got = _factors.factor_metrics(A, s2, G, nv)
    np.testing.assert_allclose(got.correlation**2, r2, atol=0.01)
    np.testing.assert_allclose(got.sap_per_factor, _factors.sap(r2)[0], atol=0.01)


# --- β-VAE scan (λ = 0) -----------------------------------------------------------------------------------------

def orthogonal_mixing(gains, d=8, seed=9):
    Q = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, len(gains))))[0]
    return Q * np.asarray(gains)


def test_beta_vae_loses_factor_information_beyond_each_threshold():
    """Orthogonal factor directions with distinct gains are the PCA modes of C: latent k carries factor k with
    ρ² = (1 − τ_k) g_k² / (g_k² + σ_n²) while T < T_k, and nothing about any factor beyond."""
    gains, nv = np.array([2.0, 1.4, 0.8]), 0.1
    G = orthogonal_mixing(gains)
    T = np.geomspace(1e-3, 1.0, 40)
    scan = _factors.factor_scan(G, nv, T, n_latents=4)
    Tk = scan.mode_thresholds
    np.testing.assert_allclose(Tk[:3], (gains**2 + nv) / (gains @ gains + 8 * nv), rtol=1e-12)
    tau = T[:, None] / Tk[:3]
    rho2 = np.clip(1 - tau, 0, None) * gains**2 / (gains**2 + nv)
    mi = np.asarray(scan.metrics.mutual_information)             # (T, latent, factor)
    np.testing.assert_allclose(mi[:, [0, 1, 2], [0, 1, 2]], -0.5 * np.log1p(-rho2), rtol=1e-10, atol=1e-14)
    off = mi.copy()
    off[:, [0, 1, 2], [0, 1, 2]] = 0
    assert np.max(np.abs(off)) < 1e-12                            # disentangled: no cross information
    informed = mi.max(axis=-1)[:, :3] > 0
    np.testing.assert_array_equal(informed, tau < 1)              # lost exactly beyond T_k
    np.testing.assert_allclose(scan.metrics.mig_per_factor, mi[:, [0, 1, 2], [0, 1, 2]] / np.log(20), atol=1e-14)
    joint = np.asarray(scan.metrics.joint_information)
    assert np.all(np.diff(joint) <= 1e-12) and joint[0] > 1 and joint[T > Tk[0]].max() == 0


def test_noiseless_joint_information_equals_the_closed_form_rate():
    """Without noise v ↔ y is one-to-one on the data's range, so I(z; v) = I(z; y) = R(T), the KL rate of the
    closed form (SPEC.md §3, *derived* I(x; z_k) = R_k) — for a generic, entangled G."""
    G = np.random.default_rng(10).normal(size=(6, 3))
    T = np.geomspace(1e-3, 1.0, 15)
    scan = _factors.factor_scan(G, 0.0, T, n_latents=5)
    lam = np.linalg.eigvalsh(G @ G.T)[::-1]
    rate = np.asarray(linvae.closed_form(T, lam, 5).total_rate)
    np.testing.assert_allclose(scan.metrics.joint_information, rate, rtol=1e-9, atol=1e-12)
    assert rate[0] > 0 and rate[-1] == 0


def test_encoder_hook_is_used_per_scan_point():
    G = orthogonal_mixing([2.0, 1.0])
    T = np.array([0.01, 0.1])
    hot = lambda lam, U, t, m: _factors.beta_vae_encoder(lam, U, 2 * t, m)  # noqa: E731  (T → 2T)
    a = _factors.factor_scan(G, 0.1, T, 2, encoder=hot)
    b = _factors.factor_scan(G, 0.1, 2 * T, 2)
    np.testing.assert_allclose(a.metrics.mutual_information, b.metrics.mutual_information, rtol=1e-12)
    assert not np.allclose(a.metrics.mutual_information, _factors.factor_scan(G, 0.1, T, 2).metrics.mutual_information)


def test_bad_mixing_raises():
    with pytest.raises(linvae.InputError, match="mixing"):
        _factors.factor_scan(np.ones(3), 0.1, [0.1], 2)
    with pytest.raises(linvae.InputError, match="noise_var"):
        _factors.factor_scan(np.ones((3, 2)), -1.0, [0.1], 2)


def test_closed_forms_accept_jax_arrays_and_batch_axes():
    G, nv, A, s2 = random_model(seed=11)
    batched = _factors.factor_metrics(jnp.stack([A, 2 * A]), jnp.stack([s2, s2]), G, nv)
    single = _factors.factor_metrics(2 * A, s2, G, nv)
    np.testing.assert_allclose(batched.mig[1], single.mig, rtol=1e-12)
    np.testing.assert_allclose(batched.joint_information[1], single.joint_information, rtol=1e-12)
