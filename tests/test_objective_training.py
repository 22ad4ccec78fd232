"""Training under the objective family (SPEC.md §5): loss terms, exact method = closed form, sgd, α warm-up without
recompiling, theory columns, analysis closed forms, CLI."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import linvae
from linvae import _exact, _model, _sgd
from linvae._analysis import _objective_mean_path
from linvae.cli import main

dtype_promotion = "standard"  # trains through optax (see conftest)

LAM = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1])
T_GRID = linvae.temperature_grid(1e-4, 1, 16)
OBJECTIVES = {  # id: (ScanConfig keywords, K)
    "lambda-beta-0.5": ({"objective": "lambda-beta", "lam": 0.5}, 6),
    "lambda-beta-2": ({"objective": "lambda-beta", "lam": 2.0}, 6),
    "lambda-beta-sampled-1": ({"objective": "lambda-beta-sampled", "lam": 1.0}, 6),
    "lr-0.1": ({"objective": "lr", "alpha": 0.1}, 6),
    "lr-1-K8": ({"objective": "lr", "alpha": 1.0}, 8),  # K > d: two latents carry no mode and pay α each
    "lr-0.5-K4": ({"objective": "lr", "alpha": 0.5}, 4),  # K < d: latents read two modes (objective_optimum)
}


@pytest.fixture(scope="module")
def gaussian():
    x, _ = linvae.synthetic_data(LAM, 4000, seed=3)
    return x


def covariance(ds):
    return (ds["pca_eigenvector"].values * ds["pca_eigenvalue"].values) @ ds["pca_eigenvector"].values.T


def measured_M2(ds):
    A = ds["encoder_weight"].values
    mu2 = np.einsum("gkd,de,gke->gk", A, covariance(ds), A)
    return np.sort(mu2 / (mu2 + np.exp(ds["log_sigma2_bias"].values)), axis=1)[:, ::-1]


def padded_theory(M2, K):
    M2 = np.pad(M2, ((0, 0), (0, max(0, K - M2.shape[1]))))
    return np.sort(M2, axis=1)[:, ::-1][:, :K]   # the K largest: under LR they need not be the first K modes


def random_params(key, d, K, scale=0.7):
    ks = jax.random.split(key, 6)
    return linvae.Params(
        encoder_weight=scale * jax.random.normal(ks[0], (K, d)), encoder_bias=0.3 * jax.random.normal(ks[1], (K,)),
        log_sigma2_weight=jnp.zeros((K, d)), log_sigma2_bias=0.5 * jax.random.normal(ks[2], (K,)),
        decoder_weight=scale * jax.random.normal(ks[3], (d, K)), decoder_bias=0.3 * jax.random.normal(ks[4], (d,)))


# --- loss terms (linvae/_model.py) ------------------------------------------------------------------------------

@pytest.mark.parametrize("objective", [linvae.Objective("lambda-beta", lam=0.7),
                                       linvae.Objective("lambda-beta-sampled", lam=0.7),
                                       linvae.Objective("lr", alpha=0.4), linvae.Objective()])
def test_row_average_equals_covariance_form(objective):
    """expected_loss (rows, noise expectation) = exact_loss (covariance form) for a constant-variance model, with
    biases and a data mean: the same loss written twice, compared exactly."""
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (500, 4))) @ np.diag([2.0, 1.0, 0.5, 0.2]) + 0.8
    params = random_params(jax.random.PRNGKey(2), 4, 3)
    center = jnp.asarray(x.mean(0) + 0.1)
    blocks, mask = _sgd.row_blocks(x, 128, jnp.float64)
    loss, distortion, rate, penalty = _model.expected_loss(params, blocks, mask, center, 0.3, 1.5, objective)
    mean = jnp.asarray(x.mean(0))
    cov = jnp.asarray(np.cov(x.T, bias=True))
    # exact_loss reads the encoder centred on the data mean: shift the encoder bias by A (x̄ − center).
    shifted = params._replace(encoder_bias=params.encoder_bias + params.encoder_weight @ (mean - center))
    exact = _model.exact_loss(shifted, mean, cov, 0.3, 1.5, objective)
    np.testing.assert_allclose(loss, exact, rtol=1e-12)
    np.testing.assert_allclose(penalty, _model.exact_penalty(shifted, mean, cov, 1.5, objective), rtol=1e-12,
                               atol=1e-15)


def test_lr_penalty_is_the_prior_expectation():
    """α (‖AW − I‖² + ‖A(c − x̄) + b‖²) against a Monte Carlo average of ‖μ(x̂(z)) − z‖² over z ~ N(0, I)."""
    params = random_params(jax.random.PRNGKey(3), 5, 3)
    center = jnp.asarray(np.linspace(-1, 1, 5))
    z = jax.random.normal(jax.random.PRNGKey(4), (400_000, 3))
    mu, _ = linvae.encode(params, linvae.decode(params, z), center)
    mc = jnp.mean(jnp.sum((mu - z) ** 2, axis=-1))
    np.testing.assert_allclose(_model.lr_penalty(params, center), mc, rtol=5e-3)


@pytest.mark.parametrize("objective", [linvae.Objective("lambda-beta", lam=1.3),
                                       linvae.Objective("lambda-beta-sampled", lam=1.3),
                                       linvae.Objective("lr", alpha=0.6)])
def test_exact_loss_of_one_mode_equals_objectives_one_mode_loss(objective):
    """A one-latent, one-feature model: exact_loss equals the colleague's objective_one_mode_loss (independent)."""
    a, w, s2, lam, beta = 0.8, 1.1, 0.3, 2.0, 0.4
    params = linvae.Params(jnp.array([[a]]), jnp.zeros(1), jnp.zeros((1, 1)), jnp.log(jnp.array([s2])),
                           jnp.array([[w]]), jnp.zeros(1))
    got = _model.exact_loss(params, jnp.zeros(1), jnp.array([[lam]]), beta, 1.7, objective)
    want = linvae.objective_one_mode_loss(a, w, s2, lam, beta, objective, 1.7)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_sample_loss_adds_the_penalty():
    x = jax.random.normal(jax.random.PRNGKey(5), (64, 4))
    eps = jax.random.normal(jax.random.PRNGKey(6), (64, 3))
    params = random_params(jax.random.PRNGKey(7), 4, 3)
    base, D, R = linvae.sample_loss(params, x, jnp.zeros(4), eps, 0.5, 1.0)
    mean_err = jnp.mean(jnp.sum((x - linvae.decode(params, linvae.encode(params, x, 0.0)[0])) ** 2, axis=-1))
    cases = {("lambda-beta", 0.5, 0.0): 0.5 * mean_err / 2, ("lambda-beta-sampled", 0.5, 0.0): 0.5 * D,
             ("lr", 0.0, 0.3): 0.3 * _model.lr_penalty(params, jnp.zeros(4))}
    for (kind, lam, alpha), extra in cases.items():
        loss, D2, R2 = linvae.sample_loss(params, x, jnp.zeros(4), eps, 0.5, 1.0, linvae.Objective(kind, lam, alpha))
        np.testing.assert_allclose(loss, base + extra, rtol=1e-13)
        assert D2 == D and R2 == R


