"""Tables and report text of an analysed scan (docs/theory.md §7, §8): :func:`duality_table`, :func:`activity_counts`,
and the text :func:`report` and :func:`scan_summary` give the CLI to print, on small constructed Datasets with
known answers. (The duality table of a real analysed scan is checked in test_dataset.py.)"""

import numpy as np
import pytest
import xarray as xr

from linvae import InputError
from linvae.analysis import ACTIVE, MIXED, PASSIVE, activity_counts, duality_table, report, scan_summary

VERDICTS = {"M2": "active_signal_fraction", "kl": "active_kl", "active_units": "active_units",
            "renyi_entropy": "active_renyi_entropy", "renyi_entropy_silverman": "active_renyi_entropy_silverman",
            "gaussian_entropy": "active_gaussian_entropy"}


def analysed(objective="beta", eval_fraction=True):
    """Three modes (the last at rounding level), four ranks, three prices; activity verdicts drawn at random."""
    ds = xr.Dataset(
        {"pca_fraction": ("mode", [0.6, 0.4, 1e-15]), "theory_threshold": ("mode", [0.6, 0.4, 1e-15]),
         "collapse_threshold": ("rank", [0.66, 0.38, np.nan, np.nan]),
         "utility_spectrum": ("rank", [0.55, 0.4, 0.0, 0.0]), "collapse_fit_points": ("rank", [5, 3, 0, 0]),
         "collapse_variance_ratio": ("rank", [1.2, np.nan, np.nan, np.nan])},
        coords={"rank": [1, 2, 3, 4], "mode": [1, 2, 3], "T": [1e-3, 1e-2, 1e-1]},
        attrs={"objective": objective})
    if eval_fraction:
        ds["eval_fraction"] = ("mode", [0.5, 0.45, 0.05])
    if objective != "beta":  # λβ / LR: the objective-law fit of the closed form, by rank
        ds["theory_collapse_threshold"] = ("rank", [0.75, 0.5, np.nan, np.nan])
    rng = np.random.default_rng(0)
    for name, var in VERDICTS.items():
        ds[var] = (("T", "latent"), rng.integers(0, 2, size=(3, 4)).astype(np.int8))
        ds[var].attrs["threshold"] = {"M2": 0.1, "kl": 0.01, "active_units": 0.01}.get(name, 1.0)
    ds["bonheme_class"] = (("T", "latent"), np.array([[ACTIVE, ACTIVE, MIXED, PASSIVE], [ACTIVE, MIXED, PASSIVE,
                                                      PASSIVE], [PASSIVE] * 4], np.int8))
    ds["theory_n_active"] = ("T", [2, 2, 1])
    return ds


def test_duality_table_on_known_values():
    table = duality_table(analysed())
    nan = np.nan
    expected = {
        "collapse_threshold": [0.66, 0.38, nan, nan], "utility": [0.55, 0.4, 0, 0],
        "pca_fraction": [0.6, 0.4, 0, 0],            # a rounding-level eigenvalue is a zero mode; ranks beyond d: 0
        "threshold_rel_diff": [0.1, -0.05, nan, nan], "utility_rel_diff": [0.55 / 0.6 - 1, 0, nan, nan],
        "threshold_utility_rel_diff": [0.66 / 0.55 - 1, -0.05, nan, nan],
        "eval_fraction": [0.5, 0.45, 0, 0],          # by mode, 0 where the training fraction is 0
        "utility_eval_rel_diff": [0.1, 0.4 / 0.45 - 1, nan, nan],
        "theory_threshold": [0.6, 0.4, 0, 0],        # β-VAE: λ_k / V in PCA order
        "threshold_theory_rel_diff": [0.1, -0.05, nan, nan], "fit_points": [5, 3, 0, 0],
        "variance_ratio": [1.2, nan, nan, nan]}
    assert set(table.data_vars) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(table[name], value, rtol=1e-12, atol=1e-15, err_msg=name)
    np.testing.assert_array_equal(table["rank"], [1, 2, 3, 4])
    assert np.all(np.isnan(duality_table(analysed(eval_fraction=False))["eval_fraction"]))


