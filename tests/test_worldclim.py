"""WorldClim loader and spatial-block split (SPEC.md §9), on small GeoTIFFs written here and on the real layers.

The real 10' layers are read from ``../shared/worldclim10m`` (never copied into the project); those tests skip
when the folder is absent. Every check uses independent numerics: rasterio reads of the files, the ellipsoidal
equal-area formulas written out in numpy, numpy statistics.
"""

import pathlib

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

import linvae
from linvae import cli

dtype_promotion = "standard"  # the scan below trains through optax

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "worldclim10m"
real = pytest.mark.skipif(not SHARED.is_dir(), reason=f"real WorldClim layers not found in {SHARED} "
                          "(the shared folder beside the project); these tests need them")

# WGS 84 and EASE-Grid 2.0 (EPSG:6933): cylindrical equal-area, standard parallel 30°
A_WGS84, E2 = 6378137.0, 0.00669437999014
K0 = np.cos(np.radians(30)) / np.sqrt(1 - E2 * np.sin(np.radians(30)) ** 2)


def _q(lat):
    s, e = np.sin(np.radians(lat)), np.sqrt(E2)
    return (1 - E2) * (s / (1 - E2 * s ** 2) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))


def _ease(lat, lon):
    """EPSG:6933 forward projection (Snyder 1987, eqs. 10-15), metres."""
    return A_WGS84 * K0 * np.radians(lon), A_WGS84 * _q(lat) / (2 * K0)


def _write(path, values, *, nodata, transform=None, crs="EPSG:4326"):
    values = np.asarray(values)
    transform = transform or from_origin(-180, 90, 360 / values.shape[1], 180 / values.shape[0])
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                       dtype=values.dtype, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(values, 1)


@pytest.fixture
def small(tmp_path):
    """Four 18 x 36 layers in both naming schemes, each with its own nodata value and its own holes."""
    rng = np.random.default_rng(0)
    shape = (18, 36)
    layers = {1: rng.normal(10, 5, shape).astype(np.float32), 5: rng.normal(25, 5, shape),
              6: rng.normal(-5, 5, shape), 12: rng.gamma(2.0, 300.0, shape)}
    layers[1][0, :] = -3.4e38
    layers[5][:, 0] = -1.7e308
    layers[12][5, 5] = -9999.0
    _write(tmp_path / "wc2.1_10m_bio_1.tif", layers[1], nodata=-3.4e38)
    _write(tmp_path / "wc2.0_bio_10m_05.tif", layers[5], nodata=-1.7e308)
    _write(tmp_path / "wc2.0_bio_10m_06.tif", layers[6], nodata=-1.7e308)
    _write(tmp_path / "wc2.0_bio_10m_12.tif", layers[12], nodata=-9999.0)
    (tmp_path / "notes.txt").write_text("not a layer")
    valid = np.ones(shape, bool)
    valid[0, :] = valid[:, 0] = False
    valid[5, 5] = False
    return tmp_path, layers, valid


def test_loader_reads_both_schemes_own_nodata_and_derives_bio7(small):
    folder, layers, valid = small
    assert list(linvae.find_layers(folder)) == [1, 5, 6, 12]
    ds = linvae.load_worldclim(folder)
    assert list(ds.data_vars) == ["BIO1", "BIO5", "BIO6", "BIO7", "BIO12"]
    assert ds.sizes["cell"] == valid.sum()
    mask = np.zeros(valid.shape, bool)
    mask[ds["row"].values, ds["col"].values] = True
    np.testing.assert_array_equal(mask, valid)
    for b in (1, 5, 6, 12):
        np.testing.assert_array_equal(ds[f"BIO{b}"].values, layers[b][valid].astype(np.float64))
    np.testing.assert_array_equal(ds["BIO7"].values, layers[5][valid] - layers[6][valid])
    assert ds["BIO7"].attrs["source_file"].startswith("derived")
    assert ds["BIO12"].attrs["units"] == "mm" and ds["BIO1"].attrs["units"] == "degC"
    assert ds["BIO1"].attrs["long_name"] == "annual mean temperature"
    # cell centres: 10° cells starting at (-180, 90)
    np.testing.assert_allclose(ds["lat"].values, 90 - 10 * (ds["row"].values + 0.5))
    np.testing.assert_allclose(ds["lon"].values, -180 + 10 * (ds["col"].values + 0.5))


def test_variable_subset_and_bio7_only_when_asked(small):
    folder, layers, valid = small
    ds = linvae.load_worldclim(folder, [12, 1])
    assert list(ds.data_vars) == ["BIO1", "BIO12"]
    ds = linvae.load_worldclim(folder, [1], derive_bio7=True)
    assert list(ds.data_vars) == ["BIO1"]
    # only BIO1's own holes count when BIO1 alone is chosen
    assert ds.sizes["cell"] == (layers[1] > -1e38).sum()
    assert "BIO7" not in linvae.load_worldclim(folder, derive_bio7=False)
    with pytest.raises(linvae.InputError, match="BIO7"):
        linvae.load_worldclim(folder, [7], derive_bio7=False)


