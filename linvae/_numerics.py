"""Small numerical helpers shared across subpackages (no linvae imports)."""

import jax
import jax.numpy as jnp

__all__ = ["log_bisect"]


def log_bisect(above, lo, hi, iterations=64):
    """Bisection on a log axis for where a quantity that decreases along it crosses a level: ``above(x)`` (bool,
    vectorised) says the quantity at ``x`` is still above the level. Starts from the brackets ``lo`` (above) and
    ``hi`` (below), any shape, and returns the final ``(lo, hi)`` after ``iterations`` halvings (``fori_loop``)."""
    def halve(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        up = above(mid)
        return jnp.where(up, mid, lo), jnp.where(up, hi, mid)

    return jax.lax.fori_loop(0, iterations, halve, (lo, hi))
