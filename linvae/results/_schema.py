"""The results schema, declared once: every variable's dimensions, ``long_name``, ``units``, storage type and
further CF attributes.

Writers never spell dimensions, attributes or storage types themselves: they call :func:`assign` with plain arrays
and the schema names and types them (STYLE.md practice 4: names at the boundary). A variable missing here cannot be
written. The files follow CF-1.8 (docs/cf-conventions.md): integers are stored as ``int8`` (flags) or ``int32``
(indices, counts), units are UDUNITS strings, and information in nats or bits has units ``1`` with its unit named in
``long_name``.
"""

from typing import NamedTuple

import numpy as np
import xarray as xr

__all__ = ["Variable", "SCHEMA", "FACTOR_SCHEMA", "PARAMETER_DIMS", "assign", "named", "schema_markdown", "mlp_schema"]

CONVENTIONS = "CF-1.8"  # the global attribute ``Conventions`` of every file linvae writes


class Variable(NamedTuple):
    """One declared variable (or coordinate) of a results Dataset (docs/schema.md).

    Attributes:
      dims: dimension names, in storage order.
      long_name: the CF ``long_name``.
      units: a UDUNITS string; ``None``: an index or label without units.
      group: the table section it is listed under.
      dtype: storage type, applied by :func:`assign` and :func:`named`; ``None``: as written (float64, str).
      attrs: further CF attributes as ``(name, value)`` pairs: ``standard_name``, ``comment``.
    """

    dims: tuple               # dimension names, in storage order
    long_name: str
    units: str | None         # a UDUNITS string; None: an index or label without units
    group: str                # the table section it is listed under
    dtype: str | None = None  # storage type, applied by assign and named; None: as written (float64, str)
    attrs: tuple = ()         # further CF attributes as (name, value) pairs: standard_name, comment


_ONE, _I8, _I32 = "1", "int8", "int32"  # CF-1.8 has no 64-bit integers: flags int8, indices and counts int32
_TM, _TL, _TR, _TN = ("T", "mode"), ("T", "latent"), ("T", "rank"), ("T", "n_kept")
# UDUNITS knows no nat (it parses "nat" as nano-atmospheres): information has units 1 and names its unit in
# long_name; bits (which UDUNITS reads as 1) follow the same convention (docs/cf-conventions.md)
_NATS, _BITS = ", in nats", ", in bits"
_DATA_UNITS = {"comment": "in the data's own units, feature by feature (listed in the global attribute feature_units "
                          "where the data carries them); units 1 stands in because a CF variable has a single unit "
                          "(docs/cf-conventions.md)"}
_DATA_UNITS2 = {"comment": "dimensionless when the scan standardised the features (global attribute "
                           "config_standardize = 1, linvae.scan's default), otherwise in squared data units, for "
                           "which units 1 stands in (docs/cf-conventions.md)"}


def _variable(group, dims, long_name, units, dtype=None, attrs=None):
    return Variable(tuple(dims), long_name, units, group, dtype, tuple((attrs or {}).items()))


def _group(group, entries):
    """``{name: (dims, long_name, units[, dtype[, attrs]])}`` as the :class:`Variable` entries of one section."""
    return {name: _variable(group, *entry) for name, entry in entries.items()}


