"""One declarative results schema: every variable a scan or an ``add_*`` writes is declared once (dimensions,
``long_name``, ``units``), every declared variable is written by some path, and the documentation's schema table is
generated from the declaration."""

import pathlib

import numpy as np
import pytest
import xarray as xr

import linvae
from linvae.data import Table, synthetic_data
from linvae.results import FACTOR_SCHEMA, SCHEMA, assign, schema_markdown

dtype_promotion = "standard"  # trains through optax

ROOT = pathlib.Path(__file__).resolve().parents[2]
EIG = np.array([3.0, 1.5, 0.6, 0.2])


def test_every_written_variable_is_declared_with_its_dims_and_attrs(written):
    for ds in written:
        for name, var in ds.variables.items():
            if name == "sample":  # the per-sample dimension has no coordinate variable of its own
                continue
            assert name in SCHEMA, f"{name} is written but not declared in linvae.results.SCHEMA"
            declared = SCHEMA[name]
            assert var.dims == declared.dims, f"{name}: dims {var.dims}, declared {declared.dims}"
            assert var.attrs["long_name"] == declared.long_name
            assert var.attrs.get("units") == declared.units
            assert declared.dtype is None or var.dtype == declared.dtype, f"{name}: {var.dtype}, declared {declared}"
            assert all(var.attrs.get(key) == value for key, value in declared.attrs), name


def test_every_declared_variable_is_written_by_some_path(written):
    union = set().union(*(ds.variables for ds in written))
    assert set(SCHEMA) - union == set(), "declared but never written"


def test_undeclared_names_cannot_be_written():
    with pytest.raises(KeyError, match="not declared"):
        assign(xr.Dataset(), not_in_the_schema=np.zeros(3))


def test_factor_experiment_follows_its_schema():
    from linvae.factors import factor_experiment

    ds = factor_experiment(np.eye(4, 2), 0.1, [0.0, 1.0], 2, T=np.geomspace(1e-3, 1, 5))
    assert set(ds.variables) == set(FACTOR_SCHEMA)
    for name, var in ds.variables.items():
        assert var.dims == FACTOR_SCHEMA[name].dims and var.attrs["long_name"] == FACTOR_SCHEMA[name].long_name
        assert FACTOR_SCHEMA[name].dtype is None or var.dtype == FACTOR_SCHEMA[name].dtype, name


def test_docs_schema_page_is_generated_from_the_declaration():
    page = (ROOT / "docs" / "schema.md").read_text()
    for schema in (SCHEMA, FACTOR_SCHEMA):
        assert schema_markdown(schema) in page, (
            "docs/schema.md is out of date: regenerate it with `python -m linvae.results > docs/schema.md`")


def test_data_coordinates_outside_the_schema_are_kept_as_they_come():
    """A table's own per-sample coordinates of other names (not WorldClim's) are stored with the split, unnamed."""
    x, _ = synthetic_data(EIG, 800, seed=1)
    table = Table(values=x, features=("a", "b", "c", "d"), source="test", coords={"station": np.arange(800) + 10})
    ds = linvae.scan(table, linvae.price_grid(1e-2, 1, 3), linvae.ScanConfig(method="exact", n_latents=2, steps=700),
                     store_split=True, analyse=False, progress=False)
    np.testing.assert_array_equal(ds["station"].values, np.arange(800) + 10)
    assert ds["station"].dims == ("sample",) and "station" not in SCHEMA
