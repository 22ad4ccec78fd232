"""WorldClim bioclimatic rasters: loader and spatial-block split (docs/theory.md §9).

The loader reads WorldClim GeoTIFFs with rasterio (both official naming schemes, any resolution, any subset of
BIO1..BIO19), masks each layer with its own nodata value, keeps the cells valid in every chosen layer and returns
them as an ``xarray.Dataset`` over a ``cell`` dimension with cell-centre latitude/longitude, cell area, names and
units. BIO7 (temperature annual range) is by definition BIO5 − BIO6 and is derived from them when asked.

The split assigns equal-area blocks (side ``block_km`` in the EASE-Grid 2.0 global equal-area projection,
EPSG:6933) to train / validation / test. Training blocks are drawn without replacement with probability
proportional to their land area (area-weighted sampling, seeded) until they hold ``fractions[0]`` of the cells;
the blocks left are shuffled uniformly and divided between validation and test in the proportion
``fractions[1] : fractions[2]``. Every cell of a block lands in the same split, so no block straddles two splits.
"""

import dataclasses
import pathlib
import re
from typing import NamedTuple

import numpy as np
import xarray as xr

from linvae._errors import InputError
from linvae.data._tables import Table

__all__ = ["BIOCLIM", "find_layers", "load_worldclim", "BlockSplitConfig", "BlockSplit", "spatial_block_split",
           "worldclim_table"]

EQUAL_AREA_CRS = "EPSG:6933"  # EASE-Grid 2.0 global: cylindrical equal-area on WGS 84, metres
SPLIT_NAMES = ("train", "val", "test")
PAPER_SPLIT = (499_599, 153_897, 154_027)  # the paper's split sizes (docs/theory.md §9): the default proportions

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
"""WorldClim 2 bioclimatic variables: BIO number → ``(long name, units)`` (docs/how-to/worldclim.md)."""

_SCHEMES = (  # WorldClim 2.1: wc2.1_10m_bio_1.tif; WorldClim 2.0: wc2.0_bio_10m_01.tif
    re.compile(r"^wc2\.1_(?P<res>[0-9.]+[ms])_bio_(?P<bio>\d{1,2})\.tif$", re.IGNORECASE),
    re.compile(r"^wc2\.0_bio_(?P<res>[0-9.]+[ms])_(?P<bio>\d{2})\.tif$", re.IGNORECASE),
)


def find_layers(directory) -> dict:
    """Map BIO number → GeoTIFF path for the WorldClim layers in ``directory`` (both naming schemes)
    (docs/how-to/worldclim.md).

    Files are matched by name: ``wc2.1_<res>_bio_N.tif`` (WorldClim 2.1) or ``wc2.0_bio_<res>_NN.tif``
    (WorldClim 2.0), in any case; other files are ignored.

    Args:
      directory: the folder of GeoTIFF layers (``str`` or path-like).

    Returns:
      ``{BIO number: pathlib.Path}``, sorted by BIO number.

    Raises:
      InputError: the folder is missing or cannot be listed, holds no layer, mixes resolutions, or holds one
        variable twice.
    """
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise InputError(f"WorldClim folder {str(directory)!r} does not exist; pass the folder holding the "
                         "wc2.1_10m_bio_N.tif (or wc2.0_bio_10m_NN.tif) files")
    try:
        names = sorted(directory.iterdir())
    except OSError as err:
        raise InputError(f"cannot list the WorldClim folder {str(directory)!r}: {err.strerror}") from err
    layers, resolutions = {}, set()
    for path in names:
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
        if not wanted:
            raise InputError("the list of bioclimatic variables is empty; name at least one, e.g. 1,5,6,12")
        bad = [v for v in wanted if v not in BIOCLIM]
        if bad:
            raise InputError(f"unknown bioclimatic variable(s) {bad}; WorldClim has BIO1..BIO19")
        missing = [v for v in wanted if v not in available and not (v == 7 and derivable)]
        if missing:
            hint = " (BIO7 can be derived from BIO5 and BIO6 when both are present)" if 7 in missing else ""
            raise InputError(f"layer(s) {', '.join(f'BIO{v}' for v in missing)} not found; available: "
                             f"{', '.join(f'BIO{v}' for v in available)}{hint}")
    return wanted, 7 in wanted and 7 not in available