SCHEMA = {
    **_group("coordinates", {
        "T": (("T",), "normalised information price T = beta sigma_dec2 / V", _ONE),
        "beta": (("T",), "raw regularisation weight beta", _ONE),
        "mode": (("mode",), "PCA mode index, eigenvalues descending", None, _I32),
        "latent": (("latent",), "latent index", None, _I32),
        "rank": (("rank",), "rank by signal fraction M^2, descending", None, _I32),
        "n_kept": (("n_kept",), "number of ranked latents kept", None, _I32),
        "feature": (("feature",), "data feature", None),
        "criterion": (("criterion",), "activity criterion", None),
        "bound": (("bound",), "bound of a confidence interval: lower, upper", None),
    }),
    **_group("data and PCA", {
        "data_mean": (("feature",), "mean of each feature of the data the spectrum was computed on", _ONE, None,
                      _DATA_UNITS),
        "data_scale": (("feature",), "standard deviation used to standardise each feature (1 if not standardised)",
                       _ONE, None, _DATA_UNITS),
        "pca_eigenvalue": (("mode",), "PCA eigenvalue lambda_k of the centred covariance, descending", _ONE, None,
                           _DATA_UNITS2),
        "pca_eigenvector": (("feature", "mode"), "PCA eigenvector u_k (column k of U)", _ONE),
        "pca_fraction": (("mode",), "explained-variance fraction lambda_k / V", _ONE),
        "pca_truncated_distortion": (("mode",), "PCA normalised distortion keeping modes 1..k: "
                                     "1 - sum_{j<=k} lambda_j / V", _ONE),
    }),
    **_group("closed form (of the scan's objective)", {
        "theory_threshold": (("mode",), "closed-form collapse threshold T_k of the objective (beta-VAE: "
                             "lambda_k / V)", _ONE),
        "theory_beta_threshold": (("mode",), "closed-form raw collapse threshold beta_c,k = T_k V / sigma_dec2 "
                                  "(beta-VAE: lambda_k / sigma_dec2)", _ONE),
        "theory_M2": (_TM, "closed-form signal fraction M_k^2 (beta-VAE: [1 - T/T_k]_+)", _ONE),
        "theory_sigma2": (_TM, "closed-form posterior variance sigma_k^2 (beta-VAE: min(T/T_k, 1))", _ONE),
        "theory_log_sigma2": (_TM, "closed-form posterior log-variance log sigma_k^2", _ONE),
        "theory_rate": (_TM, "closed-form KL rate R_k = -1/2 log sigma_k^2" + _NATS, _ONE),
        "theory_partner": (_TM, "the other mode read by the same latent, -1 if none (LR mixing; a latent mixing "
                           "two modes holds its M2, sigma2 and rate on the mode giving it more signal)", _ONE, _I32),
        "theory_distortion": (("T",), "closed-form normalised sampled-path distortion D(T) (beta-VAE: "
                              "sum_k min(T, T_k))", _ONE),
        "theory_total_rate": (("T",), "closed-form total rate R(T) = sum_k R_k" + _NATS, _ONE),
        "theory_loss": (("T",), "closed-form normalised loss L(T) = D + 2 T R + P (objective penalty P; "
                        "beta-VAE P = 0)", _ONE),
        "theory_penalty": (("T",), "closed-form normalised objective penalty P = (2 sigma_dec2 / V) x extra term",
                           _ONE),
        "theory_n_active": (("T",), "closed-form number of active latents", _ONE, _I32),
        "theory_truncated_distortion": (_TN, "closed-form mean-path truncated distortion 1 - sum_{j<=k} dD_j",
                                        _ONE),
        "theory_utility": (_TR, "closed-form mean-path utility dD_k = lambda_k (1 - u_k^2) / V of the objective's "
                           "optimum (beta-VAE: T_k (1 - (T/T_k)^2)_+), modes ranked by closed-form M^2", _ONE),
        "theory_collapse_threshold": (("rank",), "the objective-law collapse fit applied to the closed-form M2 "
                                      "ranked by M2", _ONE),
    }),
    **_group("training record", {
        "train_steps": (("T",), "parameter updates performed", _ONE, _I32),
        "best_val_loss": (("T",), "best normalised loss (2 sigma_dec2 / V)(D + beta R + penalty): sgd on the "
                          "validation split (noise-expected), exact on the training covariance", _ONE),
        "stopped_early": (("T",), "1 if early stopping ended the run before its budget (sgd) or it converged "
                          "(exact)", _ONE, _I8),
        "diverged": (("T",), "1 if the run produced NaN/inf and was frozen at its best parameters", _ONE, _I8),
        "distortion": (("T",), "normalised distortion E||x - xhat||^2 / V of the kept parameters", _ONE),
        "rate": (("T",), "KL rate R of the kept parameters" + _NATS, _ONE),
        "loss": (("T",), "normalised loss D + 2 T R + P of the kept parameters (P: objective penalty, 0 for "
                 "beta)", _ONE),
        "penalty": (("T",), "normalised objective penalty P = (2 sigma_dec2 / V) x the objective's extra term",
                    _ONE),
        "minimum_certified": (("T",), "exact method: 1 if the Hessian (+1e-6 I) is positive definite at the end",
                              _ONE, _I8),
    }),
    **_group("trained parameters (standardised units)", {
        "encoder_weight": (("T", "latent", "feature"), "encoder mean weight A (mu = A (x - xbar) + b), "
                           "standardised units", _ONE),
        "encoder_bias": (_TL, "encoder mean bias b", _ONE),
        "log_sigma2_weight": (("T", "latent", "feature"), "encoder log-variance slope S "
                              "(log sigma2 = S (x - xbar) + s)", _ONE),
        "log_sigma2_bias": (_TL, "encoder log-variance bias s", _ONE),
        "decoder_weight": (("T", "feature", "latent"), "decoder weight W (xhat = W z + c)", _ONE),
        "decoder_bias": (("T", "feature"), "decoder bias c", _ONE),
    }),
    **_group("held-out observables", {
        "mu2": (_TL, "mean posterior mean squared, mean mu_k^2", _ONE),
        "sigma2": (_TL, "mean posterior variance, mean sigma_k^2", _ONE),
        "log_sigma2": (_TL, "mean posterior log-variance, mean log sigma_k^2", _ONE),
        "kl": (_TL, "KL rate of the latent R_k = mean KL_k" + _NATS, _ONE),
        "M2": (_TL, "signal fraction M_k^2 = mean mu_k^2 / (mean mu_k^2 + mean sigma_k^2)", _ONE),
        "snr": (_TL, "signal-to-noise ratio mean mu_k^2 / mean sigma_k^2", _ONE),
        "A2": (_TL, "posterior scale A_k^2 = mean mu_k^2 + mean sigma_k^2", _ONE),
        "jensen_gap": (_TL, "Jensen gap J_k = log mean sigma_k^2 - mean log sigma_k^2", _ONE),
        "rank_latent": (_TR, "latent index at each rank (M^2 descending) at each T", _ONE, _I32),
        "M2_ranked": (_TR, "signal fraction of the ranked latent", _ONE),
        "mu2_ranked": (_TR, "mean mu^2 of the ranked latent", _ONE),
        "sigma2_ranked": (_TR, "mean sigma^2 of the ranked latent", _ONE),
        "log_sigma2_ranked": (_TR, "mean log sigma^2 of the ranked latent", _ONE),
        "kl_ranked": (_TR, "KL rate of the ranked latent" + _NATS, _ONE),
        "A2_ranked": (_TR, "posterior scale A^2 of the ranked latent", _ONE),
        "jensen_gap_ranked": (_TR, "Jensen gap of the ranked latent", _ONE),
    }),
    **_group("spectra", {
        "collapse_threshold": (("rank",), "fitted collapse threshold T_k of M_k^2 = r m / (r m + 1 - m), m the "
                               "objective's training law (beta-VAE: [1 - T/T_k]_+)", _ONE),
        "collapse_variance_ratio": (("rank",), "fitted ratio r_k of evaluation to training variance along the rank's "
                                    "direction (1 on the training split; NaN: not fitted, r = 1 assumed)", _ONE),
        "collapse_fit_points": (("rank",), "number of T points used in the collapse fit (M_k^2 above the "
                                "threshold)", _ONE, _I32),
        "collapse_fit_rmse": (("rank",), "rms residual of the fitted law on the fitted points", _ONE),
        "pca_fraction_ci": (("mode", "bound"), "bootstrap percentile interval of lambda_k / V (level in attrs)",
                            _ONE),
        "collapse_threshold_ci": (("rank", "bound"), "bootstrap percentile interval of the fitted collapse "
                                  "threshold T_k (level in attrs)", _ONE),
        "utility_spectrum_ci": (("rank", "bound"), "bootstrap percentile interval of the utility spectrum "
                                "(level in attrs)", _ONE),
        "rank_separable": (("rank",), "1 if rank k's threshold interval lies above rank k+1's (disjoint)", _ONE,
                           _I8),
        "truncated_distortion": (_TN, "normalised distortion from posterior means keeping ranked latents 1..k, "
                                 "bias refitted", _ONE),
        "utility": (_TR, "utility of ranked latent k: D_{k-1} - D_k (truncated distortion)", _ONE),
        "utility_spectrum": (("rank",), "utility of ranked latent k at the T of lowest full-model truncated "
                             "distortion", _ONE),
        "eval_fraction": (("mode",), "evaluation split's variance along training PCA direction u_k over its total "
                          "variance", _ONE),
    }),
    **_group("activity criteria", {
        "var_mu": (_TL, "variance of the posterior mean across the data, Var_x mu_k = a_k C a_k^T", _ONE),
        "var_sigma2": (_TL, "variance of the posterior variance across the data, Var_x sigma_k^2", _ONE),
        "renyi_entropy": (_TL, "matrix-based Renyi entropy of order alpha of mu_k (RBF Gram, fixed bandwidth in "
                          "latent units, by default Silverman's rule for the N(0, 1) prior; attribute bandwidth), "
                          "mean over batches" + _BITS, _ONE),
        "renyi_entropy_silverman": (_TL, "the same with the published per-latent Silverman bandwidth "
                                    "(scale-invariant)" + _BITS, _ONE),
        "gaussian_entropy": (_TL, "Gaussian entropy of the mean representation 1/2 log2(2 pi e Var mu_k)" + _BITS,
                             _ONE),
        "active_signal_fraction": (_TL, "1 if M_k^2 > threshold (signal fraction criterion)", _ONE, _I8),
        "active_kl": (_TL, "1 if the KL rate R_k > threshold (nats)", _ONE, _I8),
        "active_units": (_TL, "1 if Var_x mu_k >= threshold (active units)", _ONE, _I8),
        "bonheme_class": (_TL, "Bonheme & Grzes class from sigma_k^2 across the data: 0 = passive, 1 = mixed, "
                          "2 = active", _ONE, _I8),
        "active_renyi_entropy": (_TL, "1 if the Renyi entropy of mu_k > threshold (bits)", _ONE, _I8),
        "active_renyi_entropy_silverman": (_TL, "1 if the Renyi entropy of mu_k with Silverman's bandwidth > "
                                           "threshold (bits)", _ONE, _I8),
        "active_gaussian_entropy": (_TL, "1 if 1/2 log2(2 pi e Var mu_k) > threshold (bits)", _ONE, _I8),
        "criterion_onset_T": (("criterion", "mode"), "closed-form onset T_k tau* of each criterion for PCA mode k: "
                              "active below", _ONE),
    }),
    **_group("split (--save-split)", {
        "sample_split": (("sample",), "split of each sample", None, _I8),
        "lat": (("sample",), "cell-centre latitude of each sample", "degrees_north", None,
                {"standard_name": "latitude"}),
        "lon": (("sample",), "cell-centre longitude of each sample", "degrees_east", None,
                {"standard_name": "longitude"}),
        "cell_area": (("sample",), "area of each sample's grid cell (WGS 84)", "km2", None,
                      {"standard_name": "cell_area"}),
        "block": (("sample",), "index of the sample's spatial block (the bootstrap's resampling unit)", None, _I32),
    }),
}
"""Every variable and coordinate of a results Dataset, ``{name: Variable}`` (docs/schema.md)."""

