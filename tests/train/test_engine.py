"""Scan engine (docs/theory.md §4, §6): vmap = loop, no recompiles, masking, NaN isolation, resume, sharding."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from linvae.data import synthetic_data

# _engine, _sgd: internals on purpose (the compiled grid period: vmap = loop, cache size, per-point masking; and
# the host loop run_grid, interrupted to test resume)
from linvae.train import ScanConfig, _engine, _sgd, scan

from helpers import LAM_SINGULAR, assert_grid_equals_loop, killed_then_resumed, sgd_inputs

dtype_promotion = "standard"  # trains through optax (see conftest)


def sgd_setup(G=4, K=5):
    """A grid of G β-VAEs (β from 0.01 to 1) on 2000 training and 1000 validation rows of four modes."""
    x, _ = synthetic_data(LAM_SINGULAR[:4], 3000, seed=1)
    return sgd_inputs(x[:2000], x[2000:], np.geomspace(0.01, 1.0, G), K)


@pytest.mark.parametrize("shared", [True, False])
def test_vmapped_grid_equals_per_point_loop(shared):
    state, args = sgd_setup()
    assert_grid_equals_loop(_sgd.make_period(50, 32, False, shared), state, args, 3)


def test_new_grid_values_do_not_recompile(singular_gaussian):
    cfg = ScanConfig(method="sgd", n_latents=3, steps=40, batch_size=16, eval_every=20)

    period = _sgd.make_period(20, 16, False, True, _engine.grid_sharding()[0])
    scan(singular_gaussian, [0.01, 0.1, 1.0], cfg, standardize=False, progress=False)
    size = period._cache_size()
    scan(singular_gaussian, [0.02, 0.3, 0.9],
         ScanConfig(**{**cfg.as_attrs(), "learning_rate": 1e-3, "eval_every": 20, "seed": 5}),
         standardize=False, progress=False)
    assert period._cache_size() == size == 1


def test_masking_and_early_stopping_per_point(singular_gaussian):
    state, args = sgd_setup(G=3)
    args = args._replace(
        beta=jnp.asarray([0.003, 0.003, 0.006]),   # small β: healthy points keep improving
        patience=jnp.int32(100),   # patience: 100 updates without improvement
        learning_rate=jnp.asarray([3e-3, 0.0, 3e-3]))   # point 1 cannot improve after its first evaluation
    period = _sgd.make_period(50, 32, False, True)
    st = state
    for i in range(6):
        st = period(st, jnp.int32(i), args)
    done = np.asarray(st.done)
    assert done[1] and not done[0] and not done[2]
    assert bool(st.stopped_early[1]) and int(st.step[1]) == 150
    frozen = jax.tree.map(lambda a: np.asarray(a)[1], st.params)
    st2 = period(st, jnp.int32(6), args)
    for a, b in zip(jax.tree.leaves(frozen), jax.tree.leaves(st2.params)):
        np.testing.assert_array_equal(a, np.asarray(b)[1])
    assert int(st2.step[0]) == 350


def test_nan_point_is_isolated(singular_gaussian):
    T = np.array([0.01, 0.1, 1.0])  # first a healthy scan, then one point driven to overflow by its step size
    cfg = ScanConfig(method="sgd", n_latents=3, steps=200, batch_size=32, eval_every=50, learning_rate=1e-3)
    clean = scan(singular_gaussian, T, cfg, standardize=False, progress=False)
    assert not clean["diverged"].any() and np.all(np.isfinite(clean["loss"]))
    # One diverging point among healthy ones: huge learning rate only where T = 0.1.
    state, args = sgd_setup(G=3)
    args = args._replace(learning_rate=jnp.asarray([3e-3, 1e12, 3e-3]))
    period = _sgd.make_period(50, 32, False, True)
    st = state
    ref_args = args._replace(learning_rate=jnp.asarray([3e-3, 3e-3, 3e-3]))
    ref = state
    for i in range(3):
        st = period(st, jnp.int32(i), args)
        ref = period(ref, jnp.int32(i), ref_args)
    assert bool(st.diverged[1]) and bool(st.done[1]) and not st.diverged[0] and not st.diverged[2]
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree.leaves(st.params))
    for a, b in zip(jax.tree.leaves(st.params), jax.tree.leaves(ref.params)):
        np.testing.assert_array_equal(np.asarray(a)[[0, 2]], np.asarray(b)[[0, 2]])


@pytest.mark.parametrize("method,kill_after", [("sgd", 2), ("exact", 1)])  # exact: killed after its warm-up
def test_resume_equals_uninterrupted(singular_gaussian, tmp_path, monkeypatch, method, kill_after):
    T = np.array([0.003, 0.03, 0.3])
    cfg = ScanConfig(method=method, n_latents=4, steps=600 if method == "sgd" else 5000, batch_size=32,
                     eval_every=100, learning_rate=3e-3 if method == "sgd" else None)
    full = scan(singular_gaussian, T, cfg, standardize=False, progress=False)
    resumed = killed_then_resumed(singular_gaussian, T, cfg, tmp_path / "run.ckpt.npz", monkeypatch, kill_after)
    assert resumed.attrs["resumed_from_period"] == kill_after
    for name in ["encoder_weight", "decoder_weight", "log_sigma2_bias", "train_steps", "loss"]:
        np.testing.assert_allclose(resumed[name], full[name], rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.slow  # ~60 s; test_distributed checks a grid sharded over 2 processes x 2 devices against one process
def test_sharded_grid_equals_unsharded(tmp_path):
    script = textwrap.dedent("""
        import json, sys, numpy as np, jax
        jax.config.update("jax_enable_x64", True)
        import linvae
        from linvae.data import synthetic_data
        x, _ = synthetic_data([1.0, 0.4, 0.1], 2000, seed=0)
        model = dict(method="sgd", model="mlp", hidden=(8,)) if sys.argv[1] == "mlp" else dict(method=sys.argv[1])
        cfg = linvae.ScanConfig(**model, n_latents=3, steps=300, batch_size=32, eval_every=100, x64=True)
        ds = linvae.scan(x, [0.003, 0.03, 0.1, 0.3, 0.6], cfg, standardize=False, progress=False)
        print(json.dumps({"devices": jax.local_device_count(), "M2": ds["M2"].values.tolist(),
                          "loss": ds["loss"].values.tolist()}))
    """)
    out = {}
    variants = ("sgd", "exact", "mlp")
    for n_dev in (1, 4):
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={n_dev}", "JAX_PLATFORMS": "cpu"}
        for variant in variants:
            proc = subprocess.run([sys.executable, "-c", script, variant], env=env, capture_output=True, text=True,
                                  timeout=300)
            assert proc.returncode == 0, proc.stderr[-2000:]
            out[n_dev, variant] = json.loads(proc.stdout.strip().splitlines()[-1])
    for variant in variants:
        assert out[1, variant]["devices"] == 1 and out[4, variant]["devices"] == 4
        np.testing.assert_allclose(out[4, variant]["M2"], out[1, variant]["M2"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(out[4, variant]["loss"], out[1, variant]["loss"], rtol=1e-9)


def test_checkpoint_of_another_scan_is_not_resumed(singular_gaussian, tmp_path):
    T = np.array([0.01, 0.1])
    cfg = ScanConfig(method="sgd", n_latents=3, steps=200, batch_size=32, eval_every=100)
    ckpt = tmp_path / "c.npz"
    scan(singular_gaussian, T, cfg, standardize=False, progress=False, checkpoint=ckpt, analyse=False)
    same = scan(singular_gaussian, T, cfg, standardize=False, progress=False, checkpoint=ckpt, resume=True,
                analyse=False)
    other = scan(singular_gaussian, T, cfg, standardize=True, progress=False, checkpoint=ckpt, resume=True,
                 analyse=False)
    assert same.attrs["resumed_from_period"] == 2 and other.attrs["resumed_from_period"] == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_checkpoints_at_the_period_boundary_then_raises(singular_gaussian, tmp_path, monkeypatch, sig):
    """A signal mid-period: the period finishes, its state is checkpointed, then :class:`linvae.train.Interrupted`
    (a KeyboardInterrupt) carries the path and the signal; the previous handlers are back; resume continues."""
    from linvae.train import Interrupted

    T = np.array([0.01, 0.1])
    cfg = ScanConfig(method="sgd", n_latents=3, steps=600, batch_size=32, eval_every=100)
    ckpt = tmp_path / "s.ckpt.npz"
    original = _engine.run_grid
    before = signal.getsignal(sig)

    def signalled(period_fn, *a, **kw):
        calls = {"n": 0}

        def period(*args):
            calls["n"] += 1
            if calls["n"] == 2:
                os.kill(os.getpid(), sig)  # handled between bytecodes: while this period is still running
            return period_fn(*args)
        return original(period, *a, **kw)

    monkeypatch.setattr(_engine, "run_grid", signalled)
    with pytest.raises(Interrupted) as caught:
        scan(singular_gaussian, T, cfg, standardize=False, progress=False, checkpoint=ckpt, checkpoint_every=1e9,
             analyse=False)
    assert isinstance(caught.value, KeyboardInterrupt)
    assert caught.value.checkpoint == ckpt and caught.value.signum == sig and signal.getsignal(sig) is before
    with np.load(ckpt) as f:
        assert int(f["period"]) == 2
    monkeypatch.setattr(_engine, "run_grid", original)
    resumed = scan(singular_gaussian, T, cfg, standardize=False, progress=False, checkpoint=ckpt, resume=True,
                   analyse=False)
    assert resumed.attrs["resumed_from_period"] == 2


def test_resume_names_a_checkpoint_of_another_scan(singular_gaussian, tmp_path, capsys):
    T = np.array([0.01, 0.1])
    cfg = ScanConfig(method="sgd", n_latents=3, steps=200, batch_size=32, eval_every=100)
    ckpt = tmp_path / "c.npz"
    scan(singular_gaussian, T, cfg, standardize=False, progress=False, checkpoint=ckpt, analyse=False)
    capsys.readouterr()
    other = ScanConfig(method="sgd", n_latents=3, steps=200, batch_size=32, eval_every=100, seed=1)
    scan(singular_gaussian, T, other, standardize=False, progress=False, checkpoint=ckpt, resume=True, analyse=False)
    assert "a checkpoint of another scan (different data, seed or settings) is at" in capsys.readouterr().err
