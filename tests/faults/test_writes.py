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
