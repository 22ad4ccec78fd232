"""The memory guard: a grid's device memory, estimated before anything is allocated (docs/training.md, "Memory").

The estimate is a formula in the sizes of the scan, calibrated against XLA's own accounting of the compiled
period (``jit(...).lower(...).compile().memory_analysis()``: arguments + outputs + temporaries) and checked against
it in the tests (tests/train/test_memory.py). With ``b`` bytes per number (4 for float32, 8 for float64), ``G`` grid
points (padded to a multiple of the devices), ``K`` latents, ``d`` features, ``m`` modes with non-zero variance:

* **exact method**: one period holds each point's Newton Hessian, its damped copy and Cholesky factor over the
  ``n = Km + K`` parameters (LR: ``n = 2Km + K``, and ``jax.hessian`` keeps forward and reverse intermediates):
  ``b (c n² + 64 n)`` per point with ``c = 2.25`` (β and λβ kinds) or ``c = 8`` (LR).
* **sgd method**: each point holds its parameters ``P = 3Kd + 2K + d``, their Adam moments, its best copy and the
  update's gradients, a minibatch's activations (``B`` rows) and a validation block's (``r = min(8192, N_val)``
  rows): ``b (12 P + 8 B K + 2 B d + 4.5 r K)`` per point; the training rows and the validation rows (padded to
  whole blocks, ``N'_val``) are shared: ``1.5 b (N_train + N'_val) d`` on every device.
* **sgd method, MLP** (docs/nonlinear.md): ``P`` counts the MLP's weights and biases, ``H = Σ h_i`` its hidden units;
  the minibatch term is ``4 B (K + 2H) + 2 B d`` and a loss pass over a block of ``r`` rows adds, for its ``S = 4``
  posterior samples, ``4.5 r K + 1.5 r (H + S (H + d))`` in the period; the final pass over blocks of
  ``r' = min(8192, N_train)`` training rows (forward only) needs ``4.5 r' K + 3.5 r' S (max h_i + d)`` instead of
  minibatch and validation block where that is larger.

The coefficients are the smallest round numbers that bound XLA's accounting from above on 30 random sizes
(``K`` 2-2000, ``d`` 3-800, ``B`` 16-2048, ``G`` 1-32, up to 20,000 rows each; jax 0.10.2, CPU): the estimate is
1.0-1.75 times XLA's figure for sgd and 1.0-1.5 times for the exact method; for MLPs (four architectures, one to
three hidden layers of 32-256 units) 1.0-2.0 times the larger of the period and the final pass.

Memory available: ``LINVAE_MEMORY_LIMIT`` if set (bytes, or with a suffix ``K``/``M``/``G``/``T``; ``off`` turns the
guard off); otherwise the free memory each accelerator reports (``bytes_limit − bytes_in_use``), or on a CPU the
host's ``MemAvailable`` (Linux ``/proc/meminfo``), which every CPU device of the process shares.
"""

import math
import os
import pathlib
from typing import NamedTuple

import jax

from linvae._errors import InputError
from linvae.model import VALIDATION_SAMPLES
from linvae.train._sgd import BLOCK_ROWS

__all__ = ["MemoryEstimate", "estimate_memory", "available_memory", "check_memory", "MEMORY_LIMIT_ENV"]

MEMORY_LIMIT_ENV = "LINVAE_MEMORY_LIMIT"
"""Environment variable that overrides the memory the guard compares with (docs/training.md, "Memory")."""

_HESSIAN_COPIES = {"beta": 2.25, "lr": 8.0}

_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


class MemoryEstimate(NamedTuple):
    """A grid's estimated memory (docs/training.md, "Memory"); all sizes in bytes.

    Attributes:
      per_point: memory of one grid point (its state and the temporaries of one period).
      shared: memory every device holds once (the data rows of the sgd method).
      n_points: grid points, padded to a multiple of the devices.
      n_devices: devices the grid is split over.
      shares_memory: the devices share one memory (CPU devices of a process share the host's).
      driver: what dominates the per-point memory, and so what to reduce.
    """

    per_point: int
    shared: int
    n_points: int
    n_devices: int
    shares_memory: bool
    driver: str

    @property
    def per_device(self):
        """Bytes on the fullest device: its share of the points plus the shared data."""
        return self.per_point * math.ceil(self.n_points / self.n_devices) + self.shared

    @property
    def needed(self):
        """Bytes to compare with the available memory: all devices together when they share one memory."""
        if self.shares_memory:
            return self.per_point * self.n_points + self.shared * self.n_devices
        return self.per_device


