"""The nonlinear ground truth ``synthetic:manifold`` (docs/theory.md §9): seeded, a smooth function of its factors
(nearest neighbours in factor space predict it to the noise level, scipy's k-d tree), not a linear one (numpy least
squares), and spread over many more principal components than there are factors."""

import numpy as np
import pytest
import scipy.spatial

import linvae
from linvae import InputError
from linvae.cli import main
from linvae.data import manifold_data, manifold_table


def _unexplained(x, prediction):
    return np.sum((x - prediction) ** 2) / np.sum((x - x.mean(0)) ** 2)


def test_manifold_is_a_smooth_nonlinear_map_of_few_factors():
    x, v = manifold_data(20_000, seed=3)
    assert x.shape == (20_000, 12) and v.shape == (20_000, 3)
    np.testing.assert_array_equal(x, manifold_data(20_000, seed=3)[0])
    assert not np.allclose(x, manifold_data(20_000, seed=4)[0])
    design = np.column_stack([v, np.ones(len(v))])
    linear = design @ np.linalg.lstsq(design, x, rcond=None)[0]
    assert _unexplained(x, linear) > 0.1                       # far from linear in the factors (0.18)
    _, near = scipy.spatial.cKDTree(v[:15_000]).query(v[15_000:], k=10)
    local = x[:15_000][near].mean(axis=1)                      # average of the 10 nearest neighbours in factor space
    assert _unexplained(x[15_000:], local) < 0.02              # a smooth function of v, plus 5 % noise
    xs = (x - x.mean(0)) / x.std(0)
    frac = np.sort(np.linalg.eigvalsh(np.cov(xs.T)))[::-1] / 12
    assert np.searchsorted(np.cumsum(frac), 0.95) + 1 >= 5 and np.sum(frac > 1e-2) >= 2 * 3   # seeds 0-5: 5-6, 6-8


def test_manifold_noise_and_errors():
    x0, v0 = manifold_data(5_000, noise=0.0, seed=1)
    x1, v1 = manifold_data(5_000, noise=0.1, seed=1)
    np.testing.assert_array_equal(v0, v1)                      # the noise is drawn last
    np.testing.assert_allclose((x1 - x0).std(0) / x0.std(0), 0.1, rtol=0.05)
    with pytest.raises(InputError, match="n_factors"):
        manifold_data(100, n_factors=0)
    with pytest.raises(InputError, match="noise"):
        manifold_data(100, noise=-1.0)


def test_cli_scans_the_manifold(tmp_path, capsys):
    table = manifold_table(2_000, seed=2)
    assert table.features[0] == "m0" and "manifold" in table.source
    out = tmp_path / "m.nc"
    assert main(["theory", "--data", "synthetic:manifold", "--out", str(out), "--grid", "1e-3:1:4"]) == 0
    ds = linvae.load(out)
    assert ds.sizes["mode"] == 12 and np.sum(ds["pca_fraction"].values > 1e-2) >= 6
    capsys.readouterr()
