"""The scan engine: a whole T-grid of linear VAEs trained in one compiled, vmapped call (docs/theory.md §4, §6).

Each method is written for a single model — ``period(state, period_index, args)`` advances one model by one period
of updates, ``args`` a NamedTuple of its traced inputs with a matching NamedTuple of ``in_axes`` — and the grid is
``jax.jit(jax.vmap(period))``, built once per static configuration. β, learning rate,
budget and keys are traced, so a new grid of the same shape never recompiles. A period ends with a check
(validation loss for ``sgd``, convergence for ``exact``); points that are done are frozen by masking and the host
loop stops as soon as every point is done. Between periods the host shows progress and checkpoints the state.

The grid axis is sharded over all devices (``jax.sharding``); data are replicated and put on the device once.
Each method module builds its grid state with :func:`init_grid` and its compiled ``period`` for :func:`run_grid`.

Several processes (``jax.distributed``, see :mod:`linvae.train._distributed`): the mesh then spans the devices of every
process. Every process runs the same code on the same host inputs; :func:`place` materialises only the process's
own shards, :func:`to_host` gathers a sharded result onto every process (``process_allgather``), and only process 0
writes checkpoints. Resuming reads the checkpoint on every process, so it must lie on a filesystem all processes
share. A single process takes the plain ``device_put`` / ``device_get`` path.
"""

import functools
import pathlib
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from linvae._errors import InputError
from linvae._files import written_atomically

__all__ = ["GridRun", "TrainResult", "grid_devices", "grid_sharding", "padded_size", "init_grid", "place", "shard_grid",
           "to_host", "point_flags", "run_grid", "save_checkpoint", "load_checkpoint", "tree_where", "all_finite",
           "Interrupted"]


def tree_where(mask, new, old):
    """``where(mask, new, old)`` leaf by leaf; ``mask`` is a scalar bool (one model)."""
    return jax.tree.map(lambda a, b: jnp.where(mask, a, b), new, old)


def all_finite(tree):
    """True iff no leaf of ``tree`` holds NaN or inf."""
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]))


def grid_devices(lapack_inside=False):
    """Devices the grid axis is split over: all devices of all processes, except for CPU programs with LAPACK calls.

    jaxlib's batched CPU LAPACK kernels share one thread pool per process and can deadlock when two run at once
    (observed with jax 0.10.2 on 2 cores: a grid split over 2 CPU devices, each in a Cholesky, hangs at 0 % CPU).
    Such programs (the exact method's Newton step) therefore use one CPU device per process; GPUs and TPUs are
    unaffected. In a single process ``jax.devices()`` are the local devices.
    """
    devices = jax.devices()
    if lapack_inside and devices[0].platform == "cpu":
        first = {}
        for device in devices:
            first.setdefault(device.process_index, device)
        return list(first.values())
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

    ``init_fn(key, *static)`` initialises one model (a module-level function, so the compiled program is reused);
    the whole grid is built in one compiled call. Padding points repeat the last β and start ``done``, so they
    never train.
    """
    g = len(keys)
    state = _init_states(init_fn, static, keys)
    betas = np.concatenate([betas, np.repeat(betas[-1:], g - n_points)])
    return state._replace(done=jnp.arange(g) >= n_points), betas


@functools.partial(jax.jit, static_argnums=(0, 1))
def _init_states(init_fn, static, keys):
    return jax.vmap(lambda key: init_fn(key, *static))(keys)


def place(value, sharding):
    """Put a host value on the devices of ``sharding`` (split or replicated).

    With several processes each one builds only its addressable shards, from its own copy of ``value`` (the same
    on every process: all run the same code on the same inputs).
    """
    if jax.process_count() == 1:
        return jax.device_put(value, sharding)
    value = np.asarray(value)
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])


def shard_grid(tree, sharding):
    """Place every leaf (leading grid axis) on the devices, split along the grid axis."""
    return jax.tree.map(lambda leaf: place(leaf, sharding), tree)


def to_host(tree):
    """Every leaf as a whole NumPy array on this process; with several processes the shards held by other
    processes are gathered (a collective: every process must call it)."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental.multihost_utils import process_allgather

    def gather(leaf):
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return process_allgather(leaf, tiled=True)
        return np.asarray(leaf)

    return jax.tree.map(gather, tree)


def point_flags(state):
    """``state`` with its per-point scalars (rank-1 leaves: ``done``, ``best_val``, ``step``, ...) on the host and
    everything else (parameters, optimiser state) set to ``None``: the small read-back of every period."""
    return to_host(state._replace(**{name: None for name, leaf in state._asdict().items()
                                     if getattr(leaf, "ndim", None) != 1}))