def test_duality_table_of_other_objectives_compares_with_their_own_fit():
    """λβ / LR: the theory column is the objective-law fit of the closed form (``theory_collapse_threshold``)."""
    table = duality_table(analysed("lambda-beta"))
    np.testing.assert_allclose(table["theory_threshold"], [0.75, 0.5, 0, 0], rtol=1e-15)
    np.testing.assert_allclose(table["threshold_theory_rel_diff"], [0.66 / 0.75 - 1, 0.38 / 0.5 - 1, np.nan, np.nan],
                               rtol=1e-12)
    np.testing.assert_allclose(table["threshold_rel_diff"], [0.1, -0.05, np.nan, np.nan], rtol=1e-12)  # still PCA


def test_activity_counts_sum_the_stored_verdicts():
    ds = analysed()
    counts = activity_counts(ds)
    for name, var in VERDICTS.items():
        np.testing.assert_array_equal(counts[name], ds[var].values.sum(1), err_msg=name)
        assert counts[name].dtype == np.int64
    np.testing.assert_array_equal(counts["bonheme_active"], [2, 1, 0])
    np.testing.assert_array_equal(counts["theory"], [2, 2, 1])
    np.testing.assert_array_equal(counts["T"], ds["T"])
    with pytest.raises(InputError, match="active_kl.*add_activity_criteria"):
        activity_counts(ds.drop_vars("active_kl"))
    older = activity_counts(ds.drop_vars("active_renyi_entropy_silverman"))  # files before the second bandwidth
    assert "renyi_entropy_silverman" not in older and "renyi_entropy" in older


def test_report_prints_the_duality_table_and_the_activity_counts():
    ds = analysed()
    lines = report(ds).splitlines()
    assert lines[0].startswith("Duality (docs/theory.md §7)") and "measured on the test split" in lines[0]
    assert "theory T_k" not in "\n".join(lines[:4])               # the β-VAE has no separate theory column
    assert lines[3].split()[9:11] == ["points", "r"]
    # ranks 3 and 4 carry no mode, no threshold and no fit: not printed
    assert lines[4] == ("   1  6.6000e-01  5.5000e-01  6.0000e-01   +10.00%    -8.33%       5   1.200  5.0000e-01   "
                        "+10.00%")
    assert lines[5].startswith("   2  3.8000e-01  4.0000e-01  4.0000e-01    -5.00%    +0.00%       3     nan  "
                               "4.5000e-01")
    assert lines[6].startswith("Active latents per criterion (docs/theory.md §8")
    assert "H2 Silverm. = the published per-latent bandwidth" in lines[7]
    header = lines[9].split()
    assert header[0] == "T" and "M2>0.1" in header and "KL>0.01" in header and "Var(mu)>=0.01" in header
    counts = activity_counts(ds)
    assert "H2" in header and "Silverm." in header
    assert len(lines) == 10 + 3                                   # three prices: every one is printed
    for i, line in enumerate(lines[10:]):
        T, *numbers = line.split()
        assert float(T) == pytest.approx(ds["T"].values[i], rel=1e-3)
        assert [int(v) for v in numbers] == [int(counts[c][i]) for c in counts.data_vars]
    other = report(analysed("lr").assign_attrs(analysis_split="train")).splitlines()
    assert "measured on the train split" in other[0] and "theory T_k" in other[3]
    assert other[4].endswith("  7.5000e-01   -12.00%")             # theory T_k and its relative difference


def summary_dataset(method, objective=None):
    attrs = {"method": method, "n_latents": 4, "train_wall_seconds": 1.26}
    if objective:
        attrs["objective"] = objective
    return xr.Dataset({"stopped_early": ("T", [True, False, True]), "loss": ("T", [1.0, 2.0, 1.001]),
                       "theory_loss": ("T", [1.0, 1.0, 1.0]), "train_steps": ("T", [500, 800, 20]),
                       "diverged": ("T", [False, False, True])}, attrs=attrs)


def test_scan_summary_text():
    assert scan_summary(summary_dataset("exact")) == (
        "exact scan (beta): 3 points, K = 4, 1.3 s training, 800 updates max, 2 converged, 1 diverged\n"
        "normalised loss vs closed form: median rel. diff 1.00e-03, worst 1.00e+00")
    assert scan_summary(summary_dataset("sgd", "lr")).startswith(
        "sgd scan (lr): 3 points, K = 4, 1.3 s training, 800 updates max, 2 stopped early, 1 diverged\n")
