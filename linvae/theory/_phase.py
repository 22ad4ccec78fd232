"""Phase diagrams of the objective family: signal fractions over (weight, T) grids (docs/theory.md §5)."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linvae._errors import InputError
from linvae.model import Objective
from linvae.theory._family import thresholds
from linvae.theory._optimum import optimum

__all__ = ["PhaseDiagram", "phase_diagram"]


class PhaseDiagram(NamedTuple):
    """Signal fractions on (weight, T) grids for the λβ-VAE and the LR-VAE (output of :func:`phase_diagram`)
    (docs/theory.md §5).

    Attributes:
      T: ``(n_T,)`` information prices.
      lam: ``(n_lam,)`` λβ weights.
      alpha: ``(n_alpha,)`` LR weights.
      M2_lambda: ``(n_lam, n_T, d)`` signal fractions of the λβ-VAE.
      M2_alpha: ``(n_alpha, n_T, d)`` signal fractions of the LR-VAE.
      thresholds_lambda: ``(n_lam, d)`` thresholds of the λβ-VAE.
      thresholds_alpha: ``(n_alpha, d)`` thresholds of the LR-VAE.
    """

    T: jnp.ndarray                  # (n_T,)
    lam: jnp.ndarray                # (n_lam,)
    alpha: jnp.ndarray              # (n_alpha,)
    M2_lambda: jnp.ndarray          # (n_lam, n_T, d) M_k² under Objective('lambda-beta', lam)
    M2_alpha: jnp.ndarray           # (n_alpha, n_T, d) M_k² under Objective('lr', alpha=alpha)
    thresholds_lambda: jnp.ndarray  # (n_lam, d) T_k = (1 + λ)² λ_k / V
    thresholds_alpha: jnp.ndarray   # (n_alpha, d) T_k = (λ_k + 2ασ_dec²)² / (λ_k V)



def phase_diagram(T, eigenvalues, lams, alphas, n_latents=None, sigma_dec2=1.0) -> PhaseDiagram:
    """Signal fractions ``M_k²`` on ``(λ, T)`` and ``(α, T)`` grids, with the threshold curves (docs/theory.md §5).

    One ``jax.vmap`` over the weights of :func:`optimum` for ``Objective('lambda-beta', lam)`` and
    ``Objective('lr', alpha=alpha)``, jitted once here (new weight values of the same count do not recompile).
    With fewer latents than modes the LR part is :func:`optimum` per weight (a latent reading two modes
    holds its ``M²`` on one of them).

    Args:
      T: ``(n_T,)`` information prices.
      eigenvalues: ``(d,)`` raw, descending.
      lams: ``(n_lam,)`` λβ weights ≥ 0.
      alphas: ``(n_alpha,)`` raw LR weights ≥ 0.
      n_latents: ``K`` (``None``: ``d``).
      sigma_dec2: ``σ_dec²``.

    Returns:
      The :class:`PhaseDiagram`.
    """
    eig = jnp.asarray(eigenvalues)
    dtype = eig.dtype
    T = jnp.asarray(T, dtype)
    weights = {}
    for name, values in (("lam", lams), ("alpha", alphas)):
        values = np.atleast_1d(np.asarray(values, dtype=float))
        if values.ndim != 1 or not np.all(np.isfinite(values) & (values >= 0)):
            raise InputError(f"phase_diagram {name}s must be a 1-D list of finite weights >= 0, found {values}; "
                             f"e.g. {name}s=[0, 0.5, 1, 2]")
        weights[name] = jnp.asarray(values, dtype)

    M2_l, Tk_l, M2_a, Tk_a = _phase_grid(T, eig, weights["lam"], weights["alpha"], n_latents, sigma_dec2)
    if M2_a is None:  # LR with fewer latents than modes: latents may read two modes (optimum, not jittable)
        M2_a = jnp.asarray(np.stack([optimum(T, eig, Objective("lr", alpha=float(a)), n_latents, sigma_dec2).M2
                                     for a in np.asarray(weights["alpha"])]), dtype)
    return PhaseDiagram(T=T, lam=weights["lam"], alpha=weights["alpha"], M2_lambda=M2_l, M2_alpha=M2_a,
                        thresholds_lambda=Tk_l, thresholds_alpha=Tk_a)


@functools.partial(jax.jit, static_argnames="n_latents")
def _phase_grid(T, eigenvalues, lams, alphas, n_latents, sigma_dec2):
    def per_weight(objective):
        branch = optimum(T, eigenvalues, objective, n_latents, sigma_dec2)
        return branch.M2, thresholds(eigenvalues, objective, sigma_dec2)

    M2_l, Tk_l = jax.vmap(lambda w: per_weight(Objective("lambda-beta", lam=w)))(lams)
    if n_latents is not None and n_latents < eigenvalues.shape[-1]:   # LR M² left to phase_diagram
        Tk_a = jax.vmap(lambda w: thresholds(eigenvalues, Objective("lr", alpha=w), sigma_dec2))(alphas)
        return M2_l, Tk_l, None, Tk_a
    M2_a, Tk_a = jax.vmap(lambda w: per_weight(Objective("lr", alpha=w)))(alphas)
    return M2_l, Tk_l, M2_a, Tk_a
