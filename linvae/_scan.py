"""``linvae.scan``: split and standardise the data, train the whole T-grid, and fill the results Dataset.

The data are split (random 70/15/15 with a seed, unless the caller passes its own split), standardised with
training statistics (SPEC.md §9; optional), put on the device once, and the grid is trained by the chosen method
(:mod:`linvae._exact` or :mod:`linvae._sgd`). The Dataset carries the PCA spectrum and closed-form theory of the
(standardised) training split, the per-point training record and the trained parameters, so analysis can run
later from the file alone.
"""

import dataclasses
import hashlib
import json
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linvae import _engine, _exact, _results, _sgd
from linvae._analysis import add_analysis, observables
from linvae._criteria import add_activity_criteria
from linvae._config import ScanConfig
from linvae._data import Table, standardized_spectrum
from linvae._errors import InputError
from linvae._model import Params
from linvae._results import PARAMETER_DIMS
from linvae._theory import beta_from_temperature

__all__ = ["Split", "random_split", "split_from_labels", "scan"]

_SPLIT_ATTRS = ("split_", "n_blocks", "land_area_km2_")  # provenance of a data-carried split (e.g. WorldClim's)


class Split(NamedTuple):
    """Row indices of the training, validation and test splits."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def random_split(n_rows, *, fractions=(0.7, 0.15, 0.15), seed=0) -> Split:
    """A seeded random split of ``n_rows`` rows (default 70/15/15), each part sorted."""
    if n_rows < 3:
        raise InputError(f"training needs at least 3 samples for a train/validation/test split, found {n_rows}")
    perm = np.random.default_rng(seed).permutation(n_rows)
    n_train = max(1, int(round(fractions[0] * n_rows)))
    n_val = max(1, int(round(fractions[1] * n_rows)))
    n_train = min(n_train, n_rows - 2)
    parts = np.split(perm, [n_train, n_train + n_val])
    return Split(*(np.sort(p) for p in parts))


def split_from_labels(labels) -> Split:
    """A :class:`Split` from per-sample labels ``train`` / ``val`` (or ``validation``) / ``test``."""
    labels = np.char.lower(np.asarray(labels).astype(str))
    parts = [np.flatnonzero(np.isin(labels, names)) for names in (["train"], ["val", "validation"], ["test"])]
    unknown = sorted(set(np.unique(labels)) - {"train", "val", "validation", "test"})
    if unknown or any(len(p) == 0 for p in parts):
        found = ", ".join(str(v) for v in np.unique(labels))
        raise InputError(f"a data split needs labels train, val and test (each at least once), found {found}; "
                         "fix the 'split' variable")
    return Split(*parts)


def _fingerprint(config, T, x_train, standardize, split):
    """Identifies a scan for checkpoint matching: configuration, standardisation, grid, split and a digest of the
    training data."""
    h = hashlib.sha256(json.dumps({**config.as_attrs(), "standardize": bool(standardize)}, sort_keys=True).encode())
    for part in split:
        h.update(np.asarray(part, np.int64).tobytes())
    h.update(np.asarray(T, np.float64).tobytes())
    h.update(np.ascontiguousarray(x_train[:: max(1, len(x_train) // 1000)]).tobytes())
    h.update(str(x_train.shape).encode())
    return h.hexdigest()


def scan(data, T, config: ScanConfig = ScanConfig(), *, standardize=True, split: Split | None = None,
         checkpoint=None, checkpoint_every=30.0, resume=False, progress=True, analyse=True, eval_split="test",
         store_split=False):
    """Train linear VAEs over a T-grid in one compiled, vmapped call and return the results Dataset.

    Args:
      data: a :class:`linvae.Table` or an ``(N, d)`` array.
      T: 1-D grid of information prices (``β = T V / σ_dec²`` with ``V`` the total variance of the
        standardised training split).
      config: :class:`linvae.ScanConfig` (method, latents, budget, learning rate, objective, ...); the theory
        columns describe the configured objective (SPEC.md §5) and ``loss`` includes its penalty.
      standardize: standardise features with training-split statistics (SPEC.md §9).
      split: a :class:`Split`; default the data's own (a :class:`Table` whose ``split`` labels each row
        train/val/test, e.g. a ``split`` variable in a ``.nc`` file), else a seeded random 70/15/15 split.
      checkpoint: path of an ``.npz`` checkpoint, rewritten every ``checkpoint_every`` seconds;
      resume: continue from it if it matches this scan (same configuration, grid and data).
      analyse: add the analysis of SPEC.md §7 (:func:`linvae.add_analysis`) and the activity criteria of §8
        (:func:`linvae.add_activity_criteria`) on ``eval_split`` ("test", the held-out default; "val"; or "train",
        whose spectrum is the one the theory columns use).
      store_split: add the per-sample split labels ``sample_split`` (0 train, 1 val, 2 test; dimension
        ``sample``) and the data's per-sample coordinates (e.g. WorldClim ``lat``, ``lon``, ``cell_area``).
    Returns:
      ``xarray.Dataset`` in the schema of :mod:`linvae._results` with training variables added.
    """
    table = data if isinstance(data, Table) else Table(np.asarray(data), tuple(f"x{j}" for j in range(
        np.shape(data)[1] if np.ndim(data) == 2 else 0)), "array")
    if table.values.ndim != 2:
        raise InputError(f"data must be 2-D (samples x features), found shape {table.values.shape}")
    T = np.asarray(T, np.float64)
    if T.ndim != 1 or T.size < 1 or not np.all(np.isfinite(T) & (T > 0)):
        raise InputError("T must be a non-empty 1-D grid of positive finite values; e.g. use temperature_grid")
    if eval_split not in Split._fields:
        raise InputError(f"eval_split must be one of train, val, test; found {eval_split!r}")
    data_attrs = dict(table.attrs or {})
    if split is not None:  # the caller's split replaces whatever split the data carried
        data_attrs = {k: v for k, v in data_attrs.items() if not k.startswith(_SPLIT_ATTRS)}
        data_attrs["split_method"] = "given by the caller"
    elif table.split is not None:
        split = split_from_labels(table.split)
        data_attrs.setdefault("split_method", "labels carried by the data")
    else:
        split = random_split(table.values.shape[0], seed=config.seed)
        data_attrs.update(split_method="random 70/15/15", split_seed=int(config.seed))
    n_rows = table.values.shape[0]
    for name, part in zip(Split._fields, split):
        if len(part) == 0 or np.min(part) < 0 or np.max(part) >= n_rows:
            raise InputError(f"the {name} split must hold at least one row index in 0..{n_rows - 1}, found "
                             f"{len(part)} indices; fix the split")
    x_train_raw = np.asarray(table.values[split.train], np.float64)
    spectrum, scale = standardized_spectrum(x_train_raw, table.features, standardize)
    mean = spectrum.mean
    V = spectrum.total_variance
    ds = _results.theory_dataset(
        spectrum, T, n_latents=config.n_latents, sigma_dec2=config.sigma_dec2, features=table.features,
        data_scale=scale, dataset=table.source, method=config.method, objective=config.objective,
        lam=config.lam, alpha=config.alpha, config={**config.as_attrs(), "standardize": standardize},
    )
    spectrum = spectrum._replace(mean=np.zeros_like(mean))  # the models read centred (standardised) data
    ds.attrs.update(data_attrs)
    ds.attrs.update(n_train=int(len(split.train)), n_val=int(len(split.val)), n_test=int(len(split.test)))
    dtype = jnp.float64 if config.x64 else jnp.float32
    if config.x64 and not jax.config.jax_enable_x64:
        raise InputError("float64 training needs jax_enable_x64; call jax.config.update('jax_enable_x64', True) "
                         "first (the CLI's --x64 does this)")
    with jax.enable_x64(True):  # β = T V / σ_dec² in float64 whatever the training precision
        betas = np.asarray(beta_from_temperature(T, config.sigma_dec2, V))
    standardise = lambda rows: ((np.asarray(table.values[rows], np.float64) - mean) / scale)  # noqa: E731
    fingerprint = _fingerprint(config, T, x_train_raw, standardize, split)
    t0 = time.perf_counter()
    if config.method == "exact":
        run, params, terms, certified = _exact.train_grid(spectrum, betas, config, dtype=dtype, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                                               fingerprint=fingerprint, resume=resume, progress=progress)
    else:
        certified = None
        run, params, terms = _sgd.train_grid(standardise(split.train), standardise(split.val), betas, config,
                                             dtype=dtype, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                                             fingerprint=fingerprint,
                                             resume=resume, progress=progress)
    wall = time.perf_counter() - t0
    out = _add_training(ds, run, params, terms, V, config, wall)
    if certified is not None:
        out = out.assign(minimum_certified=("T", certified.astype(np.int8)))
    if analyse:
        x_eval = standardise(getattr(split, eval_split))
        obs = observables(_results.dataset_params(out), x_eval, np.zeros(out.sizes["feature"]))  # one pass for both
        out = add_activity_criteria(add_analysis(out, x_eval, obs=obs), x_eval, obs=obs)
        out.attrs["analysis_split"] = eval_split
    if store_split:
        out = _add_split(out, split, n_rows, table.coords)
    return _results._named(out)



def _add_split(ds, split: Split, n_rows, coords):
    """Per-sample split labels (int8 flags, CF style) and the data's per-sample coordinates."""
    labels = np.full(n_rows, -1, np.int8)
    for code, part in enumerate(split):
        labels[part] = code
    out = ds.assign(sample_split=("sample", labels, {
        "long_name": "split of each sample", "flag_values": np.array([-1, 0, 1, 2], np.int8),
        "flag_meanings": "unused train val test"}))
    for name, values in (coords or {}).items():
        out = out.assign_coords({name: ("sample", np.asarray(values))})
    return out


