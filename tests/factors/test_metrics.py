"""Ground-truth factor model (Vu, Wan & Wei 2026), closed-form statistics and metrics: mutual information against
scipy's Gaussian entropies, MIG and SAP on representations with known answers, closed form against the histogram
estimator and regressions on samples."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from linvae import InputError, factors


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
    got = factors.factor_metrics(A, s2, G, nv)
    np.testing.assert_allclose(got.mutual_information, ref, rtol=1e-10)
    joint = H(J[:m, :m]) + H(J[m:, m:]) - H(J)
    np.testing.assert_allclose(float(got.joint_information), joint, rtol=1e-10)
    assert float(got.joint_information) > float(np.max(ref))     # the code knows more than any one latent


def test_identity_representation_is_maximal():
    G, A = np.eye(3), np.eye(3)
    got = factors.factor_metrics(A, np.zeros(3), G, 0.0)
    np.testing.assert_allclose(got.sap, 1.0, rtol=0)              # R² = 1 for the own latent, 0 for the others
    assert np.all(np.isinf(got.mig_per_factor))                   # continuous I(z; v) of a noiseless copy is +inf
    v = np.random.default_rng(2).normal(size=(20_000, 3))
    per_factor, mean = factors.histogram_mig(v, v, n_bins=20, binning="quantile")
    assert 0.99 < mean <= 1.0                                     # only the plug-in bias of the runner-up is lost
    np.testing.assert_allclose(factors.histogram_mutual_information(v, v, binning="quantile").diagonal(), np.log(20),
                               rtol=1e-12)


def test_independent_representation_scores_zero():
    G = np.random.default_rng(3).normal(size=(5, 3))
    got = factors.factor_metrics(np.zeros((4, 5)), np.ones(4), G, 0.1)
    np.testing.assert_array_equal(got.mutual_information, 0)
    assert float(got.mig) == 0 and float(got.sap) == 0 and float(got.joint_information) == 0
    rng = np.random.default_rng(4)
    _, mean = factors.histogram_mig(rng.normal(size=(50_000, 4)), rng.normal(size=(50_000, 3)), binning="quantile")
    assert 0 <= mean < 0.005                                      # plug-in bias (19²/2N ≈ 0.004 nats) / log 20


def test_duplicated_latent_gives_zero_gap_for_its_factor():
    G = np.eye(2)
    A = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])            # z = [v1, v1, v2] + equal noise
    got = factors.factor_metrics(A, np.full(3, 0.1), G, 0.0)
    assert float(got.mig_per_factor[0]) == 0 and float(got.sap_per_factor[0]) == 0
    assert float(got.mig_per_factor[1]) > 0.3 and float(got.sap_per_factor[1]) > 0.9
    v = np.random.default_rng(5).normal(size=(20_000, 2))
    per_factor, _ = factors.histogram_mig(v[:, [0, 0, 1]], v, binning="quantile")
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
    got = factors.factor_metrics(A, s2, G, nv, n_bins=20)
    mi = np.asarray(got.mutual_information)
    assert 0.5 < mi.max() < 0.5 * np.log(20) and float(np.min(got.mig_per_factor)) > 0.05
    z, v = sample(A, s2, G, nv, 200_000)
    hist = factors.histogram_mutual_information(z, v, 20, binning="quantile")
    assert np.all(hist <= mi + 0.005) and np.all(hist >= 0.9 * mi - 0.005)
    per_factor, mean = factors.histogram_mig(z, v, n_bins=20, binning="quantile")
    np.testing.assert_allclose(per_factor, got.mig_per_factor, rtol=0.1, atol=0.005)
    np.testing.assert_allclose(mean, got.mig, rtol=0.1)


def test_sap_closed_form_matches_regressions_on_samples():
    G, nv, A, s2 = random_model(seed=7)
    z, v = sample(A, s2, G, nv, 100_000, seed=8)
    r2 = np.array([[scipy.stats.linregress(z[:, i], v[:, j]).rvalue ** 2 for j in range(v.shape[1])]
                   for i in range(z.shape[1])])
    got = factors.factor_metrics(A, s2, G, nv)
    np.testing.assert_allclose(got.correlation**2, r2, atol=0.01)
    np.testing.assert_allclose(got.sap_per_factor, factors.sap(r2)[0], atol=0.01)


def test_closed_forms_accept_jax_arrays_and_batch_axes():
    G, nv, A, s2 = random_model(seed=11)
    batched = factors.factor_metrics(jnp.stack([A, 2 * A]), jnp.stack([s2, s2]), G, nv)
    single = factors.factor_metrics(2 * A, s2, G, nv)
    np.testing.assert_allclose(batched.mig[1], single.mig, rtol=1e-12)
    np.testing.assert_allclose(batched.joint_information[1], single.joint_information, rtol=1e-12)


def _dlib_mig(z, v, num_bins=20):
    """disentanglement_lib's MIG, transcribed from its published definition (``_compute_mig`` with
    ``_histogram_discretize`` and sklearn's ``mutual_info_score``), with a dictionary contingency table in place of
    sklearn: codes ``(num_codes, N)`` digitised at the left edges of ``np.histogram``'s 20 equal-width bins,
    factors as given, ``I = Σ_ab (n_ab/N) log(N n_ab / (n_a n_b))``, entropy ``H(v) = I(v; v)``."""
    from collections import Counter

    def mutual_info_score(a, b):
        n, joint, ca, cb = len(a), Counter(zip(a, b)), Counter(a), Counter(b)
        return sum(c / n * np.log(n * c / (ca[x] * cb[y])) for (x, y), c in joint.items())

    mus, ys = z.T, v.T
    discretized = np.zeros_like(mus)
    for i in range(mus.shape[0]):
        discretized[i, :] = np.digitize(mus[i, :], np.histogram(mus[i, :], num_bins)[1][:-1])
    m = np.array([[mutual_info_score(ys[j].tolist(), discretized[i].tolist()) for j in range(ys.shape[0])]
                  for i in range(mus.shape[0])])
    entropy = np.array([mutual_info_score(ys[j].tolist(), ys[j].tolist()) for j in range(ys.shape[0])])
    sorted_m = np.sort(m, axis=0)[::-1]
    return np.mean((sorted_m[0, :] - sorted_m[1, :]) / entropy)


@pytest.mark.parametrize("transform", ["identity", "exp", "cube"])
def test_uniform_binning_reproduces_disentanglement_lib(transform):
    """binning="uniform" equals the transcription to 1e-12 on discrete factors (4 and 7 labels, one rare middle
    value) and codes mixing them, through monotone maps that squeeze the codes."""
    rng = np.random.default_rng(11)
    v = np.column_stack([rng.integers(0, 4, 3000), rng.choice(7, 3000, p=[.2, .2, .2, .02, .18, .1, .1])])
    z = np.column_stack([v[:, 0] + 0.3 * rng.normal(size=3000), v[:, 1] + 0.5 * rng.normal(size=3000),
                         0.2 * v[:, 0] - v[:, 1] + rng.normal(size=3000)])
    z = {"identity": z, "exp": np.exp(z), "cube": z**3}[transform]
    _, mean = factors.histogram_mig(z, v, n_bins=20, binning="uniform")
    np.testing.assert_allclose(mean, _dlib_mig(z, v), rtol=1e-12, atol=1e-15)
    assert factors.histogram_mig(z, v)[1] == mean                 # uniform is the default


def test_the_two_binnings_differ_where_documented():
    """A monotone map changes the uniform estimate (equal-width bins) but not the quantile one (ranks only)."""
    rng = np.random.default_rng(12)
    v = rng.integers(0, 5, (4000, 2))
    z = v + 0.4 * rng.normal(size=(4000, 2))
    q1, q2 = (factors.histogram_mig(t, v, binning="quantile")[1] for t in (z, np.exp(2 * z)))
    u1, u2 = (factors.histogram_mig(t, v, binning="uniform")[1] for t in (z, np.exp(2 * z)))
    assert q1 == q2 and u2 < 0.8 * u1
    with pytest.raises(InputError, match="binning must be one of"):
        factors.histogram_mig(z, v, binning="equal")
