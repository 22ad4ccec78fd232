"""Fixtures of the tests/results files (built once per session)."""

import numpy as np
import pytest

import linvae
from linvae.data import Table, synthetic_data

EIG = np.array([3.0, 1.5, 0.6, 0.2])


@pytest.fixture(scope="session")
def written():
    """Every variable and coordinate the library writes: theory only, a β-VAE scan with its split, per-sample
    coordinates (WorldClim's lat, lon, cell_area, block) and bootstrap intervals, and a λβ scan (whose law is not
    the β-VAE's, so it adds the fit of the closed form). Small: d = 4, K = 3, six prices, 2000 rows."""
    x, _ = synthetic_data(EIG, 2000, seed=0)
    coords = {"lat": np.linspace(-60, 60, 2000), "lon": np.linspace(-170, 170, 2000), "cell_area": np.ones(2000),
              "block": np.arange(2000, dtype=np.int32) // 50}
    table = Table(values=x, features=("a", "b", "c", "d"), source="test", coords=coords)
    T = linvae.price_grid(1e-3, 1, 6)
    config = dict(method="exact", n_latents=3, steps=2000)
    beta = linvae.scan(table, T, linvae.ScanConfig(**config), store_split=True, progress=False, bootstrap=5)
    lam = linvae.scan(x, T, linvae.ScanConfig(**config, objective="lambda-beta", lam=0.5), progress=False)
    theory = linvae.theory_dataset(linvae.pca_spectrum(x), T, n_latents=3)
    return [theory, beta, lam]
