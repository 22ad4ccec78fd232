"""WorldClim bioclimatic rasters: loader and spatial-block split (SPEC.md §9).

The loader reads WorldClim GeoTIFFs with rasterio (both official naming schemes, any resolution, any subset of
BIO1..BIO19), masks each layer with its own nodata value, keeps the cells valid in every chosen layer and returns
them as an ``xarray.Dataset`` over a ``cell`` dimension with cell-centre latitude/longitude, cell area, names and
units. BIO7 (temperature annual range) is by definition BIO5 − BIO6 and is derived from them when asked.

The split assigns equal-area blocks (side ``block_km`` in the EASE-Grid 2.0 global equal-area projection,
EPSG:6933) to train / validation / test. Blocks are drawn without replacement with probability proportional to
their land area (area-weighted sampling, seeded); drawn blocks fill the training split until it holds
``fractions[0]`` of the cells, the blocks left are divided between validation and test in the proportion
``fractions[1] : fractions[2]``. Every cell of a block lands in the same split, so no block straddles two splits.
"""

import pathlib
import re
from typing import NamedTuple

import numpy as np
import xarray as xr

from linvae._data import Table
from linvae._errors import InputError

__all__ = ["BIOCLIM", "find_layers", "load_worldclim", "BlockSplit", "spatial_block_split", "worldclim_table"]

EQUAL_AREA_CRS = "EPSG:6933"  # EASE-Grid 2.0 global: cylindrical equal-area on WGS 84, metres
SPLIT_NAMES = ("train", "val", "test")
# proportions of cells: the paper's 499,599 / 153,897 / 154,027 (SPEC.md §9) relative to their sum
DEFAULT_FRACTIONS = (0.6187, 0.1906, 0.1907)

BIOCLIM = {  # WorldClim 2 bioclimatic variables: long name, units
    1: ("annual mean temperature", "degC"),
    2: ("mean diurnal range (mean of monthly (max temp - min temp))", "degC"),
    3: ("isothermality (BIO2/BIO7 x 100)", "percent"),
    4: ("temperature seasonality (standard deviation x 100)", "degC x 100"),
    5: ("max temperature of warmest month", "degC"),
    6: ("min temperature of coldest month", "degC"),
    7: ("temperature annual range (BIO5 - BIO6)", "degC"),
    8: ("mean temperature of wettest quarter", "degC"),
    9: ("mean temperature of driest quarter", "degC"),
    10: ("mean temperature of warmest quarter", "degC"),
    11: ("mean temperature of coldest quarter", "degC"),
    12: ("annual precipitation", "mm"),
    13: ("precipitation of wettest month", "mm"),
    14: ("precipitation of driest month", "mm"),
    15: ("precipitation seasonality (coefficient of variation)", "percent"),
    16: ("precipitation of wettest quarter", "mm"),
    17: ("precipitation of driest quarter", "mm"),
    18: ("precipitation of warmest quarter", "mm"),
    19: ("precipitation of coldest quarter", "mm"),
}

_SCHEMES = (  # WorldClim 2.1: wc2.1_10m_bio_1.tif; WorldClim 2.0: wc2.0_bio_10m_01.tif
    re.compile(r"^wc2\.1_(?P<res>[0-9.]+[ms])_bio_(?P<bio>\d{1,2})\.tif$", re.IGNORECASE),
    re.compile(r"^wc2\.0_bio_(?P<res>[0-9.]+[ms])_(?P<bio>\d{2})\.tif$", re.IGNORECASE),
)


