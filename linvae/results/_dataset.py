"""The results Dataset of a scan: coordinates, PCA spectrum, provenance and the closed-form theory columns.

Dimensions: ``T`` (normalised information price; non-dimension coordinate ``beta``), ``mode`` (1..d),
``latent`` (0..K-1), ``rank`` (1..K), ``n_kept`` (0..K), ``feature``; every variable is declared in
:mod:`linvae.results._schema`.
"""

import datetime

import jax
import numpy as np
import xarray as xr

from linvae._errors import InputError
from linvae._version import __version__
from linvae.model import ACTIVATIONS, Dense, MlpParams, Objective, Params
from linvae.results._schema import CONVENTIONS, PARAMETER_DIMS, SCHEMA, assign, mlp_schema
from linvae.theory import beta_from_price, critical_betas, optimum, thresholds

__all__ = ["new_dataset", "add_theory", "theory_dataset", "dataset_params", "dataset_objective", "provenance",
           "assign_params"]


def provenance(what: str = "results") -> dict:
    """The global attributes of every Dataset linvae writes (docs/cf-conventions.md).

    Args:
      what: what the Dataset holds, the end of its ``history`` line (e.g. ``"exact scan of 'worldclim', objective
        beta, n_latents 6"``).

    Returns:
      ``Conventions`` (``"CF-1.8"``), ``history`` (``"<UTC ISO time> created by linvae <version>: <what>"``, CF
      section 2.6.2), ``created_at`` (the same time) and ``linvae_version``, ``jax_version``, ``xarray_version``,
      ``numpy_version``.
    """
    created_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {"Conventions": CONVENTIONS, "history": f"{created_at} created by linvae {__version__}: {what}",
            "created_at": created_at, "linvae_version": __version__, "jax_version": jax.__version__,
            "xarray_version": xr.__version__, "numpy_version": np.__version__}


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


def new_dataset(spectrum, T, *, n_latents, sigma_dec2=1.0, features=None, data_scale=None,
                dataset="unnamed", objective="beta", method="theory", config=None, lam=0.0,
                alpha=0.0) -> xr.Dataset:
    """Coordinates, PCA variables and provenance attrs for a scan over information prices ``T``.

    Args:
      spectrum: a :class:`linvae.Spectrum` of the (standardised, if so chosen) data.
      T: 1-D grid of information prices, positive.
      n_latents: ``K``.
      sigma_dec2: decoder variance convention (fixes ``β = T V / σ_dec²``).
      features: feature names (``d``).
      data_scale: per-feature standardisation scale, or ``None``.
      dataset: provenance string: the data's name.
      objective: the objective kind of the family (docs/theory.md §5, :class:`linvae.model.Objective`) the theory
        columns of :func:`add_theory` describe, stored as attr ``objective``.
      method: provenance string: the training method (``"theory"`` for none).
      config: extra scalars stored as attrs ``config_*``.
      lam: the λβ weight of the objective, stored as attr ``objective_lam``.
      alpha: the LR weight of the objective, stored as attr ``objective_alpha``.

    Returns:
      ``xarray.Dataset`` in the schema of :mod:`linvae.results` (docs/schema.md) without theory or training
      variables.
    """
    Objective(objective, lam=float(lam), alpha=float(alpha))  # validates (InputError)
    T = np.asarray(T, dtype=np.float64)
    d = spectrum.eigenvalues.size
    V = spectrum.total_variance
    features = [f"x{j}" for j in range(d)] if features is None else [str(f) for f in features]
    with jax.enable_x64(True):
        beta = np.asarray(beta_from_price(T, sigma_dec2, V))
    ds = assign(xr.Dataset(), coords=True, T=T, beta=beta, mode=np.arange(1, d + 1), latent=np.arange(n_latents),
                rank=np.arange(1, n_latents + 1), n_kept=np.arange(n_latents + 1),
                feature=np.asarray(features, dtype=object))
    ds = assign(ds, data_mean=spectrum.mean,
                data_scale=np.ones(d) if data_scale is None else np.asarray(data_scale, np.float64),
                pca_eigenvalue=spectrum.eigenvalues, pca_eigenvector=spectrum.eigenvectors,
                pca_fraction=spectrum.fraction, pca_truncated_distortion=spectrum.truncated_distortion)
    what = "closed-form theory" if method == "theory" else f"{method} scan"
    attrs = {
        "title": "linvae collapse-spectroscopy results",
        "total_variance": V, "sigma_dec2": float(sigma_dec2), "n_latents": int(n_latents), "n_features": int(d),
        "n_samples": int(spectrum.n_samples), "objective": objective, "objective_lam": float(lam),
        "objective_alpha": float(alpha), "method": method, "dataset": dataset,
        **provenance(f"{what} of {dataset!r}, objective {objective}, n_latents {int(n_latents)}"),
        "spec": "docs/theory.md, sections 1-3 and 7",
    }
    attrs.update({f"config_{k}": v for k, v in (config or {}).items()})
    ds.attrs = {k: _attr_value(v) for k, v in attrs.items()}
    return ds