FACTOR_SCHEMA = _group("factor experiment", {
    "T": (("T",), "normalised information price T = beta sigma_dec2 / V, V = tr C", _ONE),
    "beta": (("T",), "raw regularisation weight beta = T V / sigma_dec2", _ONE),
    "lam": (("lam",), "lambda-beta penalty weight lambda (posterior-mean reconstruction)", _ONE),
    "T_rescaled": (("lam", "T"), "rescaled information price T / (1 + lambda)^2", _ONE),
    "latent": (("latent",), "latent index", _ONE, _I32),
    "factor": (("factor",), "ground-truth factor index", _ONE, _I32),
    "mode": (("mode",), "PCA mode index of C, eigenvalues descending", _ONE, _I32),
    "feature": (("feature",), "observed feature index", _ONE, _I32),
    "mixing": (("feature", "factor"), "mixing matrix G of y = G v + n", _ONE),
    "pca_eigenvalue": (("mode",), "eigenvalue lambda_k of C = G G^T + sigma_n^2 I, descending", _ONE),
    "threshold": (("lam", "mode"), "collapse threshold T_k(lambda) = (1 + lambda)^2 lambda_k / V", _ONE),
    "mutual_information": (("lam", "T", "latent", "factor"), "closed-form I(z_i; v_j) between latent i and "
                           "factor j" + _NATS, _ONE),
    "joint_information": (("lam", "T"), "closed-form I(z; v) between the whole code and all factors" + _NATS,
                          _ONE),
    "information_limit": ((), "I(z; v) as T -> 0: 1/2 sum_{k <= min(K, d)} log(lambda_k / sigma_n^2)" + _NATS,
                          _ONE),
    "information_drop_T": (("lam",), "largest T with I(z; v) >= fraction * information_limit (bisection on the "
                           "closed form)", _ONE),
    "mig": (("lam", "T"), "mutual information gap, mean over factors, normalised by log(n_bins)", _ONE),
    "mig_per_factor": (("lam", "T", "factor"), "(I_(1)j - I_(2)j) / log(n_bins) per factor j", _ONE),
    "sap": (("lam", "T"), "separated attribute predictability, mean over factors (R^2 = rho^2)", _ONE),
    "sap_per_factor": (("lam", "T", "factor"), "rho^2_(1)j - rho^2_(2)j per factor j", _ONE),
    "sigma2": (("lam", "T", "latent"), "posterior variance sigma_i^2 of latent i (1 - signal fraction)", _ONE),
})
"""The variables of the factor experiment's Dataset, ``{name: Variable}`` (docs/schema.md, docs/factors.md)."""

