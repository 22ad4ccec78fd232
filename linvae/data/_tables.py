"""Data sources: tabular files (.npy, .csv, .nc), standardisation, synthetic Gaussian data and the embedded
default spectrum (docs/theory.md §9).
"""

import functools
import itertools
import json
import pathlib
from typing import NamedTuple

import numpy as np

from linvae._errors import InputError
from linvae.data._pca import Spectrum, moments, spectrum_from_covariance

__all__ = ["Table", "load_table", "feature_scale", "standardized_spectrum", "synthetic_data", "default_spectrum",
           "default_table", "check_table"]

_SPECTRUM_FILE = "worldclim_bio10m_spectrum.json"


class Table(NamedTuple):
    """Samples x features, with names. ``values`` may be a read-only memory map (docs/how-to/own-data.md).

    Attributes:
      values: ``(N, d)`` samples x features (any array; a ``.npy`` is memory-mapped, read-only).
      features: the ``d`` feature names.
      source: where the data came from (a path, ``"synthetic"``, ...), for the results' provenance attrs.
      split: optional ``(N,)`` labels ``"train"`` / ``"val"`` / ``"test"`` carried by the data (e.g. WorldClim's
        spatial blocks); ``None`` lets :func:`linvae.scan` draw a random split.
      attrs: provenance of the data and of its split, copied into the results attrs.
      coords: optional per-sample coordinates (e.g. ``lat``, ``lon``), stored with the split labels.
      first_line: a text file's 1-based line number of data row 0, so messages name the file's own lines
        (``None``: rows are named 0-based).
    """

    values: np.ndarray       # (N, d)
    features: tuple          # d feature names
    source: str              # where the data came from, for provenance attrs
    split: object = None     # optional (N,) labels "train" / "val" / "test" carried by the data
    attrs: dict | None = None   # provenance of the data and of its split, copied into the results attrs
    coords: dict | None = None  # optional per-sample coordinates (e.g. lat, lon), stored with the split labels
    first_line: int | None = None  # a text file's 1-based line number of data row 0 (None: rows are 0-based)