def find_layers(directory) -> dict:
    """Map BIO number → GeoTIFF path for the WorldClim layers in ``directory`` (both naming schemes).

    Raises :class:`InputError` when the folder is missing, holds no layer, mixes resolutions, or holds one
    variable twice.
    """
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise InputError(f"WorldClim folder {str(directory)!r} does not exist; pass the folder holding the "
                         "wc2.1_10m_bio_N.tif (or wc2.0_bio_10m_NN.tif) files")
    layers, resolutions = {}, set()
    for path in sorted(directory.iterdir()):
        match = next((m for m in (s.match(path.name) for s in _SCHEMES) if m), None)
        if match is None or int(match["bio"]) not in BIOCLIM:
            continue
        bio = int(match["bio"])
        if bio in layers:
            raise InputError(f"BIO{bio} appears twice in {str(directory)!r} ({layers[bio].name}, {path.name}); "
                             "keep one file per variable")
        layers[bio] = path
        resolutions.add(match["res"].lower())
    if not layers:
        raise InputError(f"no WorldClim bioclimatic layers in {str(directory)!r}; expected files named "
                         "wc2.1_<res>_bio_N.tif or wc2.0_bio_<res>_NN.tif")
    if len(resolutions) > 1:
        raise InputError(f"{str(directory)!r} mixes resolutions {', '.join(sorted(resolutions))}; "
                         "keep the layers of one resolution per folder")
    return dict(sorted(layers.items()))


def _chosen(available, variables, derive_bio7):
    """The BIO numbers to return, and whether BIO7 is derived from BIO5 and BIO6."""
    derivable = derive_bio7 and 7 not in available and {5, 6} <= set(available)
    if variables is None:
        wanted = sorted(set(available) | ({7} if derivable else set()))
    else:
        wanted = sorted({int(v) for v in variables})
        bad = [v for v in wanted if v not in BIOCLIM]
        if bad:
            raise InputError(f"unknown bioclimatic variable(s) {bad}; WorldClim has BIO1..BIO19")
        missing = [v for v in wanted if v not in available and not (v == 7 and derivable)]
        if missing:
            hint = " (BIO7 can be derived from BIO5 and BIO6 when both are present)" if 7 in missing else ""
            raise InputError(f"layer(s) {', '.join(f'BIO{v}' for v in missing)} not found; available: "
                             f"{', '.join(f'BIO{v}' for v in available)}{hint}")
    return wanted, 7 in wanted and 7 not in available


def _open(path):
    import rasterio

    try:
        return rasterio.open(path)
    except Exception as err:  # rasterio's errors vary by driver; report them on one line
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"cannot read WorldClim layer {str(path)!r}: {reason}") from err


def _read(path, grid):
    """One layer as float64 values and its validity mask (own nodata value, finite), checked against ``grid``."""
    with _open(path) as src:
        here = (src.crs, src.transform, src.shape)
        if grid is not None and (here[0] != grid[0] or here[2] != grid[2]
                                 or not here[1].almost_equals(grid[1], precision=1e-9)):
            raise InputError(f"{path.name} is on another grid (CRS {here[0]}, shape {here[2]}, origin "
                             f"{here[1].c:.6g},{here[1].f:.6g}) than the first layer (CRS {grid[0]}, shape "
                             f"{grid[2]}); use layers of one WorldClim download")
        if src.crs is None or not src.crs.is_geographic:
            raise InputError(f"{path.name} has CRS {src.crs}, expected WorldClim's geographic "
                             "latitude/longitude grid (EPSG:4326)")
        try:
            band = src.read(1, masked=True)
        except Exception as err:
            raise InputError(f"cannot read the pixels of {str(path)!r}: {str(err).splitlines()[0]}") from err
    values = np.ma.getdata(band).astype(np.float64, copy=False)
    return values, ~np.ma.getmaskarray(band) & np.isfinite(values), here


def _cell_area_km2(transform, shape):
    """Area of each raster row's cells in km², exact for the WGS 84 ellipsoid: a lat/lon rectangle maps to a
    rectangle of the same area in the cylindrical equal-area projection."""
    from rasterio.warp import transform as reproject

    rows = np.arange(shape[0] + 1)
    lat_edges = transform.f + rows * transform.e
    lon0, lon1 = transform.c, transform.c + transform.a
    x, y = reproject("EPSG:4326", EQUAL_AREA_CRS, [lon0, lon1] + [lon0] * rows.size, [0.0, 0.0] + list(lat_edges))
    width = abs(x[1] - x[0])
    return width * np.abs(np.diff(np.asarray(y[2:]))) / 1e6