PARAMETER_DIMS = {name: SCHEMA[name].dims for name in (  # trained parameters as stored (grid axis T first)
    "encoder_weight", "encoder_bias", "log_sigma2_weight", "log_sigma2_bias", "decoder_weight", "decoder_bias")}
"""Storage dimensions of the trained parameters, grid axis ``T`` first (docs/schema.md)."""


def mlp_schema(n_layers) -> dict:
    """The declarations of an MLP's trained parameters (docs/nonlinear.md, docs/schema.md), ``{name: Variable}``:
    layer ``i = 1 … L`` of the encoder maps ``feature`` (``i = 1``) or ``hidden_{i−1}`` to ``hidden_i``, the two
    heads map ``hidden_L`` to ``latent``, the decoder's layer ``i`` maps ``latent`` (``i = L``) or ``hidden_{i+1}``
    to ``hidden_i``, and the output layer ``hidden_1`` to ``feature``. Weights are stored ``(T, out, in)``.

    Args:
      n_layers: the number of hidden layers ``L ≥ 1``.

    Returns:
      The declarations, for :func:`assign`'s ``schema``.
    """
    group, L = "trained MLP parameters (standardised units; shown for two hidden layers)", int(n_layers)
    entries = {}
    for i in range(1, L + 1):
        into = "feature" if i == 1 else f"hidden_{i - 1}"
        entries[f"mlp_encoder_weight_{i}"] = (("T", f"hidden_{i}", into), f"encoder hidden layer {i} weight", _ONE)
        entries[f"mlp_encoder_bias_{i}"] = (("T", f"hidden_{i}"), f"encoder hidden layer {i} bias", _ONE)
    for head, what in (("mean", "posterior mean head (mu = A h_L + b)"),
                       ("log_sigma2", "posterior log-variance head (log sigma2 = S h_L + s)")):
        entries[f"mlp_{head}_weight"] = (("T", "latent", f"hidden_{L}"), f"{what} weight", _ONE)
        entries[f"mlp_{head}_bias"] = (_TL, f"{what} bias", _ONE)
    for i in range(L, 0, -1):
        into = "latent" if i == L else f"hidden_{i + 1}"
        entries[f"mlp_decoder_weight_{i}"] = (("T", f"hidden_{i}", into), f"decoder hidden layer {i} weight", _ONE)
        entries[f"mlp_decoder_bias_{i}"] = (("T", f"hidden_{i}"), f"decoder hidden layer {i} bias", _ONE)
    entries["mlp_output_weight"] = (("T", "feature", "hidden_1"), "decoder output layer weight", _ONE)
    entries["mlp_output_bias"] = (("T", "feature"), "decoder output layer bias (xhat = W_out g_1 + c)", _ONE)
    return _group(group, entries)


