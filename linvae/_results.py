"""The results schema: one ``xarray.Dataset`` shared by theory, training and analysis, saved as netCDF.

Dimensions: ``T`` (normalised information price; non-dimension coordinate ``beta``), ``mode`` (1..d),
``latent`` (0..K-1), ``rank`` (1..K), ``n_kept`` (0..K), ``feature``. Arrays are computed plainly and named here,
at the boundary (STYLE.md practice 4).
"""

import datetime
import importlib.metadata
import os
import pathlib

import jax
import numpy as np
import xarray as xr

from linvae import _objectives, _theory
from linvae._errors import InputError
from linvae._model import Params

__all__ = ["new_dataset", "add_theory", "dataset_params", "dataset_objective", "save", "load", "theory_dataset", "VARIABLE_ATTRS", "PARAMETER_DIMS"]

_NATS = "nats"
_ONE = "1"
# long name and units of every variable of the schema; later parts of the library add theirs here.
VARIABLE_ATTRS = {
    "data_mean": ("mean of each feature of the data the spectrum was computed on", "data units"),
    "data_scale": ("standard deviation used to standardise each feature (1 if not standardised)", "data units"),
    "pca_eigenvalue": ("PCA eigenvalue lambda_k of the centred covariance, descending", "data units squared"),
    "pca_eigenvector": ("PCA eigenvector u_k (column k of U)", _ONE),
    "pca_fraction": ("explained-variance fraction lambda_k / V", _ONE),
    "pca_truncated_distortion": ("PCA normalised distortion keeping modes 1..k: 1 - sum_{j<=k} lambda_j / V", _ONE),
    "theory_threshold": ("closed-form collapse threshold T_k of the objective (beta-VAE: lambda_k / V)", _ONE),
    "theory_beta_threshold": ("closed-form raw collapse threshold beta_c,k = T_k V / sigma_dec2 (beta-VAE: "
                              "lambda_k / sigma_dec2)", _ONE),
    "theory_M2": ("closed-form signal fraction M_k^2 (beta-VAE: [1 - T/T_k]_+)", _ONE),
    "theory_sigma2": ("closed-form posterior variance sigma_k^2 (beta-VAE: min(T/T_k, 1))", _ONE),
    "theory_log_sigma2": ("closed-form posterior log-variance log sigma_k^2", _ONE),
    "theory_rate": ("closed-form KL rate R_k = -1/2 log sigma_k^2", _NATS),
    "theory_distortion": ("closed-form normalised sampled-path distortion D(T) (beta-VAE: sum_k min(T, T_k))", _ONE),
    "theory_total_rate": ("closed-form total rate R(T) = sum_k R_k", _NATS),
    "theory_loss": ("closed-form normalised loss L(T) = D + 2 T R + P (objective penalty P; beta-VAE P = 0)", _ONE),
    "theory_penalty": ("closed-form normalised objective penalty P = (2 sigma_dec2 / V) x extra term", _ONE),
    "theory_n_active": ("closed-form number of active latents", _ONE),
    "theory_partner": ("LR only: the other mode read by the same latent, -1 if none (a latent mixing two modes "
                       "holds its M2, sigma2 and rate on the mode giving it more signal)", _ONE),
}


VARIABLE_ATTRS.update({
    "theory_collapse_threshold": ("the objective-law collapse fit applied to the closed-form M2 ranked by M2", "1"),
    "eval_fraction": ("evaluation split's variance along training PCA direction u_k over its total variance", "1"),
})

VARIABLE_ATTRS.update({  # per-sample coordinates stored with the split labels (WorldClim cells)
    "lat": ("cell-centre latitude of each sample", "degrees_north"),
    "lon": ("cell-centre longitude of each sample", "degrees_east"),
    "cell_area": ("area of each sample's grid cell (WGS 84)", "km2"),
})

PARAMETER_DIMS = {  # trained parameters as stored in the Dataset (standardised feature units)
    "encoder_weight": ("T", "latent", "feature"),
    "encoder_bias": ("T", "latent"),
    "log_sigma2_weight": ("T", "latent", "feature"),
    "log_sigma2_bias": ("T", "latent"),
    "decoder_weight": ("T", "feature", "latent"),
    "decoder_bias": ("T", "feature"),
}