def test_cell_area_is_the_ellipsoid_area():
    """Cell areas from the equal-area projection sum to the WGS 84 surface and follow the band formula."""
    from linvae._worldclim import _cell_area_km2

    transform = from_origin(-180, 90, 1 / 6, 1 / 6)
    area = _cell_area_km2(transform, (1080, 2160))
    total = area.sum() * 2160
    # surface of the WGS 84 ellipsoid: 2π a² (1 + (1 − e²)/e atanh e)
    e = np.sqrt(E2)
    surface = 2 * np.pi * A_WGS84 ** 2 * (1 + (1 - E2) / e * np.arctanh(e)) / 1e6
    assert total == pytest.approx(surface, rel=1e-9)
    lat_edges = 90 - np.arange(1081) / 6
    band = A_WGS84 ** 2 * np.radians(1 / 6) * np.abs(np.diff(_q(lat_edges))) / 2 / 1e6
    np.testing.assert_allclose(area, band, rtol=1e-9)


def test_block_split_keeps_blocks_whole_and_hits_fractions():
    rng = np.random.default_rng(1)
    lat = rng.uniform(-60, 75, 40_000)
    lon = rng.uniform(-180, 180, 40_000)
    area = np.cos(np.radians(lat))
    split = linvae.spatial_block_split(lat, lon, area, block_km=500, fractions=(0.6, 0.2, 0.2), seed=3)
    x, y = _ease(lat, lon)
    blocks = np.unique(np.stack([np.floor(x / 5e5), np.floor(y / 5e5)], 1), axis=0, return_inverse=True)[1].ravel()
    # one label per independently computed 500 km block
    per_block = np.zeros((blocks.max() + 1, 3), int)
    np.add.at(per_block, (blocks, split.labels), 1)
    assert np.all((per_block > 0).sum(1) == 1)
    counts = np.bincount(split.labels, minlength=3) / lat.size
    np.testing.assert_allclose(counts, [0.6, 0.2, 0.2], atol=0.01)
    assert split.attrs["n_train"] + split.attrs["n_val"] + split.attrs["n_test"] == lat.size
    other = linvae.spatial_block_split(lat, lon, area, block_km=500, fractions=(0.6, 0.2, 0.2), seed=4)
    assert not np.array_equal(other.labels, split.labels)
    coarse = linvae.spatial_block_split(lat, lon, area, block_km=1500, fractions=(0.6, 0.2, 0.2), seed=3)
    assert coarse.attrs["n_blocks"] < split.attrs["n_blocks"] / 5


def test_block_sampling_is_area_weighted():
    """Drawn first means trained: over seeds, a block's chance to land in train grows with its land area."""
    rng = np.random.default_rng(0)
    lat = rng.uniform(-50, 50, 20_000)
    lon = rng.uniform(-180, 180, 20_000)
    area = np.where(lon > 0, 10.0, 1.0)  # eastern cells weigh ten times more
    east_train = [np.mean(linvae.spatial_block_split(lat, lon, area, fractions=(0.3, 0.35, 0.35), seed=s)
                          .labels[lon > 0] == 0) for s in range(10)]
    assert np.mean(east_train) > 0.45  # uniform sampling would give ~0.3


@pytest.mark.parametrize("case, match", [
    ("missing", "does not exist"),
    ("empty", "no WorldClim bioclimatic layers"),
    ("grid", "another grid"),
    ("crs", "another grid"),
    ("projected", "geographic"),
    ("unreadable", "cannot read"),
    ("disjoint", "no cell is valid"),
    ("duplicate", "appears twice"),
    ("resolutions", "mixes resolutions"),
])
def test_bad_folders_give_one_line_errors(tmp_path, case, match):
    ones = np.ones((4, 8))
    if case != "missing":
        _write(tmp_path / "wc2.1_10m_bio_1.tif", ones, nodata=-9.0)
    if case == "empty":
        (tmp_path / "wc2.1_10m_bio_1.tif").unlink()
    elif case == "grid":
        _write(tmp_path / "wc2.1_10m_bio_12.tif", ones, nodata=-9.0, transform=from_origin(-170, 90, 45, 45))
    elif case == "crs":
        _write(tmp_path / "wc2.1_10m_bio_12.tif", ones, nodata=-9.0, crs="EPSG:4269")
    elif case == "projected":
        (tmp_path / "wc2.1_10m_bio_1.tif").unlink()
        _write(tmp_path / "wc2.1_10m_bio_1.tif", ones, nodata=-9.0, crs="EPSG:3857",
               transform=from_origin(0, 0, 1000, 1000))
    elif case == "unreadable":
        (tmp_path / "wc2.1_10m_bio_12.tif").write_bytes(b"this is not a GeoTIFF")
    elif case == "disjoint":
        half = ones.copy()
        half[:, :4] = -9.0
        _write(tmp_path / "wc2.1_10m_bio_1.tif", half, nodata=-9.0)
        _write(tmp_path / "wc2.1_10m_bio_12.tif", half[:, ::-1].copy(), nodata=-9.0)
    elif case == "duplicate":
        _write(tmp_path / "wc2.0_bio_10m_01.tif", ones, nodata=-9.0)
    elif case == "resolutions":
        _write(tmp_path / "wc2.1_5m_bio_12.tif", ones, nodata=-9.0)
    folder = tmp_path / "nowhere" if case == "missing" else tmp_path
    with pytest.raises(linvae.InputError, match=match) as err:
        linvae.load_worldclim(folder)
    assert "\n" not in str(err.value)