def test_lambda_beta_hessian_is_exact():
    lam = jnp.asarray(LAM[:4])
    p = jax.random.normal(jax.random.PRNGKey(8), (3 * 4 + 3,)) * 0.5
    H = _exact.hessian(p, lam, 0.2, 3, 1.7)
    reference = jax.jit(jax.hessian(_exact.scaled_loss), static_argnums=3)(p, lam, 0.2, 3, 1.7)  # one compile
    np.testing.assert_allclose(H, reference, rtol=1e-9, atol=1e-11)


# --- exact method = closed form (SPEC.md §5) ---------------------------------------------------------------------

@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_exact_reaches_objective_closed_form(gaussian, name):
    kw, K = OBJECTIVES[name]
    cfg = linvae.ScanConfig(method="exact", n_latents=K, steps=40_000, x64=True, **kw)
    ds = linvae.scan(gaussian, T_GRID, cfg, standardize=False, progress=False, analyse=False)
    objective = cfg.objective_spec
    eig = ds["pca_eigenvalue"].values
    branch = linvae.objective_optimum(T_GRID, eig, objective, K, 1.0)
    if K < eig.size and objective.kind == "lr":
        assert np.any(branch.partner >= 0) and np.any(ds["theory_partner"] >= 0)
    # the theory columns are the objective's optimum
    np.testing.assert_allclose(ds["theory_M2"], branch.M2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ds["theory_loss"], branch.loss, rtol=1e-12)
    np.testing.assert_allclose(ds["theory_penalty"], branch.total_penalty, rtol=1e-12, atol=1e-15)
    Tk = linvae.objective_thresholds(eig, objective, 1.0)
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
def test_sampled_lambda_beta_is_the_beta_vae_at_reduced_beta(gaussian):
    """Same parameters as the β-VAE at β/(1+λ) (SPEC.md §5), and (1+λ) times its loss."""
    T = np.array([1e-3, 0.05, 0.4])
    sampled = linvae.scan(gaussian, T, linvae.ScanConfig(method="exact", n_latents=6, steps=40_000, x64=True,
                                                         objective="lambda-beta-sampled", lam=1.5),
                          standardize=False, progress=False, analyse=False)
    beta = linvae.scan(gaussian, T / 2.5, linvae.ScanConfig(method="exact", n_latents=6, steps=40_000, x64=True),
                       standardize=False, progress=False, analyse=False)
    np.testing.assert_allclose(measured_M2(sampled), measured_M2(beta), atol=1e-8)
    np.testing.assert_allclose(sampled["loss"], 2.5 * beta["loss"], rtol=1e-8)


