"""Results schema and netCDF round trip."""

import numpy as np
import xarray as xr

import linvae
from linvae.data import synthetic_data


def make_dataset(K=5):
    rng = np.random.default_rng(0)
    x, _ = synthetic_data([3.0, 1.0, 0.5, 0.0], 2000, seed=1)
    spec = linvae.pca_spectrum(x + rng.normal(size=4))
    return linvae.theory_dataset(spec, linvae.price_grid(1e-3, 1, 9), n_latents=K, sigma_dec2=0.5,
                                 features=["a", "b", "c", "d"], dataset="unit-test",
                                 config={"standardize": False, "grid": "1e-3:1:9", "note": None})


def test_schema_dimensions_names_and_attrs():
    ds = make_dataset()
    assert dict(ds.sizes) == {"T": 9, "mode": 4, "latent": 5, "rank": 5, "n_kept": 6, "feature": 4}
    np.testing.assert_array_equal(ds["mode"], [1, 2, 3, 4])
    np.testing.assert_array_equal(ds["n_kept"], np.arange(6))
    np.testing.assert_allclose(ds["beta"], ds["T"] * ds.attrs["total_variance"] / 0.5)
    for name, dims in {"pca_eigenvalue": ("mode",), "pca_fraction": ("mode",), "pca_truncated_distortion": ("mode",),
                       "theory_threshold": ("mode",), "theory_M2": ("T", "mode"), "theory_sigma2": ("T", "mode"),
                       "theory_log_sigma2": ("T", "mode"), "theory_rate": ("T", "mode"),
                       "theory_distortion": ("T",), "theory_total_rate": ("T",), "theory_loss": ("T",),
                       "theory_n_active": ("T",)}.items():
        assert ds[name].dims == dims, name
        assert ds[name].attrs["long_name"] and "units" in ds[name].attrs, name
    for attr in ["total_variance", "sigma_dec2", "n_latents", "n_features", "objective", "method", "dataset",
                 "created_at", "linvae_version", "jax_version", "config_standardize", "config_grid"]:
        assert attr in ds.attrs, attr
    assert ds.attrs["n_latents"] == 5 and ds.attrs["n_features"] == 4 and ds.attrs["config_standardize"] == 0
    # theory variables agree with the closed form at the stored spectrum
    b = linvae.optimum(ds["T"].values, ds["pca_eigenvalue"].values, n_latents=5)
    np.testing.assert_allclose(ds["theory_M2"], b.M2)
    np.testing.assert_allclose(ds["theory_threshold"], ds["pca_fraction"].clip(min=0))


def test_netcdf_round_trip_is_exact(tmp_path):
    ds = make_dataset()
    path = linvae.save(ds, tmp_path / "r.nc")
    back = linvae.load(path)
    xr.testing.assert_identical(ds, back)
    for name in ds.variables:
        assert back[name].dtype.kind == ds[name].dtype.kind or ds[name].dtype == object, name
    assert not list(tmp_path.glob("*.tmp"))


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    ds = make_dataset()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    try:
        linvae.save(ds, tmp_path / "r.nc")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []
