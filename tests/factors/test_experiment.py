"""Factor scans and the λβ-VAE factor experiment (Vu, Wan & Wei 2026): the β-VAE scan (λ = 0) losing factor
information mode by mode at its thresholds, the λβ encoder as the global optimum of the λβ loss, and the (λ, T)
experiment keeping the information longer by (1 + λ)²."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import xarray as xr

import linvae
from linvae import factors

# private on purpose: the compiled (λ, T) grid, to check that new λ, T or fraction values do not recompile it
from linvae.factors._experiment import _experiment_grid

from helpers import FACTOR_LAMS

lambda_beta_weights = jax.jit(factors.lambda_beta_weights, static_argnums=3)  # λ and T traced: one compile


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
    scan = factors.factor_scan(G, nv, T, n_latents=4)
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
    closed form (docs/theory.md §3, *derived* I(x; z_k) = R_k) — for a generic, entangled G."""
    G = np.random.default_rng(10).normal(size=(6, 3))
    T = np.geomspace(1e-3, 1.0, 15)
    scan = factors.factor_scan(G, 0.0, T, n_latents=5)
    lam = np.linalg.eigvalsh(G @ G.T)[::-1]
    rate = np.asarray(linvae.optimum(T, lam, n_latents=5).total_rate)
    np.testing.assert_allclose(scan.metrics.joint_information, rate, rtol=1e-9, atol=1e-12)
    assert rate[0] > 0 and rate[-1] == 0


def test_encoder_hook_is_used_per_scan_point():
    G = orthogonal_mixing([2.0, 1.0])
    T = np.array([0.01, 0.1])
    hot = lambda lam, U, t, m: factors.beta_vae_encoder(lam, U, 2 * t, m)  # noqa: E731  (T → 2T)
    a = factors.factor_scan(G, 0.1, T, 2, encoder=hot)
    b = factors.factor_scan(G, 0.1, 2 * T, 2)
    np.testing.assert_allclose(a.metrics.mutual_information, b.metrics.mutual_information, rtol=1e-12)
    assert not np.allclose(a.metrics.mutual_information, factors.factor_scan(G, 0.1, T, 2).metrics.mutual_information)


def test_bad_mixing_raises():
    with pytest.raises(linvae.InputError, match="mixing"):
        factors.factor_scan(np.ones(3), 0.1, [0.1], 2)
    with pytest.raises(linvae.InputError, match="noise_var"):
        factors.factor_scan(np.ones((3, 2)), -1.0, [0.1], 2)


# --- λβ-VAE experiment (issue 6, item 4) -------------------------------------------------------------------------
# (the (λ, T) experiment of an entangled mixing: the fixture lambda_beta_experiment of tests/conftest.py)



def lambda_beta_loss_and_grad(params, C, beta, lam, K):
    """Raw λβ-VAE loss on a covariance (σ_dec² = 1, b = 0, c = x̄), written here from the definition:
    ½ E‖x − W z‖² + β KL + ½ λ E‖x − W μ‖², z = A x + σ ε, and its gradient in (A, W, log σ²)."""
    d = C.shape[0]
    A, W, ell = params[:K * d].reshape(K, d), params[K * d:2 * K * d].reshape(d, K), params[2 * K * d:]
    s = np.exp(ell)
    P = A @ C @ A.T
    mean_err = np.trace(C) - 2 * np.trace(W @ A @ C) + np.trace(W @ P @ W.T)
    loss = 0.5 * (mean_err + np.sum(s * np.sum(W**2, axis=0))) + 0.5 * beta * (np.trace(P) + np.sum(s - ell - 1)) \
        + 0.5 * lam * mean_err
    gA = (1 + lam) * (W.T @ W @ A @ C - W.T @ C) + beta * A @ C
    gW = (1 + lam) * (W @ P - C @ A.T) + W * s
    gl = 0.5 * s * np.sum(W**2, axis=0) + 0.5 * beta * (s - 1)
    return loss, np.concatenate([gA.ravel(), gW.ravel(), gl])