def load_table(path) -> Table:
    """Read ``.npy`` (N x d, memory-mapped), ``.csv`` (numeric columns, header row) or ``.nc`` (the one 2-D
    variable, samples x features) into a :class:`Table`; raises :class:`InputError` with a one-line reason
    (docs/how-to/own-data.md).

    Without a header (CSV) or a feature coordinate (netCDF), and always for ``.npy``, features are named
    ``x0 … x{d-1}``. A netCDF ``split`` variable (one label per sample) becomes ``Table.split``.

    Args:
      path: a ``.npy``, ``.csv`` or ``.nc`` file (``str`` or path-like; the extension picks the reader, in any
        case).

    Returns:
      The :class:`Table` (``source`` is the path; ``first_line`` is set for a CSV).

    Raises:
      InputError: a missing file, a directory, an unknown extension, content that does not match the extension or
        cannot be read, a CSV with a header but no data rows or with mismatched column counts, a netCDF file
        without exactly one 2-D variable or with a ``split`` of the wrong length, or data that is not a 2-D array
        of real numbers.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise InputError(f"data path {str(path)!r} is a directory; pass a .npy, .csv or .nc file")
    if not path.is_file():
        raise InputError(f"data file {str(path)!r} does not exist; check the path")
    readers = {".npy": _read_npy, ".csv": _read_csv, ".nc": _read_netcdf}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise InputError(f"unsupported data file type {path.suffix!r} for {str(path)!r}; "
                         "expected .npy, .csv or .nc")
    try:
        values, features, extra = reader(path)  # extra: Table fields only some formats carry
    except InputError:
        raise
    except Exception as err:  # the readers' own errors vary by library; report them on one line
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"cannot read {str(path)!r} as {path.suffix} data: {reason}") from err
    if values.ndim != 2 or values.shape[1] < 1:
        raise InputError(f"{str(path)!r} must hold a 2-D array (samples x features), found shape {values.shape}")
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise InputError(f"{str(path)!r} must hold real numbers, found dtype {values.dtype}")
    return Table(values=values, features=tuple(features), source=str(path), **extra)


def check_table(table: Table, *, block_rows=65536) -> None:
    """Refuse a table with non-finite cells, naming the first one as the file shows it (docs/how-to/own-data.md).

    A CSV row is reported as "data row N (line M)", counting the header line as the file does; other data by
    0-based row index. The table is read in blocks, so a memory-mapped ``.npy`` is never loaded whole.

    Args:
      table: the :class:`Table` to check.
      block_rows: rows read per block (default 65536).

    Returns:
      ``None`` when every cell is finite.

    Raises:
      InputError: a NaN or infinite cell; the one-line message names the first such cell, its column and the
        count of bad cells.
    """
    values = table.values
    first, count = None, 0
    for start in range(0, values.shape[0], block_rows):
        bad = ~np.isfinite(np.asarray(values[start:start + block_rows], np.float64))
        if bad.any():
            count += int(bad.sum())
            if first is None:
                row, col = np.argwhere(bad)[0]
                first = (start + int(row), int(col))
    if first is None:
        return
    row, col = first
    where = (f"data row {row + 1} (line {_data_line(table, row)})" if table.first_line is not None
             else f"row {row} (0-based)")
    raise InputError(f"{table.source!r} has {count} NaN or infinite cell(s), first at {where}, column "
                     f"{str(table.features[col])!r}; remove or fill them before scanning")


def _data_line(table: Table, row):
    """The file's 1-based line of data row ``row`` (0-based): the reader skips blank and ``#`` comment lines, so they
    are counted here; ``first_line + row`` when the file cannot be read again."""
    try:
        with open(table.source, newline="") as f:
            lines = itertools.islice(f, table.first_line - 1, None)
            seen = -1
            for number, line in enumerate(lines, start=table.first_line):
                text = line.split("#", 1)[0].strip()
                seen += bool(text)
                if seen == row:
                    return number
    except OSError:
        pass
    return row + table.first_line


def _default_names(d):
    return [f"x{j}" for j in range(d)]


def _read_npy(path):
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic != b"\x93NUMPY":
        kind = "text (a CSV?)" if magic[:1].isascii() and magic.strip() else "something else"
        raise InputError(f"{str(path)!r} is named .npy but is not a NumPy array file: its content is {kind}; "
                         "save it with numpy.save, or give a CSV a .csv name")
    values = np.load(path, mmap_mode="r", allow_pickle=False)
    return values, _default_names(values.shape[1] if values.ndim == 2 else 0), {}


def _read_csv(path):
    with open(path, newline="") as f:
        header = f.readline().strip().split(",")
    try:
        [float(h) for h in header]
        skip, names = 0, _default_names(len(header))
    except ValueError:
        skip, names = 1, [h.strip().strip('"') for h in header]
    with open(path, newline="") as f:
        has_rows = any(line.strip() for line in itertools.islice(f, skip, None))
    if not has_rows:
        raise InputError(f"{str(path)!r} has a header but no data rows; add the data below the header line")
    values = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2, dtype=np.float64)
    if values.shape[1] != len(names):
        raise InputError(f"{str(path)!r} has {len(names)} header columns but {values.shape[1]} data columns")
    return values, names, {"first_line": skip + 1}  # the 1-based line of data row 0


def _read_netcdf(path):
    import xarray as xr

    with xr.open_dataset(path, engine="netcdf4") as ds:
        labels = None
        if "split" in ds.variables:  # the data's own train/val/test split, one label per sample
            labels = np.asarray(ds["split"].values).astype(str)
        candidates = [name for name, var in ds.data_vars.items() if var.ndim == 2]
        if len(candidates) != 1:
            raise InputError(f"{str(path)!r} must hold exactly one 2-D variable (samples x features), found "
                             f"{candidates or 'none'}; write the data matrix alone into the file")
        var = ds[candidates[0]]
        feature_dim = var.dims[1]
        names = ([str(v) for v in var[feature_dim].values] if feature_dim in var.coords
                 else _default_names(var.shape[1]))
        values = np.asarray(var.values)
        if labels is not None and labels.shape != (values.shape[0],):
            raise InputError(f"{str(path)!r}: 'split' must hold one label per sample ({values.shape[0]}), "
                             f"found shape {labels.shape}")
        return values, names, {"split": labels}


def feature_scale(cov, features):
    """Per-feature standard deviations ``sqrt(diag C)`` for standardisation; a constant feature is an error
    (docs/theory.md §9).

    Args:
      cov: ``(d, d)`` covariance.
      features: the ``d`` feature names, for the error message.

    Returns:
      ``(d,)`` standard deviations ``s``.

    Raises:
      InputError: a constant feature (variance ≤ 0), named (the first five are listed).
    """
    var = np.diag(cov).copy()
    constant = np.flatnonzero(var <= 0)
    if constant.size:
        names = ", ".join(str(features[j]) for j in constant[:5])
        raise InputError(f"feature(s) {names} are constant, so they cannot be standardised; "
                         "drop them or pass --no-standardize")
    return np.sqrt(var)


def standardized_spectrum(x, features, standardize=True) -> tuple[Spectrum, np.ndarray]:
    """PCA spectrum of ``x`` ``(N, d)`` after per-feature standardisation (docs/theory.md §9), in one streamed pass.

    The covariance of ``(x − x̄) / s`` is ``C / (s sᵀ)`` with ``s = sqrt(diag C)`` (``s = 1`` when
    ``standardize`` is false); ``spectrum.mean`` is the raw data mean ``x̄``.

    Args:
      x: ``(N, d)`` rows (any 2-D array; read in blocks).
      features: the ``d`` feature names, for error messages.
      standardize: divide each feature by its standard deviation (default ``True``; ``False``: raw units).

    Returns:
      ``(spectrum, s)``: the :class:`Spectrum` of the standardised rows (``n_samples = N``) and the ``(d,)``
      scales ``s``.

    Raises:
      InputError: as :func:`moments`; a covariance that overflows float64 (the feature is named); or, when
        standardising, a constant feature (:func:`feature_scale`).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, on one line
        mean, cov, n = moments(x)
    if not np.all(np.isfinite(cov)):
        j = int(np.flatnonzero(~np.isfinite(np.diag(cov)) | ~np.isfinite(cov).all(0))[0])
        raise InputError(f"the covariance of the training rows overflows (feature {str(features[j])!r} holds values "
                         "too large for float64 products); rescale that column, e.g. to other units")
    scale = feature_scale(cov, features) if standardize else np.ones(cov.shape[0])
    return spectrum_from_covariance(mean, cov / np.outer(scale, scale), n), scale


