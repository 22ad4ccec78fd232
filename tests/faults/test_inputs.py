"""Bad data and bad arguments fail before training with one line and leave nothing behind (issue 13, items 1, 5,
6); a 200-row table runs end to end with the entropy criterion skipped and noted."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import linvae
from linvae import InputError
from linvae.cli import main
from linvae.data import Table, check_table


@pytest.fixture
def files(tmp_path):
    """Small tables, good and broken, written as a user would."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 4)) * np.array([3.0, 2.0, 1.0, 0.5])
    np.savetxt(tmp_path / "small.csv", x, delimiter=",", header="a,b,c,d", comments="")
    bad = x.copy()
    bad[3, 2] = np.nan  # data row 4, line 5 of the CSV (line 1 is the header)
    bad[7, 0] = np.inf
    np.savetxt(tmp_path / "nan.csv", bad, delimiter=",", header="a,b,c,d", comments="")
    np.save(tmp_path / "nan.npy", bad)
    np.save(tmp_path / "huge.npy", x * np.array([1.0, 1e300, 1.0, 1.0]))
    np.save(tmp_path / "e30.npy", x * np.array([1.0, 1e30, 1.0, 1.0]))
    np.save(tmp_path / "const.npy", np.column_stack([x, np.ones(200)]))
    (tmp_path / "header.csv").write_text("a,b,c,d\n")
    (tmp_path / "csv.npy").write_text((tmp_path / "small.csv").read_text())
    (tmp_path / "out").mkdir()
    return tmp_path


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def _one_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("linvae: error: "), err
    assert "Traceback" not in err and "np.float64" not in err
    return lines[0]


CASES = {  # argv after "scan --quiet --out OUT"; what the one line must say
    "nan csv": (["--data", "nan.csv"], "2 NaN or infinite cell(s), first at data row 4 (line 5), column 'c'"),
    "nan npy": (["--data", "nan.npy"], "first at row 3 (0-based), column 'x2'"),
    "overflow": (["--data", "huge.npy"], "covariance of the training rows overflows (feature 'x1'"),
    "constant": (["--data", "const.npy"], "feature(s) x4 are constant"),
    "header only": (["--data", "header.csv"], "has a header but no data rows"),
    "csv as npy": (["--data", "csv.npy"], "is named .npy but is not a NumPy array file"),
    "directory": (["--data", "."], "is a directory"),
    "missing": (["--data", "nope.csv"], "does not exist"),
    "lr without alpha": (["--data", "small.csv", "--objective", "lr"], "alpha > 0"),
    "negative grid": (["--data", "small.csv", "--grid=-1:1:5"], "bounds must be positive"),
    "negative seed": (["--data", "small.csv", "--seed", "-1"], "seed must be a whole number"),
    "worldclim flags": (["--data", "small.csv", "--block-km", "300", "--split-fractions", "1,1,1"],
                        "--block-km, --split-fractions only apply to --data worldclim:DIR"),
    "batch with exact": (["--data", "small.csv", "--batch-size", "8"], "--batch-size only apply to --method sgd"),
    "batch > train": (["--data", "small.csv", "--method", "sgd", "--batch-size", "500"],
                      "--batch-size 500 exceeds the 140 training rows"),
    "too few rows": (["--data", "tiny.npy"], "a covariance needs at least 2 rows, found 1"),
    "latents beyond memory": (["--data", "small.csv", "--latents", "10000"],
                              "is available; the largest part is the exact method's Newton Hessian"),
    "sgd beyond memory": (["--data", "small.csv", "--method", "sgd", "--batch-size", "64", "--latents", "2000000"],
                          "is available; the largest part is the minibatch activations"),
}