def _reason(err):
    """The most specific line of an error chain (GDAL puts the real cause in ``__cause__``)."""
    lines = []
    while err is not None:
        text = str(err).strip()
        if text:
            lines.append(text.splitlines()[0])
        err = err.__cause__ or err.__context__
    useful = [line for line in lines if "see previous exception" not in line.lower()]
    return (useful or lines or ["unknown error"])[-1]


def _open(path):
    import rasterio

    try:
        return rasterio.open(path)
    except Exception as err:  # rasterio's errors vary by driver; report them on one line
        raise InputError(f"cannot read WorldClim layer {str(path)!r}: {_reason(err)}; re-download the file") \
            from err


class _Grid(NamedTuple):
    crs: object
    transform: object
    shape: tuple


def _describe(grid):
    t = grid.transform
    return (f"CRS {grid.crs}, shape {grid.shape}, origin ({t.c:.6g}, {t.f:.6g}), pixel ({t.a:.6g}, {t.e:.6g})")


def _check(path, src, first):
    """The layer's grid, checked: one band, a geographic CRS inside ±90°, and the first layer's grid."""
    grid = _Grid(src.crs, src.transform, src.shape)
    if src.count != 1:
        raise InputError(f"{path.name} has {src.count} bands, expected one bioclimatic variable per file")
    if src.crs is None or not src.crs.is_geographic:
        raise InputError(f"{path.name} has CRS {src.crs}, expected WorldClim's geographic latitude/longitude grid "
                         "(EPSG:4326)")
    t = grid.transform
    edges = (t.f, t.f + grid.shape[0] * t.e)
    if t.b != 0 or t.d != 0 or max(edges) > 90 + 1e-9 or min(edges) < -90 - 1e-9:
        raise InputError(f"{path.name} is not a north-up grid inside latitudes -90..90 ({_describe(grid)})")
    if first is not None and (grid.crs != first.crs or grid.shape != first.shape
                              or not grid.transform.almost_equals(first.transform, precision=1e-9)):
        raise InputError(f"{path.name} is on another grid ({_describe(grid)}) than the first layer "
                         f"({_describe(first)}); use layers of one WorldClim download")
    return grid


def _row_windows(src, rows=512):
    from rasterio.windows import Window

    for r0 in range(0, src.height, rows):
        yield Window(0, r0, src.width, min(rows, src.height - r0))


def _read_window(path, src, window):
    """Values (float64) and validity of one window: the layer's own nodata, finite, and — for a file without a
    nodata tag — not a fill value of magnitude ≥ 1e30."""
    try:
        band = src.read(1, window=window, masked=True)
    except Exception as err:
        raise InputError(f"cannot read the pixels of {str(path)!r}: {_reason(err)}; re-download the file") from err
    values = np.ma.getdata(band).astype(np.float64, copy=False)
    ok = ~np.ma.getmaskarray(band) & np.isfinite(values)
    if src.nodata is None:
        ok &= np.abs(values) < 1e30
    return values, ok


def _cell_area_km2(crs, transform, shape):
    """Area of each raster row's cells in km², exact for the CRS's ellipsoid: a lat/lon rectangle maps to a
    rectangle of the same area in the cylindrical equal-area projection."""
    from rasterio.warp import transform as reproject

    rows = np.arange(shape[0] + 1)
    lat_edges = transform.f + rows * transform.e
    lon0, lon1 = transform.c, transform.c + transform.a
    x, y = reproject(crs, EQUAL_AREA_CRS, [lon0, lon1] + [lon0] * rows.size, [0.0, 0.0] + list(lat_edges))
    width = abs(x[1] - x[0])
    return width * np.abs(np.diff(np.asarray(y[2:]))) / 1e6