def test_lambda_beta_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(20)
    C = np.cov(rng.normal(size=(4, 50)))
    x = rng.normal(size=2 * 3 * 4 + 3)
    f = lambda q: lambda_beta_loss_and_grad(q, C, 0.7, 1.5, 3)[0]  # noqa: E731
    np.testing.assert_allclose(lambda_beta_loss_and_grad(x, C, 0.7, 1.5, 3)[1],
                               scipy.optimize.approx_fprime(x, f, 1e-7), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("lam", FACTOR_LAMS)
def test_lambda_beta_encoder_is_the_global_optimum(lam):
    """The encoder from the closed form, with the decoder that is optimal for it (∂L/∂W = 0:
    W = (1+λ) C Aᵀ ((1+λ) A C Aᵀ + Σ)⁻¹), is a stationary point of the λβ loss written above, and BFGS from
    random starts finds no lower loss; the loss equals the closed form's L̃ V / 2."""
    G, nv, K = np.random.default_rng(21).normal(size=(4, 3)), 0.1, 3
    C = G @ G.T + nv * np.eye(4)
    lam_e, U = np.linalg.eigh(C)
    lam_e, U = lam_e[::-1], U[:, ::-1]
    V = lam_e.sum()
    T1 = (1 + lam) ** 2 * lam_e / V
    rng = np.random.default_rng(22)
    for T in (0.05 * T1[2], 0.5 * (T1[1] + T1[2]), 0.9 * T1[0], 1.2 * T1[0]):
        A, s2 = map(np.asarray, lambda_beta_weights(lam_e, U, T, K, lam))
        W = (1 + lam) * C @ A.T @ np.linalg.inv((1 + lam) * A @ C @ A.T + np.diag(s2))
        ours = np.concatenate([A.ravel(), W.ravel(), np.log(s2)])
        loss, grad = lambda_beta_loss_and_grad(ours, C, T * V, lam, K)
        assert np.max(np.abs(grad)) < 1e-10
        branch = linvae.optimum(T, lam_e, linvae.Objective("lambda-beta", lam=lam), K)
        np.testing.assert_allclose(2 * loss / V, float(branch.loss), rtol=1e-12)
        best = min((scipy.optimize.minimize(lambda_beta_loss_and_grad, rng.normal(size=ours.size) * 0.5, jac=True,
                                            args=(C, T * V, lam, K), method="BFGS", options={"gtol": 1e-10})
                    for _ in range(3)), key=lambda r: r.fun)
        assert best.fun >= loss - 1e-9 and best.fun - loss < 1e-7
        A_b, s2_b = best.x[:12].reshape(3, 4), np.exp(best.x[24:])    # the same code up to latent permutation/sign
        np.testing.assert_allclose(np.sort(s2_b), np.sort(s2), atol=1e-4)
        np.testing.assert_allclose(factors.joint_mutual_information(A_b, s2_b, G, nv),
                                   factors.joint_mutual_information(A, s2, G, nv), rtol=1e-4, atol=1e-6)


def test_lambda_beta_encoder_at_zero_is_the_beta_vae():
    C = factors.factor_covariance(np.random.default_rng(23).normal(size=(5, 3)), 0.2)
    lam_e, U = np.linalg.eigh(np.asarray(C))
    lam_e, U = jnp.asarray(lam_e[::-1]), jnp.asarray(U[:, ::-1])
    T = jnp.array([0.01, 0.1, 0.3, 2.0])
    got = jax.jit(jax.vmap(lambda t: factors.lambda_beta_encoder(0.0)(lam_e, U, t, 6)))(T)
    ref = jax.jit(jax.vmap(lambda t: factors.beta_vae_encoder(lam_e, U, t, 6)))(T)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    with pytest.raises(linvae.InputError, match="lam"):
        factors.lambda_beta_encoder(-1.0)


def test_experiment_is_the_scan_with_the_lambda_beta_hook(lambda_beta_experiment):
    """The (λ, T) grid (one jit, two vmaps) equals a loop of factor_scan with the λβ hook; β input converts by
    T = β σ_dec² / V."""
    G, nv, T, ds = lambda_beta_experiment
    assert ds["mutual_information"].dims == ("lam", "T", "latent", "factor")
    for i in (1, 2):                                                # λ = 0 is the β-VAE hook (tested above)
        scan = factors.factor_scan(G, nv, T, 4, encoder=factors.lambda_beta_encoder(FACTOR_LAMS[i]))
        np.testing.assert_allclose(ds["mutual_information"][i], scan.metrics.mutual_information, rtol=1e-12)
        np.testing.assert_allclose(ds["mig"][i], scan.metrics.mig, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ds["sap"][i], scan.metrics.sap, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ds["threshold"][i], (1 + FACTOR_LAMS[i]) ** 2 * scan.mode_thresholds,
                                   rtol=1e-15)
    V = ds.attrs["total_variance"]
    np.testing.assert_allclose(V, np.trace(G @ G.T) + 6 * nv, rtol=1e-14)
    np.testing.assert_allclose(ds["beta"], T * V, rtol=1e-15)
    by_beta = factors.factor_experiment(G, nv, [0.5, 2.0], 4, beta=ds["beta"].values[:5] * 2, sigma_dec2=0.5)
    np.testing.assert_allclose(by_beta["T"], T[:5], rtol=1e-14)
    compiled = _experiment_grid._cache_size()
    by_T = factors.factor_experiment(G, nv, [0.5, 2.0], 4, T=T[:5])
    np.testing.assert_allclose(by_beta["joint_information"], by_T["joint_information"], rtol=1e-12)
    factors.factor_experiment(G, nv, [0.25, 7.0], 4, T=T[5:10], fraction=0.1)
    assert _experiment_grid._cache_size() == compiled       # new λ, T or fraction values: no recompile


def test_informativeness_lost_beyond_the_threshold_and_kept_longer_with_lambda(lambda_beta_experiment):
    """λ = 0: I(z; v) = 0 (every pair, MIG, SAP) for T ≥ T_1 and > 0 below; λ > 0: still > 0 on
    (T_1, (1 + λ)² T_1), zero beyond; at every T the information grows with λ."""
    G, nv, T, ds = lambda_beta_experiment
    T1 = ds["threshold"].sel(lam=0).values[0]
    info = ds["joint_information"].values
    for i, lam in enumerate(FACTOR_LAMS):
        beyond = T >= (1 + lam) ** 2 * T1
        assert np.all(info[i, beyond] == 0) and np.all(info[i, ~beyond] > 0)
        for name in ("mutual_information", "mig", "sap"):
            assert np.all(ds[name].values[i, beyond] == 0)
        assert np.all(ds["mig"].values[i, ~beyond] > 0)
        if lam > 0:
            window = (T > T1) & (T < (1 + lam) ** 2 * T1)
            assert window.sum() >= 5 and np.all(info[i, window] > 0) and np.all(info[0, window] == 0)
    assert np.all(np.diff(info, axis=0) >= -1e-12)
    drop = ds["information_drop_T"].values
    assert np.all(np.diff(drop) > 0) and np.all(drop < (1 + FACTOR_LAMS) ** 2 * T1)


def test_collapse_onsets_align_on_the_rescaled_axis(lambda_beta_experiment):
    """Every threshold moves by (1 + λ)² (exact in floating point here), so on T/(1+λ)² each latent of every λ
    stops informing about the factors at the β-VAE threshold of its mode."""
    G, nv, T, ds = lambda_beta_experiment
    Tk = ds["threshold"].values
    np.testing.assert_array_equal(Tk / (1 + FACTOR_LAMS[:, None]) ** 2, np.broadcast_to(Tk[0], Tk.shape))
    np.testing.assert_array_equal(ds["T_rescaled"].values, T / (1 + FACTOR_LAMS[:, None]) ** 2)
    informed = ds["mutual_information"].values.max(axis=-1) > 0                     # (lam, T, latent)
    expected = ds["T_rescaled"].values[:, :, None] < Tk[0, :3]                       # 3 signal modes, latent k ↔ mode k
    np.testing.assert_array_equal(informed[..., :3], expected)
    assert ds["mutual_information"].values[..., 3, :].max() < 1e-12                 # the noise mode knows nothing


def test_information_drop_point_and_limit(lambda_beta_experiment):
    G, nv, T, ds = lambda_beta_experiment
    limit, fraction = float(ds["information_limit"]), ds["information_drop_T"].attrs["fraction"]
    lam_e = ds["pca_eigenvalue"].values
    np.testing.assert_allclose(limit, 0.5 * np.sum(np.log(lam_e[:4] / nv)), rtol=1e-14)
    U = ds["pca_eigenvalue"].values, np.linalg.eigh(G @ G.T + nv * np.eye(6))[1][:, ::-1]

    def joint(T, lam):  # eager: the λβ encoder at one T, then I(z; v)
        return float(factors.joint_mutual_information(*lambda_beta_weights(*U, T, 4, lam), G, nv))

    np.testing.assert_allclose(joint(1e-9, 3.0), limit, rtol=1e-6)
    for lam, t in zip(FACTOR_LAMS, ds["information_drop_T"].values):
        np.testing.assert_allclose(joint(t, lam), fraction * limit, rtol=1e-9)


def test_experiment_round_trips_through_netcdf(lambda_beta_experiment, tmp_path):
    ds = lambda_beta_experiment[3]
    ds.to_netcdf(tmp_path / "factors.nc", engine="netcdf4")
    with xr.open_dataset(tmp_path / "factors.nc", engine="netcdf4") as back:
        xr.testing.assert_identical(back.load(), ds)
    mi = ds["mutual_information"].attrs  # CF: UDUNITS has no nat, so units 1 and the unit named in long_name
    assert mi["units"] == "1" and mi["long_name"].endswith("in nats") and "log(n_bins)" in ds.attrs["mig_normalisation"]
    assert "sigma_dec2 = 1" in ds.attrs["beta_convention"]


def test_factor_experiment_rejects_bad_input():
    G = np.ones((3, 2))
    with pytest.raises(linvae.InputError, match="exactly one of T"):
        factors.factor_experiment(G, 0.1, [0], 2)
    with pytest.raises(linvae.InputError, match="exactly one of T"):
        factors.factor_experiment(G, 0.1, [0], 2, T=[0.1], beta=[1.0])
    with pytest.raises(linvae.InputError, match="lams"):
        factors.factor_experiment(G, 0.1, [-1.0], 2, T=[0.1])
    with pytest.raises(linvae.InputError, match="positive"):
        factors.factor_experiment(G, 0.1, [0], 2, T=[0.0, 0.1])
