"""``linvae.scan``: split and standardise the data, train the whole T-grid, and fill the results Dataset.

The data are split (random 70/15/15 with a seed, unless the caller or the data bring their own split), standardised
with training statistics (docs/theory.md §9; optional), and the grid is trained by the chosen method
(:mod:`linvae.train._exact` or :mod:`linvae.train._sgd`). The Dataset carries the PCA spectrum and closed-form theory
of the (standardised) training split, the per-point training record and the trained parameters, so the analysis
(:mod:`linvae.analysis`, run here on the held-out split unless ``analyse=False``) can be re-run from the file alone.
"""

import hashlib
import json
import pathlib
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from linvae._errors import InputError
from linvae.analysis import add_activity_criteria, add_analysis, add_bootstrap, observables
from linvae.data import Spectrum, Split, Table, check_table, random_split, split_from_labels, standardized_spectrum
from linvae.results import SCHEMA, assign, assign_params, dataset_params, theory_dataset
from linvae.theory import beta_from_price
from linvae.train import _engine, _exact, _sgd
from linvae.train._config import ScanConfig
from linvae.train._engine import TrainResult
from linvae.train._memory import check_memory, estimate_memory

__all__ = ["scan"]

_SPLIT_ATTRS = ("split_", "n_blocks", "land_area_km2_")  # provenance of a data-carried split (e.g. WorldClim's)


class _Prepared(NamedTuple):
    """The data as the models see them: the split, the training spectrum and the standardisation."""

    table: Table
    split: Split
    spectrum: Spectrum   # of the standardised training split; mean = the raw training mean
    scale: np.ndarray    # per-feature standardisation scale
    attrs: dict          # provenance of the data and of its split

    def rows(self, part):
        """The rows of a split part in the models' units, ``(x − mean) / scale``, float64."""
        return (np.asarray(self.table.values[getattr(self.split, part)], np.float64) - self.spectrum.mean) / self.scale


def scan(data, T, config: ScanConfig = ScanConfig(), *, standardize=True, split: Split | None = None,
         checkpoint=None, checkpoint_every=30.0, resume=False, progress=True, analyse=True, eval_split="test",
         store_split=False, bootstrap=0) -> xr.Dataset:
    """Train VAEs over a T-grid in one compiled, vmapped call and return the results Dataset (linear, or MLPs with
    ``config.model = "mlp"``, docs/nonlinear.md).

    Args:
      data: a :class:`linvae.data.Table` or an ``(N, d)`` array.
      T: 1-D grid of information prices (``β = T V / σ_dec²`` with ``V`` the total variance of the
        standardised training split).
      config: :class:`linvae.ScanConfig` (method, latents, budget, learning rate, objective, ...); the theory
        columns describe the configured objective (docs/theory.md §5) and ``loss`` includes its penalty.
      standardize: standardise features with training-split statistics (docs/theory.md §9).
      split: a :class:`linvae.data.Split`; default the data's own (a table whose ``split`` labels each row
        train/val/test, e.g. a ``split`` variable in a ``.nc`` file), else a seeded random 70/15/15 split.
      checkpoint: path of an ``.npz`` checkpoint, rewritten every ``checkpoint_every`` seconds
        (docs/training.md, "Checkpoints, interrupts and concurrent runs"); ``None`` keeps none.
      checkpoint_every: seconds between checkpoint writes.
      resume: continue from it if it matches this scan (same configuration, grid and data).
      progress: show a progress bar while training.
      analyse: add the analysis of docs/theory.md §7 (:func:`linvae.add_analysis`) and the activity criteria of §8
        (:func:`linvae.add_activity_criteria`) on ``eval_split`` ("test", the held-out default; "val"; or "train",
        whose spectrum is the one the theory columns use).
      eval_split: the split part the analysis is measured on, ``"test"``, ``"val"`` or ``"train"``.
      store_split: add the per-sample split labels ``sample_split`` (0 train, 1 val, 2 test; dimension
        ``sample``) and the data's per-sample coordinates (e.g. WorldClim ``lat``, ``lon``, ``cell_area``).
      bootstrap: number of bootstrap replicates of the 95 % intervals of :func:`linvae.analysis.add_bootstrap`
        (0: none); rows are resampled, or the data's ``block`` coordinate (WorldClim's spatial blocks) where it
        has one. Needs ``analyse`` and the linear model.

    Returns:
      ``xarray.Dataset`` in the schema of :mod:`linvae.results` with training variables added.

    Raises:
      InputError: bad data, grid or configuration, a grid that cannot fit in memory (:func:`linvae.train.check_memory`,
        docs/training.md, "Memory"), or every grid point diverged; all found before training except the last.
    """
    T = _check_grid(T, eval_split, bootstrap, analyse)
    if bootstrap and config.model != "linear":
        raise InputError("bootstrap intervals are computed for linear-model scans only; drop --bootstrap for "
                         "model='mlp'")
    prep = _prepare(data, split, config.seed, standardize)
    _check_sizes(prep, config)
    check_memory(_memory_estimate(prep, len(T), config))
    ds = _new_results(prep, T, config, standardize)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow shows as divergence, reported below
        result = _train(prep, T, config, _fingerprint(config, T, prep, standardize), checkpoint=checkpoint,
                        checkpoint_every=checkpoint_every, resume=resume, progress=progress)
    ds = _add_training(ds, result, config)
    if np.all(ds["diverged"].values):
        if checkpoint is not None:  # nothing worth resuming: a failed run leaves nothing behind
            pathlib.Path(checkpoint).unlink(missing_ok=True)
        raise InputError(f"every one of the {ds.sizes['T']} grid points diverged, so there is no result; "
                         "standardise the data (drop --no-standardize) or lower --learning-rate")
    if analyse:
        ds = _analyse(ds, prep.rows(eval_split), eval_split)
    if bootstrap:
        ds = _bootstrap(ds, prep, eval_split, int(bootstrap), config.seed)
    return _add_split(ds, prep) if store_split else ds


