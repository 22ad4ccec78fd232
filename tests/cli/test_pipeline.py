"""End to end: scan -> held-out analysis -> results file (the whole job of docs/theory.md §7 on known truth)."""

import numpy as np

import linvae
from linvae.data import Split, synthetic_data

dtype_promotion = "standard"  # trains through optax (see conftest)

LAM = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1, 0.03, 0.004, 0.0])


def test_exact_scan_recovers_its_training_spectrum():
    """End to end: ``scan(method="exact")`` then the held-out analysis; thresholds and utilities ≈ λ_k / V of the
    (standardised) training split, within 2 % for λ_k / V > 1e-3 (sampling error of 100k/200k rows ≈ 0.6 %)."""
    x, _ = synthetic_data(LAM[:8], 300_000, seed=5)
    split = Split(np.arange(100_000), np.arange(100_000, 100_100), np.arange(100_100, 300_000))
    ds = linvae.scan(x, linvae.price_grid(1e-5, 1, 33), linvae.ScanConfig(method="exact", n_latents=10,
                                                                                 x64=True),
                     split=split, progress=False)
    x_eval = (x[split.test] - ds["data_mean"].values) / ds["data_scale"].values
    out = linvae.add_analysis(ds, x_eval)
    frac = ds["pca_fraction"].values
    big = frac > 1e-3
    np.testing.assert_allclose(out["collapse_threshold"][:8][big], frac[big], rtol=0.02)
    np.testing.assert_allclose(out["utility_spectrum"][:8][big], frac[big], rtol=0.02)
    assert np.all(np.isnan(out["collapse_threshold"][8:]))


def test_random_held_out_split_thresholds_are_unbiased():
    """A small Gaussian table with linvae's own random split (70/15/15 of 4,000 rows): the 600 test rows carry
    variance ratios several % from 1 along the training directions, which the training law (``r = 1``) turns into
    biased thresholds; the fit with ``r`` recovers ``λ_k / V`` of the training split within 2 % (docs/theory.md §7)."""
    x, _ = synthetic_data(LAM[:8], 4_000, seed=8)
    ds = linvae.scan(x, linvae.price_grid(1e-5, 1, 17), linvae.ScanConfig(method="exact", n_latents=10, x64=True),
                     progress=False)
    frac = ds["pca_fraction"].values
    big = frac > 1e-3
    np.testing.assert_allclose(ds["collapse_threshold"][:8][big], frac[big], rtol=0.02)
    biased = linvae.analysis.collapse_fit(ds["T"].values, ds["M2_ranked"].values, variance_ratio=False).threshold
    assert np.max(np.abs(biased[:8][big] / frac[big] - 1)) > 0.02


def test_cli_scan_report_plot_and_bad_inputs(tmp_path, capsys):
    from linvae.cli import main

    x, _ = synthetic_data([4.0, 2.0, 1.0, 0.5, 0.1], 3000, seed=2)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "r.nc"
    code = main(["scan", "--data", str(tmp_path / "x.npy"), "--method", "exact", "--latents", "6",
                 "--grid", "1e-4:1:12", "--out", str(out), "--figures", str(tmp_path / "fig"), "--quiet",
                 "--bootstrap", "20"])
    printed = capsys.readouterr().out
    assert code == 0 and out.exists() and not list(tmp_path.glob("*.ckpt.npz"))
    assert "Duality" in printed and "converged" in printed and "95 % bootstrap intervals, 20 replicates" in printed
    assert len(list((tmp_path / "fig").glob("*.png"))) >= 4 and len(list((tmp_path / "fig").glob("*.pdf"))) >= 4
    ds = linvae.load(out)
    assert ds.attrs["method"] == "exact" and ds.attrs["n_train"] == 2100 and ds.attrs["config_standardize"] == 1
    assert {"collapse_threshold", "utility_spectrum", "M2_ranked", "encoder_weight", "diverged",
            "collapse_threshold_ci", "pca_fraction_ci", "utility_spectrum_ci", "rank_separable"} <= set(ds.data_vars)
    assert ds["collapse_threshold_ci"].dims == ("rank", "bound") and ds.attrs["bootstrap_replicates"] == 20
    assert main(["report", str(out), "--csv", str(tmp_path / "d.csv")]) == 0
    lines = (tmp_path / "d.csv").read_text().splitlines()
    assert lines[0].startswith("rank,collapse_threshold,utility,pca_fraction") and len(lines) == 7
    assert "threshold_lower" in lines[0] and "separable" in lines[0]
    assert main(["plot", str(out), "--out", str(tmp_path / "fig2")]) == 0
    assert len(list((tmp_path / "fig2").glob("*.png"))) >= 4
    capsys.readouterr()
    bad = {
        "missing data": ["scan", "--data", str(tmp_path / "nope.npy"), "--out", str(tmp_path / "b.nc")],
        "missing out folder": ["scan", "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "no" / "b.nc")],
        "bad latents": ["scan", "--data", str(tmp_path / "x.npy"), "--latents", "0", "--out", str(tmp_path / "b.nc")],
        "bad steps": ["scan", "--data", str(tmp_path / "x.npy"), "--steps", "0", "--out", str(tmp_path / "b.nc")],
        "bad grid": ["scan", "--data", str(tmp_path / "x.npy"), "--grid", "1:2", "--out", str(tmp_path / "b.nc")],
        "bad bootstrap": ["scan", "--data", str(tmp_path / "x.npy"), "--bootstrap", "1", "--out",
                          str(tmp_path / "b.nc")],
        "theory file to report": ["report", str(tmp_path / "missing.nc")],
    }
    for case, argv in bad.items():
        assert main(argv) == 2, case
        err = capsys.readouterr().err
        assert err.startswith("linvae: error: ") and err.count("\n") == 1, (case, err)
    assert not (tmp_path / "b.nc").exists()


def test_data_carried_split_is_used(tmp_path):
    import xarray as xr

    x, _ = synthetic_data([3.0, 1.0, 0.3], 600, seed=4)
    labels = np.array(["train"] * 400 + ["val"] * 100 + ["test"] * 100)
    xr.Dataset({"x": (("sample", "feature"), x), "split": ("sample", labels)}).to_netcdf(tmp_path / "d.nc")
    table = linvae.load_table(tmp_path / "d.nc")
    np.testing.assert_array_equal(table.split, labels)
    ds = linvae.scan(table, [0.01, 0.1], linvae.ScanConfig(method="exact", n_latents=3), progress=False)
    assert (ds.attrs["n_train"], ds.attrs["n_val"], ds.attrs["n_test"]) == (400, 100, 100)
    np.testing.assert_allclose(ds["data_mean"], x[:400].mean(0))   # standardised with training rows only
    bad = labels.astype(object)   # a fixed-width <U5 array would truncate the label
    bad[:5] = "holdout"
    xr.Dataset({"x": (("sample", "feature"), x), "split": ("sample", bad)}).to_netcdf(tmp_path / "bad.nc")
    try:
        linvae.scan(linvae.load_table(tmp_path / "bad.nc"), [0.1], linvae.ScanConfig(method="exact", n_latents=2),
                    progress=False)
        raise AssertionError("expected an InputError")
    except linvae.InputError as err:
        assert "found holdout, test, train, val" in str(err)