def estimate_memory(config, n_points, n_features, *, n_train=0, n_val=0, n_modes=None, n_devices=1,
                    shares_memory=True) -> MemoryEstimate:
    """The memory a grid of ``n_points`` models needs while it trains (module docstring; docs/training.md, "Memory").

    Args:
      config: the :class:`linvae.ScanConfig` (method, latents, batch size, objective, precision).
      n_points: grid points after padding to a multiple of the devices.
      n_features: ``d``.
      n_train: training rows (sgd: held on every device).
      n_val: validation rows (sgd).
      n_modes: ``m``, the modes with non-zero variance (exact; default ``d``).
      n_devices: devices the grid is split over.
      shares_memory: whether those devices share one memory (CPU devices of one process).

    Returns:
      The :class:`MemoryEstimate`.
    """
    b = 8 if config.x64 else 4
    K, d = int(config.n_latents), int(n_features)
    if config.method == "exact":
        m = d if n_modes is None else int(n_modes)
        lr = config.objective == "lr"
        n = K * m * (2 if lr else 1) + K
        per_point = b * (_HESSIAN_COPIES["lr" if lr else "beta"] * n**2 + 64 * n)
        shared = b * m
        driver = (f"the exact method's Newton Hessian over its {n:,} parameters per point (grows as --latents "
                  "squared); use fewer --latents or grid points, or --method sgd")
    else:
        B, r = int(config.batch_size), min(BLOCK_ROWS, max(int(n_val), 1))
        if config.model == "mlp":  # the period, or the final loss pass over blocks of training rows if larger
            P, width = _mlp_size(config.hidden, K, d), sum(config.hidden)
            params, batch = 12 * P, 4 * B * (K + 2 * width) + 2 * B * d
            block = 4.5 * r * K + 1.5 * r * (width + VALIDATION_SAMPLES * (width + d))
            r_train = min(BLOCK_ROWS, max(int(n_train), 1))  # the final pass: forward only, the whole grid at once
            final = 4.5 * r_train * K + 3.5 * r_train * VALIDATION_SAMPLES * (max(config.hidden) + d)
            block = max(block, final - batch)
        else:
            P = 3 * K * d + 2 * K + d
            params, batch, block = 12 * P, 8 * B * K + 2 * B * d, 4.5 * r * K
        per_point = b * (params + batch + block)
        shared = 1.5 * b * (int(n_train) + math.ceil(max(int(n_val), 1) / r) * r) * d
        smaller = "fewer --latents or narrower --hidden" if config.model == "mlp" else "fewer --latents"
        largest = max((params, f"the parameters, Adam moments and best copies (use {smaller})"),
                      (batch, f"the minibatch activations (use a smaller --batch-size or {smaller})"),
                      (block, f"the validation pass over blocks of {r} rows (use {smaller})"))[1]
        driver = f"{largest}, or fewer grid points"
    return MemoryEstimate(int(per_point), int(shared), int(n_points), int(n_devices), bool(shares_memory), driver)


def _mlp_size(hidden, K, d):
    """The number of parameters of an MLP VAE with hidden widths ``hidden``."""
    chain = lambda widths: sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))  # noqa: E731
    return chain((d, *hidden)) + 2 * (hidden[-1] * K + K) + chain((K, *hidden[::-1], d))


def available_memory(devices=None):
    """Bytes of memory the grid may use, or ``None`` when unknown (docs/training.md, "Memory").

    Args:
      devices: the devices the grid is split over (default ``jax.devices()``).

    Returns:
      ``LINVAE_MEMORY_LIMIT`` if set (``None`` when it is ``off``); else the least free memory of the accelerators;
      else, on a CPU, the host's available memory; ``None`` where none of these is known.

    Raises:
      InputError: ``LINVAE_MEMORY_LIMIT`` is not a size.
    """
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if limit:
        return _parse_size(limit)
    devices = jax.devices() if devices is None else devices
    if devices[0].platform != "cpu":
        free = [s["bytes_limit"] - s.get("bytes_in_use", 0) for s in (dev.memory_stats() or {} for dev in devices)
                if "bytes_limit" in s]
        return min(free) if free else None
    return _host_available()


def check_memory(estimate: MemoryEstimate, available=None):
    """Refuse a grid that cannot fit, before anything is allocated (docs/training.md, "Memory").

    Args:
      estimate: the grid's :class:`MemoryEstimate`.
      available: bytes available (default :func:`available_memory`); ``None`` skips the check.

    Returns:
      The estimate's ``needed`` bytes.

    Raises:
      InputError: one line with the estimate, the available memory and what to reduce.
    """
    available = available_memory() if available is None else available
    needed = estimate.needed
    if available is not None and needed > available:
        where = "in all" if estimate.shares_memory else "on the fullest device"
        raise InputError(f"the grid needs about {_format(needed)} of memory {where} ({estimate.n_points} points x "
                         f"{_format(estimate.per_point)}) but {_format(available)} is available; the largest part is "
                         f"{estimate.driver} (or set {MEMORY_LIMIT_ENV} if the available memory is misread)")
    return needed


def _parse_size(text):
    if text.lower() in ("off", "none", "0"):
        return None
    number, unit = text.rstrip("iBb").upper(), ""
    if number and number[-1] in _UNITS:
        number, unit = number[:-1], number[-1]
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{MEMORY_LIMIT_ENV}={text!r} is not a memory size; use bytes or a number with K, M, G or T "
                         "(e.g. 8G), or 'off'")
    return int(value)


def _host_available():
    meminfo = pathlib.Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _format(n):
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1e3:.3g} kB"
