"""The scan engine: a whole T-grid of linear VAEs trained in one compiled, vmapped call (SPEC.md §4, §6).

Each method is written for a single model — ``*_period(state, β, …)`` advances one model by one period of
updates — and the grid is ``jax.jit(jax.vmap(period))``, built once per static configuration. β, learning rate,
budget and keys are traced, so a new grid of the same shape never recompiles. A period ends with a check
(validation loss for ``sgd``, convergence for ``exact``); points that are done are frozen by masking and the host
loop stops as soon as every point is done. Between periods the host shows progress and checkpoints the state.

The grid axis is sharded over all local devices (``jax.sharding``); data are replicated and put on the
device once. Each method module builds its grid state with :func:`init_grid` and its compiled ``period`` for
:func:`run_grid`.
"""

import os
import pathlib
import sys
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["GridRun", "grid_sharding", "init_grid", "shard_grid", "run_grid", "save_checkpoint", "load_checkpoint",
           "tree_where", "all_finite"]


def tree_where(mask, new, old):
    """``where(mask, new, old)`` leaf by leaf; ``mask`` is a scalar bool (one model)."""
    return jax.tree.map(lambda a, b: jnp.where(mask, a, b), new, old)


def all_finite(tree):
    """True iff no leaf of ``tree`` holds NaN or inf."""
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]))


def grid_devices(lapack_inside=False):
    """Devices the grid axis is split over: all local devices, except for CPU programs with LAPACK calls.

    jaxlib's batched CPU LAPACK kernels share one thread pool and can deadlock when two run at once (observed
    with jax 0.10.2 on 2 cores: a grid split over 2 CPU devices, each in a Cholesky, hangs at 0 % CPU). Such
    programs (the exact method's Newton step) therefore stay on one CPU device; GPUs and TPUs are unaffected.
    """
    devices = jax.local_devices()
    if lapack_inside and devices[0].platform == "cpu":
        return devices[:1]
    return devices


def grid_sharding(lapack_inside=False):
    """A 1-D mesh over :func:`grid_devices`, the grid axis split across them; also the replicated sharding."""
    mesh = Mesh(np.asarray(grid_devices(lapack_inside)), ("grid",))
    return NamedSharding(mesh, PartitionSpec("grid")), NamedSharding(mesh, PartitionSpec())


def padded_size(n_points, lapack_inside=False):
    """Grid size rounded up to a multiple of the device count, so the grid axis splits evenly."""
    n_dev = len(grid_devices(lapack_inside))
    return -(-n_points // n_dev) * n_dev


def init_grid(init_fn, keys, betas, n_points, *static):
    """Initial grid state and β padded to the grid size ``len(keys)`` (a multiple of the device count).

    ``init_fn(key, *static)`` initialises one model; padding points repeat the last β and start ``done``, so they
    never train.
    """
    g = len(keys)
    state = jax.vmap(init_fn, in_axes=(0,) + (None,) * len(static))(keys, *static)
    betas = np.concatenate([betas, np.repeat(betas[-1:], g - n_points)])
    return state._replace(done=jnp.arange(g) >= n_points), betas


def shard_grid(tree, sharding):
    """Place every leaf (leading grid axis) on the devices, split along the grid axis."""
    return jax.tree.map(lambda leaf: jax.device_put(leaf, sharding), tree)


class GridRun(NamedTuple):
    """Result of :func:`run_grid`: the final (host) state and bookkeeping."""

    state: object
    periods: int
    wall_seconds: float
    resumed_from: int


def save_checkpoint(path, state, period, fingerprint):
    """Write the grid state atomically (``.npz``): a killed run loses at most one checkpoint interval."""
    path = pathlib.Path(path)
    leaves = jax.tree.leaves(jax.device_get(state))
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, period=period, fingerprint=fingerprint, **{f"leaf{i}": np.asarray(x) for i, x in enumerate(leaves)})
    os.replace(tmp, path)


def load_checkpoint(path, like_state, fingerprint):
    """Read a checkpoint written by :func:`save_checkpoint`; ``None`` if absent or written for another scan."""
    path = pathlib.Path(path)
    if not path.is_file():
        return None
    with np.load(path) as f:
        if str(f["fingerprint"]) != fingerprint:
            return None
        leaves = [f[f"leaf{i}"] for i in range(len(jax.tree.leaves(like_state)))]
        period = int(f["period"])
    return jax.tree.unflatten(jax.tree.structure(like_state), leaves), period


def run_grid(period_fn: Callable, state, args, *, max_periods, describe: Callable, checkpoint=None,
             checkpoint_every=30.0, fingerprint="", resume=False, progress=True, sharding=None,
             updates_per_period=1):
    """Drive a vmapped, jitted ``period_fn(state, period_index, *args) -> state`` until every point is done.

    Args:
      period_fn: compiled grid function; ``period_index`` is a traced int32 scalar shared by all points.
      state: initial grid state (leading axis: grid points; must have a boolean ``done`` field).
      args: further arguments of ``period_fn`` (already placed on the devices).
      max_periods: upper bound on periods (the update budget divided by the period length).
      describe: ``state -> str`` for the progress bar (points running, best loss, ...).
      checkpoint: path of an ``.npz`` checkpoint, written after a period once ``checkpoint_every`` seconds have
        passed since the last one, and at the end.
      resume: start from the checkpoint if it exists and matches ``fingerprint``.
      updates_per_period: parameter updates per period, so the progress bar counts updates (and updates/s).
    """
    start_period = 0
    if resume and checkpoint is not None:
        loaded = load_checkpoint(checkpoint, state, fingerprint)
        if loaded is None:
            print(f"linvae: no checkpoint of this scan at {checkpoint}; starting from the beginning", file=sys.stderr)
        else:
            host_state, start_period = loaded
            state = host_state if sharding is None else shard_grid(host_state, sharding)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_periods * updates_per_period, initial=start_period * updates_per_period, unit="update",
                   unit_scale=True, leave=False, dynamic_ncols=True)
    t0 = last_save = time.perf_counter()
    period = start_period
    while period < max_periods and not bool(jnp.all(state.done)):
        state = period_fn(state, jnp.int32(period), *args)
        period += 1
        if bar is not None:
            bar.set_postfix_str(describe(state), refresh=False)
            bar.update(updates_per_period)
        if checkpoint is not None and time.perf_counter() - last_save >= checkpoint_every:
            save_checkpoint(checkpoint, state, period, fingerprint)
            last_save = time.perf_counter()
    jax.block_until_ready(state)
    wall = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    if checkpoint is not None:
        save_checkpoint(checkpoint, state, period, fingerprint)
    return GridRun(state=jax.device_get(state), periods=period, wall_seconds=wall, resumed_from=start_period)