def load_worldclim(directory, variables=None, *, derive_bio7=True) -> xr.Dataset:
    """Read WorldClim bioclimatic layers into a Dataset over the cells valid in every chosen layer.

    Args:
      directory: folder with ``wc2.1_<res>_bio_N.tif`` and/or ``wc2.0_bio_<res>_NN.tif`` files (one resolution).
      variables: BIO numbers to keep (default: every layer found, plus BIO7 when derivable).
      derive_bio7: compute BIO7 = BIO5 − BIO6 when BIO7 is asked for (or ``variables`` is None) but has no file.
    Returns:
      ``xarray.Dataset`` with one float64 variable ``BIO<n>`` per chosen layer over dimension ``cell``
      (``long_name``, ``units``, ``source_file``), coordinates ``lat``/``lon`` (cell centres, degrees),
      ``row``/``col`` (raster indices) and ``cell_area`` (km²); attrs give the grid shape, transform and CRS.
    Reads every layer twice (mask, then values) so memory stays at one layer plus the valid cells.
    """
    available = find_layers(directory)
    wanted, derived = _chosen(available, variables, derive_bio7)
    files = {b: available[b] for b in sorted(set(wanted) - {7} | ({5, 6} if derived else set()))}
    if 7 in wanted and not derived:
        files[7] = available[7]
    grid, valid = None, None
    for path in files.values():
        _, ok, grid = _read(path, grid)
        valid = ok if valid is None else valid & ok
    n_cells = int(valid.sum())
    if n_cells == 0:
        raise InputError(f"no cell is valid in all of {', '.join(p.name for p in files.values())}; "
                         "check that the layers cover the same region")
    crs, transform, shape = grid
    row, col = np.nonzero(valid)
    data = {b: _read(path, grid)[0][valid] for b, path in files.items()}
    if derived:
        data[7] = data[5] - data[6]
    out = xr.Dataset(
        {f"BIO{b}": ("cell", data[b], {"long_name": BIOCLIM[b][0], "units": BIOCLIM[b][1],
                                        "source_file": files[b].name if b in files else "derived: BIO5 - BIO6"})
         for b in wanted},
        coords={
            "lat": ("cell", transform.f + (row + 0.5) * transform.e, {"units": "degrees_north",
                                                                       "long_name": "cell-centre latitude"}),
            "lon": ("cell", transform.c + (col + 0.5) * transform.a, {"units": "degrees_east",
                                                                      "long_name": "cell-centre longitude"}),
            "row": ("cell", row.astype(np.int32), {"long_name": "raster row index"}),
            "col": ("cell", col.astype(np.int32), {"long_name": "raster column index"}),
            "cell_area": ("cell", _cell_area_km2(transform, shape)[row], {"units": "km2",
                                                                          "long_name": "cell area (WGS 84)"}),
        },
        attrs={"source": f"WorldClim bioclimatic layers in {pathlib.Path(directory).resolve()}",
               "crs": str(crs), "transform": list(transform)[:6], "grid_shape": list(shape),
               "variables": ",".join(f"BIO{b}" for b in wanted),
               "derived": "BIO7 = BIO5 - BIO6" if derived else "none",
               "citation": "Fick, S.E. and R.J. Hijmans (2017) WorldClim 2, Int. J. Climatol. 37(12): 4302-4315"},
    )
    return out


class BlockSplit(NamedTuple):
    """A spatial-block split: per-cell labels 0 train / 1 val / 2 test, per-cell block index, and provenance."""

    labels: np.ndarray   # (N,) int8
    block: np.ndarray    # (N,) int64 index into the blocks that hold at least one cell
    attrs: dict          # block size, fractions, seed, counts, land areas