def test_lr_on_singular_data_stays_finite(gaussian):
    """A zero-variance direction: the LR infimum (a latent reading it with diverging gain, docs/objectives.md §7) is
    not parameterised, so training is finite, not flagged diverged, and pays exactly α̃ = 2ασ²/V more."""
    x, _ = linvae.synthetic_data(np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.0]), 2000, seed=3)
    T = np.array([1e-3, 0.03, 0.5])
    ds = linvae.scan(x, T, linvae.ScanConfig(method="exact", n_latents=6, steps=40_000, x64=True, objective="lr",
                                             alpha=0.5), standardize=False, progress=False, analyse=False)
    assert np.all(np.isfinite(ds["loss"])) and not ds["diverged"].any() and ds["minimum_certified"].all()
    alpha_n = 2 * 0.5 / ds.attrs["total_variance"]
    np.testing.assert_allclose(ds["loss"] - ds["theory_loss"], alpha_n, rtol=1e-6)


def test_objective_analysis_closed_forms(gaussian):
    """The mean-path utilities of an objective: the general helper reproduces the β-VAE forms, and the measured
    truncated distortions of a converged λβ scan (on its own training split) equal the closed form."""
    for K in (4, 6, 8):
        u, D = _objective_mean_path(T_GRID, LAM, linvae.Objective(), K, 1.0)
        Tk = linvae.mode_thresholds(LAM)
        m = min(K, LAM.size)
        np.testing.assert_allclose(u, np.pad(linvae.mean_path_utility(T_GRID, Tk[:m]), ((0, 0), (0, K - m))),
                                   atol=1e-15)
        np.testing.assert_allclose(D, linvae.mean_path_truncated_distortion(T_GRID, Tk, K), atol=1e-15)
    T = np.array([1e-3, 0.05, 0.4])
    ds = linvae.scan(gaussian, T, linvae.ScanConfig(method="exact", n_latents=6, steps=40_000, x64=True,
                                                    objective="lambda-beta", lam=1.0),
                     standardize=False, progress=False, analyse=False)
    train = linvae.random_split(len(gaussian), seed=0).train
    x_train = gaussian[train] - gaussian[train].mean(0)
    out = linvae.add_analysis(ds, x_train)
    np.testing.assert_allclose(out["truncated_distortion"], out["theory_truncated_distortion"], atol=1e-7)
    np.testing.assert_allclose(out["utility"], out["theory_utility"], atol=1e-7)
    assert "lambda-beta" in out["collapse_threshold"].attrs["objective_note"]


def test_lr_mixed_latent_utilities_equal_the_trained_truncations(gaussian):
    """LR, K = 4 on six modes: where a latent reads two modes, the measured truncated distortions of the converged
    exact scan (on its own training split) equal the closed form, which counts the latent's two modes together."""
    T = T_GRID       # the grid of test_exact_reaches_objective_closed_form: its compiled program is reused
    ds = linvae.scan(gaussian, T, linvae.ScanConfig(method="exact", n_latents=4, steps=40_000, x64=True,
                                                    objective="lr", alpha=0.5),
                     standardize=False, progress=False, analyse=False)
    mixing = np.any(ds["theory_partner"].values >= 0, axis=1)
    assert mixing[11] and not mixing[9]                        # T = 0.086: a latent reads modes 4 and 6
    train = linvae.random_split(len(gaussian), seed=0).train
    out = linvae.add_analysis(ds, gaussian[train] - gaussian[train].mean(0))
    np.testing.assert_allclose(out["truncated_distortion"], out["theory_truncated_distortion"], atol=1e-7)
    np.testing.assert_allclose(out["utility"], out["theory_utility"], atol=1e-7)
    # the mixed latent's utility is larger than what its main mode alone would give back
    eig = ds["pca_eigenvalue"].values
    branch = linvae.objective_optimum(T[11], eig, linvae.Objective("lr", alpha=0.5), 4)
    main = int(np.flatnonzero((branch.partner >= 0) & branch.active)[0])
    rank = int(np.flatnonzero(np.sort(branch.M2)[::-1] == branch.M2[main])[0])
    own = (eig[main] - branch.mean_distortion[main]) / eig.sum()
    assert float(out["theory_utility"][11, rank]) > own * (1 + 1e-3)


