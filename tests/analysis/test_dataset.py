"""The analysis at the Dataset boundary (docs/theory.md §7, §8), on exact stationary weights of synthetic Gaussian data:
:func:`add_analysis` against the closed forms and brute force, :func:`add_activity_criteria` against numpy
statistics of the encoded data and the closed-form onsets, schema attrs and netCDF round trips, one-line errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from linvae import InputError
from linvae.analysis import PASSIVE, add_activity_criteria, add_analysis, duality_table
from linvae.data import spectrum_from_eigenvalues, synthetic_data
from linvae.model import Params, encode
from linvae.results import PARAMETER_DIMS, load, save, theory_dataset
from linvae.theory import optimum, price_grid, sampled_path_utility, stationary_weights

from helpers import CRITERIA_K, CRITERIA_LAM, numpy_renyi

# --- add_analysis (docs/theory.md §3, §7) ----------------------------------------------------------------------------
LAM = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1, 0.03, 0.004, 0.0])   # a zero mode never activates (docs/theory.md §9)
K = 10                                                            # one surplus latent
N = 200_000


@pytest.fixture(scope="module")
def synthetic():
    x, Q = synthetic_data(LAM, N, seed=3)
    spec = spectrum_from_eigenvalues(LAM, eigenvectors=Q, n_samples=N)
    T = price_grid(1e-5, 1, 41)
    ds = theory_dataset(spec, T, n_latents=K)
    params = jax.vmap(lambda t: stationary_weights(spec.mean, LAM, Q, t, K))(jnp.asarray(T))
    ds = ds.assign(**{name: (dims, np.asarray(getattr(params, name))) for name, dims in PARAMETER_DIMS.items()})
    return x, Q, ds, add_analysis(ds, x)


def test_stationary_weights_sample_identities(synthetic):
    """Exact per-sample identities: aligned weights touch only their own PCA direction."""
    x, Q, _, out = synthetic
    T = out["T"].values
    branch = optimum(T, LAM, n_latents=K)
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


def test_held_out_variance_ratio_is_fitted_with_the_threshold(synthetic):
    """Evaluation data with another variance along each mode (known ``r_k``): the fitted thresholds are still
    ``λ_k / V`` and the fitted ratios are the evaluation rows' ``mean y_k² / λ_k`` (docs/theory.md §7)."""
    _, Q, ds, _ = synthetic
    r_true = np.array([1.3, 0.8, 1.1, 0.7, 1.25, 0.9, 1.15, 0.75, 1.0])
    y = np.random.default_rng(11).standard_normal((20_000, LAM.size)) * np.sqrt(LAM * r_true)
    out = add_analysis(ds, y @ Q.T)
    fitted = out["collapse_variance_ratio"].values[:8]
    np.testing.assert_allclose(out["collapse_threshold"][:8], LAM[:8] / LAM.sum(), rtol=1e-5)
    np.testing.assert_allclose(fitted, (y[:, :8] ** 2).mean(0) / LAM[:8], rtol=1e-5)


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
    """Decode z = μ + σ ε keeping the first k ranked latents: ΔD̃_k = (T_k − T)_+ (docs/theory.md §7, *derived*)."""
    x, _, ds, _ = synthetic
    x, n = x[:50_000], 50_000
    rng = np.random.default_rng(11)
    V = np.trace(np.cov(x.T, bias=True))
    for i in (8, 20, 30):
        p = Params(*(ds[name].values[i] for name in PARAMETER_DIMS))
        mu, log_sigma2 = (np.asarray(a) for a in encode(p, x, np.zeros(9)))
        z = mu + np.exp(0.5 * log_sigma2) * rng.standard_normal(mu.shape)
        D = []
        for k in range(K + 1):
            recon = z[:, :k] @ p.decoder_weight[:, :k].T
            D.append(np.mean(np.sum((x - recon - (x - recon).mean(0)) ** 2, 1)) / V)
        expected = np.asarray(sampled_path_utility(ds["T"].values[i], LAM / LAM.sum()))
        assert np.all(np.abs(-np.diff(D)[:9] - expected) <= 8 * np.sqrt(2 / n) * LAM / LAM.sum() + 1e-12), i


def test_collapse_thresholds_and_utility_spectrum_recover_the_spectrum(synthetic):
    """The acceptance check (docs/theory.md §7, "Duality"): T_k = ΔD̃_k = λ_k / V within 2 % for λ_k / V > 1e-3."""
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
    out = add_analysis(ds, x_shift)
    C = np.cov(x_shift.T, bias=True)
    share = np.einsum("ik,ij,jk->k", Q, C, Q) / np.trace(C)     # numpy, from the rotation the data were made with
    np.testing.assert_allclose(out["eval_fraction"], share, rtol=1e-9, atol=1e-15)
    table = duality_table(out)
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
    back = load(save(out, tmp_path / "a.nc"))
    xr.testing.assert_identical(out, back)


def test_bad_inputs_raise_one_line_errors(synthetic):
    x, _, ds, _ = synthetic
    with pytest.raises(InputError, match=r"\(N, 9\)"):
        add_analysis(ds, x[:, :5])
    with pytest.raises(InputError, match="lacks trained parameters"):
        add_analysis(ds.drop_vars("decoder_weight"), x)
    with pytest.raises(InputError, match="NaN or inf"):
        add_analysis(ds, np.where(np.arange(9) == 2, np.nan, x[:100]))