def dataset_params(ds: xr.Dataset) -> Params | MlpParams:
    """The trained parameters stored in ``ds``, grid axis first: :class:`linvae.model.Params` (:data:`PARAMETER_DIMS`)
    or, for a scan of ``model="mlp"`` (attr ``config_model``, or its ``mlp_*`` variables),
    :class:`linvae.model.MlpParams` (:func:`linvae.results.mlp_schema`); a Dataset without them (e.g. theory only)
    is an :class:`InputError` (docs/schema.md).

    Args:
      ds: a trained results Dataset.

    Returns:
      The parameters, every array with a leading grid axis.
    """
    if ds.attrs.get("config_model", "linear") == "mlp" or "mlp_encoder_weight_1" in ds:
        return _mlp_params(ds)
    missing = [name for name in PARAMETER_DIMS if name not in ds]
    if missing:
        raise InputError(f"the Dataset lacks trained parameters {', '.join(missing)}; "
                         "pass the output of linvae.scan")
    return Params(**{name: ds[name].transpose(*dims).values for name, dims in PARAMETER_DIMS.items()})


def _mlp_params(ds: xr.Dataset) -> MlpParams:
    activation = ds.attrs.get("config_activation")
    if activation not in ACTIVATIONS:
        raise InputError(f"the Dataset of an MLP scan must name its activation in attrs['config_activation'] (one of "
                         f"{', '.join(ACTIVATIONS)}), found {activation!r}; pass the output of linvae.scan")
    n_layers = len([name for name in ds.data_vars if name.startswith("mlp_encoder_weight_")])
    schema = mlp_schema(max(n_layers, 1))
    missing = [name for name in schema if name not in ds]
    if n_layers < 1 or missing:
        raise InputError(f"the Dataset of an MLP scan lacks trained parameters {', '.join(missing)}; "
                         "pass the output of linvae.scan")
    value = {name: ds[name].transpose(*var.dims).values for name, var in schema.items()}
    dense = lambda prefix, i="": Dense(value[f"{prefix}_weight{i}"], value[f"{prefix}_bias{i}"])  # noqa: E731
    return MlpParams(encoder=tuple(dense("mlp_encoder", f"_{i}") for i in range(1, n_layers + 1)),
                     mean=dense("mlp_mean"), log_sigma2=dense("mlp_log_sigma2"),
                     decoder=tuple(dense("mlp_decoder", f"_{i}") for i in range(n_layers, 0, -1)),
                     output=dense("mlp_output"), activation=str(activation))


