"""Training: a whole T-grid of linear VAEs in one ``jax.jit(jax.vmap(…))`` call, by the exact (covariance) method or
the paper's minibatch protocol, with checkpoints, resume and several processes (docs/theory.md §4, §6).

:func:`scan` is the pipeline: data → split and standardise → train → results Dataset → analysis. Imports
:mod:`linvae.model`, :mod:`linvae.theory`, :mod:`linvae.data`, :mod:`linvae.results` and :mod:`linvae.analysis`.
"""

from linvae.train._cache import CACHE_DIR_ENV, NO_CACHE_ENV, default_cache_dir, enable_compilation_cache
from linvae.train._config import ScanConfig
from linvae.train._distributed import init_distributed, init_from_env
from linvae.train._engine import GridRun, Interrupted, TrainResult
from linvae.train._memory import MEMORY_LIMIT_ENV, MemoryEstimate, available_memory, check_memory, estimate_memory
from linvae.train._scan import scan

__all__ = ["scan", "ScanConfig", "TrainResult", "GridRun", "Interrupted", "init_distributed", "init_from_env",
           "MemoryEstimate", "estimate_memory", "available_memory", "check_memory", "MEMORY_LIMIT_ENV",
           "enable_compilation_cache", "default_cache_dir", "CACHE_DIR_ENV", "NO_CACHE_ENV"]
