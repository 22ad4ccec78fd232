"""MLP VAEs on the scan engine (docs/nonlinear.md): the vmapped grid equals a per-point loop, a diverging point is
isolated, resume equals an uninterrupted run, bad configurations are refused before training, and the identity MLP
reproduces the linear theory (the linear limit)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import linvae
from linvae import InputError
from linvae.analysis import add_analysis, collapse_fit
from linvae.data import synthetic_data

# _sgd: internals on purpose (the compiled period of an MLP grid)
from linvae.train import ScanConfig, _sgd, scan

from helpers import LAM_SINGULAR, assert_grid_equals_loop, killed_then_resumed, sgd_inputs

dtype_promotion = "standard"  # trains through optax (see conftest)

ARCHITECTURE = ((8, 6), "gelu")


def mlp_setup(G=3, K=3):
    x, _ = synthetic_data(LAM_SINGULAR[:4], 1500, seed=1)
    return sgd_inputs(x[:1000], x[1000:], np.geomspace(0.01, 1.0, G), K, ARCHITECTURE)


@pytest.mark.slow  # ~11 s; the same engine property is tested for the linear model in the default suite
def test_vmapped_mlp_grid_equals_per_point_loop():
    state, args = mlp_setup()
    assert isinstance(state.params, linvae.model.MlpParams)
    grid = assert_grid_equals_loop(_sgd.make_period(40, 32, False, True), state, args, 1)
    assert not np.allclose(grid.params.encoder[0].weight, state.params.encoder[0].weight)  # it trained


def test_diverging_mlp_point_is_isolated():
    state, args = mlp_setup()
    period = _sgd.make_period(40, 32, False, True)
    st, ref = state, state
    for i in range(3):
        st = period(st, jnp.int32(i), args._replace(learning_rate=jnp.asarray([3e-3, 1e12, 3e-3])))
        ref = period(ref, jnp.int32(i), args)
    assert bool(st.diverged[1]) and bool(st.done[1]) and not st.diverged[0] and not st.diverged[2]
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree.leaves(st.params))
    for a, b in zip(jax.tree.leaves(st.params), jax.tree.leaves(ref.params)):
        np.testing.assert_array_equal(np.asarray(a)[[0, 2]], np.asarray(b)[[0, 2]])


@pytest.mark.slow  # ~12 s; resume is the engine's, tested for the linear model in the default suite
def test_mlp_resume_equals_uninterrupted(singular_gaussian, tmp_path, monkeypatch):
    """Killed after two periods and resumed: bit-identical to the uninterrupted run; with the constant variance head,
    whose log-variance slope stays exactly zero."""
    T = np.array([0.003, 0.03, 0.3])
    cfg = ScanConfig(method="sgd", model="mlp", hidden=(8, 8), n_latents=4, steps=600, batch_size=32,
                     eval_every=100, learning_rate=3e-3, variance_head="constant")
    full = scan(singular_gaussian, T, cfg, standardize=False, progress=False)
    resumed = killed_then_resumed(singular_gaussian, T, cfg, tmp_path / "run.ckpt.npz", monkeypatch, 2)
    assert resumed.attrs["resumed_from_period"] == 2
    for name in ["mlp_encoder_weight_1", "mlp_mean_weight", "mlp_output_weight", "train_steps", "loss", "M2"]:
        np.testing.assert_array_equal(resumed[name], full[name], err_msg=name)
    assert not np.any(full["mlp_log_sigma2_weight"].values) and np.any(full["mlp_log_sigma2_bias"].values)


@pytest.mark.parametrize("kw, fix", [
    ({"method": "exact"}, "--method sgd"), ({"objective": "lr", "alpha": 1.0}, "drop --objective"),
    ({"hidden": ()}, "--hidden 64,64"), ({"hidden": (8, 0)}, "--hidden 64,64"), ({"activation": "swish"}, "gelu")])
def test_bad_mlp_configuration_is_refused(kw, fix):
    with pytest.raises(InputError, match=fix):
        ScanConfig(**{"method": "sgd", "model": "mlp", **kw})


def test_bootstrap_of_an_mlp_scan_is_refused_before_training(singular_gaussian):
    with pytest.raises(InputError, match="linear-model scans only"):
        scan(singular_gaussian, [0.1], ScanConfig(method="sgd", model="mlp"), bootstrap=10, progress=False)


def test_identity_mlp_reproduces_the_linear_thresholds():
    """The linear limit (docs/nonlinear.md): one hidden layer of 16 identity units, 6 latents, the first 10,000 rows
    of the demo data, 12 prices, 15,000 Adam updates at 1e-3 (about 30 s on 2 CPU cores). Measured on the training
    split, where the β-VAE law holds with r = 1, every mode above 1 % of the variance collapses within 5 % of
    λ_k / V (seeds 0-2: within 2.2, 1.0, 1.3 %)."""
    table = linvae.default_table()
    cfg = ScanConfig(method="sgd", model="mlp", hidden=(16,), activation="identity", n_latents=6, steps=15_000,
                     learning_rate=1e-3, eval_every=500, patience=1.0)
    ds = scan(table.values[:10_000], np.geomspace(3e-3, 1, 12), cfg, progress=False, analyse=False,
              store_split=True)
    rows = table.values[:10_000][ds["sample_split"].values == 0]  # the training split, in the model's units
    ds = add_analysis(ds, (rows - ds["data_mean"].values) / ds["data_scale"].values)
    big = ds["pca_fraction"].values > 1e-2
    assert big.sum() == 6  # of the standardised training split
    fitted = collapse_fit(ds["T"].values, ds["M2_ranked"].values, variance_ratio=False).threshold[:6]
    closed = ds["theory_threshold"].values[big]
    assert np.all(np.abs(fitted / closed - 1) < 0.05), fitted / closed - 1
    assert not ds["diverged"].any()


def test_mlp_keeps_fewer_latents_at_lower_distortion_on_the_manifold():
    """The ground truth where nonlinearity matters (docs/nonlinear.md, "The comparison"): 10,000 rows of
    ``--data synthetic:manifold`` (3 factors, 12 features), 6 latents, an MLP of hidden widths 32,32 with GELU,
    5,000 Adam updates at 2e-3 (about 15 s on 2 CPU cores). At every price where the linear optimum keeps at least 4
    modes, the trained MLP keeps fewer active latents (KL rate above 0.01 nats) at a lower distortion."""
    table = linvae.data.manifold_table(10_000, seed=0)
    cfg = ScanConfig(method="sgd", model="mlp", hidden=(32, 32), n_latents=6, steps=5_000, learning_rate=2e-3,
                     eval_every=250, patience=1.0)
    ds = scan(table, [0.01, 0.02, 0.04], cfg, progress=False)
    linear = ds["theory_n_active"].values
    assert np.all(linear >= 4)
    mlp = ds["active_kl"].sum("latent").values
    assert np.all(mlp < linear), (mlp, linear)
    assert np.all(ds["distortion"].values < ds["theory_distortion"].values)
    assert not ds["diverged"].any()
