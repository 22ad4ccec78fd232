"""Every netCDF file linvae writes (a scan with its split, a theory-only file, the factor experiment) passes the
CF-1.8 checks of the IOOS compliance-checker with no errors or warnings (docs/cf-conventions.md)."""

import warnings

import netCDF4
import numpy as np
import pytest
import xarray as xr
from compliance_checker.runner import CheckSuite

import linvae
from linvae.factors import factor_experiment
from linvae.results import assign

with warnings.catch_warnings():  # loading every suite imports the deprecated ioos_sos checker
    warnings.simplefilter("ignore", DeprecationWarning)
    CheckSuite.load_all_available_checkers()


def _failures(results, limit=2):
    """``(section, message)`` of every failed check of priority ``limit`` or above (2: medium, the checker's
    warnings; 3: high, its errors)."""
    for result in results:
        if result.weight >= limit and result.value[0] != result.value[1]:
            if result.children:
                yield from _failures(result.children, limit)
            else:
                yield from ((result.name, message) for message in result.msgs)


def _check_cf(path):
    suite = CheckSuite()
    nc = suite.load_dataset(str(path))
    try:
        results, exceptions = suite.run_all(nc, ["cf:1.8"])["cf:1.8"]
    finally:
        nc.close()
    failures = [f"[{name}] {message}" for name, message in _failures(results)]
    # a check that raises is skipped for the whole file (as the monotonicity check once was on string coordinates)
    crashed = [f"{check}: {err!r}" for check, (err, _) in exceptions.items()]
    assert not failures and not crashed, f"{path.name} fails CF-1.8:\n" + "\n".join(failures + crashed)


def test_scan_file_with_its_split_is_cf_compliant(written, tmp_path):
    _check_cf(linvae.save(written[1], tmp_path / "scan.nc"))


def test_theory_file_is_cf_compliant(written, tmp_path):
    _check_cf(linvae.save(written[0], tmp_path / "theory.nc"))


def test_factor_experiment_file_is_cf_compliant(tmp_path):
    ds = factor_experiment(np.eye(4, 2), 0.1, [0.0, 1.0], 2, T=np.geomspace(1e-3, 1, 5))
    _check_cf(linvae.save(ds, tmp_path / "factor.nc"))


def test_files_carry_conventions_history_and_no_fill_value_on_coordinates(written, tmp_path):
    path = linvae.save(written[1], tmp_path / "scan.nc")
    with netCDF4.Dataset(path) as nc:
        assert nc.Conventions == "CF-1.8"
        assert f"created by linvae {linvae.__version__}: exact scan of 'test'" in nc.history
        for name in written[1].coords:
            assert "_FillValue" not in nc[name].ncattrs(), name
        assert nc["feature"].dtype == "S1" and nc["mode"].dtype == np.int32 and nc["train_steps"].dtype == np.int32
    back = linvae.load(path)
    xr.testing.assert_identical(back, written[1])
    assert list(back.indexes["feature"]) == ["a", "b", "c", "d"]


def test_undeclared_64_bit_integers_are_stored_as_int32(tmp_path):
    ds = xr.Dataset(coords={"station": ("sample", np.arange(3, dtype=np.int64) + 10)},
                    data_vars={"big": ("sample", np.array([0, 1, 2**40]))})
    back = linvae.load(linvae.save(ds, tmp_path / "r.nc"))
    assert back["station"].dtype == np.int32 and back["big"].dtype == np.int64  # int32 where the values fit
    np.testing.assert_array_equal(back["station"], [10, 11, 12])


def test_declared_storage_type_rejects_values_that_do_not_fit():
    assert assign(xr.Dataset(), coords=True, mode=np.arange(1, 4))["mode"].dtype == np.int32
    with pytest.raises(ValueError, match="does not fit its declared storage type int32"):
        assign(xr.Dataset(), coords=True, mode=np.array([1, 2**40]))