def _process0_decides(flag):
    """Process 0's ``flag`` on every process (decisions taken from the clock differ between processes)."""
    if jax.process_count() == 1:
        return flag
    from jax.experimental.multihost_utils import broadcast_one_to_all

    return bool(broadcast_one_to_all(np.asarray(flag)))


class Interrupted(KeyboardInterrupt):
    """Training stopped by SIGINT (Ctrl-C) or SIGTERM; raised by :func:`linvae.scan` at the next period boundary,
    after the checkpoint of that boundary is written (docs/training.md, "Checkpoints, interrupts and concurrent runs").

    A ``KeyboardInterrupt``, so code that catches Ctrl-C keeps working. A second signal aborts at once, without
    waiting for the period to end; ``checkpoint`` is then the last one written before, if any.

    Args:
      checkpoint: path of the checkpoint to resume from (``resume=True``, or the CLI's ``--resume``); ``None`` when
        none was written (no ``checkpoint`` given, or a second signal before the first checkpoint).
      signum: the signal received, ``signal.SIGINT`` or ``signal.SIGTERM``.
    """

    def __init__(self, checkpoint, signum):
        self.checkpoint = None if checkpoint is None else pathlib.Path(checkpoint)
        self.signum = int(signum)
        where = f"checkpoint saved to {self.checkpoint}" if self.checkpoint else "no checkpoint saved"
        super().__init__(f"interrupted by {signal.Signals(self.signum).name}; {where}")