def _declared(name, schema):
    try:
        return schema[name]
    except KeyError:
        raise KeyError(f"results variable {name!r} is not declared in linvae.results.SCHEMA; declare it there "
                       "first") from None


def _stored(name, values, dtype):
    """``values`` in the declared storage type; integers that would change on the way are a ``ValueError``."""
    values = np.asarray(values)
    if dtype is None or values.dtype == dtype:
        return values
    stored = values.astype(dtype)
    if not np.array_equal(stored, values):
        raise ValueError(f"results variable {name!r} does not fit its declared storage type {dtype}: "
                         f"found {values.dtype} values from {np.nanmin(values)} to {np.nanmax(values)}")
    return stored


def named(ds: xr.Dataset, schema=SCHEMA) -> xr.Dataset:
    """``ds`` with every variable and coordinate the schema knows in its declared storage type (``dtype``) and with
    its declared ``long_name``, ``units`` and further attributes (``attrs``) (docs/schema.md).

    Args:
      ds: the Dataset.
      schema: the declarations, ``{name: Variable}``.

    Returns:
      A copy of ``ds`` with types and attributes applied.
    """
    retyped = {name: (var.dims, _stored(name, var.values, schema[name].dtype), var.attrs)
               for name, var in ds.variables.items()
               if name in schema and schema[name].dtype is not None and var.dtype != schema[name].dtype}
    if retyped:
        ds = ds.assign_coords({name: v for name, v in retyped.items() if name in ds.coords})
        ds = ds.assign({name: v for name, v in retyped.items() if name not in ds.coords})
    for name, var in ds.variables.items():
        if name in schema:
            declared = schema[name]
            var.attrs["long_name"] = declared.long_name
            if declared.units is not None:
                var.attrs["units"] = declared.units
            var.attrs.update(declared.attrs)
    return ds


