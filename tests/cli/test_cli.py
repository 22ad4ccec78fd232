"""CLI: the theory and demo commands, every bad input giving one line, exit code 2 and no output file, and an
objective of the family end to end (theory and scan)."""

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import linvae
from linvae.analysis import onset_levels
from linvae.cli import build_parser, main
from linvae.data import manifold_data, synthetic_data
from linvae.model import Objective
from linvae.theory import thresholds

dtype_promotion = "standard"  # the demo trains through optax (see conftest)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_files(tmp_path):
    x, _ = synthetic_data([4.0, 2.0, 1.0, 0.5], 500, seed=0)
    x = x * np.array([1.0, 10.0, 0.1, 3.0]) + 5.0
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",", header="a,b,c,d", comments="")
    xr.Dataset({"obs": (("sample", "feature"), x)}, coords={"feature": list("abcd")}).to_netcdf(tmp_path / "x.nc")
    return tmp_path, x


def test_theory_from_eigenvalues(tmp_path, capsys):
    code, out, _ = run(capsys, "theory", "--eigenvalues", "4,2,1,0", "--latents", "3", "--grid", "1e-3:1:5",
                       "--sigma-dec2", "2", "--out", str(tmp_path / "t.nc"))
    assert code == 0
    ds = linvae.load(tmp_path / "t.nc")
    np.testing.assert_allclose(ds["theory_threshold"], [4 / 7, 2 / 7, 1 / 7, 0])
    np.testing.assert_allclose(ds["theory_beta_threshold"], [2, 1, 0.5, 0])
    assert ds.sizes["T"] == 5 and ds.attrs["n_latents"] == 3
    assert "beta_c,k" in out and out.count("\n") >= 5


@pytest.mark.parametrize("suffix", ["npy", "csv", "nc"])
def test_theory_from_data_files_standardised(data_files, capsys, suffix):
    folder, x = data_files
    code, _, _ = run(capsys, "theory", "--data", str(folder / f"x.{suffix}"), "--out", str(folder / "t.nc"))
    assert code == 0
    ds = linvae.load(folder / "t.nc")
    corr = np.corrcoef(x, rowvar=False)
    np.testing.assert_allclose(ds["pca_eigenvalue"], np.linalg.eigvalsh(corr)[::-1], rtol=1e-9)
    assert ds.attrs["total_variance"] == pytest.approx(4.0)
    if suffix != "npy":
        assert list(ds["feature"].values) == list("abcd")


def test_theory_no_standardize_keeps_units(data_files, capsys):
    folder, x = data_files
    assert run(capsys, "theory", "--data", str(folder / "x.npy"), "--no-standardize",
               "--out", str(folder / "t.nc"))[0] == 0
    ds = linvae.load(folder / "t.nc")
    np.testing.assert_allclose(ds["pca_eigenvalue"], np.linalg.eigvalsh(np.cov(x, rowvar=False, bias=True))[::-1],
                               rtol=1e-9)


def bad_inputs(folder):
    nan = np.ones((10, 3)) + np.arange(30).reshape(10, 3) ** 2
    nan[3, 1] = np.nan
    np.save(folder / "nan.npy", nan)
    np.save(folder / "one.npy", np.ones((1, 3)))
    const = np.random.default_rng(0).normal(size=(20, 3))
    const[:, 2] = 7.0
    np.save(folder / "const.npy", const)
    (folder / "junk.npy").write_bytes(b"not a numpy file")
    (folder / "text.csv").write_text("a,b\n1,x\n2,y\n")
    ok = str(folder / "ok.npy")
    np.save(ok, np.random.default_rng(1).normal(size=(20, 3)))
    return {
        "NaN": ["--data", str(folder / "nan.npy")],
        "2 samples": ["--data", str(folder / "one.npy")],
        "constant": ["--data", str(folder / "const.npy")],
        "non-positive T": ["--data", ok, "--grid", "0:1:5"],
        "non-positive sigma": ["--data", ok, "--sigma-dec2", "0"],
        "latents": ["--data", ok, "--latents", "0"],
        "malformed grid": ["--data", ok, "--grid", "1e-3:1"],
        "malformed grid 2": ["--data", ok, "--grid", "a:b:c"],
        "missing file": ["--data", str(folder / "missing.npy")],
        "unreadable npy": ["--data", str(folder / "junk.npy")],
        "non-numeric csv": ["--data", str(folder / "text.csv")],
        "unknown type": ["--data", str(folder / "x.parquet")],
        "bad eigenvalues": ["--eigenvalues", "1,-2,3"],
    }


def test_bad_inputs_exit_2_with_one_line_and_no_output(tmp_path, capsys):
    for case, argv in bad_inputs(tmp_path).items():
        out_file = tmp_path / f"{case}.nc"
        code, _, err = run(capsys, "theory", *argv, "--out", str(out_file))
        assert code == 2, case
        assert err.startswith("linvae: error: ") and err.count("\n") == 1, (case, err)
        assert not out_file.exists(), case
    assert not list(tmp_path.glob("*.nc*"))


def test_console_script_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "linvae.cli", "theory", "--eigenvalues", "1,2", "--grid", "1:0.1:3",
                           "--out", str(tmp_path / "t.nc")], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "t.nc").exists()


