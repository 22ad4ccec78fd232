"""netCDF input and output of results Datasets: atomic writes, one-line errors."""

import pathlib

import numpy as np
import xarray as xr

from linvae._errors import InputError
from linvae._files import written_atomically

__all__ = ["save", "load"]


_CF_INTEGERS = (np.int8, np.int16, np.int32)  # CF-1.8 section 2.2: byte, short, int (no 64-bit or unsigned)


def _cf_encoding(ds: xr.Dataset) -> dict:
    """Per-variable netCDF encoding for CF-1.8 (docs/cf-conventions.md): coordinates and integer variables get no
    ``_FillValue`` (CF section 2.5.1 forbids it on coordinate variables; xarray adds NaN to floats by default);
    string-valued dimension coordinates (``feature``, ``criterion``) are written as character arrays, labels
    rather than coordinate variables, which CF section 1.3 requires to be numeric (xarray reads them back as the
    string index); and integers of other types (the data's own coordinates, files of linvae < 0.2) are stored as
    int32 where they fit. Declared variables already hold their declared type (:func:`linvae.results.assign`)."""
    encoding = {}
    for name, var in ds.variables.items():
        integer = np.issubdtype(var.dtype, np.integer)
        if name in ds.coords or integer:
            encoding[name] = {"_FillValue": None}
        if name in ds.dims and var.dtype.kind in "OUS":
            encoding[name]["dtype"] = "S1"
        if integer and var.dtype not in _CF_INTEGERS and (var.size == 0 or (
                np.iinfo(np.int32).min <= var.values.min() and var.values.max() <= np.iinfo(np.int32).max)):
            encoding[name]["dtype"] = "int32"
    return encoding


def save(ds: xr.Dataset, path) -> pathlib.Path:
    """Write ``ds`` to netCDF (netCDF4 engine) atomically: a temporary file renamed into place, so an
    interrupted write never leaves a partial file behind. The file follows CF-1.8 (docs/cf-conventions.md): no
    ``_FillValue`` on coordinates or integers, string labels of a dimension as character arrays, and no 64-bit
    integers where the values fit in int32.

    Args:
      ds: the Dataset to write.
      path: the netCDF file to write.

    Returns:
      The path written, as a ``pathlib.Path``.
    """
    path = pathlib.Path(path)
    if path.parent and not path.parent.exists():
        raise InputError(f"output folder {str(path.parent)!r} does not exist; create it first")
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a directory; name a results file such as {str(path / 'scan.nc')!r}")
    with written_atomically(path) as tmp:  # concurrent writers each rename a complete file; the last one wins
        ds.to_netcdf(tmp, engine="netcdf4", encoding=_cf_encoding(ds))
    return path


def load(path) -> xr.Dataset:
    """Read a results file written by :func:`save` fully into memory (the file is closed afterwards)
    (docs/schema.md).

    Args:
      path: the netCDF file to read.

    Returns:
      The ``xarray.Dataset``.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a directory, not a results file; name the .nc file written by a scan")
    if not path.is_file():
        raise InputError(f"results file {str(path)!r} does not exist; check the path")
    try:
        return xr.load_dataset(path, engine="netcdf4")
    except Exception as err:
        raise InputError(f"cannot read {str(path)!r} as a linvae netCDF results file: "
                         f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from err
