"""netCDF input and output of results Datasets: atomic writes, one-line errors."""

import os
import pathlib

import xarray as xr

from linvae._errors import InputError

__all__ = ["save", "load"]


def save(ds: xr.Dataset, path) -> pathlib.Path:
    """Write ``ds`` to netCDF (netCDF4 engine) atomically: a temporary file renamed into place, so an
    interrupted write never leaves a partial file behind."""
    path = pathlib.Path(path)
    if path.parent and not path.parent.exists():
        raise InputError(f"output folder {str(path.parent)!r} does not exist; create it first")
    tmp = path.with_name(path.name + ".tmp")
    try:
        ds.to_netcdf(tmp, engine="netcdf4")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load(path) -> xr.Dataset:
    """Read a results file written by :func:`save` fully into memory (the file is closed afterwards)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"results file {str(path)!r} does not exist; check the path")
    try:
        return xr.load_dataset(path, engine="netcdf4")
    except Exception as err:
        raise InputError(f"cannot read {str(path)!r} as a linvae netCDF results file: "
                         f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from err