def _add_training(ds, run, params: Params, terms, V, config, wall):
    """Attach the per-point training record and trained parameters (host numpy, grid axis first)."""
    n = ds.sizes["T"]
    st = run.state
    sq_err, rate, penalty = (np.asarray(t, np.float64)[:n] for t in terms)
    penalty = penalty * 2 * config.sigma_dec2 / V  # the objective's extra term in the units of L̃
    T = ds["T"].values
    out = ds.assign(
        train_steps=("T", np.asarray(st.step)[:n].astype(np.int64)),
        # sgd tracks the per-sample loss D + βR; report the normalised L̃ = (2σ²/V)(D + βR) like the exact method
        best_val_loss=("T", np.asarray(st.best_val, np.float64)[:n]
                       * (2 * config.sigma_dec2 / V if config.method == "sgd" else 1.0)),
        stopped_early=("T", np.asarray(st.stopped_early)[:n].astype(np.int8)),
        diverged=("T", np.asarray(st.diverged)[:n].astype(np.int8)),
        distortion=("T", sq_err / V), rate=("T", rate), penalty=("T", penalty),
        loss=("T", sq_err / V + 2 * T * rate + penalty),
        **{name: (dims, np.asarray(getattr(params, name), np.float64)[:n]) for name, dims in PARAMETER_DIMS.items()},
    )
    out.attrs.update(train_wall_seconds=float(wall), train_periods=int(run.periods),
                     resumed_from_period=int(run.resumed_from),
                     batch_stream="shared across the grid" if config.shared_batches else "independent per point",
                     n_devices=len(_engine.grid_devices(lapack_inside=config.method == "exact")),
                     n_processes=jax.process_count(),
                     platform=jax.default_backend())
    if np.any(out["diverged"].values):
        bad = ", ".join(f"{t:.3g}" for t in T[out["diverged"].values.astype(bool)])
        out.attrs["warning"] = (f"diverged at T = {bad}: " + ("frozen at their best parameters" if config.method == "sgd"
                                else "kept at their last finite parameters"))
    return _results._named(out)