def assign(ds: xr.Dataset, schema=SCHEMA, *, coords=False, **values) -> xr.Dataset:
    """A copy of ``ds`` with each ``name=array`` added under its declared dimensions, storage type and attributes
    (as coordinates with ``coords=True``). Undeclared names are a ``KeyError``: the schema is the only place that
    names a variable (docs/schema.md).

    Args:
      ds: the Dataset.
      schema: the declarations, ``{name: Variable}``.
      coords: add the values as coordinates.
      **values: the arrays to add, by declared name.

    Returns:
      The new ``xarray.Dataset``.
    """
    entries = {name: (_declared(name, schema).dims, _stored(name, value, schema[name].dtype))
               for name, value in values.items()}
    out = ds.assign_coords(entries) if coords else ds.assign(entries)
    return named(out, schema)


def schema_markdown(schema=SCHEMA) -> str:
    """The schema as a Markdown table (one section per group), as the documentation shows it (docs/schema.md).

    Args:
      schema: the declarations, ``{name: Variable}``.

    Returns:
      The Markdown text.
    """
    lines, group = [], None
    for name, var in schema.items():
        if var.group != group:
            group = var.group
            lines += ["", f"### {group[0].upper()}{group[1:]}", "",
                      "| variable | dimensions | type | units | long name |", "|---|---|---|---|---|"]
        dims = ", ".join(var.dims) if var.dims else "scalar"
        extra = "".join(f"; {key}: {value}" if key == "comment" else f"; {key} `{value}`" for key, value in var.attrs)
        lines.append(f"| `{name}` | ({dims}) | {var.dtype or '–'} | {var.units or '–'} | {var.long_name}{extra} |")
    return "\n".join(lines).lstrip() + "\n"