def _bootstrap(ds, prep: _Prepared, eval_split, n_replicates, seed):
    """Bootstrap intervals resampling rows, or the data's ``block`` coordinate (WorldClim's spatial blocks)."""
    blocks = (prep.table.coords or {}).get("block")
    groups = {part: None if blocks is None else np.asarray(blocks)[getattr(prep.split, part)]
              for part in ("train", eval_split)}
    x_train = prep.rows("train")
    x_eval = x_train if eval_split == "train" else prep.rows(eval_split)  # the same rows: one draw for both
    return add_bootstrap(ds, x_train, x_eval, n_replicates=n_replicates, train_groups=groups["train"],
                         eval_groups=groups["train"] if eval_split == "train" else groups[eval_split], seed=seed)


def _check_grid(T, eval_split, bootstrap=0, analyse=True):
    T = np.asarray(T, np.float64)
    if T.ndim != 1 or T.size < 1 or not np.all(np.isfinite(T) & (T > 0)):
        raise InputError("T must be a non-empty 1-D grid of positive finite values; e.g. use linvae.price_grid")
    if eval_split not in Split._fields:
        raise InputError(f"eval_split must be one of train, val, test; found {eval_split!r}")
    if bootstrap and (not analyse or int(bootstrap) != bootstrap or bootstrap < 2):
        raise InputError(f"bootstrap must be 0 or an integer >= 2 with analyse=True, found {bootstrap!r}; e.g. 200")
    return T