class _Cells(NamedTuple):
    values: np.ndarray   # (N, d) float64, columns in the order of ``bio``
    bio: list            # BIO numbers
    sources: dict        # BIO number -> file name (or the derivation)
    row: np.ndarray      # (N,) raster indices of the valid cells, row-major order
    col: np.ndarray
    grid: _Grid
    source: str          # provenance: the folder read

    @property
    def lat(self):  # cell-centre latitudes
        return self.grid.transform.f + (self.row + 0.5) * self.grid.transform.e

    @property
    def lon(self):  # cell-centre longitudes
        return self.grid.transform.c + (self.col + 0.5) * self.grid.transform.a

    @property
    def cell_area(self):  # km², on the grid's ellipsoid
        return _cell_area_km2(self.grid.crs, self.grid.transform, self.grid.shape)[self.row]

    @property
    def derived(self):
        return "BIO7 = BIO5 - BIO6" if self.sources.get(7, "").startswith("derived") else "none"


def _read_cells(directory, variables, derive_bio7) -> _Cells:
    """Two passes over the chosen layers, window by window: the common validity mask, then the values of the
    valid cells into one preallocated ``(N, d)`` array. Peak memory: the mask, one window, and the cells."""
    import rasterio

    available = find_layers(directory)
    wanted, derived = _chosen(available, variables, derive_bio7)
    read = [b for b in wanted if b != 7 or not derived] + ([5, 6] if derived else [])
    files = {b: available[b] for b in dict.fromkeys(read)}
    first, valid = None, None
    for path in files.values():
        with _open(path) as src:
            first = _check(path, src, first)
            if valid is None:
                valid = np.ones(first.shape, bool)
            for window in _row_windows(src):
                rows = slice(window.row_off, window.row_off + window.height)
                valid[rows] &= _read_window(path, src, window)[1]
    row, col = np.nonzero(valid)
    if row.size == 0:
        raise InputError(f"no cell is valid in all of {', '.join(p.name for p in files.values())}; "
                         "check that the layers cover the same region")
    columns = {b: j for j, b in enumerate(wanted)}
    extra = {b: len(wanted) + i for i, b in enumerate(b for b in (5, 6) if derived and b not in columns)}
    values = np.empty((row.size, len(wanted) + len(extra)))
    for b, path in files.items():
        j = columns.get(b, extra.get(b))
        with rasterio.open(path) as src:
            start = 0
            for window in _row_windows(src):
                rows = slice(window.row_off, window.row_off + window.height)
                here = valid[rows]
                n = int(here.sum())
                values[start:start + n, j] = _read_window(path, src, window)[0][here]
                start += n
    sources = {b: files[b].name for b in wanted if b in files}
    if derived:
        five, six = (columns.get(b, extra.get(b)) for b in (5, 6))
        np.subtract(values[:, five], values[:, six], out=values[:, columns[7]])
        sources[7] = "derived: BIO5 - BIO6"
        values = values[:, :len(wanted)]
    return _Cells(values, wanted, sources, row, col, first,
                  f"WorldClim bioclimatic layers in {pathlib.Path(directory).resolve()}")


