"""The results schema: one ``xarray.Dataset`` for theory, training and analysis, declared once
(:data:`SCHEMA`), written through :func:`assign` and saved as netCDF. Imports :mod:`linvae.theory` for the
closed-form columns.

Attributes:
  SCHEMA: every variable and coordinate a scan or theory Dataset may hold, ``{name: Variable}`` (dimensions,
    ``long_name``, units, table section), listed in docs/schema.md.
  FACTOR_SCHEMA: the same for the Dataset of :func:`linvae.factors.factor_experiment`.
  PARAMETER_DIMS: the dimensions of the six trained-parameter variables of the linear model, ``{name: dims}``
    (an MLP's are declared by :func:`mlp_schema`).
"""

from linvae.results._dataset import (
    add_theory,
    assign_params,
    dataset_objective,
    dataset_params,
    new_dataset,
    provenance,
    theory_dataset,
)
from linvae.results._io import load, save
from linvae.results._schema import (
    FACTOR_SCHEMA,
    PARAMETER_DIMS,
    SCHEMA,
    Variable,
    assign,
    mlp_schema,
    named,
    schema_markdown,
)

__all__ = [
    "SCHEMA", "FACTOR_SCHEMA", "Variable", "PARAMETER_DIMS", "assign", "named", "schema_markdown", "mlp_schema",
    "new_dataset", "add_theory", "theory_dataset", "dataset_params", "dataset_objective", "provenance",
    "assign_params",
    "save", "load",
]