@pytest.mark.parametrize("objective", [linvae.Objective("lambda-beta", lam=1.0), linvae.Objective("lr", alpha=0.3)],
                         ids=["lambda-beta", "lr"])
def test_objective_collapse_fit_inverts_the_objectives_law(objective):
    """Fed the closed-form M²(T) of every mode, the objective-law fit returns the objective's thresholds, while the
    β-VAE law fit misses them (the λβ branch is not linear in T)."""
    from linvae._analysis import collapse_fit, objective_collapse_fit

    T = linvae.temperature_grid(1e-4, 30, 64)
    Tk = np.asarray(linvae.objective_thresholds(LAM, objective, 0.7))
    order = np.argsort(-Tk)
    M2 = np.asarray(linvae.objective_closed_form(T, LAM, objective, None, 0.7).M2)[:, order]
    fitted, points, rmse = objective_collapse_fit(T, M2, objective, LAM.sum(), 0.7)
    np.testing.assert_allclose(fitted, Tk[order], rtol=1e-5)
    assert np.all(rmse < 1e-5) and np.all(points == (M2 > 0.1).sum(0))
    if objective.kind == "lambda-beta":
        beta_law = collapse_fit(T, M2)[0]
        assert np.all(np.abs(beta_law / Tk[order] - 1) > 0.1)


def analysed_exact_scan(x, n_points, **objective):
    """An exact float64 scan of 6 latents over T in 1e-3..5, analysed on its own training split."""
    ds = linvae.scan(x, linvae.temperature_grid(1e-3, 5, n_points),
                     linvae.ScanConfig(method="exact", n_latents=6, x64=True, **objective),
                     standardize=False, progress=False, analyse=False)
    train = linvae.random_split(len(x), seed=0).train
    return linvae.add_analysis(ds, x[train] - x[train].mean(0))


@pytest.mark.slow  # ~15 s; test_objective_collapse_fit_inverts_the_objectives_law checks the fit on the closed form
def test_exact_lambda_beta_scan_fits_its_own_thresholds(gaussian):
    table = linvae.duality_table(analysed_exact_scan(gaussian, 24, objective="lambda-beta", lam=1.0))
    big = table["theory_threshold"].values > 5e-3
    np.testing.assert_allclose(table["collapse_threshold"].values[big], table["theory_threshold"].values[big],
                               rtol=1e-3)


def test_lr_duality_compares_rank_by_rank_and_plots_draw_no_beta_law(gaussian):
    """Under LR the order by M² is not the order of the thresholds: the table's theory column is the same fit on
    the closed form ranked by M², so an exact scan matches it; the figures draw no β-VAE law for LR."""
    from linvae import _plots

    out = analysed_exact_scan(gaussian, 16, objective="lr", alpha=0.5)
    table = linvae.duality_table(out)
    ok = (table["fit_points"].values >= 3) & (table["theory_threshold"].values > 0)
    assert ok.sum() >= 4
    np.testing.assert_allclose(table["collapse_threshold"].values[ok], table["theory_threshold"].values[ok],
                               rtol=1e-3)
    fig = _plots.plot_order_parameters(out)
    assert not any(line.get_linestyle() == "--" for line in fig.axes[1].get_lines())
    _plots.plt.close("all")


# --- sgd (SPEC.md §6) ---------------------------------------------------------------------------------------------

def normalised_exact_loss(params, ds, objective):
    """(2σ²/V) × exact objective loss of constant-variance parameters on the training covariance."""
    V = ds.attrs["total_variance"]
    betas = ds["beta"].values
    d = ds.sizes["feature"]
    one = lambda p, b: _model.exact_loss(p, jnp.zeros(d), jnp.asarray(covariance(ds)), b, 1.0, objective)  # noqa: E731
    return np.asarray(jax.vmap(one)(jax.tree.map(jnp.asarray, params), jnp.asarray(betas))) * 2 / V


