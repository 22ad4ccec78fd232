"""The persistent compilation cache (issue 13 item 7; docs/training.md, "Compilation cache"): on by default for the
command line, in the folder LINVAE_CACHE_DIR names, off with --no-cache or LINVAE_NO_CACHE; results unchanged."""

import os
import subprocess
import sys

import numpy as np
import xarray as xr

from linvae.train import CACHE_DIR_ENV, NO_CACHE_ENV, default_cache_dir


def _run(tmp_path, out, *extra, **env):
    data = tmp_path / "x.npy"
    if not data.exists():
        np.save(data, np.random.default_rng(0).normal(size=(300, 4)) * np.array([3.0, 2.0, 1.0, 0.5]))
    environ = {k: v for k, v in os.environ.items() if k not in (CACHE_DIR_ENV, NO_CACHE_ENV)}
    environ.update(env)
    argv = ["scan", "--data", str(data), "--grid", "1e-3:1:4", "--latents", "4", "--quiet",
            "--out", str(tmp_path / out)]
    proc = subprocess.run([sys.executable, "-m", "linvae.cli", *argv, *extra],
                          env=environ, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return xr.load_dataset(tmp_path / out)


def test_cache_is_filled_reused_and_changes_nothing(tmp_path):
    cache = tmp_path / "cache"
    first = _run(tmp_path, "a.nc", **{CACHE_DIR_ENV: str(cache)})
    entries = sorted(p.name for p in cache.iterdir())
    assert entries, "the first run wrote no compiled program"
    second = _run(tmp_path, "b.nc", **{CACHE_DIR_ENV: str(cache)})
    assert sorted(p.name for p in cache.iterdir()) == entries  # the second run found every program it needed
    off = _run(tmp_path, "c.nc", "--no-cache", **{CACHE_DIR_ENV: str(tmp_path / "unused")})
    for ds in (second, off):
        np.testing.assert_array_equal(ds["encoder_weight"].values, first["encoder_weight"].values)
        np.testing.assert_array_equal(ds["M2"].values, first["M2"].values)
    assert not (tmp_path / "unused").exists()


def test_environment_variable_turns_it_off(tmp_path):
    _run(tmp_path, "a.nc", **{CACHE_DIR_ENV: str(tmp_path / "cache"), NO_CACHE_ENV: "1"})
    assert not (tmp_path / "cache").exists()


def test_default_folder_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert default_cache_dir() == tmp_path / "linvae" / "jax"
    assert default_cache_dir().parts[-2:] == ("linvae", "jax")


def test_python_function_skips_what_it_cannot_use(monkeypatch, tmp_path):
    """Off under LINVAE_NO_CACHE (the suite sets it), and a folder that cannot be created is skipped, not fatal."""
    from linvae.train import enable_compilation_cache

    assert enable_compilation_cache(tmp_path / "c") is None and not (tmp_path / "c").exists()
    monkeypatch.delenv(NO_CACHE_ENV)
    (tmp_path / "file").write_text("")
    assert enable_compilation_cache(tmp_path / "file" / "cache") is None