def test_demo_writes_results_and_figures(tmp_path, capsys):
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path / "demo"))
    assert code == 0
    ds = linvae.load(tmp_path / "demo" / "results.nc")
    assert ds.sizes["mode"] == 11 and "theory_M2" in ds
    assert (tmp_path / "demo" / "theory.png").stat().st_size > 10_000
    assert "active modes" in out
    # The default entropy criterion (prior bandwidth) counts the closed-form active latents at every T at least
    # 10 % from a threshold; Silverman's per-latent bandwidth counts rounding residue of collapsed latents.
    T, Tk = ds["T"].values[:, None], ds["theory_threshold"].values[None, :]
    clear = np.all(np.abs(T / Tk - 1) > 0.1, axis=1)
    renyi = ds["active_renyi_entropy"].values.sum(1)
    np.testing.assert_array_equal(renyi[clear], ds["theory_n_active"].values[clear])
    assert np.any(ds["active_renyi_entropy_silverman"].values.sum(1) > ds["theory_n_active"].values)


def test_lr_is_a_hidden_alias_of_learning_rate(capsys):
    """``--learning-rate`` is the option; the old ``--lr`` still parses to the same ScanConfig learning rate and is
    not advertised in the help."""
    parser = build_parser()
    base = ["scan", "--data", "x.npy", "--out", "r.nc"]
    new = parser.parse_args([*base, "--learning-rate", "0.05"])
    old = parser.parse_args([*base, "--lr", "0.05"])
    assert new.learning_rate == old.learning_rate == 0.05
    config = linvae.ScanConfig(learning_rate=old.learning_rate)
    assert config.learning_rate == config.effective_learning_rate == 0.05
    assert parser.parse_args(base).learning_rate is None  # the method's default
    with pytest.raises(SystemExit):
        parser.parse_args(["scan", "--help"])
    help_text = capsys.readouterr().out
    assert "--learning-rate" in help_text and "--lr " not in help_text


def test_cli_objective_end_to_end(tmp_path, capsys, objectives_gaussian):
    data = tmp_path / "x.npy"
    np.save(data, objectives_gaussian[:2000])
    out = tmp_path / "th.nc"
    assert main(["theory", "--eigenvalues", "5,2.5,1.2,0.6", "--objective", "lr", "--alpha", "0.5",
                 "--grid", "1e-3:1:5", "--out", str(out)]) == 0
    ds = linvae.load(out)
    assert ds.attrs["objective"] == "lr" and ds.attrs["objective_alpha"] == 0.5
    np.testing.assert_allclose(ds["theory_threshold"], thresholds(
        np.array([5, 2.5, 1.2, 0.6]), Objective("lr", alpha=0.5)), rtol=1e-12)
    out = tmp_path / "scan.nc"
    assert main(["scan", "--data", str(data), "--method", "exact", "--latents", "6", "--grid", "1e-3:1:4",
                 "--objective", "lambda-beta", "--lam", "1", "--x64", "--no-standardize", "--quiet",
                 "--out", str(out)]) == 0
    ds = linvae.load(out)
    assert ds.attrs["objective"] == "lambda-beta" and ds.attrs["config_lam"] == 1.0
    np.testing.assert_allclose(ds["loss"], ds["theory_loss"], rtol=1e-5)
    # on the λβ branch every onset lies above the β-VAE's T_k τ* of the same spectrum (thresholds shift up)
    beta_onsets = np.outer(onset_levels(), thresholds(ds["pca_eigenvalue"].values))
    positive = beta_onsets > 0
    assert np.all(ds["criterion_onset_T"].values[positive] > beta_onsets[positive])
    assert "(lambda-beta)" in capsys.readouterr().out


@pytest.fixture
def manifold_file(tmp_path):
    data = tmp_path / "manifold.npy"
    np.save(data, manifold_data(3000, seed=0)[0])
    return data


@pytest.mark.slow  # ~17 s; the MLP scan itself is tested in tests/train/test_mlp_training.py
def test_cli_mlp_scan_end_to_end(tmp_path, capsys, manifold_file):
    """``linvae scan --model mlp`` on manifold rows (docs/nonlinear.md): results with the MLP's parameters, the report's
    model line, the comparison figure."""
    out, data = tmp_path / "mlp.nc", manifold_file
    assert main(["scan", "--data", str(data), "--method", "sgd", "--model", "mlp", "--hidden", "16",
                 "--activation", "tanh", "--latents", "4", "--grid", "0.01:0.3:3", "--steps", "200",
                 "--eval-every", "100", "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Model: MLP VAE (hidden 16, tanh)" in text
    ds = linvae.load(out)
    assert ds["mlp_encoder_weight_1"].dims == ("T", "hidden_1", "feature") and "encoder_weight" not in ds
    assert np.all(np.isnan(ds["collapse_variance_ratio"]))  # an MLP's collapse fit keeps r = 1
    fig = linvae.plot.plot_model_comparison(ds)  # plot_all draws it for an MLP scan
    counts = fig.axes[0].lines[1].get_ydata()
    np.testing.assert_array_equal(counts, ds["active_kl"].sum("latent").values)


def test_cli_bad_mlp_options_exit_2_before_any_work(tmp_path, capsys, manifold_file):
    """Bad MLP options exit 2 with one line before any work, leaving nothing behind."""
    for argv, what in ((["--hidden", "64,x"], "hidden must be one or more whole widths"),
                       (["--method", "exact"], "sgd method only"),
                       (["--objective", "lr", "--alpha", "1"], "beta-VAE objective only"),
                       (["--bootstrap", "10"], "linear-model scans only")):
        bad = tmp_path / "bad.nc"
        method = [] if "--method" in argv else ["--method", "sgd"]
        code, _, err = run(capsys, "scan", "--data", str(manifold_file), "--model", "mlp", *method, *argv,
                           "--steps", "10", "--quiet", "--out", str(bad))
        assert code == 2 and err.count("\n") == 1 and what in err, (argv, err)
        assert not bad.exists()
