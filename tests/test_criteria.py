"""Activity criteria (SPEC.md §8): constructed cases with known answers, the Rényi entropy against numpy and the
α = 2 trace identity, the Gaussian entropy against scipy, closed-form onsets against the criteria evaluated on the
closed-form branch, and the Dataset boundary against numpy statistics of the encoded data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import linvae
from linvae import _criteria
from linvae._criteria import ACTIVE, MIXED, PASSIVE, ActivityThresholds
from linvae._results import PARAMETER_DIMS


def numpy_renyi(x, alpha=2.0):
    """Independent reference: Silverman bandwidth, RBF Gram, unit-trace normalisation, numpy eigenvalues."""
    x = np.asarray(x, np.float64)
    n = x.size
    h = 1.0592238410488122 * np.std(x, ddof=1) * n ** (-0.2)  # (4/3)^{1/5} σ̂ n^{−1/5}
    K = np.exp(-np.subtract.outer(x, x) ** 2 / (2 * h**2)) if h > 0 else np.ones((n, n))
    lam = np.clip(np.linalg.eigvalsh(K / np.trace(K)), 0, None)
    return np.log2(np.sum(lam**alpha)) / (1 - alpha)


# --- constructed cases ------------------------------------------------------------------------------------------

def test_bonheme_classes_of_constant_encoder_variances():
    mean = np.array([0.05, 0.5, 0.95, 0.0, 1.0, 0.1, 0.9, 0.05])
    var = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2])  # the last one switches across the data: mixed
    expected = [ACTIVE, MIXED, PASSIVE, ACTIVE, PASSIVE, ACTIVE, PASSIVE, MIXED]
    np.testing.assert_array_equal(_criteria.bonheme_class(mean, var), expected)
    assert _criteria.bonheme_class(mean, var).dtype == np.int8
    # A tighter tolerance turns the boundary values mixed.
    np.testing.assert_array_equal(_criteria.bonheme_class([0.1, 0.9], [0, 0], tol=0.05), [MIXED, MIXED])


def test_threshold_criteria_on_known_values():
    c = _criteria.activity_criteria(
        M2=np.array([[0.05, 0.2]]), rate=np.array([[0.005, 0.02]]), var_mu=np.array([[0.009, 0.011]]),
        mean_sigma2=np.array([[0.95, 0.05]]), var_sigma2=np.zeros((1, 2)), renyi=np.array([[0.0, 2.2]]))
    for name in ("signal_fraction", "kl", "active_units", "renyi_entropy"):
        np.testing.assert_array_equal(getattr(c, name), [[False, True]], err_msg=name)
    np.testing.assert_array_equal(c.bonheme, [[PASSIVE, ACTIVE]])
    # ½ log2(2πe · 0.011) < 0 bits: the Gaussian-entropy rule at its default threshold 0 calls neither active …
    np.testing.assert_array_equal(c.gaussian_entropy, [[False, False]])
    # … and at −1.5 bits (Var μ > 2^{−3}/(2πe) ≈ 0.0073) both.
    c2 = _criteria.activity_criteria(M2=0, rate=0, var_mu=np.array([0.009, 0.011]), mean_sigma2=1, var_sigma2=0,
                                     renyi=0, thresholds=ActivityThresholds(gaussian_entropy=-1.5))
    np.testing.assert_array_equal(c2.gaussian_entropy, [True, True])


@pytest.mark.parametrize("bad", [dict(signal_fraction=1.0), dict(kl=-1.0), dict(bonheme_tol=0.6),
                                 dict(renyi_entropy=float("nan")), dict(bonheme_var_sigma2=0.0)])
def test_bad_thresholds_raise_one_line_errors(bad):
    with pytest.raises(linvae.InputError) as err:
        ActivityThresholds(**bad)
    assert "\n" not in str(err.value) and next(iter(bad)) in str(err.value)


# --- entropies --------------------------------------------------------------------------------------------------

def test_renyi_entropy_matches_numpy_and_trace_identity():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(3, 100)), rng.exponential(size=(2, 100)),
                        np.where(rng.random((2, 100)) < 0.3, rng.normal(size=(2, 100)), 0.0),  # spike and slab
                        np.full((1, 100), 3.0)])                                                # constant: 0 bits
    eig = np.asarray(_criteria.renyi_entropy(x, method="eigvalsh"))
    trace = np.asarray(_criteria.renyi_entropy(x, method="trace"))
    ref = np.array([numpy_renyi(row) for row in x])
    np.testing.assert_allclose(eig, ref, rtol=1e-10, atol=1e-12)
    assert abs(eig[-1]) < 1e-12 and abs(trace[-1]) < 1e-12
    np.testing.assert_allclose(trace, eig, rtol=1e-12, atol=1e-12)  # S_2 = −log2 tr(Â²)
    np.testing.assert_allclose(np.asarray(_criteria.renyi_entropy(x)), trace, rtol=0)  # default α = 2 path
    ref3 = np.array([numpy_renyi(row, alpha=3.0) for row in x])
    np.testing.assert_allclose(np.asarray(_criteria.renyi_entropy(x, alpha=3.0)), ref3, rtol=1e-10, atol=1e-12)
    assert not np.allclose(ref3[:-1], ref[:-1], rtol=1e-3)       # the order matters: α = 3 is a different number
    with pytest.raises(linvae.InputError):
        _criteria.renyi_entropy(x, alpha=3.0, method="trace")


def test_renyi_entropy_averages_batches():
    x = np.random.default_rng(1).normal(size=(2, 350))            # 3 full batches of 100, 50 rows dropped
    got = np.asarray(_criteria.mean_representation_entropy(x, batch_size=100))
    ref = [np.mean([numpy_renyi(row[b * 100:(b + 1) * 100]) for b in range(3)]) for row in x]
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    assert np.all((got > 2.0) & (got < 2.5))                      # a Gaussian batch of 100: ≈ 2.2 bits


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(1e-6, 1e4), shift=st.floats(-10, 10))
def test_silverman_renyi_entropy_is_scale_and_shift_invariant(scale, shift):
    """The documented blind spot: a shrinking mean representation keeps its entropy unless the bandwidth is fixed."""
    x = np.random.default_rng(2).normal(size=100)
    np.testing.assert_allclose(float(_criteria.renyi_entropy(scale * x + shift)),
                               float(_criteria.renyi_entropy(x)), rtol=1e-8)


def test_fixed_bandwidth_sees_scale():
    x = np.random.default_rng(3).normal(size=100)
    assert float(_criteria.renyi_entropy(1e-4 * x, bandwidth=1.0)) < 1e-6
    assert float(_criteria.renyi_entropy(x, bandwidth=1.0)) > 1.0


def test_gaussian_entropy_matches_scipy_in_bits():
    var = np.array([1e-3, 0.05, 1.0, 7.0])
    ref = np.array([scipy.stats.norm(scale=np.sqrt(v)).entropy() for v in var]) / np.log(2)
    np.testing.assert_allclose(_criteria.gaussian_entropy(var), ref, rtol=1e-13)
    with np.errstate(divide="ignore"):
        assert _criteria.gaussian_entropy(0.0) == -np.inf


# --- closed-form onsets against the criteria on the closed-form branch ---------------------------------------------

LAM = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.0])


@pytest.mark.parametrize("thresholds", [ActivityThresholds(),
                                        ActivityThresholds(signal_fraction=0.3, kl=0.2, var_mu=0.25, bonheme_tol=0.2,
                                                           gaussian_entropy=-0.5)])
def test_onsets_match_criteria_on_the_closed_form_branch(thresholds):
    T = np.geomspace(1e-4, 2.0, 3001)
    b = jax.tree.map(np.asarray, linvae.closed_form(T, LAM))
    tau = b.tau
    # Statistics of the branch (SPEC.md §3): Var μ = mean μ² (b = 0), σ² constant over the data.
    with np.errstate(divide="ignore"):
        c = _criteria.activity_criteria(M2=b.M2, rate=b.rate, var_mu=b.mu2, mean_sigma2=b.sigma2,
                                        var_sigma2=np.zeros_like(tau), renyi=np.zeros_like(tau),
                                        thresholds=thresholds)
    on = _criteria.criterion_onsets(thresholds)
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
    """Gaussian mean representations sqrt(1 − τ) y of the branch: the Rényi rule switches exactly at τ = 1."""
    T = np.geomspace(1e-3, 2.0, 30)
    b = jax.tree.map(np.asarray, linvae.closed_form(T, LAM))
    y = np.random.default_rng(4).normal(size=200)
    mu = np.sqrt(b.mu2)[..., None] * y                            # (T, mode, N)
    renyi = np.asarray(_criteria.mean_representation_entropy(mu, batch_size=100))
    flags = renyi > ActivityThresholds().renyi_entropy
    np.testing.assert_array_equal(flags, b.tau < _criteria.criterion_onsets().renyi_entropy)
    assert flags.any() and not flags.all()


# --- the Dataset boundary -----------------------------------------------------------------------------------------

K, N = 7, 1000  # one surplus latent; N = n_batches × batch_size, so the entropy rows are all rows in order


@pytest.fixture(scope="module")
def scan():
    x, Q = linvae.synthetic_data(LAM, N, seed=5)
    spec = linvae.spectrum_from_eigenvalues(LAM, eigenvectors=Q, n_samples=N)
    T = linvae.temperature_grid(1e-3, 1, 9)
    params = jax.vmap(lambda t: linvae.stationary_weights(spec.mean, LAM, Q, t, K))(jnp.asarray(T))
    # An affine log-variance head on latent 1 spreads σ² over the data (Var σ² > 0 in both regimes).
    S = np.zeros((T.size, K, LAM.size))
    S[:, 1] = 0.4 * Q[:, 0]
    params = params._replace(log_sigma2_weight=jnp.asarray(S))
    ds = linvae.theory_dataset(spec, T, n_latents=K)
    ds = ds.assign(**{name: (dims, np.asarray(getattr(params, name))) for name, dims in PARAMETER_DIMS.items()})
    return x, params, ds, _criteria.add_activity_criteria(ds, x, n_batches=10)


def test_dataset_statistics_match_numpy(scan):
    x, p, ds, out = scan
    mu = np.einsum("nd,gkd->gnk", x, np.asarray(p.encoder_weight)) + np.asarray(p.encoder_bias)[:, None]
    s2 = np.exp(np.einsum("nd,gkd->gnk", x, np.asarray(p.log_sigma2_weight))
                + np.asarray(p.log_sigma2_bias)[:, None])
    np.testing.assert_allclose(out["var_mu"], mu.var(1), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(out["var_sigma2"], s2.var(1), rtol=1e-8, atol=1e-14)
    assert np.all(out["var_sigma2"].values[:, 1] > 0) and np.all(out["var_sigma2"].values[:, 0] == 0)
    some = [4]                                                   # numpy reference at one grid point
    ref = np.array([[np.mean([numpy_renyi(mu[g, b * 100:(b + 1) * 100, k]) for b in range(10)])
                     for k in range(K)] for g in some])
    np.testing.assert_allclose(out["renyi_entropy"][some], ref, rtol=1e-9, atol=1e-12)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(out["gaussian_entropy"], 0.5 * np.log2(2 * np.pi * np.e * mu.var(1)), rtol=1e-12)
    np.testing.assert_array_equal(out["active_units"], (mu.var(1) >= 0.01).astype(np.int8))


def test_dataset_verdicts_follow_closed_form_onsets_away_from_thresholds(scan):
    """On exact stationary weights the measured verdicts agree with T < T_k τ* wherever T is not within the
    sampling error (a few %) of an onset."""
    _, _, _, out = scan
    T = out["T"].values[:, None]
    onset = out["criterion_onset_T"]
    d = LAM.size
    for flag, criterion in [("active_signal_fraction", "signal_fraction"), ("active_kl", "kl"),
                            ("active_units", "active_units"), ("active_renyi_entropy", "renyi_entropy"),
                            ("active_gaussian_entropy", "gaussian_entropy")]:
        T_on = onset.sel(criterion=criterion).values[None, :]
        clear = np.abs(T / np.where(T_on > 0, T_on, 1) - 1) > 0.1
        plain = np.arange(d) != 1                                   # latent 1 has the affine head: skip it
        measured = out[flag].values[:, :d].astype(bool)
        np.testing.assert_array_equal(measured[clear & plain], (T < T_on)[clear & plain], err_msg=flag)
    assert np.all(out["active_kl"].values[:, d:] == 0)            # the surplus latent stays collapsed
    np.testing.assert_array_equal(out["bonheme_class"].values[:, d:], PASSIVE)


def test_dataset_schema_attrs_and_netcdf_round_trip(scan, tmp_path):
    _, _, ds, out = scan
    for name in ("var_mu", "var_sigma2", "renyi_entropy", "gaussian_entropy", "active_signal_fraction",
                 "active_kl", "active_units", "bonheme_class", "active_renyi_entropy", "active_gaussian_entropy"):
        assert out[name].dims == ("T", "latent"), name
        assert out[name].attrs["long_name"] and "units" in out[name].attrs, name
    assert out["criterion_onset_T"].dims == ("criterion", "mode")
    assert out["active_kl"].attrs["threshold"] == 0.01 and out["bonheme_class"].attrs["legend"].startswith("0 = ")
    assert out["renyi_entropy"].attrs["method"] == "trace" and out.attrs["criteria_var_mu"] == 0.01
    assert "var_mu" not in ds
    back = linvae.load(linvae.save(out, tmp_path / "c.nc"))
    xr.testing.assert_identical(out, back)


def test_dataset_errors(scan):
    x, _, ds, _ = scan
    with pytest.raises(linvae.InputError, match="batches"):
        _criteria.add_activity_criteria(ds, x[:50])
    with pytest.raises(linvae.InputError, match="trained parameters"):
        _criteria.add_activity_criteria(ds.drop_vars("encoder_weight"), x)


def test_plot_activity_criteria(scan):
    from linvae._criteria_plots import plot_activity_criteria

    _, _, _, out = scan
    with pytest.raises(linvae.InputError, match="rank_latent"):
        plot_activity_criteria(out)
    # Exact stationary weights put mode k on latent k, so the ranking add_analysis would store is the identity.
    order = np.broadcast_to(np.arange(K), (out.sizes["T"], K))
    fig = plot_activity_criteria(out.assign(rank_latent=(("T", "rank"), order)))
    fig.canvas.draw()                                             # renders every label (mathtext included)
    assert len(fig.axes) == 6
    assert all(ax.get_xscale() == "log" for ax in fig.axes)


@pytest.mark.parametrize("objective", [linvae.Objective("lambda-beta", lam=1.0), linvae.Objective("lr", alpha=0.3),
                                       linvae.Objective("lambda-beta-sampled", lam=0.5)],
                         ids=["lambda-beta", "lr", "sampled"])
def test_objective_onsets_are_where_the_closed_form_crosses_each_rule(objective):
    """Every rule reads M² > 1 − τ* on an objective's branch (A² = 1, constant variance); its onset is the root of
    M²(T) = 1 − τ*, found here independently by scipy's brentq on the closed form."""
    import scipy.optimize

    from linvae._criteria import objective_criterion_onsets

    lam = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1, 0.0])
    onsets = np.asarray(objective_criterion_onsets(lam, objective, sigma_dec2=0.7))
    beta = np.asarray(objective_criterion_onsets(lam, linvae.Objective()))
    np.testing.assert_allclose(beta, np.outer(_criteria.criterion_onsets(), linvae.mode_thresholds(lam)), atol=1e-15)
    Tk = np.asarray(linvae.objective_thresholds(lam, objective, 0.7))
    targets = 1 - np.asarray(_criteria.criterion_onsets())
    for k in range(6):
        def gap(T, m):
            return float(linvae.objective_closed_form(T, lam, objective, None, 0.7).M2[k]) - m
        for i, m in enumerate(targets):
            if m <= 0:  # the Rényi rule: active up to the collapse itself
                assert onsets[i, k] == pytest.approx(Tk[k], rel=1e-9)
                continue
            root = scipy.optimize.brentq(gap, Tk[k] * 1e-12, Tk[k] * (1 - 1e-15), args=(m,), xtol=1e-16, rtol=1e-13)
            assert onsets[i, k] == pytest.approx(root, rel=1e-9), (i, k)
    assert onsets[0, 6] == 0 or np.isnan(onsets[0, 6])  # the zero mode never activates (LR: infinite threshold)