def test_cli_worldclim_errors_exit_2_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "r.nc"
    assert cli.main(["scan", "--data", f"worldclim:{tmp_path / 'none'}", "--out", str(out)]) == 2
    assert cli.main(["theory", "--data", f"worldclim:{tmp_path}", "--out", str(out)]) == 2
    assert cli.main(["scan", "--data", f"worldclim:{tmp_path}", "--split-fractions", "1,2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("linvae: error:") for line in err)
    assert not out.exists()


# ---------------------------------------------------------------------------------------------- the real layers

@pytest.fixture(scope="module")
def worldclim():
    return linvae.load_worldclim(SHARED)


@real
def test_real_layers_share_one_mask_of_808053_cells(worldclim):
    ds = worldclim
    assert ds.sizes["cell"] == 808_053
    assert list(ds.data_vars) == [f"BIO{b}" for b in (1, 5, 6, 7, 12, 13, 14, 16, 17, 18, 19)]
    for path in sorted(SHARED.glob("*.tif")):
        with rasterio.open(path) as src:
            band = src.read(1)
            nodata = src.nodata
        own = np.isfinite(band) & (band != nodata)
        assert own.sum() == 808_053, path.name
        assert np.all(own[ds["row"].values, ds["col"].values]), path.name
    np.testing.assert_array_equal(ds["BIO7"].values, ds["BIO5"].values - ds["BIO6"].values)
    # land area of the valid cells: ~1.5e8 km² (all continents, Antarctica included)
    assert 1.3e8 < ds["cell_area"].sum() < 1.6e8


@real
def test_real_split_sizes_disjoint_and_blockwise(worldclim):
    ds = worldclim
    split = linvae.spatial_block_split(ds["lat"].values, ds["lon"].values, ds["cell_area"].values)
    counts = np.bincount(split.labels, minlength=3)
    paper = np.array([499_599, 153_897, 154_027])
    np.testing.assert_allclose(counts, paper, rtol=0.02)
    assert counts.sum() == 808_053  # every cell in exactly one split
    x, y = _ease(ds["lat"].values, ds["lon"].values)
    blocks = np.unique(np.stack([np.floor(x / 5e5), np.floor(y / 5e5)], 1), axis=0, return_inverse=True)[1].ravel()
    per_block = np.zeros((blocks.max() + 1, 3), int)
    np.add.at(per_block, (blocks, split.labels), 1)
    assert np.all((per_block > 0).sum(1) == 1)
    assert split.attrs["split_seed"] == 0 and split.attrs["split_block_km"] == 500


@real
def test_real_scan_standardises_with_training_statistics_only(tmp_path):
    table = linvae.worldclim_table(SHARED, [1, 5, 6, 12])
    config = linvae.ScanConfig(method="exact", n_latents=4)
    ds = linvae.scan(table, np.geomspace(1e-3, 1, 4), config, progress=False, analyse=False, store_split=True)
    train = table.values[table.split == "train"]
    np.testing.assert_allclose(ds["data_mean"].values, train.mean(0), rtol=1e-10)
    np.testing.assert_allclose(ds["data_scale"].values, train.std(0), rtol=1e-10)
    assert not np.allclose(ds["data_mean"].values, table.values.mean(0), rtol=1e-3)
    for name in ("train", "val", "test"):
        assert ds.attrs[f"n_{name}"] == np.sum(table.split == name)
    labels = ds["sample_split"].values
    np.testing.assert_array_equal(np.asarray(["train", "val", "test"])[labels], table.split)
    assert ds.attrs["split_block_km"] == 500 and ds.attrs["split_seed"] == 0
    np.testing.assert_array_equal(ds["lat"].values, table.coords["lat"])
    from linvae import _plots

    fig = _plots.plot_split_map(ds)
    drawn = [len(c.get_offsets()) for c in fig.axes[0].collections]
    assert drawn == [ds.attrs["n_train"], ds.attrs["n_val"], ds.attrs["n_test"]]
    _plots.plt.close(fig)
    path = tmp_path / "r.nc"
    linvae.save(ds, path)
    back = linvae.load(path)
    assert back.attrs["split_method"].startswith("spatial blocks")
    np.testing.assert_array_equal(back["sample_split"].values, labels)