class _StopSignals:
    """SIGINT and SIGTERM handlers for the period loop: the first signal sets ``signum``, the loop stops at the next
    period boundary; a second one raises :class:`Interrupted` at once. Installed only in the main thread (Python
    allows no other); the previous handlers come back on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum = None
        self.last_checkpoint = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.signum is not None:
            self._restore()
            raise Interrupted(self.last_checkpoint, signum)
        self.signum = signum

    def _restore(self):
        for sig, handler in self._previous.items():
            if handler is not None:  # None: a handler not installed from Python, which cannot be put back
                signal.signal(sig, handler)
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        self._restore()
        return False


class GridRun(NamedTuple):
    """Result of :func:`run_grid`: the final (host) state and bookkeeping (docs/training.md, "The scan engine").

    Attributes:
      state: the final grid state, on the host.
      periods: number of periods run.
      wall_seconds: wall-clock time of the run in seconds.
      resumed_from: the period the run resumed from (0 for a fresh start).
    """

    state: object
    periods: int
    wall_seconds: float
    resumed_from: int


class TrainResult(NamedTuple):
    """What either training method returns: the run and, per grid point (host arrays, grid axis first), the kept
    parameters and their loss terms on the training data (docs/training.md, "The two methods side by side").

    Attributes:
      run: the :class:`GridRun` bookkeeping.
      params: :class:`linvae.model.Params` of the kept parameters (data units).
      sq_err: ``E‖x − x̂‖²`` (sampled path).
      rate: KL rate ``R`` (nats).
      penalty: the objective's extra term, in loss units.
      certified: exact method: positive-definite Hessian at the end; ``None`` for sgd.
    """

    run: GridRun
    params: object             # linvae.model.Params of the kept parameters (data units)
    sq_err: np.ndarray         # E‖x − x̂‖² (sampled path)
    rate: np.ndarray           # KL rate R (nats)
    penalty: np.ndarray        # the objective's extra term, in loss units
    certified: np.ndarray | None  # exact method: positive-definite Hessian at the end; None for sgd


def save_checkpoint(path, state, period, fingerprint):
    """Write the grid state atomically (``.npz``): a killed run loses at most one checkpoint interval.

    With several processes every process calls it (the state is gathered) and process 0 writes.
    """
    path = pathlib.Path(path)
    leaves = jax.tree.leaves(to_host(state))
    if jax.process_index() != 0:
        return
    with written_atomically(path) as tmp, open(tmp, "wb") as f:  # a file object: np.savez adds no ".npz"
        np.savez(f, period=period, fingerprint=fingerprint, **{f"leaf{i}": np.asarray(x) for i, x in enumerate(leaves)})


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


def _resume(checkpoint, state, fingerprint, sharding):
    """``(state, first period)`` from a matching checkpoint, or the initial state and 0; every process must agree."""
    start_period = 0
    loaded = load_checkpoint(checkpoint, state, fingerprint)
    if loaded is not None:
        host_state, start_period = loaded
        state = host_state if sharding is None else shard_grid(host_state, sharding)
    if jax.process_count() > 1:
        from jax.experimental.multihost_utils import process_allgather

        starts = process_allgather(np.asarray(start_period))
        if np.any(starts != starts[0]):
            raise InputError(f"the processes found different checkpoints at {checkpoint} (resume periods "
                             f"{starts.tolist()}); put the checkpoint on a filesystem every process shares")
    if loaded is None and jax.process_index() == 0:
        found = ("a checkpoint of another scan (different data, seed or settings) is" if pathlib.Path(checkpoint)
                 .is_file() else "no checkpoint of this scan")
        print(f"linvae: {found} at {checkpoint}; starting from the beginning", file=sys.stderr)
    return state, start_period


def run_grid(period_fn: Callable, state, args, *, max_periods, describe: Callable, checkpoint=None,
             checkpoint_every=30.0, fingerprint="", resume=False, progress=True, sharding=None,
             updates_per_period=1):
    """Drive a vmapped, jitted ``period_fn(state, period_index, args) -> state`` until every point is done.

    Args:
      period_fn: compiled grid function; ``period_index`` is a traced int32 scalar shared by all points.
      state: initial grid state (leading axis: grid points; must have a boolean ``done`` field).
      args: the method's NamedTuple of period inputs (already placed on the devices).
      max_periods: upper bound on periods (the update budget divided by the period length).
      describe: ``flags -> str`` for the progress bar (points running, best loss, ...); ``flags`` is
        :func:`point_flags` of the state (per-point scalars on the host).
      checkpoint: path of an ``.npz`` checkpoint, written after a period once ``checkpoint_every`` seconds have
        passed since the last one (process 0's clock decides), after a stop signal, and at the end; only
        process 0 writes.
      checkpoint_every: seconds between checkpoints (0: after every period).
      fingerprint: identifies the scan; a checkpoint is only resumed if it carries the same one.
      resume: start from the checkpoint if it exists and matches ``fingerprint``; every process reads it.
      progress: show a progress bar (process 0 only).
      sharding: the grid sharding of the state, to place a resumed state; ``None`` for a single device.
      updates_per_period: parameter updates per period, so the progress bar counts updates (and updates/s).

    Raises:
      Interrupted: on SIGINT or SIGTERM (handlers installed for the run, in the main thread only): the state is
        checkpointed at the next period boundary, then the run stops (docs/training.md, "Checkpoints, interrupts and
        concurrent runs").
    """
    lead = jax.process_index() == 0
    start_period = 0
    if resume and checkpoint is not None:
        state, start_period = _resume(checkpoint, state, fingerprint, sharding)
    bar = None
    if progress and lead:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_periods * updates_per_period, initial=start_period * updates_per_period, unit="update",
                   unit_scale=True, leave=False, dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        with _StopSignals() as stop:
            state, period = _period_loop(period_fn, state, args, start_period, max_periods, stop, bar, describe,
                                         checkpoint, checkpoint_every, fingerprint, updates_per_period)
            jax.block_until_ready(state)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    state = to_host(state)
    if checkpoint is not None:
        save_checkpoint(checkpoint, state, period, fingerprint)
    return GridRun(state=state, periods=period, wall_seconds=wall, resumed_from=start_period)


def _period_loop(period_fn, state, args, period, max_periods, stop: _StopSignals, bar, describe, checkpoint,
                 checkpoint_every, fingerprint, updates_per_period):
    """The host loop of :func:`run_grid`: ``(state, periods done)``; checkpoints every ``checkpoint_every`` seconds
    and, after a stop signal, once more before raising :class:`Interrupted`."""
    last_save = time.perf_counter()
    flags = point_flags(state)
    while period < max_periods and not np.all(flags.done):
        state = period_fn(state, jnp.int32(period), args)
        period += 1
        flags = point_flags(state)
        if bar is not None:
            bar.set_postfix_str(describe(flags), refresh=False)
            bar.update(updates_per_period)
        signum = stop.signum if jax.process_count() == 1 else _process0_signal(stop.signum)
        if checkpoint is not None and (signum is not None or _process0_decides(
                time.perf_counter() - last_save >= checkpoint_every)):
            save_checkpoint(checkpoint, state, period, fingerprint)
            stop.last_checkpoint, last_save = checkpoint, time.perf_counter()
        if signum is not None:
            raise Interrupted(checkpoint, signum)
    return state, period


def _process0_signal(signum):
    """Process 0's received signal (0 for none) on every process, so all stop at the same period boundary."""
    from jax.experimental.multihost_utils import broadcast_one_to_all

    return int(broadcast_one_to_all(np.asarray(signum or 0, np.int32))) or None