def spatial_block_split(lat, lon, cell_area, *, block_km=500.0, fractions=DEFAULT_FRACTIONS,
                        seed=0) -> BlockSplit:
    """Assign equal-area blocks of side ``block_km`` to train / validation / test (SPEC.md §9).

    Cell centres are projected to EPSG:6933 (equal-area); block ``(⌊x/L⌋, ⌊y/L⌋)`` has area L² everywhere.
    Blocks are drawn without replacement with probability ∝ their land area ``Σ cell_area`` (``seed``); the
    drawn sequence fills the training split up to ``fractions[0]`` of the cells (the block that crosses the
    target included), and the remaining blocks, in the same order, fill validation up to
    ``fractions[1] / (fractions[1] + fractions[2])`` of the cells left; the rest is test.
    """
    from rasterio.warp import transform as reproject

    fractions = np.asarray(fractions, np.float64)
    if fractions.shape != (3,) or np.any(fractions <= 0) or not np.all(np.isfinite(fractions)):
        raise InputError(f"split fractions must be three positive numbers (train, val, test), found "
                         f"{fractions.tolist()}; e.g. 0.62,0.19,0.19")
    if not (np.isfinite(block_km) and block_km > 0):
        raise InputError(f"the block size must be a positive number of km, found {block_km}")
    fractions = fractions / fractions.sum()
    x, y = (np.asarray(v) for v in reproject("EPSG:4326", EQUAL_AREA_CRS, np.asarray(lon, np.float64),
                                               np.asarray(lat, np.float64)))
    size = block_km * 1e3
    keys = np.stack([np.floor(x / size), np.floor(y / size)], axis=1).astype(np.int64)
    _, block = np.unique(keys, axis=0, return_inverse=True)
    block = block.ravel()
    land = np.bincount(block, weights=np.asarray(cell_area, np.float64))
    order = np.random.default_rng(seed).choice(land.size, size=land.size, replace=False, p=land / land.sum())
    filled = np.cumsum(np.bincount(block)[order])
    n_train = int(np.searchsorted(filled, fractions[0] * filled[-1])) + 1  # the block that crosses the target
    rest = filled[n_train:] - filled[n_train - 1]
    n_val = int(np.searchsorted(rest, fractions[1] / fractions[1:].sum() * rest[-1])) + 1 if rest.size else 0
    if n_train >= land.size or n_val == 0 or n_train + n_val >= land.size:
        raise InputError(f"{land.size} blocks of {block_km:g} km cannot be divided into train, validation and "
                         "test; use smaller blocks (--block-km) or a larger region")
    block_label = np.empty(land.size, np.int8)
    block_label[order[:n_train]] = 0
    block_label[order[n_train:n_train + n_val]] = 1
    block_label[order[n_train + n_val:]] = 2
    labels = block_label[block]
    counts = np.bincount(labels, minlength=3)
    areas = np.bincount(labels, weights=cell_area, minlength=3)
    attrs = {"split_method": "spatial blocks, area-weighted sampling", "split_block_km": float(block_km),
             "split_seed": int(seed), "split_fractions": fractions.tolist(), "split_crs": EQUAL_AREA_CRS,
             "n_blocks": int(land.size), "n_blocks_train": n_train, "n_blocks_val": n_val,
             "n_blocks_test": int(land.size - n_train - n_val),
             **{f"land_area_km2_{name}": float(a) for name, a in zip(SPLIT_NAMES, areas)},
             **{f"n_{name}": int(c) for name, c in zip(SPLIT_NAMES, counts)}}
    return BlockSplit(labels=labels, block=block, attrs=attrs)


def worldclim_table(directory, variables=None, *, derive_bio7=True, block_km=500.0, fractions=DEFAULT_FRACTIONS,
                    seed=0) -> Table:
    """WorldClim cells as a :class:`linvae.Table` carrying its spatial-block split, ready for :func:`linvae.scan`.

    Values are the raw layer units (``scan`` standardises with training statistics); ``coords`` holds the cells'
    latitude, longitude and area; ``attrs`` the split's provenance.
    """
    ds = load_worldclim(directory, variables, derive_bio7=derive_bio7)
    split = spatial_block_split(ds["lat"].values, ds["lon"].values, ds["cell_area"].values, block_km=block_km,
                                fractions=fractions, seed=seed)
    features = [name for name in ds.data_vars]
    values = np.stack([ds[name].values for name in features], axis=1)
    return Table(values=values, features=tuple(features), source=ds.attrs["source"],
                 split=np.asarray(SPLIT_NAMES)[split.labels],
                 attrs={**split.attrs, "worldclim_variables": ds.attrs["variables"],
                        "worldclim_derived": ds.attrs["derived"],
                        "feature_units": ",".join(ds[f].attrs["units"] for f in features)},
                 coords={name: ds[name].values for name in ("lat", "lon", "cell_area")})