def load_worldclim(directory, variables=None, *, derive_bio7=True) -> xr.Dataset:
    """Read WorldClim bioclimatic layers into a Dataset over the cells valid in every chosen layer
    (docs/how-to/worldclim.md).

    Each layer is masked with its own nodata value (and non-finite values); a cell is kept when every chosen
    layer is valid there. Layers are read window by window, so peak memory is the mask, one window and the cells.

    Args:
      directory: folder with ``wc2.1_<res>_bio_N.tif`` and/or ``wc2.0_bio_<res>_NN.tif`` files (one resolution).
      variables: BIO numbers to keep (default: every layer found, plus BIO7 when derivable).
      derive_bio7: compute BIO7 = BIO5 − BIO6 when BIO7 is asked for (or ``variables`` is None) but has no file.

    Returns:
      ``xarray.Dataset`` with one float64 variable ``BIO<n>`` per chosen layer over dimension ``cell``
      (``long_name``, ``units``, ``source_file``), coordinates ``lat``/``lon`` (cell centres, degrees),
      ``row``/``col`` (raster indices) and ``cell_area`` (km²); attrs give the source folder, grid shape,
      transform, CRS, the variables, the derivation of BIO7 and the WorldClim citation.

    Raises:
      InputError: as :func:`find_layers`; an unknown, missing or empty choice of ``variables``; a file that cannot
        be read, has more than one band, is not on a north-up geographic grid, or is on another grid than the
        first layer; or no cell valid in every chosen layer.
    """
    cells = _read_cells(directory, variables, derive_bio7)
    t = cells.grid.transform
    return xr.Dataset(
        {f"BIO{b}": ("cell", cells.values[:, j], {"long_name": BIOCLIM[b][0], "units": BIOCLIM[b][1],
                                                  "source_file": cells.sources[b]})
         for j, b in enumerate(cells.bio)},
        coords={
            "lat": ("cell", cells.lat, {"units": "degrees_north", "long_name": "cell-centre latitude"}),
            "lon": ("cell", cells.lon, {"units": "degrees_east", "long_name": "cell-centre longitude"}),
            "row": ("cell", cells.row.astype(np.int32), {"long_name": "raster row index"}),
            "col": ("cell", cells.col.astype(np.int32), {"long_name": "raster column index"}),
            "cell_area": ("cell", cells.cell_area, {"units": "km2", "long_name": "cell area on the CRS's ellipsoid"}),
        },
        attrs={"source": cells.source,
               "crs": str(cells.grid.crs), "transform": list(t)[:6], "grid_shape": list(cells.grid.shape),
               "variables": ",".join(f"BIO{b}" for b in cells.bio),
               "derived": cells.derived,
               "citation": "Fick, S.E. and R.J. Hijmans (2017) WorldClim 2, Int. J. Climatol. 37(12): 4302-4315"},
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class BlockSplitConfig:
    """Settings of the spatial-block split (docs/theory.md §9), validated at construction.

    ``fractions`` are relative sizes (train, validation, test) in cells, normalised to sum to 1; the default is
    the paper's 499,599 / 153,897 / 154,027. ``seed`` seeds the block sampling.

    Attributes:
      block_km: side ``L`` of the square equal-area blocks, in km (default 500).
      fractions: ``(train, val, test)`` proportions of cells, three positive numbers normalised to sum to 1.
      seed: non-negative integer seed of the block sampling (default 0).

    Raises:
      InputError: at construction, for fractions that are not three positive finite numbers, a block size that is
        not a positive finite number, or a seed that is not a non-negative integer.
    """

    block_km: float = 500.0
    fractions: tuple = PAPER_SPLIT
    seed: int = 0

    def __post_init__(self):
        f = np.asarray(self.fractions, np.float64)
        if f.shape != (3,) or not np.all(np.isfinite(f) & (f > 0)):
            raise InputError(f"split fractions must be three positive numbers (train, val, test), found "
                             f"{list(np.atleast_1d(self.fractions))}; e.g. 0.62,0.19,0.19")
        if not (np.isfinite(self.block_km) and self.block_km > 0):
            raise InputError(f"the block size must be a positive number of km, found {self.block_km}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise InputError(f"the split seed must be a non-negative integer, found {self.seed}")
        object.__setattr__(self, "fractions", tuple(float(v) for v in f / f.sum()))


class BlockSplit(NamedTuple):
    """A spatial-block split: per-cell labels 0 train / 1 val / 2 test, per-cell block index, and provenance
    (docs/theory.md §9).

    Attributes:
      labels: ``(N,)`` int8 per-cell labels, 0 train / 1 val / 2 test.
      block: ``(N,)`` integer index of each cell's block (among the blocks that hold at least one cell).
      attrs: provenance for the results file: method, block size, seed, fractions, projection, block counts,
        and per split the land area (km²) and cell count.
    """

    labels: np.ndarray   # (N,) int8
    block: np.ndarray    # (N,) int64 index into the blocks that hold at least one cell
    attrs: dict          # block size, fractions, seed, counts, land areas


def _project(lat, lon, crs):
    """EPSG:6933 coordinates of cell centres; the projection is cylindrical (x from longitude, y from latitude
    alone), so only the distinct values are projected."""
    from rasterio.warp import transform as reproject

    ulat, ilat = np.unique(lat, return_inverse=True)
    ulon, ilon = np.unique(lon, return_inverse=True)
    x = np.asarray(reproject(crs, EQUAL_AREA_CRS, ulon, np.zeros_like(ulon))[0])
    y = np.asarray(reproject(crs, EQUAL_AREA_CRS, np.zeros_like(ulat), ulat)[1])
    return x[ilon.ravel()], y[ilat.ravel()]


def _cut(filled, target):
    """Number of leading blocks whose cumulative cell count ``filled`` comes closest to ``target``."""
    i = int(np.searchsorted(filled, target))  # filled[i] is the first count to reach the target
    if i >= filled.size:
        return filled.size
    below = filled[i - 1] if i > 0 else 0
    return i + 1 if filled[i] - target <= target - below else i


def spatial_block_split(lat, lon, cell_area, config: BlockSplitConfig = BlockSplitConfig(), *,
                        crs="EPSG:4326") -> BlockSplit:
    """Assign equal-area blocks to train / validation / test (docs/theory.md §9).

    Cell centres (``crs``, geographic) are projected to EPSG:6933 (EASE-Grid 2.0, cylindrical equal-area);
    block ``(⌊x/L⌋, ⌊y/L⌋)``, ``L = config.block_km``, has area L² everywhere (from the origin (0°, 0°), no wrap
    across ±180°; edge blocks are partial, polar ones long and thin on the ground).

    Training blocks are drawn without replacement, with probability ∝ land area ``Σ cell_area``, until their cells
    come closest to ``fractions[0]`` of all cells. The others are shuffled uniformly (alike mixes of large and small
    coastal blocks for validation and test); validation gets ``fractions[1] / (fractions[1] + fractions[2])`` of them.

    Args:
      lat: ``(N,)`` latitudes of the cell centres, degrees.
      lon: ``(N,)`` longitudes, degrees.
      cell_area: ``(N,)`` positive cell areas in km²; a block's land area (its sampling weight) is their sum.
      config: the :class:`BlockSplitConfig` (default: 500 km blocks, the paper's proportions, seed 0).
      crs: geographic coordinate reference system of ``lat``/``lon``, anything rasterio accepts.

    Returns:
      The :class:`BlockSplit`.

    Raises:
      InputError: cell areas not positive and finite or not one per cell; too few blocks for three parts.
    """
    area = np.asarray(cell_area, np.float64)
    if area.shape != np.shape(lat) or not np.all(np.isfinite(area) & (area > 0)):
        raise InputError("cell areas must be positive and finite, one per cell; check the cell_area input")
    x, y = _project(np.asarray(lat, np.float64), np.asarray(lon, np.float64), crs)
    size = config.block_km * 1e3
    kx, ky = (np.floor(v / size).astype(np.int64) for v in (x, y))
    key = (kx - kx.min()) * (ky.max() - ky.min() + 1) + (ky - ky.min())
    _, block = np.unique(key, return_inverse=True)
    block = block.ravel()
    land = np.bincount(block, weights=area)
    cells = np.bincount(block)
    rng = np.random.default_rng(config.seed)
    f_train, f_val, f_test = config.fractions
    order = rng.choice(land.size, size=land.size, replace=False, p=land / land.sum())
    n_train = _cut(np.cumsum(cells[order]), f_train * cells.sum())
    rest = rng.permutation(order[n_train:])
    n_val = _cut(np.cumsum(cells[rest]), f_val / (f_val + f_test) * cells[rest].sum()) if rest.size else 0
    if n_train == 0 or n_val == 0 or n_val >= rest.size:
        raise InputError(f"{land.size} blocks of {config.block_km:g} km cannot be divided into train, validation "
                         "and test; use smaller blocks (--block-km) or a larger region")
    block_label = np.full(land.size, 2, np.int8)
    block_label[order[:n_train]] = 0
    block_label[rest[:n_val]] = 1
    labels = block_label[block]
    counts = np.bincount(labels, minlength=3)
    areas = np.bincount(labels, weights=area, minlength=3)
    attrs = {"split_method": "spatial blocks: training blocks drawn by land area, the rest shuffled uniformly "
                             "into validation and test",
             "split_block_km": float(config.block_km), "split_seed": int(config.seed),
             "split_fractions": list(config.fractions), "split_crs": EQUAL_AREA_CRS,
             "n_blocks": int(land.size), "n_blocks_train": int(n_train), "n_blocks_val": int(n_val),
             "n_blocks_test": int(rest.size - n_val),
             **{f"land_area_km2_{name}": float(a) for name, a in zip(SPLIT_NAMES, areas)},
             **{f"n_{name}": int(c) for name, c in zip(SPLIT_NAMES, counts)}}
    return BlockSplit(labels=labels, block=block, attrs=attrs)


def worldclim_table(directory, variables=None, *, derive_bio7=True,
                    split: BlockSplitConfig | None = BlockSplitConfig()) -> Table:
    """WorldClim cells as a :class:`linvae.Table` for :func:`linvae.scan`, carrying its spatial-block split
    (docs/how-to/worldclim.md).

    Values are the raw layer units (``scan`` standardises with training statistics); ``coords`` holds the cells'
    latitude, longitude and area; ``attrs`` the variables and the split's provenance. ``split=None`` gives the
    cells without a split (e.g. for the closed form of the whole data set).

    Args:
      directory: folder of WorldClim GeoTIFF layers (:func:`find_layers`).
      variables: BIO numbers to keep (default: every layer found, plus BIO7 when derivable).
      derive_bio7: compute BIO7 = BIO5 − BIO6 when BIO7 is asked for (or ``variables`` is None) but has no file
        (default ``True``).
      split: the :class:`BlockSplitConfig` of the spatial-block split (default: 500 km blocks, the paper's
        proportions, seed 0), or ``None`` for no split.

    Returns:
      The :class:`linvae.data.Table`: ``(N, d)`` float64 values, features ``BIO<n>``, ``split`` the per-cell
      labels ``"train"`` / ``"val"`` / ``"test"`` (``None`` without a split).

    Raises:
      InputError: as :func:`load_worldclim` and :func:`spatial_block_split`.
    """
    cells = _read_cells(directory, variables, derive_bio7)
    lat, lon, area = cells.lat, cells.lon, cells.cell_area
    attrs = {"worldclim_variables": ",".join(f"BIO{b}" for b in cells.bio), "worldclim_derived": cells.derived,
             "feature_units": ",".join(BIOCLIM[b][1] for b in cells.bio)}
    labels, coords = None, {"lat": lat, "lon": lon, "cell_area": area}
    if split is not None:
        block_split = spatial_block_split(lat, lon, area, split, crs=cells.grid.crs)
        attrs.update(block_split.attrs)
        labels = np.asarray(SPLIT_NAMES)[block_split.labels]
        coords["block"] = block_split.block.astype(np.int32)  # the bootstrap's resampling unit (linvae.scan)
    return Table(values=cells.values, features=tuple(f"BIO{b}" for b in cells.bio),
                 source=cells.source, split=labels, attrs=attrs, coords=coords)
