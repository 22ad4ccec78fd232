"""Deterministic training on the exact expected loss (SPEC.md §4), one model, vmapped by :mod:`linvae._engine`.

The loss depends on the data only through the covariance ``C = U diag(λ) Uᵀ``, so a step costs ``O(d²K)``
whatever the number of samples. Two exact reformulations make plain first-order training well conditioned:

* **whitened PCA basis** — the encoder acts on ``y = diag(λ)^{-1/2} Uᵀ (x − x̄)``, ``B = A U diag(√λ)``, so a
  mode's gradient no longer scales with its eigenvalue (modes with ``λ_k = 0`` carry no signal and are dropped);
* **decoder eliminated** — for fixed encoder the optimal decoder is ``W* = C Aᵀ (A C Aᵀ + Σ)⁻¹`` (the paper's
  decoder elimination), leaving, in normalised units (``λ̃ = λ / V``, ``M = B Bᵀ + diag σ²``),
  ``L̃(B, s) = 1 − tr(diag(λ̃) Bᵀ M⁻¹ B) + T [tr(B Bᵀ) + Σ (σ_k² − s_k − 1)]``, ``σ² = exp(s)``.

Optimiser: Adam on ``(B, s)`` with an exponentially decaying step, then the convergence test after every period:
a point is done when the largest change of any latent's signal fraction ``M_k²`` over the period and the
relative change of ``L̃`` both fall below ``tol``. The encoder and decoder are mapped back to data units at the end.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from linvae import _engine
from linvae._engine import tree_where
from linvae._model import Params, exact_terms

__all__ = ["ExactState", "reduced_loss", "make_period", "train_grid", "to_params"]

PERIOD = 250        # updates between convergence checks
DECAY = 0.9995      # per-update step decay: lr_t = lr · max(DECAY^t, 1e-2)


class ExactState(NamedTuple):
    B: jnp.ndarray              # (K, m) whitened encoder weight on the m non-zero modes
    s: jnp.ndarray              # (K,) log σ²
    adam: optax.ScaleByAdamState
    M2: jnp.ndarray             # (K,) signal fractions at the last check
    best_val: jnp.ndarray       # () normalised loss at the last check
    step: jnp.ndarray           # () int32
    done: jnp.ndarray           # () bool: converged (or budget spent)
    stopped_early: jnp.ndarray  # () bool: converged before the budget
    diverged: jnp.ndarray       # () bool


_ADAM = optax.scale_by_adam()


def _posterior(B, s):
    """Cholesky factor of ``M = B Bᵀ + diag σ²`` and the signal fractions ``M_k² = (BBᵀ)_kk / M_kk``."""
    BB = B @ B.T
    M = BB + jnp.diag(jnp.exp(s))
    mu2 = jnp.diag(BB)
    return jnp.linalg.cholesky(M), mu2 / (mu2 + jnp.exp(s))


def reduced_loss(B, s, lam_n, T):
    """Decoder-eliminated normalised loss ``L̃(B, s)`` (module docstring); ``lam_n = λ / V`` on kept modes."""
    L, _ = _posterior(B, s)
    Z = jax.scipy.linalg.solve_triangular(L, B, lower=True)   # L⁻¹ B, so Bᵀ M⁻¹ B = Zᵀ Z
    explained = jnp.sum(Z**2 * lam_n)
    rate2 = jnp.sum(B**2) + jnp.sum(jnp.expm1(s) - s)
    return 1 - explained + T * rate2


def init_state(key, n_latents, n_modes, dtype) -> ExactState:
    B = 0.1 * jax.random.normal(key, (n_latents, n_modes), dtype)
    s = jnp.zeros((n_latents,), dtype)
    false = jnp.zeros((), bool)
    return ExactState(B=B, s=s, adam=_ADAM.init((B, s)), M2=jnp.zeros((n_latents,), dtype),
                      best_val=jnp.asarray(jnp.inf, dtype), step=jnp.zeros((), jnp.int32), done=false,
                      stopped_early=false, diverged=false)


@functools.cache
def make_period(period):
    """Compiled grid function ``period(state, period_index, T, lr, lam_n, budget, tol)``."""

    def period_one(state: ExactState, period_index, T, lr0, lam_n, budget, tol):
        grad = jax.grad(reduced_loss, argnums=(0, 1))

        def update(i, st: ExactState):
            lr = lr0 * jnp.maximum(DECAY ** st.step.astype(st.B.dtype), 1e-2)
            g = grad(st.B, st.s, lam_n, T)
            direction, adam = _ADAM.update(g, st.adam)
            live = ~st.done & (st.step < budget)
            new = st._replace(B=st.B - lr * direction[0], s=st.s - lr * direction[1], adam=adam, step=st.step + 1)
            return tree_where(live, new, st)

        state = jax.lax.fori_loop(0, period, update, state)
        loss = reduced_loss(state.B, state.s, lam_n, T)
        _, M2 = _posterior(state.B, state.s)
        bad = ~jnp.isfinite(loss)
        change = jnp.max(jnp.abs(M2 - state.M2))
        converged = (change < tol) & (jnp.abs(loss - state.best_val) <= tol * jnp.abs(loss))
        newly_done = ~state.done & (bad | converged | (state.step >= budget))
        return state._replace(
            M2=jnp.where(state.done, state.M2, M2), best_val=jnp.where(state.done, state.best_val, loss),
            done=state.done | newly_done, stopped_early=state.stopped_early | (newly_done & converged & ~bad),
            diverged=state.diverged | (~state.done & bad),
        )

    return jax.jit(jax.vmap(period_one, in_axes=(0, None, 0, 0, None, None, None)))


def to_params(B, s, spectrum, keep):
    """Map whitened ``(B, s)`` (grid-leading) to data-unit :class:`Params` with the optimal decoder.

    ``A = B diag(λ^{-1/2}) U_keepᵀ``; ``W* = C Aᵀ (A C Aᵀ + Σ)⁻¹ = U_keep diag(√λ) Bᵀ M⁻¹``; biases ``b = 0``,
    ``c = x̄``; zero log-variance slope.
    """
    lam = spectrum.eigenvalues[keep]
    U = spectrum.eigenvectors[:, keep]
    B = np.asarray(B, np.float64)
    s = np.asarray(s, np.float64)
    A = np.einsum("gkm,m,dm->gkd", B, 1 / np.sqrt(lam), U)
    M = np.einsum("gkm,gjm->gkj", B, B) + np.einsum("gk,kj->gkj", np.exp(s), np.eye(B.shape[1]))
    W = np.einsum("dm,m,gkm->gdk", U, np.sqrt(lam), np.linalg.solve(M, B))
    g, K, d = A.shape
    return Params(encoder_weight=A, encoder_bias=np.zeros((g, K)), log_sigma2_weight=np.zeros((g, K, d)),
                  log_sigma2_bias=s, decoder_weight=W, decoder_bias=np.broadcast_to(spectrum.mean, (g, d)).copy())


def train_grid(spectrum, betas, config, *, dtype, checkpoint=None, fingerprint="", resume=False, progress=True):
    """Train one model per β on the exact loss; returns ``(GridRun, params, (E‖x−x̂‖², R))`` in data units."""
    n_points = len(betas)
    g = _engine.padded_size(n_points)
    lam = spectrum.eigenvalues
    V = spectrum.total_variance
    keep = lam > 1e-12 * lam.max()           # zero (and rounding-negative) modes carry no signal
    K = config.n_latents
    T = np.concatenate([betas, np.repeat(betas[-1:], g - n_points)]) * config.sigma_dec2 / V
    keys = jax.random.split(jax.random.PRNGKey(config.seed), g)
    state = jax.vmap(init_state, in_axes=(0, None, None, None))(keys, K, int(keep.sum()), dtype)
    state = state._replace(done=jnp.arange(g) >= n_points)
    grid_sh, replicated = _engine.grid_sharding()
    args = (jax.device_put(jnp.asarray(T, dtype), grid_sh), jax.device_put(jnp.full((g,), config.lr, dtype), grid_sh),
            jax.device_put(jnp.asarray(lam[keep] / V, dtype), replicated),
            jnp.int32(config.steps), jnp.asarray(config.tol, dtype))

    def describe(st):
        return f"running {int(jnp.sum(~st.done[:n_points]))}/{n_points}"

    run = _engine.run_grid(make_period(PERIOD), _engine.shard_grid(state, grid_sh), args,
                           max_periods=-(-config.steps // PERIOD), describe=describe, checkpoint=checkpoint,
                           fingerprint=fingerprint, resume=resume, progress=progress, sharding=grid_sh)
    st = run.state
    params = to_params(st.B, st.s, spectrum, keep)
    # Loss terms in data units from the full model, independently of the reduced form used for training.
    f64 = jnp.float64 if jax.config.jax_enable_x64 else dtype
    sq_err, rate = jax.vmap(exact_terms, in_axes=(0, None, None))(
        jax.tree.map(lambda a: jnp.asarray(a, f64), params), jnp.asarray(spectrum.mean, f64),
        jnp.asarray(spectrum.covariance, f64))
    return run, params, (np.asarray(sq_err), np.asarray(rate))
