"""End to end: scan -> held-out analysis -> results file (the whole job of SPEC.md §7 on known truth)."""

import numpy as np

import linvae

dtype_promotion = "standard"  # trains through optax (see conftest)

LAM = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1, 0.03, 0.004, 0.0])


def test_exact_scan_recovers_its_training_spectrum():
    """End to end: ``scan(method="exact")`` then the held-out analysis; thresholds and utilities ≈ λ_k / V of the
    (standardised) training split, within 2 % for λ_k / V > 1e-3 (sampling error of 100k/200k rows ≈ 0.6 %)."""
    x, _ = linvae.synthetic_data(LAM[:8], 300_000, seed=5)
    split = linvae.Split(np.arange(100_000), np.arange(100_000, 100_100), np.arange(100_100, 300_000))
    ds = linvae.scan(x, linvae.temperature_grid(1e-5, 1, 33), linvae.ScanConfig(method="exact", n_latents=10,
                                                                                 x64=True),
                     split=split, progress=False)
    x_eval = (x[split.test] - ds["data_mean"].values) / ds["data_scale"].values
    out = linvae.add_analysis(ds, x_eval)
    frac = ds["pca_fraction"].values
    big = frac > 1e-3
    np.testing.assert_allclose(out["collapse_threshold"][:8][big], frac[big], rtol=0.02)
    np.testing.assert_allclose(out["utility_spectrum"][:8][big], frac[big], rtol=0.02)
    assert np.all(np.isnan(out["collapse_threshold"][8:]))
