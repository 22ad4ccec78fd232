"""``python -m linvae.results``: print the results schema page (docs/schema.md) from the declaration."""

from linvae.results import FACTOR_SCHEMA, SCHEMA, mlp_schema, schema_markdown

print("""# Results schema

One `xarray.Dataset` holds theory, training and analysis; `linvae.save` and `linvae.load` round-trip it through
netCDF4. Every variable is declared once, in `linvae.results.SCHEMA` (dimensions, `long_name`, `units`, storage type,
further attributes); this page is generated from that declaration (`python -m linvae.results > docs/schema.md`), and a
test keeps it in step.

Dimensions: `T` (the information price, with the non-dimension coordinate `beta`), `mode` (1…d, eigenvalues
descending), `latent` (0…K−1), `rank` (1…K, by `M²` descending), `n_kept` (0…K), `feature`, `criterion`, and `sample`
(with `--save-split`).

The files follow the CF conventions 1.8 ([CF conventions](cf-conventions.md)): the type column gives the storage type
of the integer variables (the others are `float64`, and `feature` and `criterion` hold strings), units are UDUNITS
strings, and information in nats or bits has units `1` with its unit named in the long name.
""")
print(schema_markdown(SCHEMA))
print("""## MLP scans (`--model mlp`)

An MLP scan ([nonlinear VAEs](nonlinear.md)) stores its trained parameters instead of the six linear ones, declared by
`linvae.results.mlp_schema(L)` for `L` hidden layers: dimensions `hidden_1 … hidden_L` (the widths of
`config_hidden`), weights `(T, out, in)`. Shown here for two hidden layers; every other variable is as above.
""")
print(schema_markdown(mlp_schema(2)))
print("## The factor experiment (`linvae.factors.factor_experiment`)\n")
print(schema_markdown(FACTOR_SCHEMA), end="")