# --- add_activity_criteria (docs/theory.md §8), on the fixture criteria_dataset (tests/conftest.py) -------------------

def test_dataset_statistics_match_numpy(criteria_dataset):
    x, p, ds, out = criteria_dataset
    mu = np.einsum("nd,gkd->gnk", x, np.asarray(p.encoder_weight)) + np.asarray(p.encoder_bias)[:, None]
    s2 = np.exp(np.einsum("nd,gkd->gnk", x, np.asarray(p.log_sigma2_weight))
                + np.asarray(p.log_sigma2_bias)[:, None])
    np.testing.assert_allclose(out["var_mu"], mu.var(1), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(out["var_sigma2"], s2.var(1), rtol=1e-8, atol=1e-14)
    assert np.all(out["var_sigma2"].values[:, 1] > 0) and np.all(out["var_sigma2"].values[:, 0] == 0)
    some = [4]                                                   # numpy reference at one grid point
    for name, h in [("renyi_entropy_silverman", None), ("renyi_entropy", 1.0592238410488122 * 100 ** -0.2)]:
        ref = np.array([[np.mean([numpy_renyi(mu[g, b * 100:(b + 1) * 100, k], bandwidth=h) for b in range(10)])
                         for k in range(CRITERIA_K)] for g in some])
        np.testing.assert_allclose(out[name][some], ref, rtol=1e-9, atol=1e-12, err_msg=name)
    assert out["renyi_entropy"].attrs["bandwidth"] == pytest.approx((4 / 300) ** 0.2, rel=1e-15)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(out["gaussian_entropy"], 0.5 * np.log2(2 * np.pi * np.e * mu.var(1)), rtol=1e-12)
    np.testing.assert_array_equal(out["active_units"], (mu.var(1) >= 0.01).astype(np.int8))


def test_dataset_verdicts_follow_closed_form_onsets_away_from_thresholds(criteria_dataset):
    """On exact stationary weights the measured verdicts agree with T < T_k τ* wherever T is not within the
    sampling error (a few %) of an onset."""
    _, _, _, out = criteria_dataset
    T = out["T"].values[:, None]
    onset = out["criterion_onset_T"]
    d = CRITERIA_LAM.size
    for flag, criterion in [("active_signal_fraction", "signal_fraction"), ("active_kl", "kl"),
                            ("active_units", "active_units"), ("active_renyi_entropy", "renyi_entropy"),
                            ("active_renyi_entropy_silverman", "renyi_entropy_silverman"),
                            ("active_gaussian_entropy", "gaussian_entropy")]:
        T_on = onset.sel(criterion=criterion).values[None, :]
        clear = np.abs(T / np.where(T_on > 0, T_on, 1) - 1) > 0.1
        plain = np.arange(d) != 1                                   # latent 1 has the affine head: skip it
        measured = out[flag].values[:, :d].astype(bool)
        np.testing.assert_array_equal(measured[clear & plain], (T < T_on)[clear & plain], err_msg=flag)
    assert np.all(out["active_kl"].values[:, d:] == 0)            # the surplus latent stays collapsed
    np.testing.assert_array_equal(out["bonheme_class"].values[:, d:], PASSIVE)


def test_dataset_schema_attrs_and_netcdf_round_trip(criteria_dataset, tmp_path):
    _, _, ds, out = criteria_dataset
    for name in ("var_mu", "var_sigma2", "renyi_entropy", "gaussian_entropy", "active_signal_fraction",
                 "active_kl", "active_units", "bonheme_class", "active_renyi_entropy", "active_gaussian_entropy",
                 "renyi_entropy_silverman", "active_renyi_entropy_silverman"):
        assert out[name].dims == ("T", "latent"), name
        assert out[name].attrs["long_name"] and "units" in out[name].attrs, name
    assert out["criterion_onset_T"].dims == ("criterion", "mode")
    assert out["active_kl"].attrs["threshold"] == 0.01 and out["bonheme_class"].attrs["legend"].startswith("0 = ")
    assert out["renyi_entropy"].attrs["method"] == "trace" and out.attrs["criteria_var_mu"] == 0.01
    assert "var_mu" not in ds
    back = load(save(out, tmp_path / "c.nc"))
    xr.testing.assert_identical(out, back)


def test_dataset_errors(criteria_dataset):
    x, _, ds, _ = criteria_dataset
    small = add_activity_criteria(ds, x[:50])  # fewer rows than one entropy batch: that criterion is skipped
    assert np.all(np.isnan(small["renyi_entropy"].values)) and not small["active_renyi_entropy"].values.any()
    assert "50 evaluation rows" in small.attrs["skipped_criteria"] and "skipped_criteria" not in ds.attrs
    with pytest.raises(InputError, match="n_batches"):
        add_activity_criteria(ds, x, n_batches=0)
    with pytest.raises(InputError, match="trained parameters"):
        add_activity_criteria(ds.drop_vars("encoder_weight"), x)