def _prepare(data, split, seed, standardize) -> _Prepared:
    """The table, its split (the caller's, the data's own, or a seeded random one) and the training spectrum."""
    table = data if isinstance(data, Table) else Table(np.asarray(data), tuple(f"x{j}" for j in range(
        np.shape(data)[1] if np.ndim(data) == 2 else 0)), "array")
    if table.values.ndim != 2:
        raise InputError(f"data must be 2-D (samples x features), found shape {table.values.shape}")
    check_table(table)
    attrs = dict(table.attrs or {})
    if split is not None:  # the caller's split replaces whatever split the data carried
        attrs = {k: v for k, v in attrs.items() if not k.startswith(_SPLIT_ATTRS)}
        attrs["split_method"] = "given by the caller"
    elif table.split is not None:
        split = split_from_labels(table.split)
        attrs.setdefault("split_method", "labels carried by the data")
    else:
        split = random_split(table.values.shape[0], seed=seed)
        attrs.update(split_method="random 70/15/15", split_seed=int(seed))
    n_rows = table.values.shape[0]
    for name, part in zip(Split._fields, split):
        if len(part) == 0 or np.min(part) < 0 or np.max(part) >= n_rows:
            raise InputError(f"the {name} split must hold at least one row index in 0..{n_rows - 1}, found "
                             f"{len(part)} indices; fix the split")
    attrs.update(n_train=int(len(split.train)), n_val=int(len(split.val)), n_test=int(len(split.test)))
    spectrum, scale = standardized_spectrum(np.asarray(table.values[split.train], np.float64), table.features,
                                            standardize)
    return _Prepared(table, split, spectrum, scale, attrs)


def _check_sizes(prep: _Prepared, config: ScanConfig):
    """Row counts every step will need, checked before training (docs/how-to/own-data.md, "Minimum sizes")."""
    n_train = len(prep.split.train)  # >= 2: the training spectrum needs it (linvae.data.moments)
    if config.method == "sgd" and config.batch_size > n_train:
        raise InputError(f"--batch-size {config.batch_size} exceeds the {n_train} training rows; "
                         f"use --batch-size {n_train} or less")


def _memory_estimate(prep: _Prepared, n_points, config: ScanConfig):
    """The grid's memory as this process will hold it (devices of one process share the host's memory)."""
    lapack = config.method == "exact"
    devices = _engine.grid_devices(lapack_inside=lapack)
    g = _engine.padded_size(n_points, lapack_inside=lapack)
    local = [dev for dev in devices if dev.process_index == jax.process_index()]
    shared = devices[0].platform == "cpu"
    return estimate_memory(config, g * len(local) // len(devices) if shared else g, prep.table.values.shape[1],
                           n_train=len(prep.split.train), n_val=len(prep.split.val),
                           n_modes=int(np.sum(_exact.kept_modes(prep.spectrum.eigenvalues))),
                           n_devices=len(local) if shared else len(devices), shares_memory=shared)


def _new_results(prep: _Prepared, T, config: ScanConfig, standardize) -> xr.Dataset:
    """The results Dataset before training: spectrum and closed-form theory of the training split, provenance."""
    ds = theory_dataset(
        prep.spectrum, T, n_latents=config.n_latents, sigma_dec2=config.sigma_dec2, features=prep.table.features,
        data_scale=prep.scale, dataset=prep.table.source, method=config.method, objective=config.objective,
        lam=config.lam, alpha=config.alpha, config={**config.as_attrs(), "standardize": standardize},
    )
    ds.attrs.update(prep.attrs)
    return ds