def synthetic_data(eigenvalues, n_samples, *, seed=0, rotation=True):
    """Gaussian data with covariance ``Q diag(λ) Qᵀ`` and zero mean (docs/theory.md §9, "Synthetic").

    ``Q`` is a Haar-random rotation (or the identity); negative rounding residues of ``λ`` are treated as 0.
    Deterministic for a given seed.

    Args:
      eigenvalues: ``(d,)`` the covariance's eigenvalues ``λ``, in any order (``λ_k`` is the variance along
        column k of ``Q``).
      n_samples: number of rows ``N``.
      seed: seed of the rotation and the samples (default 0).
      rotation: draw a Haar-random rotation ``Q`` (default ``True``; ``False``: the identity).

    Returns:
      ``(x, Q)``: ``(N, d)`` float64 samples and the ``(d, d)`` rotation.
    """
    eig = np.maximum(np.asarray(eigenvalues, dtype=np.float64), 0)
    d = eig.size
    rng = np.random.default_rng(seed)
    Q = np.eye(d)
    if rotation:
        Q, R = np.linalg.qr(rng.standard_normal((d, d)))
        Q = Q * np.sign(np.diag(R))  # Haar measure (Mezzadri 2007)
    y = rng.standard_normal((int(n_samples), d))
    return (y * np.sqrt(eig)) @ Q.T, Q


@functools.cache
def default_spectrum():
    """The embedded default spectrum: eigenvalues of the standardised WorldClim 10' bioclimatic variables
    (docs/theory.md §9).

    The file is read once and cached; the returned arrays are shared between calls.

    Returns:
      ``(eigenvalues, info)``: the ``(d,)`` float64 eigenvalues and the parsed JSON dict, which records the
      variables, cell count and source files (see ``data/make_default_spectrum.py``).

    Raises:
      FileNotFoundError: the embedded spectrum file is missing from the installation.
    """
    here = pathlib.Path(__file__).resolve().parent  # installed: next to this module; a checkout: <repo>/data
    for candidate in (here / _SPECTRUM_FILE, here.parents[1] / "data" / _SPECTRUM_FILE):
        if candidate.is_file():
            info = json.loads(candidate.read_text())
            return np.asarray(info["eigenvalues"], dtype=np.float64), info
    raise FileNotFoundError(f"{_SPECTRUM_FILE} is missing from the installation; reinstall linvae")


def default_table(n_samples=100_000, *, seed=0) -> Table:
    """The default data of ``linvae demo``: Gaussian samples with the embedded WorldClim spectrum (docs/theory.md §9).

    The samples come from :func:`synthetic_data` with a Haar-random rotation, so features mix the principal
    components.

    Args:
      n_samples: number of rows (default 100,000).
      seed: seed of the samples and their rotation (default 0).

    Returns:
      The :class:`Table`, without a split: features ``pc_mix0 … pc_mix{d-1}``, ``source`` a one-line description
      (synthetic Gaussian, the spectrum's variables, sample count and seed).
    """
    eigenvalues, info = default_spectrum()
    x, _ = synthetic_data(eigenvalues, n_samples, seed=seed)
    return Table(values=x, features=tuple(f"pc_mix{j}" for j in range(x.shape[1])),
                 source=f"synthetic Gaussian, WorldClim 10' spectrum of {'/'.join(info['variables'])}, "
                        f"{n_samples} samples, seed {seed}")