@pytest.mark.parametrize("kw", [{"objective": "lambda-beta", "lam": 1.0},
                                {"objective": "lr", "alpha": 0.5, "alpha_warmup": 500}], ids=["lambda-beta", "lr"])
def test_sgd_moves_toward_objective_closed_form(gaussian, kw):
    T = np.array([3e-3, 0.03, 0.3])
    cfg = linvae.ScanConfig(method="sgd", n_latents=6, steps=1500, learning_rate=3e-3, eval_every=250,
                            variance_head="constant", **kw)
    ds = linvae.scan(gaussian[:3000], T, cfg, standardize=False, progress=False, analyse=False)
    g = _engine_grid_size(len(T))
    keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 0), g)
    start = jax.vmap(_sgd.init_state, in_axes=(0, None, None, None))(keys, 6, 6, jnp.float32).params
    start = jax.tree.map(lambda a: np.asarray(a, np.float64)[:len(T)], start)
    end = linvae.Params(**{name: ds[name].values for name in linvae.Params._fields})
    theory = ds["theory_loss"].values
    gap_start = np.abs(normalised_exact_loss(start, ds, cfg.objective_spec) - theory)
    gap_end = np.abs(normalised_exact_loss(end, ds, cfg.objective_spec) - theory)
    assert np.all(gap_end < 0.05 * gap_start), (gap_end, gap_start)
    np.testing.assert_allclose(ds["loss"], normalised_exact_loss(end, ds, cfg.objective_spec), rtol=0.05)
    assert not ds["diverged"].any()


def _engine_grid_size(n):
    from linvae import _engine

    return _engine.padded_size(n)


def test_alpha_warmup_is_traced_and_ramps():
    """New α / warm-up values reuse the compiled period; a warm-up far longer than the run is (nearly) α = 0."""
    x, _ = linvae.synthetic_data(LAM[:4], 1500, seed=1)
    G, K = 3, 4
    key = jax.random.PRNGKey(0)
    state = jax.vmap(_sgd.init_state, in_axes=(0, None, None, None))(jax.random.split(key, G), 4, K, jnp.float64)
    val_blocks, val_mask = _sgd.row_blocks(x[1000:], 256, jnp.float64)
    base = (jnp.asarray([0.01, 0.1, 1.0]), jnp.full((G,), 3e-3), jnp.int32(10_000), jnp.int32(1_000),
            jax.random.split(key, G), jax.random.PRNGKey(7), jnp.asarray(x[:1000]), jnp.zeros(4), val_blocks,
            val_mask, jnp.float64(1.0))
    period = _sgd.make_period(40, 32, False, True)

    def run(alpha, warmup):
        objective = linvae.Objective("lr", alpha=jnp.float64(alpha))
        return period(state, jnp.int32(0), *base, objective, jnp.int32(warmup))

    full = run(0.5, 0)
    size = period._cache_size()
    ramped = run(0.5, 100)
    frozen = run(0.8, 10**9)
    nothing = run(0.0, 0)
    assert period._cache_size() == size
    A = lambda st: np.asarray(st.params.encoder_weight)  # noqa: E731
    assert np.max(np.abs(A(full) - A(ramped))) > 1e-6
    np.testing.assert_allclose(A(frozen), A(nothing), atol=1e-6)
    # the validation loss uses the full α whatever the warm-up: (nearly) the same parameters, so the two validation
    # losses differ by the full 0.8 × the LR penalty of those parameters (a ramped α would give ~0)
    penalty = np.asarray(jax.vmap(lambda p: _model.lr_penalty(p, jnp.zeros(4)))(frozen.best_params))
    np.testing.assert_allclose(np.asarray(frozen.best_val) - np.asarray(nothing.best_val), 0.8 * penalty, rtol=1e-3)


# --- config, schema, CLI ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{"objective": "vae"}, {"lam": 1.0}, {"objective": "lr", "alpha": -1.0},
                                {"objective": "lambda-beta", "lam": float("nan")}, {"alpha_warmup": 10},
                                {"objective": "lr", "alpha": 1.0, "alpha_warmup": -5}])
def test_config_rejects_bad_objectives(kw):
    with pytest.raises(linvae.InputError) as err:
        linvae.ScanConfig(**kw)
    assert "\n" not in str(err.value)


