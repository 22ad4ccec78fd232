"""SIGINT and SIGTERM during a CLI scan: one line, exit 130 / 143, a checkpoint, and ``--resume`` finishes with the
uninterrupted result bit for bit (docs/training.md, "Checkpoints, interrupts and concurrent runs")."""

import os
import signal
import subprocess
import sys
import time

import numpy as np

import linvae

ARGS = ["--method", "sgd", "--latents", "2", "--grid", "0.01:1:4", "--steps", "20000", "--eval-every", "50",
        "--batch-size", "16", "--patience", "1", "--quiet"]


def _cli(tmp_path, out, *extra, **popen):
    env = {**os.environ, "LINVAE_CHECKPOINT_EVERY": "0", "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen([sys.executable, "-m", "linvae.cli", "scan", "--data", str(tmp_path / "t.csv"),
                             "--out", str(out), *ARGS, *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def _interrupted(tmp_path, sig):
    """A scan stopped by ``sig`` once training has started (its first checkpoint exists); the running process."""
    out = tmp_path / f"{sig.name}.nc"
    proc = _cli(tmp_path, out)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(f"{out.name}.*.ckpt.npz")):  # a checkpoint after every period: training runs
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1]
        time.sleep(0.02)
    proc.send_signal(sig)
    return out, proc


def test_interrupt_checkpoints_and_resume_is_bit_identical(tmp_path):
    """SIGINT and SIGTERM: exit 130 / 143, one line naming the checkpoint, no traceback, no results file; then
    ``--resume`` gives an uninterrupted run's variables bit for bit. The runs overlap, to keep the test short."""
    rng = np.random.default_rng(0)
    np.savetxt(tmp_path / "t.csv", rng.normal(size=(400, 3)) * [3.0, 1.0, 0.3], delimiter=",", header="a,b,c",
               comments="")
    full = _cli(tmp_path, tmp_path / "full.nc")
    stopped = {sig: _interrupted(tmp_path, sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    resumed = {}
    for sig, (out, proc) in stopped.items():
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + sig, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith("linvae: interrupted; checkpoint saved to ") and lines[0].endswith("--resume")
        assert not out.exists() and list(tmp_path.glob(f"{out.name}.*.ckpt.npz"))
        resumed[sig] = _cli(tmp_path, out, "--resume")
    for proc in (full, *resumed.values()):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "no checkpoint" not in err, err
    reference = linvae.load(tmp_path / "full.nc")
    for sig, (out, _) in stopped.items():
        again = linvae.load(out)
        assert again.attrs["resumed_from_period"] > 0 and not list(tmp_path.glob(f"{out.name}.*.ckpt.npz"))
        assert set(reference.data_vars) == set(again.data_vars)
        for name in reference.data_vars:
            assert np.array_equal(reference[name].values, again[name].values,
                                  equal_nan=reference[name].dtype.kind == "f"), (sig.name, name)


def test_checkpoints_are_per_scan_and_resume_names_another_scans(tmp_path, capsys):
    """A checkpoint carries a digest of the scan in its name; ``--resume`` with only another scan's checkpoint next
    to ``--out`` refuses at once, in one line, and leaves it alone."""
    from linvae.cli import main

    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(400, 3)))
    other = tmp_path / "r.nc.0123456789ab.ckpt.npz"
    other.write_bytes(b"another scan")
    code = main(["scan", "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "r.nc"), "--method", "exact",
                 "--quiet", "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"a checkpoint of another scan (different data, seed or settings) is at {other}" in err
    assert other.read_bytes() == b"another scan" and not (tmp_path / "r.nc").exists()
