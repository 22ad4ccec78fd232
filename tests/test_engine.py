"""Scan engine (SPEC.md §4, §6): closed-form agreement, vmap = loop, no recompiles, masking, resume, NaN isolation,
sharding."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import linvae
from linvae import _sgd

dtype_promotion = "standard"  # trains through optax (see conftest)

LAM = np.array([1.0, 0.45, 0.2, 0.09, 0.04, 0.018, 0.0])   # with an exactly singular direction


def measured_M2(ds):
    """Sorted signal fractions of the trained constant-variance encoders, from the stored parameters."""
    C = (ds["pca_eigenvector"].values * ds["pca_eigenvalue"].values) @ ds["pca_eigenvector"].values.T
    A = ds["encoder_weight"].values
    mu2 = np.einsum("gkd,de,gke->gk", A, C, A)
    return np.sort(mu2 / (mu2 + np.exp(ds["log_sigma2_bias"].values)), axis=1)[:, ::-1]


def theory_M2(ds):
    th = ds["theory_M2"].values
    K = ds.sizes["latent"]
    return np.pad(th, ((0, 0), (0, max(0, K - th.shape[1]))))[:, :K]


@pytest.fixture(scope="module")
def gaussian():
    x, _ = linvae.synthetic_data(LAM, 4000, seed=3)
    return x


@pytest.mark.parametrize("K", [4, pytest.param(9, marks=pytest.mark.slow)])
def test_exact_reaches_closed_form(gaussian, K):
    T = linvae.temperature_grid(1e-4, 1, 24)
    ds = linvae.scan(gaussian, T, linvae.ScanConfig(method="exact", n_latents=K, steps=40_000, x64=True),
                     standardize=False, progress=False)
    np.testing.assert_array_less(np.abs(measured_M2(ds) - theory_M2(ds)), 1e-3)
    np.testing.assert_allclose(ds["loss"], ds["theory_loss"], rtol=1e-5)
    assert ds["stopped_early"].all() and not ds["diverged"].any()


def test_exact_float32_reaches_closed_form(gaussian):
    T = linvae.temperature_grid(1e-4, 1, 16)
    ds = linvae.scan(gaussian, T, linvae.ScanConfig(method="exact", n_latents=8, steps=40_000), standardize=False,
                     progress=False)
    assert ds["encoder_weight"].dtype == np.float64  # stored as float64 whatever the training precision
    np.testing.assert_array_less(np.abs(measured_M2(ds) - theory_M2(ds)), 1e-3)


def sgd_setup(G=4, K=5, eval_every=50):
    x, _ = linvae.synthetic_data(LAM[:4], 3000, seed=1)
    key = jax.random.PRNGKey(0)
    state = jax.vmap(_sgd.init_state, in_axes=(0, None, None, None))(jax.random.split(key, G), 4, K, jnp.float64)
    val_blocks, val_mask = _sgd.row_blocks(x[2000:], 256, jnp.float64)
    betas = jnp.asarray(np.geomspace(0.01, 1.0, G))
    args = (betas, jnp.full((G,), 3e-3), jnp.int32(10_000), jnp.int32(1_000), jax.random.split(key, G),
            jax.random.PRNGKey(7), jnp.asarray(x[:2000]), jnp.zeros(4), val_blocks, val_mask, jnp.float64(1.0))
    return state, args


@pytest.mark.parametrize("shared", [True, False])
def test_vmapped_grid_equals_per_point_loop(shared):
    state, args = sgd_setup()
    period = _sgd.make_period(50, 32, False, shared)
    grid = state
    for i in range(3):
        grid = period(grid, jnp.int32(i), *args)
    for g in range(4):
        one = jax.tree.map(lambda a: a[g:g + 1], state)
        one_args = tuple(a[g:g + 1] if j in (0, 1, 4) else a for j, a in enumerate(args))
        for i in range(3):
            one = period(one, jnp.int32(i), *one_args)
        for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(grid)):
            np.testing.assert_allclose(np.asarray(a)[0], np.asarray(b)[g], rtol=1e-10, atol=1e-12)


def test_new_grid_values_do_not_recompile(gaussian):
    cfg = linvae.ScanConfig(method="sgd", n_latents=3, steps=40, batch_size=16, eval_every=20)
    from linvae._engine import grid_sharding

    period = _sgd.make_period(20, 16, False, True, grid_sharding()[0])
    linvae.scan(gaussian, [0.01, 0.1, 1.0], cfg, standardize=False, progress=False)
    size = period._cache_size()
    linvae.scan(gaussian, [0.02, 0.3, 0.9], linvae.ScanConfig(**{**cfg.as_attrs(), "learning_rate": 1e-3,
                                                                  "eval_every": 20, "seed": 5}),
                standardize=False, progress=False)
    assert period._cache_size() == size == 1


def test_sgd_moves_toward_closed_form_and_keeps_ranking(gaussian):
    T = np.array([3e-3, 0.03, 0.3])
    cfg = linvae.ScanConfig(method="sgd", n_latents=6, steps=3000, learning_rate=3e-3, eval_every=250,
                            variance_head="constant")
    ds = linvae.scan(gaussian, T, cfg, standardize=False, progress=False)
    initial = linvae.scan(gaussian, T, linvae.ScanConfig(**{**cfg.as_attrs(), "steps": 1, "eval_every": 1}),
                          standardize=False, progress=False)
    gap_end = np.abs(ds["loss"] - ds["theory_loss"]).values
    gap_start = np.abs(initial["loss"] - ds["theory_loss"]).values
    assert np.all(gap_end < 0.2 * gap_start)
    th = theory_M2(ds)
    err_end = np.abs(measured_M2(ds) - th)
    err_start = np.abs(measured_M2(initial) - th)
    active = th > 0.2
    assert np.all(err_end[active] < err_start[active])
    # Ranking kept at T = 0.03 and 0.3: every strongly active mode (closed-form M² > 0.5) carries signal and no
    # collapsed one does. At T = 3e-3 a short run is still mixing modes: aligning a latent with one PCA mode is
    # driven only by the T-weighted rate, so it is slow at small T (the exact method's test checks alignment).
    n_measured = (measured_M2(ds) > 0.1).sum(1)[1:]
    assert np.all(n_measured >= (th[1:] > 0.5).sum(1)) and np.all(n_measured <= (th[1:] > 0).sum(1))


def test_masking_and_early_stopping_per_point(gaussian):
    state, args = sgd_setup(G=3, eval_every=50)
    args = list(args)
    args[0] = jnp.asarray([0.003, 0.003, 0.006])   # small β: healthy points keep improving
    args[3] = jnp.int32(100)   # patience: 100 updates without improvement
    args[1] = jnp.asarray([3e-3, 0.0, 3e-3])   # point 1 cannot improve after its first evaluation
    period = _sgd.make_period(50, 32, False, True)
    st = state
    for i in range(6):
        st = period(st, jnp.int32(i), *args)
    done = np.asarray(st.done)
    assert done[1] and not done[0] and not done[2]
    assert bool(st.stopped_early[1]) and int(st.step[1]) == 150
    frozen = jax.tree.map(lambda a: np.asarray(a)[1], st.params)
    st2 = period(st, jnp.int32(6), *args)
    for a, b in zip(jax.tree.leaves(frozen), jax.tree.leaves(st2.params)):
        np.testing.assert_array_equal(a, np.asarray(b)[1])
    assert int(st2.step[0]) == 350


def test_nan_point_is_isolated(gaussian):
    T = np.array([0.01, 0.1, 1.0])  # first a healthy scan, then one point driven to overflow by its step size
    cfg = linvae.ScanConfig(method="sgd", n_latents=3, steps=200, batch_size=32, eval_every=50, learning_rate=1e-3)
    clean = linvae.scan(gaussian, T, cfg, standardize=False, progress=False)
    assert not clean["diverged"].any() and np.all(np.isfinite(clean["loss"]))
    # One diverging point among healthy ones: huge learning rate only where T = 0.1.
    state, args = sgd_setup(G=3)
    args = list(args)
    args[1] = jnp.asarray([3e-3, 1e12, 3e-3])
    period = _sgd.make_period(50, 32, False, True)
    st = state
    ref_args = list(args)
    ref_args[1] = jnp.asarray([3e-3, 3e-3, 3e-3])
    ref = state
    for i in range(3):
        st = period(st, jnp.int32(i), *args)
        ref = period(ref, jnp.int32(i), *ref_args)
    assert bool(st.diverged[1]) and bool(st.done[1]) and not st.diverged[0] and not st.diverged[2]
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree.leaves(st.params))
    for a, b in zip(jax.tree.leaves(st.params), jax.tree.leaves(ref.params)):
        np.testing.assert_array_equal(np.asarray(a)[[0, 2]], np.asarray(b)[[0, 2]])


@pytest.mark.parametrize("method,kill_after", [("sgd", 2), ("exact", 1)])  # exact: killed after its warm-up
def test_resume_equals_uninterrupted(gaussian, tmp_path, monkeypatch, method, kill_after):
    from linvae import _engine

    T = np.array([0.003, 0.03, 0.3])
    cfg = linvae.ScanConfig(method=method, n_latents=4, steps=600 if method == "sgd" else 5000, batch_size=32,
                            eval_every=100,
                            learning_rate=3e-3 if method == "sgd" else None)
    full = linvae.scan(gaussian, T, cfg, standardize=False, progress=False)
    ckpt = tmp_path / "run.ckpt.npz"
    original = _engine.run_grid

    def killed(period_fn, *a, **kw):
        calls = {"n": 0}

        def period(*args):
            if calls["n"] == kill_after:
                raise KeyboardInterrupt
            calls["n"] += 1
            return period_fn(*args)
        return original(period, *a, **kw)

    monkeypatch.setattr(_engine, "run_grid", killed)
    with pytest.raises(KeyboardInterrupt):
        linvae.scan(gaussian, T, cfg, standardize=False, progress=False, checkpoint=ckpt, checkpoint_every=0)
    monkeypatch.setattr(_engine, "run_grid", original)
    assert ckpt.exists()
    resumed = linvae.scan(gaussian, T, cfg, standardize=False, progress=False, checkpoint=ckpt, resume=True)
    assert resumed.attrs["resumed_from_period"] == kill_after
    for name in ["encoder_weight", "decoder_weight", "log_sigma2_bias", "train_steps", "loss"]:
        np.testing.assert_allclose(resumed[name], full[name], rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.slow  # ~40 s; test_distributed checks a grid sharded over 2 processes x 2 devices against one process
def test_sharded_grid_equals_unsharded(tmp_path):
    script = textwrap.dedent("""
        import json, sys, numpy as np, jax
        jax.config.update("jax_enable_x64", True)
        import linvae
        x, _ = linvae.synthetic_data([1.0, 0.4, 0.1], 2000, seed=0)
        cfg = linvae.ScanConfig(method=sys.argv[1], n_latents=3, steps=300, batch_size=32, eval_every=100, x64=True)
        ds = linvae.scan(x, [0.003, 0.03, 0.1, 0.3, 0.6], cfg, standardize=False, progress=False)
        print(json.dumps({"devices": jax.local_device_count(), "A": ds["encoder_weight"].values.tolist(),
                          "loss": ds["loss"].values.tolist()}))
    """)
    out = {}
    for n_dev in (1, 4):
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={n_dev}", "JAX_PLATFORMS": "cpu"}
        for method in ("sgd", "exact"):
            proc = subprocess.run([sys.executable, "-c", script, method], env=env, capture_output=True, text=True,
                                  timeout=300)
            assert proc.returncode == 0, proc.stderr[-2000:]
            out[n_dev, method] = json.loads(proc.stdout.strip().splitlines()[-1])
    for method in ("sgd", "exact"):
        assert out[1, method]["devices"] == 1 and out[4, method]["devices"] == 4
        np.testing.assert_allclose(out[4, method]["A"], out[1, method]["A"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(out[4, method]["loss"], out[1, method]["loss"], rtol=1e-9)


def test_checkpoint_of_another_scan_is_not_resumed(gaussian, tmp_path):
    T = np.array([0.01, 0.1])
    cfg = linvae.ScanConfig(method="sgd", n_latents=3, steps=200, batch_size=32, eval_every=100)
    ckpt = tmp_path / "c.npz"
    linvae.scan(gaussian, T, cfg, standardize=False, progress=False, checkpoint=ckpt, analyse=False)
    same = linvae.scan(gaussian, T, cfg, standardize=False, progress=False, checkpoint=ckpt, resume=True,
                       analyse=False)
    other = linvae.scan(gaussian, T, cfg, standardize=True, progress=False, checkpoint=ckpt, resume=True,
                        analyse=False)
    assert same.attrs["resumed_from_period"] == 2 and other.attrs["resumed_from_period"] == 0