VARIABLE_ATTRS.update({
    "encoder_weight": ("encoder mean weight A (mu = A (x - xbar) + b), standardised units", "1"),
    "encoder_bias": ("encoder mean bias b", "1"),
    "log_sigma2_weight": ("encoder log-variance slope S (log sigma2 = S (x - xbar) + s)", "1"),
    "log_sigma2_bias": ("encoder log-variance bias s", "1"),
    "decoder_weight": ("decoder weight W (xhat = W z + c)", "1"),
    "decoder_bias": ("decoder bias c", "1"),
    "train_steps": ("parameter updates performed", "1"),
    "best_val_loss": ("best normalised loss (2 sigma_dec2 / V)(D + beta R + penalty): sgd on the validation split (noise-"
                      "expected), exact on the training covariance", "1"),
    "stopped_early": ("1 if early stopping ended the run before its budget (sgd) or it converged (exact)", "1"),
    "diverged": ("1 if the run produced NaN/inf and was frozen at its best parameters", "1"),
    "distortion": ("normalised distortion E||x - xhat||^2 / V of the kept parameters", "1"),
    "rate": ("KL rate R of the kept parameters", "nats"),
    "loss": ("normalised loss D + 2 T R + P of the kept parameters (P: objective penalty, 0 for beta)", "1"),
    "penalty": ("normalised objective penalty P = (2 sigma_dec2 / V) x the objective's extra term", "1"),
    "minimum_certified": ("exact method: 1 if the Hessian (+1e-6 I) is positive definite at the end", "1"),
})


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _attr_value(value):
    """netCDF attributes hold numbers and strings only: encode bools as 0/1 and None as ''."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if value is None:
        return ""
    if isinstance(value, (int, float, str, np.integer, np.floating)):
        return value
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _named(ds):
    for name, var in ds.variables.items():
        if name in VARIABLE_ATTRS:
            var.attrs["long_name"], var.attrs["units"] = VARIABLE_ATTRS[name]
    return ds


def new_dataset(spectrum, T, *, n_latents, sigma_dec2=1.0, features=None, data_scale=None,
                dataset="unnamed", objective="beta", method="theory", config=None, lam=0.0,
                alpha=0.0) -> xr.Dataset:
    """Coordinates, PCA variables and provenance attrs for a scan over information prices ``T``.

    Args:
      spectrum: a :class:`linvae.Spectrum` of the (standardised, if so chosen) data.
      T: 1-D grid of information prices, positive.
      n_latents: ``K``; sigma_dec2: decoder variance convention (fixes ``β = T V / σ_dec²``).
      features: feature names (``d``); data_scale: per-feature standardisation scale, or ``None``.
      dataset, objective, method: provenance strings; config: extra scalars stored as attrs ``config_*``.
      objective, lam, alpha: the objective of the family (SPEC.md §5, :class:`linvae.Objective`) the theory columns
        of :func:`add_theory` describe, stored as attrs ``objective``, ``objective_lam``, ``objective_alpha``.
    """
    _objectives.Objective(objective, lam=float(lam), alpha=float(alpha))  # validates (InputError)
    T = np.asarray(T, dtype=np.float64)
    eig = spectrum.eigenvalues
    d = eig.size
    V = spectrum.total_variance
    features = [f"x{j}" for j in range(d)] if features is None else [str(f) for f in features]
    with jax.enable_x64(True):
        beta = np.asarray(_theory.beta_from_temperature(T, sigma_dec2, V))
    ds = xr.Dataset(
        coords={
            "T": ("T", T, {"long_name": "normalised information price T = beta sigma_dec2 / V", "units": _ONE}),
            "beta": ("T", beta, {"long_name": "raw regularisation weight beta", "units": _ONE}),
            "mode": ("mode", np.arange(1, d + 1), {"long_name": "PCA mode index, eigenvalues descending"}),
            "latent": ("latent", np.arange(n_latents), {"long_name": "latent index"}),
            "rank": ("rank", np.arange(1, n_latents + 1), {"long_name": "rank by signal fraction M^2, descending"}),
            "n_kept": ("n_kept", np.arange(n_latents + 1), {"long_name": "number of ranked latents kept"}),
            "feature": ("feature", np.asarray(features, dtype=object), {"long_name": "data feature"}),
        },
        data_vars={
            "data_mean": ("feature", spectrum.mean),
            "data_scale": ("feature", np.ones(d) if data_scale is None else np.asarray(data_scale, np.float64)),
            "pca_eigenvalue": ("mode", eig),
            "pca_eigenvector": (("feature", "mode"), spectrum.eigenvectors),
            "pca_fraction": ("mode", spectrum.fraction),
            "pca_truncated_distortion": ("mode", spectrum.truncated_distortion),
        },
    )
    attrs = {
        "title": "linvae collapse-spectroscopy results",
        "total_variance": V, "sigma_dec2": float(sigma_dec2), "n_latents": int(n_latents), "n_features": int(d),
        "n_samples": int(spectrum.n_samples), "objective": objective, "objective_lam": float(lam), "objective_alpha": float(alpha),
        "method": method, "dataset": dataset,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "linvae_version": _version("linvae"), "jax_version": jax.__version__,
        "xarray_version": xr.__version__, "numpy_version": np.__version__,
        "spec": "SPEC.md (linvae), sections 1-3 and 7",
    }
    attrs.update({f"config_{k}": v for k, v in (config or {}).items()})
    ds.attrs = {k: _attr_value(v) for k, v in attrs.items()}
    return _named(ds)


def dataset_params(ds: xr.Dataset) -> Params:
    """The trained parameters stored in ``ds`` (:data:`PARAMETER_DIMS`), grid axis first, as :class:`Params`;
    a Dataset without them (e.g. theory only) is an :class:`InputError`."""
    missing = [name for name in PARAMETER_DIMS if name not in ds]
    if missing:
        raise InputError(f"the Dataset lacks trained parameters {', '.join(missing)}; "
                         "pass the output of linvae.scan")
    return Params(**{name: ds[name].transpose(*dims).values for name, dims in PARAMETER_DIMS.items()})


def dataset_objective(ds: xr.Dataset) -> _objectives.Objective:
    """The :class:`linvae.Objective` recorded in ``ds.attrs`` (``objective``, ``objective_lam``,
    ``objective_alpha``; a file without them is a β-VAE)."""
    return _objectives.Objective(str(ds.attrs.get("objective", "beta")), lam=float(ds.attrs.get("objective_lam", 0.0)),
                                 alpha=float(ds.attrs.get("objective_alpha", 0.0)))


def add_theory(ds: xr.Dataset) -> xr.Dataset:
    """Add the closed-form optimum of the dataset's objective at its ``T`` grid and spectrum.

    β-VAE: SPEC.md §3 (:func:`linvae.closed_form`); other objectives (attrs ``objective``, ``objective_lam``,
    ``objective_alpha``): SPEC.md §5, :func:`linvae.objective_optimum` (LR latents reading two modes included;
    ``theory_partner`` links them) and the one-mode :func:`linvae.objective_thresholds`, with
    ``β_c,k = T_k V / σ_dec²``.
    """
    lam = ds["pca_eigenvalue"].values
    objective = dataset_objective(ds)
    sigma_dec2 = float(ds.attrs["sigma_dec2"])
    K = int(ds.attrs["n_latents"])
    with jax.enable_x64(True):  # closed forms in float64 whatever the training precision
        if objective.kind == "beta":
            branch = jax.tree.map(np.asarray, _theory.closed_form(ds["T"].values, lam, K))
            thresholds = np.asarray(_theory.mode_thresholds(lam))
            beta_thresholds = np.asarray(_theory.critical_betas(lam, sigma_dec2))
            penalty = np.zeros(ds.sizes["T"])
        else:
            branch = _objectives.objective_optimum(ds["T"].values, lam, objective, K, sigma_dec2)
            thresholds = np.asarray(_objectives.objective_thresholds(lam, objective, sigma_dec2))
            beta_thresholds = np.asarray(_theory.beta_from_temperature(thresholds, sigma_dec2,
                                                                       float(ds.attrs["total_variance"])))
            penalty = branch.total_penalty
    per_mode = ("T", "mode")
    out = ds.assign(
        theory_threshold=("mode", thresholds), theory_beta_threshold=("mode", beta_thresholds),
        theory_M2=(per_mode, branch.M2), theory_sigma2=(per_mode, branch.sigma2),
        theory_log_sigma2=(per_mode, branch.log_sigma2), theory_rate=(per_mode, branch.rate),
        theory_distortion=("T", branch.total_distortion), theory_total_rate=("T", branch.total_rate),
        theory_penalty=("T", penalty),
        theory_loss=("T", branch.loss), theory_n_active=("T", branch.n_active.astype(np.int32)),
    )
    if objective.kind == "lr":
        out = out.assign(theory_partner=(per_mode, branch.partner.astype(np.int32)))
    return _named(out)


def theory_dataset(spectrum, T, *, n_latents, sigma_dec2=1.0, **kwargs) -> xr.Dataset:
    """:func:`new_dataset` followed by :func:`add_theory`: everything answerable without training."""
    return add_theory(new_dataset(spectrum, T, n_latents=n_latents, sigma_dec2=sigma_dec2, **kwargs))


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