def assign_params(ds: xr.Dataset, params: Params | MlpParams) -> xr.Dataset:
    """``ds`` with the trained parameters of a grid stored under their declared names (:data:`PARAMETER_DIMS`, or
    :func:`linvae.results.mlp_schema` for an MLP), float64; :func:`dataset_params` reads them back (docs/schema.md).

    Args:
      ds: the results Dataset, whose ``T`` axis the parameters' leading axis fills (longer arrays are cut).
      params: :class:`linvae.model.Params` or :class:`linvae.model.MlpParams`, grid axis first.

    Returns:
      The new Dataset.
    """
    n = ds.sizes["T"]
    as_stored = lambda a: np.asarray(a, np.float64)[:n]  # noqa: E731
    if isinstance(params, Params):
        return assign(ds, **{name: as_stored(getattr(params, name)) for name in PARAMETER_DIMS})
    L = len(params.encoder)
    layers = {**{f"mlp_encoder_weight_{i}": layer for i, layer in enumerate(params.encoder, 1)},
              "mlp_mean_weight": params.mean, "mlp_log_sigma2_weight": params.log_sigma2,
              **{f"mlp_decoder_weight_{L - j}": layer for j, layer in enumerate(params.decoder)},
              "mlp_output_weight": params.output}
    values = {}
    for name, layer in layers.items():
        values[name], values[name.replace("_weight", "_bias")] = as_stored(layer.weight), as_stored(layer.bias)
    return assign(ds, {**SCHEMA, **mlp_schema(L)}, **values)


def dataset_objective(ds: xr.Dataset) -> Objective:
    """The :class:`linvae.model.Objective` recorded in ``ds.attrs`` (``objective``, ``objective_lam``,
    ``objective_alpha``; a file without them is a β-VAE) (docs/objectives.md).

    Args:
      ds: a results Dataset.

    Returns:
      The :class:`linvae.model.Objective`.
    """
    return Objective(str(ds.attrs.get("objective", "beta")), lam=float(ds.attrs.get("objective_lam", 0.0)),
                     alpha=float(ds.attrs.get("objective_alpha", 0.0)))


def add_theory(ds: xr.Dataset) -> xr.Dataset:
    """Add the closed-form optimum of the dataset's objective (attrs ``objective``, ``objective_lam``,
    ``objective_alpha``) at its ``T`` grid and spectrum: :func:`linvae.theory.optimum` (docs/theory.md §3, §5; LR
    latents
    reading two modes included, ``theory_partner`` links them), :func:`linvae.theory.thresholds` and
    :func:`linvae.theory.critical_betas` (``β_c,k = T_k V / σ_dec²``).

    Args:
      ds: a results Dataset from :func:`new_dataset`.

    Returns:
      A copy of ``ds`` with the closed-form ``theory_*`` variables added.
    """
    eig = ds["pca_eigenvalue"].values
    objective = dataset_objective(ds)
    sigma_dec2 = float(ds.attrs["sigma_dec2"])
    with jax.enable_x64(True):  # closed forms in float64 whatever the training precision
        branch = jax.tree.map(np.asarray, optimum(ds["T"].values, eig, objective, int(ds.attrs["n_latents"]),
                                                  sigma_dec2))
        Tk = np.asarray(thresholds(eig, objective, sigma_dec2))
        beta_Tk = np.asarray(critical_betas(eig, objective, sigma_dec2))
    return assign(
        ds, theory_threshold=Tk, theory_beta_threshold=beta_Tk, theory_M2=branch.M2, theory_sigma2=branch.sigma2,
        theory_log_sigma2=branch.log_sigma2, theory_rate=branch.rate, theory_partner=branch.partner,
        theory_distortion=branch.total_distortion, theory_total_rate=branch.total_rate,
        theory_penalty=branch.total_penalty, theory_loss=branch.loss,
        theory_n_active=branch.n_active,
    )


def theory_dataset(spectrum, T, *, n_latents, sigma_dec2=1.0, **kwargs) -> xr.Dataset:
    """:func:`new_dataset` followed by :func:`add_theory`: everything answerable without training
    (docs/theory.md §3, docs/schema.md).

    Args:
      spectrum: a :class:`linvae.Spectrum` of the data.
      T: 1-D grid of information prices, positive.
      n_latents: ``K``.
      sigma_dec2: decoder variance convention.
      **kwargs: further keyword arguments of :func:`new_dataset`.

    Returns:
      ``xarray.Dataset`` with coordinates, PCA variables and closed-form theory.
    """
    return add_theory(new_dataset(spectrum, T, n_latents=n_latents, sigma_dec2=sigma_dec2, **kwargs))
