"""JAX's persistent compilation cache in the user's cache folder (docs/training.md, "Compilation cache").

Every new process compiles its grid programs afresh, a fixed cost of seconds per scan. JAX can keep compiled
programs on disk, keyed by the program, the JAX and XLA versions, the device and the compiler options, so a second
process with the same shapes loads them instead. The command line turns it on by default; Python users call
:func:`enable_compilation_cache` themselves.
"""

import os
import pathlib
import sys
import tempfile

import jax

__all__ = ["enable_compilation_cache", "default_cache_dir", "CACHE_DIR_ENV", "NO_CACHE_ENV"]

CACHE_DIR_ENV = "LINVAE_CACHE_DIR"
"""Environment variable naming the cache folder (default :func:`default_cache_dir`; docs/training.md,
"Compilation cache")."""

NO_CACHE_ENV = "LINVAE_NO_CACHE"
"""Environment variable that turns the cache off when set to anything but ``""``/``0`` (docs/training.md,
"Compilation cache")."""


def default_cache_dir():
    """The user's cache folder for linvae's compiled programs (docs/training.md, "Compilation cache").

    Returns:
      ``$XDG_CACHE_HOME/linvae/jax`` (default ``~/.cache/linvae/jax``) on Linux, ``~/Library/Caches/linvae/jax``
      on macOS, ``%LOCALAPPDATA%\\linvae\\jax`` on Windows.
    """
    if sys.platform == "darwin":
        base = pathlib.Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = pathlib.Path(os.environ.get("LOCALAPPDATA", pathlib.Path.home() / "AppData" / "Local"))
    else:
        base = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
    return base / "linvae" / "jax"


def enable_compilation_cache(path=None):
    """Keep compiled programs on disk so later processes skip their compilation (docs/training.md,
    "Compilation cache").

    Call it before the first compilation. Every program is cached, however short its compilation (JAX's own
    default skips those under a second, which in a scan is most of them). A folder that cannot be created or
    written is skipped silently: the cache only saves time.

    Args:
      path: the cache folder; default ``LINVAE_CACHE_DIR`` if set, else :func:`default_cache_dir`.

    Returns:
      The folder in use, or ``None`` when the cache stays off (``LINVAE_NO_CACHE`` set, or the folder is not
      writable).
    """
    if os.environ.get(NO_CACHE_ENV, "") not in ("", "0"):
        return None
    folder = pathlib.Path(path or os.environ.get(CACHE_DIR_ENV) or default_cache_dir()).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
