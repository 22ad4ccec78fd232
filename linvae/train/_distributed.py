"""Several processes, one grid: ``jax.distributed`` set-up for scans that outgrow one machine.

Every process runs the same program on the same inputs and calls :func:`init_distributed` before any other JAX
call; the scan's mesh (:func:`linvae.train._engine.grid_devices`) then spans ``jax.devices()`` of all processes, each
process holds only its slice of the grid, results are gathered onto every process, and only process 0 writes
checkpoints. Resuming reads the checkpoint on every process: it must lie on a filesystem all processes share.

CPU processes exchange data through gloo (``jax_cpu_collectives_implementation``, the default of jax 0.10; set
here if unset). On CPU the exact method uses one device per process (see :func:`linvae.train._engine.grid_devices`).
"""

import os

import jax

from linvae._errors import InputError

__all__ = ["init_distributed", "init_from_env"]

ENV = ("LINVAE_COORDINATOR", "LINVAE_NUM_PROCESSES", "LINVAE_PROCESS_ID")


def init_distributed(coordinator_address=None, num_processes=None, process_id=None, **kwargs):
    """Join a multi-process run: ``jax.distributed.initialize`` with CPU collectives set.

    Args:
      coordinator_address: ``host:port`` of process 0, reachable from every process.
      num_processes: number of processes in the run.
      process_id: this process's index, ``0 … num_processes − 1``.
      kwargs: passed on to ``jax.distributed.initialize`` (e.g. ``local_device_ids``).

    Arguments left out are auto-detected by JAX where it can (Slurm, Open MPI, Cloud TPU; GPU clusters launched
    by those need no arguments at all). Must be called before any JAX computation (docs/how-to/several-machines.md).

    Returns:
      None.
    """
    if jax.config.jax_cpu_collectives_implementation is None:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address, num_processes, process_id, **kwargs)


def init_from_env():
    """:func:`init_distributed` from ``LINVAE_COORDINATOR`` (``host:port`` of process 0), ``LINVAE_NUM_PROCESSES``
    and ``LINVAE_PROCESS_ID`` when any of them is set; returns whether it initialised.

    The ones left unset are auto-detected by JAX (e.g. under Slurm only ``LINVAE_COORDINATOR`` is needed, or none
    with ``LINVAE_NUM_PROCESSES=auto``) (docs/how-to/several-machines.md).

    Returns:
      ``True`` if it initialised a multi-process run, ``False`` when none of the variables is set.
    """
    values = {name: os.environ.get(name, "").strip() for name in ENV}
    if not any(values.values()):
        return False
    coordinator, n, pid = values.values()
    try:
        n = int(n) if n and n != "auto" else None
        pid = int(pid) if pid else None
    except ValueError:
        raise InputError(f"LINVAE_NUM_PROCESSES and LINVAE_PROCESS_ID must be integers, found {n!r} and {pid!r}; "
                         "fix them, or unset every LINVAE_* variable for a single process") from None
    init_distributed(coordinator or None, n, pid)
    return True