def _fingerprint(config, T, prep: _Prepared, standardize):
    """Identifies a scan for checkpoint matching: configuration, standardisation, grid, split and a digest of the
    training data."""
    x_train = np.asarray(prep.table.values[prep.split.train], np.float64)
    h = hashlib.sha256(json.dumps({**config.as_attrs(), "standardize": bool(standardize)}, sort_keys=True).encode())
    for part in prep.split:
        h.update(np.asarray(part, np.int64).tobytes())
    h.update(np.asarray(T, np.float64).tobytes())
    h.update(np.ascontiguousarray(x_train[:: max(1, len(x_train) // 1000)]).tobytes())
    h.update(str(x_train.shape).encode())
    return h.hexdigest()


def _train(prep: _Prepared, T, config: ScanConfig, fingerprint, **run) -> TrainResult:
    """The grid trained by the configured method on the standardised training split (models read centred data)."""
    dtype = jnp.float64 if config.x64 else jnp.float32
    if config.x64 and not jax.config.jax_enable_x64:
        raise InputError("float64 training needs jax_enable_x64; call jax.config.update('jax_enable_x64', True) "
                         "first (the CLI's --x64 does this)")
    with jax.enable_x64(True):  # β = T V / σ_dec² in float64 whatever the training precision
        betas = np.asarray(beta_from_price(T, config.sigma_dec2, prep.spectrum.total_variance))
    t0 = time.perf_counter()
    if config.method == "exact":
        centred = prep.spectrum._replace(mean=np.zeros_like(prep.spectrum.mean))
        result = _exact.train_grid(centred, betas, config, dtype=dtype, fingerprint=fingerprint, **run)
    else:
        result = _sgd.train_grid(prep.rows("train"), prep.rows("val"), betas, config, dtype=dtype,
                                 fingerprint=fingerprint, **run)
    return result._replace(run=result.run._replace(wall_seconds=time.perf_counter() - t0))


def _add_training(ds, result: TrainResult, config: ScanConfig):
    """Attach the per-point training record and trained parameters (host numpy, grid axis first)."""
    n, V, T = ds.sizes["T"], float(ds.attrs["total_variance"]), ds["T"].values
    st = result.run.state
    sq_err, rate, penalty = (np.asarray(t, np.float64)[:n] for t in (result.sq_err, result.rate, result.penalty))
    penalty = penalty * 2 * config.sigma_dec2 / V  # the objective's extra term in the units of L̃
    # sgd tracks the per-sample loss D + βR; report the normalised L̃ = (2σ²/V)(D + βR) like the exact method
    best_scale = 2 * config.sigma_dec2 / V if config.method == "sgd" else 1.0
    out = assign(
        ds, train_steps=np.asarray(st.step)[:n],
        best_val_loss=np.asarray(st.best_val, np.float64)[:n] * best_scale,
        stopped_early=np.asarray(st.stopped_early)[:n],
        diverged=np.asarray(st.diverged)[:n], distortion=sq_err / V, rate=rate, penalty=penalty,
        loss=sq_err / V + 2 * T * rate + penalty)
    out = assign_params(out, result.params)
    if result.certified is not None:
        out = assign(out, minimum_certified=result.certified)
    out.attrs.update(train_wall_seconds=float(result.run.wall_seconds), train_periods=int(result.run.periods),
                     resumed_from_period=int(result.run.resumed_from),
                     batch_stream="shared across the grid" if config.shared_batches else "independent per point",
                     n_devices=len(_engine.grid_devices(lapack_inside=config.method == "exact")),
                     n_processes=jax.process_count(), platform=jax.default_backend())
    if np.any(out["diverged"].values):
        bad = ", ".join(f"{t:.3g}" for t in T[out["diverged"].values.astype(bool)])
        out.attrs["warning"] = f"diverged at T = {bad}: " + (
            "frozen at their best parameters" if config.method == "sgd" else "kept at their last finite parameters")
    return out


def _analyse(ds, x_eval, eval_split):
    """The analysis and the activity criteria on the evaluation split, sharing one observables pass."""
    obs = observables(dataset_params(ds), x_eval, np.zeros(ds.sizes["feature"]))
    out = add_activity_criteria(add_analysis(ds, x_eval, obs=obs), x_eval, obs=obs)
    out.attrs["analysis_split"] = eval_split
    return out


def _add_split(ds, prep: _Prepared):
    """Per-sample split labels (int8 flags, CF style) and the data's per-sample coordinates."""
    labels = np.full(prep.table.values.shape[0], -1, np.int8)
    for code, part in enumerate(prep.split):
        labels[part] = code
    out = assign(ds, sample_split=labels)
    out["sample_split"].attrs.update(flag_values=np.array([-1, 0, 1, 2], np.int8),
                                     flag_meanings="unused train val test")
    coords = {name: np.asarray(values) for name, values in (prep.table.coords or {}).items()}
    declared = {name: values for name, values in coords.items() if name in SCHEMA}  # e.g. WorldClim lat, lon
    out = assign(out, coords=True, **declared)
    # the data's own coordinates of other names are stored as they come, without schema attributes
    return out.assign_coords({name: ("sample", values) for name, values in coords.items() if name not in declared})
