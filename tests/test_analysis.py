"""Held-out analysis (SPEC.md §7): observables against numpy, invariances, fits against scipy, truncated
reconstructions against brute force, and the closed forms on exact stationary weights of synthetic data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import linvae
from linvae import _analysis
from linvae._results import PARAMETER_DIMS


def random_grid(seed=0, G=3, K=4, d=5):
    """A grid of random models with an affine log-variance head (S ≠ 0) and nonzero biases."""
    rng = np.random.default_rng(seed)
    return linvae.Params(
        encoder_weight=rng.normal(size=(G, K, d)), encoder_bias=0.3 * rng.normal(size=(G, K)),
        log_sigma2_weight=0.2 * rng.normal(size=(G, K, d)), log_sigma2_bias=0.5 * rng.normal(size=(G, K)),
        decoder_weight=rng.normal(size=(G, d, K)), decoder_bias=rng.normal(size=(G, d)),
    )


def random_data(seed=1, n=500, d=5):
    rng = np.random.default_rng(seed)
    return 0.5 + rng.normal(size=(n, d)) @ rng.normal(size=(d, d)), 0.3 * rng.normal(size=d)


def numpy_observables(p, x, center):
    xc = x - center
    mu = np.einsum("nd,gkd->gnk", xc, p.encoder_weight) + p.encoder_bias[:, None]
    ls = np.einsum("nd,gkd->gnk", xc, p.log_sigma2_weight) + p.log_sigma2_bias[:, None]
    s2 = np.exp(ls)
    return {"mu2": (mu**2).mean(1), "sigma2": s2.mean(1), "log_sigma2": ls.mean(1),
            "kl": (0.5 * (mu**2 + s2 - ls - 1)).mean(1)}


def test_observables_match_numpy_and_streaming_matches_one_block():
    p, (x, center) = random_grid(), random_data()
    one = _analysis.observables(p, x, center, block_rows=len(x))
    streamed = _analysis.observables(p, x, center, block_rows=37)  # 500 = 13 * 37 + 19: a padded last block
    ref = numpy_observables(p, x, center)
    for name, value in ref.items():
        np.testing.assert_allclose(getattr(one, name), value, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(getattr(streamed, name), value, rtol=1e-12, err_msg=name)
    mu2, s2 = ref["mu2"], ref["sigma2"]
    for name, value in {"M2": mu2 / (mu2 + s2), "snr": mu2 / s2, "A2": mu2 + s2,
                        "jensen_gap": np.log(s2) - ref["log_sigma2"]}.items():
        np.testing.assert_allclose(getattr(streamed, name), value, rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(streamed.x_cov, np.cov(x.T, bias=True), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(streamed.x_mean, x.mean(0) - center, rtol=1e-12)
    assert streamed.n_rows == len(x)
    assert np.all(streamed.jensen_gap > 0)  # S ≠ 0 spreads log σ² over the data: Jensen's inequality is strict


def test_observables_are_float64_without_x64():
    """The analysis pass runs in float64 even when training ran in float32 (many small blocks); a constant-variance
    encoder then has a Jensen gap of exactly 0 instead of ±1e-3 float32 noise."""
    p, (x, center) = random_grid(), random_data()
    ref = numpy_observables(p, x, center)
    with jax.enable_x64(False):
        o = _analysis.observables(p, x, center, block_rows=16)
        const = _analysis.observables(p._replace(log_sigma2_weight=np.zeros_like(p.log_sigma2_weight)), x, center,
                                      block_rows=16)
    for name, value in ref.items():
        np.testing.assert_allclose(getattr(o, name), value, rtol=1e-11, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(const.jensen_gap, 0.0, atol=1e-12)
    np.testing.assert_allclose(o.x_cov, np.cov(x.T, bias=True), rtol=1e-12, atol=1e-14)  # float64 on the host


def test_rate_identity():
    """``R_k = −½ mean log σ_k² + ½ (A_k² − 1)`` (SPEC.md §7)."""
    p, (x, center) = random_grid(2), random_data(3)
    o = _analysis.observables(p, x, center)
    np.testing.assert_allclose(o.kl, -0.5 * o.log_sigma2 + 0.5 * (o.A2 - 1), rtol=1e-12, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(1e-2, 1e2), latent=st.integers(0, 3))
def test_rescaling_a_latent_leaves_signal_fraction_ranking_and_truncation_unchanged(scale, latent):
    """μ_j → sμ_j (A, b → sA, sb), σ_j² → s²σ_j² (s_j += 2 log s), w_j → w_j/s: the model is the same model."""
    p, (x, center) = random_grid(4), random_data(5)
    q = p._replace(
        encoder_weight=p.encoder_weight.copy(), encoder_bias=p.encoder_bias.copy(),
        log_sigma2_bias=p.log_sigma2_bias.copy(), decoder_weight=p.decoder_weight.copy())
    q.encoder_weight[:, latent] *= scale
    q.encoder_bias[:, latent] *= scale
    q.log_sigma2_bias[:, latent] += 2 * np.log(scale)
    q.decoder_weight[:, :, latent] /= scale
    a, b = _analysis.observables(p, x, center), _analysis.observables(q, x, center)
    np.testing.assert_allclose(b.mu2[:, latent], scale**2 * a.mu2[:, latent], rtol=1e-10)
    np.testing.assert_allclose(b.M2, a.M2, rtol=1e-10)
    np.testing.assert_allclose(b.snr, a.snr, rtol=1e-10)
    order = _analysis.rank_by_signal(a.M2)
    np.testing.assert_array_equal(_analysis.rank_by_signal(b.M2), order)
    np.testing.assert_allclose(
        _analysis.truncated_distortion(b.x_cov, q.encoder_weight, q.decoder_weight, order),
        _analysis.truncated_distortion(a.x_cov, p.encoder_weight, p.decoder_weight, order), rtol=1e-9, atol=1e-12)


def test_collapse_fit_equals_scipy_least_squares():
    rng = np.random.default_rng(6)
    T = np.geomspace(1e-4, 1, 30)
    true = np.array([0.5, 0.05, 3e-3, 1.5e-4, 1e-6])
    M2 = np.clip(np.maximum(1 - T[:, None] / true, 0) + 0.02 * rng.normal(size=(30, 5)), 0, 0.999)
    Tk, count, rmse = _analysis.collapse_fit(T, M2, threshold=0.1, min_points=2)
    for k in range(5):
        used = M2[:, k] > 0.1
        assert count[k] == used.sum()
        if used.sum() < 2:
            assert np.isnan(Tk[k]) and np.isnan(rmse[k])
            continue
        fit = scipy.optimize.least_squares(lambda v: M2[used, k] - (1 - v[0] * T[used]), x0=[1.0], xtol=1e-15,
                                           ftol=1e-15, gtol=1e-15)
        np.testing.assert_allclose(Tk[k], 1 / fit.x[0], rtol=1e-8)  # the solver's own tolerance
        resid = M2[used, k] - np.maximum(1 - T[used] / Tk[k], 0)
        np.testing.assert_allclose(rmse[k], np.sqrt(np.mean(resid**2)), rtol=1e-12)
        np.testing.assert_allclose(Tk[k], true[k], rtol=0.2)
    assert count[4] < 2 and np.isnan(Tk[4])  # 1e-6 is below the grid: no point to fit
    Tk3, *_ = _analysis.collapse_fit(T, M2, threshold=0.1, min_points=100)
    assert np.all(np.isnan(Tk3))


def test_truncated_distortion_from_moments_equals_brute_force():
    """Explicit pruning (latents at 0) and least-squares bias refit, for an arbitrary rank order."""
    p, (x, center) = random_grid(7), random_data(8)
    o = _analysis.observables(p, x, center)
    rng = np.random.default_rng(9)
    order = np.stack([rng.permutation(4) for _ in range(3)])
    D = _analysis.truncated_distortion(o.x_cov, p.encoder_weight, p.decoder_weight, order)
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
    Tk = linvae.mode_thresholds(np.array([4.0, 2.0, 1.0, 0.5, 0.0]))
    T = np.array([1e-9, 1e-3, 0.05, 0.2, 0.9])
    for K in (2, 5, 7):
        D = np.asarray(linvae.mean_path_truncated_distortion(T, Tk, K))
        m = min(K, 5)
        util = np.pad(np.asarray(linvae.mean_path_utility(T, Tk[:m])), ((0, 0), (0, K - m)))
        np.testing.assert_allclose(D, 1 - np.concatenate([np.zeros((5, 1)), np.cumsum(util, 1)], 1), atol=1e-15)
    pca = linvae.spectrum_from_eigenvalues(np.array([4.0, 2.0, 1.0, 0.5, 0.0])).truncated_distortion
    np.testing.assert_allclose(D[0, 1:6], pca, rtol=1e-6, atol=1e-15)   # T → 0: the PCA reference
    np.testing.assert_allclose(linvae.mean_path_utility(1e-12, Tk), Tk, rtol=1e-9)  # both paths → T_k
    np.testing.assert_allclose(linvae.sampled_path_utility(1e-12, Tk), Tk, rtol=1e-9, atol=1e-12)


# --- exact stationary weights on synthetic Gaussian data (SPEC.md §3, §7) ------------------------------------
LAM = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1, 0.03, 0.004, 0.0])   # a zero mode never activates (SPEC.md §9)
K = 10                                                            # one surplus latent
N = 200_000


@pytest.fixture(scope="module")
def synthetic():
    x, Q = linvae.synthetic_data(LAM, N, seed=3)
    spec = linvae.spectrum_from_eigenvalues(LAM, eigenvectors=Q, n_samples=N)
    T = linvae.temperature_grid(1e-5, 1, 41)
    ds = linvae.theory_dataset(spec, T, n_latents=K)
    params = jax.vmap(lambda t: linvae.stationary_weights(spec.mean, LAM, Q, t, K))(jnp.asarray(T))
    ds = ds.assign(**{name: (dims, np.asarray(getattr(params, name))) for name, dims in PARAMETER_DIMS.items()})
    return x, Q, ds, _analysis.add_analysis(ds, x)


def test_stationary_weights_sample_identities(synthetic):
    """Exact per-sample identities: aligned weights touch only their own PCA direction."""
    x, Q, _, out = synthetic
    T = out["T"].values
    branch = linvae.closed_form(T, LAM, K)
    np.testing.assert_array_equal(out["rank_latent"], np.broadcast_to(np.arange(K), (T.size, K)))
    y = x @ Q                                        # PCA coordinates of the held-out rows
    c = y.var(0)                                     # u_kᵀ Ĉ u_k
    lam = np.where(LAM > 0, LAM, 1)
    mu2 = np.asarray(branch.M2) / lam * (y**2).mean(0)
    M2 = mu2 / (mu2 + np.asarray(branch.sigma2))
    np.testing.assert_allclose(out["M2"][:, :9], M2, rtol=1e-10, atol=1e-15)
    resid = np.where(np.asarray(branch.active), np.asarray(branch.tau) ** 2, 1) * c   # left in mode j if kept
    kept = np.arange(K + 1)[:, None] > np.arange(9)                                    # (n_kept, mode)
    D = (np.where(kept, resid[:, None, :], c)).sum(-1) / c.sum()
    np.testing.assert_allclose(out["truncated_distortion"], D, rtol=1e-9, atol=1e-14)


def test_mean_path_closed_form_matches_measured_utilities(synthetic):
    _, _, ds, out = synthetic
    tol = 8 * np.sqrt(2 / N)                         # sampling error of a variance and of V from N rows
    np.testing.assert_allclose(out["utility"], out["theory_utility"], rtol=tol, atol=1e-12)
    np.testing.assert_allclose(out["truncated_distortion"], out["theory_truncated_distortion"], rtol=tol)
    np.testing.assert_allclose(out["M2"][:, :9], ds["theory_M2"], atol=tol)
    # T → 0: the truncated distortions approach the PCA reference 1 − Σ_{j≤k} λ_j / V, up to Σ_{j≤k} T²/T_j
    np.testing.assert_allclose(out["truncated_distortion"][0, 1:10], ds["pca_truncated_distortion"], rtol=tol,
                               atol=1e-6)


def test_sampled_path_closed_form_by_brute_force(synthetic):
    """Decode z = μ + σ ε keeping the first k ranked latents: ΔD̃_k = (T_k − T)_+ (SPEC.md §7, *derived*)."""
    x, _, ds, _ = synthetic
    x, n = x[:50_000], 50_000
    rng = np.random.default_rng(11)
    V = np.trace(np.cov(x.T, bias=True))
    for i in (8, 20, 30):
        p = linvae.Params(*(ds[name].values[i] for name in PARAMETER_DIMS))
        mu, log_sigma2 = (np.asarray(a) for a in linvae.encode(p, x, np.zeros(9)))
        z = mu + np.exp(0.5 * log_sigma2) * rng.standard_normal(mu.shape)
        D = []
        for k in range(K + 1):
            recon = z[:, :k] @ p.decoder_weight[:, :k].T
            D.append(np.mean(np.sum((x - recon - (x - recon).mean(0)) ** 2, 1)) / V)
        expected = np.asarray(linvae.sampled_path_utility(ds["T"].values[i], LAM / LAM.sum()))
        assert np.all(np.abs(-np.diff(D)[:9] - expected) <= 8 * np.sqrt(2 / n) * LAM / LAM.sum() + 1e-12), i


def test_collapse_thresholds_and_utility_spectrum_recover_the_spectrum(synthetic):
    """The acceptance check (SPEC.md §7, "Duality"): T_k = ΔD̃_k = λ_k / V within 2 % for λ_k / V > 1e-3."""
    _, _, ds, out = synthetic
    frac = LAM / LAM.sum()
    big = frac > 1e-3
    assert big.sum() == 7
    np.testing.assert_allclose(out["collapse_threshold"][:9][big], frac[big], rtol=0.02)
    np.testing.assert_allclose(out["utility_spectrum"][:9][big], frac[big], rtol=0.02)
    assert out["utility_spectrum"].attrs["read_at_T"] == ds["T"].values[0]
    assert np.all(out["collapse_fit_rmse"][:8] < 0.01)
    assert np.all(out["collapse_fit_points"][:8] >= 2)
    assert np.all(np.isnan(out["collapse_threshold"][8:])) and np.all(out["collapse_fit_points"][8:] == 0)
    assert "NaN where fewer than 2 points" in out["collapse_threshold"].attrs["note"]


def test_shifted_evaluation_data_utilities_follow_their_own_variance_share(synthetic):
    """Evaluated on data stretched along some PCA directions (a distribution shift such as a spatial-block
    split), utilities at T → 0 equal the evaluation data's variance share along each training direction.
    The stretch keeps the order of the modes, so rank k is still mode k."""
    x, Q, ds, _ = synthetic
    stretch = np.array([1.0, 1.2, 0.8, 1.1, 0.9, 1.2, 0.8, 1.0, 1.0])
    x_shift = (x[:50_000] @ Q * stretch) @ Q.T
    out = _analysis.add_analysis(ds, x_shift)
    C = np.cov(x_shift.T, bias=True)
    share = np.einsum("ik,ij,jk->k", Q, C, Q) / np.trace(C)     # numpy, from the rotation the data were made with
    np.testing.assert_allclose(out["eval_fraction"], share, rtol=1e-9, atol=1e-15)
    table = linvae.duality_table(out)
    big = LAM / LAM.sum() > 1e-3
    np.testing.assert_allclose(table["utility"][:9][big], share[big], rtol=1e-3)
    assert np.all(np.abs(table["utility_rel_diff"][:9][big]) > 0.05)  # far from the training spectrum
    np.testing.assert_allclose(table["eval_fraction"][:9][big], share[big], rtol=1e-9)
    # β-VAE: the objective's threshold column is λ_k / V, the zero mode included (as 0)
    np.testing.assert_allclose(table["theory_threshold"][:9], LAM / LAM.sum(), rtol=1e-12)
    assert np.all(table["theory_threshold"][9:] == 0)


def test_schema_and_netcdf_round_trip(synthetic, tmp_path):
    _, _, ds, out = synthetic
    dims = {"mu2": ("T", "latent"), "M2": ("T", "latent"), "jensen_gap": ("T", "latent"),
            "rank_latent": ("T", "rank"), "M2_ranked": ("T", "rank"), "kl_ranked": ("T", "rank"),
            "collapse_threshold": ("rank",), "collapse_fit_points": ("rank",), "collapse_fit_rmse": ("rank",),
            "truncated_distortion": ("T", "n_kept"), "utility": ("T", "rank"), "utility_spectrum": ("rank",),
            "theory_truncated_distortion": ("T", "n_kept"), "theory_utility": ("T", "rank")}
    for name, d in dims.items():
        assert out[name].dims == d, name
        assert out[name].attrs["long_name"] and "units" in out[name].attrs, name
    assert out.attrs["analysis_m2_threshold"] == 0.1 and out.attrs["analysis_n_eval"] == N
    assert "M2" not in ds  # the input is left alone
    back = linvae.load(linvae.save(out, tmp_path / "a.nc"))
    xr.testing.assert_identical(out, back)


def test_bad_inputs_raise_one_line_errors(synthetic):
    x, _, ds, _ = synthetic
    with pytest.raises(linvae.InputError, match=r"\(N, 9\)"):
        _analysis.add_analysis(ds, x[:, :5])
    with pytest.raises(linvae.InputError, match="lacks trained parameters"):
        _analysis.add_analysis(ds.drop_vars("decoder_weight"), x)
    with pytest.raises(linvae.InputError, match="NaN or inf"):
        _analysis.add_analysis(ds, np.where(np.arange(9) == 2, np.nan, x[:100]))
