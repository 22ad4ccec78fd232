"""Several processes, one grid (jax.distributed): two local CPU processes of two devices each train the same scan
as one process, only process 0 writes the checkpoint, and every process resumes from it."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from linvae.train import ScanConfig, scan

dtype_promotion = "standard"  # trains through optax (see conftest)

T = [0.003, 0.03, 0.1, 0.3]  # 4 points: the padded grid (hence the keys) is the same on 1, 2 and 4 devices
SETUP = """
from linvae.data import synthetic_data
x, _ = synthetic_data([1.0, 0.4, 0.1], 2000, seed=0)
CONFIG = dict(n_latents=3, steps=300, batch_size=32, eval_every=100, x64=True)
"""

WORKER = textwrap.dedent("""
    import json, pathlib, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    from linvae.train import init_from_env
    assert init_from_env()  # LINVAE_COORDINATOR, LINVAE_NUM_PROCESSES, LINVAE_PROCESS_ID: the CLI's way in
    pid, tmp = jax.process_index(), pathlib.Path(sys.argv[1])
""") + SETUP + textwrap.dedent("""
    from linvae.train import ScanConfig, scan
    T = json.loads(sys.argv[2])
    out = {"processes": jax.process_count(), "devices": len(jax.devices())}
    for method in ("sgd", "exact"):
        ds = scan(x, T, ScanConfig(method=method, **CONFIG), standardize=False, progress=False, analyse=False,
                  checkpoint=tmp / f"{method}{pid}.ckpt.npz", checkpoint_every=0)
        out[method] = {"A": ds["encoder_weight"].values.tolist(), "loss": ds["loss"].values.tolist(),
                       "steps": ds["train_steps"].values.tolist(), "n_devices": ds.attrs["n_devices"]}
    # Every process reads process 0's checkpoint (one filesystem) and resumes from its last period.
    ds = scan(x, T, ScanConfig(method="sgd", **CONFIG), standardize=False, progress=False, analyse=False,
              checkpoint=tmp / "sgd0.ckpt.npz", resume=True)
    out["resumed"] = {"from": ds.attrs["resumed_from_period"], "A": ds["encoder_weight"].values.tolist()}
    print(json.dumps(out))
""")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one(tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu",
           "LINVAE_COORDINATOR": f"127.0.0.1:{free_port()}", "LINVAE_NUM_PROCESSES": "2"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), json.dumps(T)],
                              env={**env, "LINVAE_PROCESS_ID": str(pid)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for pid in (0, 1)]
    outputs = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=120)  # a hung collective fails the test, not the CI job
            assert proc.returncode == 0, stderr[-3000:]
            outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    except subprocess.TimeoutExpired:
        pytest.fail("a process of the two-process scan did not finish within 120 s (hung collective?)")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    namespace = {}
    exec(SETUP, namespace)
    for method, n_devices in (("sgd", 4), ("exact", 2)):  # exact on CPU: one device per process
        reference = scan(namespace["x"], T, ScanConfig(method=method, **namespace["CONFIG"]), standardize=False,
                         progress=False, analyse=False)
        for out in outputs:
            assert out["processes"] == 2 and out["devices"] == 4 and out[method]["n_devices"] == n_devices
            np.testing.assert_allclose(out[method]["A"], reference["encoder_weight"], rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(out[method]["loss"], reference["loss"], rtol=1e-9)
            np.testing.assert_array_equal(out[method]["steps"], reference["train_steps"])
        assert (tmp_path / f"{method}0.ckpt.npz").is_file() and not (tmp_path / f"{method}1.ckpt.npz").exists()
    for out in outputs:
        assert out["resumed"]["from"] == 3
        np.testing.assert_array_equal(out["resumed"]["A"], out["sgd"]["A"])