def test_config_records_objective():
    cfg = linvae.ScanConfig(objective="lr", alpha=0.25, alpha_warmup=100)
    attrs = cfg.as_attrs()
    assert (attrs["objective"], attrs["lam"], attrs["alpha"], attrs["alpha_warmup"]) == ("lr", 0.0, 0.25, 100)
    assert cfg.objective_spec == linvae.Objective("lr", alpha=0.25)
    assert linvae.ScanConfig(**{k: attrs[k] for k in ("objective", "lam", "alpha", "alpha_warmup")}) == cfg


def test_theory_dataset_for_each_objective():
    spectrum = linvae.spectrum_from_eigenvalues(LAM)
    beta = linvae.theory_dataset(spectrum, T_GRID, n_latents=4)
    np.testing.assert_array_equal(beta["theory_M2"], linvae.closed_form(T_GRID, LAM, 4).M2)
    assert beta.attrs["objective"] == "beta" and not beta["theory_penalty"].any()
    for objective in (linvae.Objective("lambda-beta", lam=0.5), linvae.Objective("lr", alpha=0.3)):
        ds = linvae.theory_dataset(spectrum, T_GRID, n_latents=4, objective=objective.kind, lam=objective.lam,
                                   alpha=objective.alpha)
        branch = linvae.objective_optimum(T_GRID, LAM, objective, 4)
        for column, field in [("theory_M2", "M2"), ("theory_sigma2", "sigma2"), ("theory_rate", "rate"),
                              ("theory_distortion", "total_distortion"), ("theory_loss", "loss"),
                              ("theory_n_active", "n_active")]:
            np.testing.assert_allclose(ds[column], getattr(branch, field), rtol=1e-12, atol=1e-15, err_msg=column)
        np.testing.assert_allclose(ds["theory_threshold"], linvae.objective_thresholds(LAM, objective), rtol=1e-12)
        # LR with K < d: latents may read two modes, linked by theory_partner
        assert ("theory_partner" in ds) == (objective.kind == "lr")
        if objective.kind == "lr":
            np.testing.assert_array_equal(ds["theory_partner"], branch.partner)


def test_cli_objective_end_to_end(tmp_path, capsys, gaussian):
    data = tmp_path / "x.npy"
    np.save(data, gaussian[:2000])
    out = tmp_path / "th.nc"
    assert main(["theory", "--eigenvalues", "5,2.5,1.2,0.6", "--objective", "lr", "--alpha", "0.5",
                 "--grid", "1e-3:1:5", "--out", str(out)]) == 0
    ds = linvae.load(out)
    assert ds.attrs["objective"] == "lr" and ds.attrs["objective_alpha"] == 0.5
    np.testing.assert_allclose(ds["theory_threshold"], linvae.objective_thresholds(
        np.array([5, 2.5, 1.2, 0.6]), linvae.Objective("lr", alpha=0.5)), rtol=1e-12)
    out = tmp_path / "scan.nc"
    assert main(["scan", "--data", str(data), "--method", "exact", "--latents", "6", "--grid", "1e-3:1:4",
                 "--objective", "lambda-beta", "--lam", "1", "--x64", "--no-standardize", "--quiet",
                 "--out", str(out)]) == 0
    ds = linvae.load(out)
    assert ds.attrs["objective"] == "lambda-beta" and ds.attrs["config_lam"] == 1.0
    np.testing.assert_allclose(ds["loss"], ds["theory_loss"], rtol=1e-5)
    # on the λβ branch every onset lies above the β-VAE's T_k τ* of the same spectrum (thresholds shift up)
    beta_onsets = np.outer(linvae.criterion_onsets(), linvae.mode_thresholds(ds["pca_eigenvalue"].values))
    positive = beta_onsets > 0
    assert np.all(ds["criterion_onset_T"].values[positive] > beta_onsets[positive])
    assert "(lambda-beta)" in capsys.readouterr().out


@pytest.mark.parametrize("flags", [["--objective", "lr", "--lam", "1"], ["--objective", "lr", "--alpha", "-1"],
                                   ["--objective", "nonsense"], ["--alpha-warmup", "100"],
                                   ["--objective", "lr", "--alpha", "1", "--alpha-warmup", "-3"]])
def test_cli_bad_objective_exits_2(tmp_path, capsys, flags):
    out = tmp_path / "never.nc"
    assert main(["scan", "--data", "synthetic", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("linvae: error:") and err.count("\n") == 1
    assert not out.exists()
    if "--alpha-warmup" not in flags:
        assert main(["theory", "--eigenvalues", "1,0.5", "--out", str(out), *flags]) == 2
        assert not out.exists()