def test_bad_inputs_fail_in_one_line_and_leave_nothing(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    np.save(files / "tiny.npy", np.arange(6.0).reshape(3, 2))
    for case, (argv, says) in CASES.items():
        assert main(["scan", "--quiet", "--out", "out/r.nc", *argv]) == 2, case
        line = _one_line(capsys.readouterr().err)
        assert says in line, (case, line)
        assert _leftovers(files / "out") == [], case


def test_every_point_diverged_exits_2_without_checkpoint(files):
    """A 1e30 column in raw units overflows every grid point; end to end in a subprocess, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "linvae.cli", "scan", "--data", "e30.npy", "--no-standardize",
                           "--grid", "1e-3:1:3", "--quiet", "--out", "out/r.nc"], cwd=files, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2
    assert "every one of the 3 grid points diverged" in _one_line(proc.stderr)
    assert _leftovers(files / "out") == []


def test_bad_data_in_a_subprocess_is_one_line(files):
    proc = subprocess.run([sys.executable, "-m", "linvae.cli", "scan", "--data", "nan.csv", "--quiet", "--out",
                           "out/r.nc"], cwd=files, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "line 5" in _one_line(proc.stderr) and _leftovers(files / "out") == []


def test_demo_with_zero_latents_makes_no_folder(tmp_path, capsys):
    assert main(["demo", "--latents", "0", "--quiet", "--out", str(tmp_path / "demo")]) == 2
    assert "latents" in _one_line(capsys.readouterr().err) and not (tmp_path / "demo").exists()


def test_python_api_gets_the_same_checks():
    x = np.random.default_rng(1).standard_normal((50, 3))
    x[10, 1] = np.nan
    with pytest.raises(InputError, match=r"row 10 \(0-based\), column 'x1'"):
        linvae.scan(x, [0.1], linvae.ScanConfig(method="exact", n_latents=2), progress=False)
    with pytest.raises(InputError, match="alpha > 0"):
        linvae.ScanConfig(objective="lr")
    with pytest.raises(InputError, match="found 3.0;"):  # a plain number, not np.float64(3.0)
        linvae.ScanConfig(patience=np.float64(3.0))


@st.composite
def _tables(draw):
    n = draw(st.integers(1, 12))
    d = draw(st.integers(1, 4))
    x = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal((n, d))
    if d > 1 and draw(st.booleans()):
        x[:, draw(st.integers(1, d - 1))] = x[:, 0]  # a duplicate column
    if draw(st.booleans()):
        x[:, draw(st.integers(0, d - 1))] = draw(st.floats(-5, 5))  # a constant column
    bad = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, d - 1),
                                  st.sampled_from([np.nan, np.inf, -np.inf])), max_size=3))
    for i, j, v in bad:
        x[i, j] = v
    return x, sorted({(i, j) for i, j, _ in bad})


@settings(max_examples=40, deadline=None)
@given(_tables())
def test_validation_of_malformed_tables(case):
    """The validation step (data check, split, spectrum, row counts; no training) either refuses a table with a
    one-line InputError naming the right cell, or accepts it with a finite spectrum."""
    from linvae.train._scan import _check_sizes, _prepare  # the validation steps of scan, run without training

    x, bad = case
    table = Table(x, tuple(f"f{j}" for j in range(x.shape[1])), "t.csv", first_line=2)
    try:
        check_table(table)
        prep = _prepare(table, None, 0, True)
        _check_sizes(prep, linvae.ScanConfig(method="exact"))
    except InputError as err:
        message = str(err)
        assert "\n" not in message and "np.float64" not in message
        if bad:
            i, j = bad[0]
            assert f"data row {i + 1} (line {i + 2}), column 'f{j}'" in message
        return
    assert not bad and np.all(np.isfinite(prep.spectrum.eigenvalues)) and x.shape[0] >= 3


def test_200_rows_run_end_to_end(files, capsys, monkeypatch):
    """A 200-row CSV: scan with figures (a subprocess), then report and plot; the entropy criterion (batches of 100
    held-out rows, here 30) is skipped, and the attrs and the report say so."""
    monkeypatch.chdir(files)
    scan = subprocess.run([sys.executable, "-m", "linvae.cli", "scan", "--data", "small.csv", "--grid", "1e-3:1:4",
                           "--latents", "4", "--quiet", "--out", "out/r.nc", "--figures", "figs"], cwd=files,
                          capture_output=True, text=True, timeout=600)
    assert scan.returncode == 0, scan.stderr
    ds = linvae.load(files / "out" / "r.nc")
    assert "renyi_entropy: 30 evaluation rows" in ds.attrs["skipped_criteria"]
    assert np.all(np.isnan(ds["renyi_entropy"].values)) and np.all(np.isfinite(ds["var_mu"].values))
    assert _leftovers(files / "out") == ["r.nc"] and len(list((files / "figs").glob("*.png"))) >= 4
    assert main(["report", "out/r.nc"]) == 0 and "note: skipped renyi_entropy" in capsys.readouterr().out
    assert main(["plot", "out/r.nc", "--out", "figs2"]) == 0 and len(list((files / "figs2").glob("*.png"))) >= 4


def test_csv_line_numbers_count_blank_and_comment_lines(tmp_path):
    """The CSV reader skips blank and '#' lines; the message still names the file's own line."""
    path = tmp_path / "gaps.csv"
    path.write_text("a,b\n1,2\n\n# a comment\n3,4\n\n5,nan\n6,7\n")
    with pytest.raises(InputError, match=r"first at data row 3 \(line 7\), column 'b'"):
        check_table(linvae.load_table(path))
