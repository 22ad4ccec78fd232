"""Atomic file writes: a uniquely named temporary file next to the target, renamed into place (docs/training.md,
"Checkpoints, interrupts and concurrent runs").

Two processes writing the same target never share a temporary file, and the rename stays on one filesystem, so
``os.replace`` is atomic: a reader sees the old file or a complete new one, and the last writer wins.
"""

import contextlib
import os
import pathlib
import tempfile

from linvae._errors import InputError


def unique_temp(path) -> pathlib.Path:
    """Create an empty temporary file with a unique name next to ``path``, ``.NAME.XXXX.tmp``.

    Args:
      path: the file that will be written.

    Returns:
      The temporary file's path; the caller renames or removes it.

    Raises:
      InputError: the folder does not exist or is not writable.
    """
    path = pathlib.Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    except OSError as err:
        raise InputError(f"cannot write in {str(path.parent)!r} ({err.strerror}); choose a writable folder") from None
    os.close(fd)
    return pathlib.Path(tmp)


@contextlib.contextmanager
def written_atomically(path):
    """Yield a temporary path next to ``path`` to write; rename it onto ``path`` if the block succeeds, and leave no
    temporary file behind either way.

    Args:
      path: the file to write.

    Yields:
      The temporary file's path (:func:`unique_temp`).
    """
    tmp = unique_temp(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def probe_writable(folder):
    """Check that a file can be created in ``folder`` by creating and removing one.

    Args:
      folder: the folder to check.

    Raises:
      InputError: the folder does not exist or is not writable.
    """
    unique_temp(pathlib.Path(folder) / "linvae-probe").unlink()
