"""Output-location faults (issue 13, items 3): one line, exit 2, no traceback, nothing left behind, before work."""

import numpy as np
import pytest

from linvae.cli import main


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).normal(size=(400, 4)))
    return path


def _fails(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("linvae: error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def _scan(table, out, *extra):
    return ["scan", "--data", str(table), "--out", str(out), "--method", "exact", "--quiet", *extra]


def test_out_is_a_directory(table, tmp_path, capsys):
    err = _fails(capsys, _scan(table, tmp_path))
    assert "is a directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_out_in_unwritable_place(table, capsys):
    _fails(capsys, _scan(table, "/proc/r.nc"))


def test_figures_under_a_regular_file(table, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    err = _fails(capsys, _scan(table, tmp_path / "r.nc", "--figures", str(blocker / "figs")))
    assert "is a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "x.npy"]


def test_report_on_a_directory(tmp_path, capsys):
    assert "is a directory" in _fails(capsys, ["report", str(tmp_path)])


def test_plot_on_missing_file(tmp_path, capsys):
    assert "does not exist" in _fails(capsys, ["plot", str(tmp_path / "none.nc"), "--out", str(tmp_path / "f")])


def test_report_csv_is_a_directory(tmp_path, capsys):
    err = _fails(capsys, ["report", str(tmp_path / "none.nc"), "--csv", str(tmp_path)])
    assert "is a directory" in err  # the output location is checked before the results file is read


def test_two_scans_started_at_once_on_one_out(table, tmp_path):
    """Two processes, different seeds, the same --out, started together: both finish, the file holds one complete
    result (the last to finish), and each kept its own checkpoint until it finished (docs/training.md)."""
    import os
    import subprocess
    import sys

    import xarray as xr

    out = tmp_path / "r.nc"
    env = {**os.environ, "LINVAE_CHECKPOINT_EVERY": "0"}
    procs = [subprocess.Popen([sys.executable, "-m", "linvae.cli", *_scan(table, out, "--seed", str(seed),
                                                                        "--grid", "1e-3:1:6")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    results = [proc.communicate(timeout=600) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in results]
    ds = xr.load_dataset(out)
    assert ds.attrs["split_seed"] in (1, 2) and np.all(np.isfinite(ds["M2"].values))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc", "x.npy"]  # no checkpoint or temporary file left
