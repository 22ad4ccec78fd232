"""Deterministic training on the exact expected loss (docs/theory.md §4), one model, vmapped by
:mod:`linvae.train._engine`.

The loss depends on the data only through ``C = U diag(λ) Uᵀ``, so a step costs ``O(d²K)`` whatever the number
of samples. Exact reformulations make it well conditioned (docs/theory.md §4, "measured hints"):

* **Whitened PCA basis.** Parameters are ``B = A U diag(√λ)`` (``K × m`` over the ``m`` modes with ``λ > 0``;
  a zero-variance direction carries no signal and no rate, so the encoder has no component along it) and
  ``s = log σ²``. A mode's gradient no longer scales with its eigenvalue.
* **Decoder eliminated.** For a fixed encoder the optimal decoder is ``W* = C Aᵀ (A C Aᵀ + Σ)⁻¹`` (Hirn 2026,
  decoder elimination). By Woodbury, ``E‖x − x̂‖² = tr(Λ P⁻¹)`` with ``P = I_m + Bᵀ Σ⁻¹ B``: a sum of positive
  terms, so the small distortions at small ``T`` are not lost to cancellation against ``V``.
* **Scaled objective.** ``f(B, s) = tr(Λ P⁻¹) / (2 σ_dec² β) + ½ [‖B‖² + Σ (expm1(s_k) − s_k)]`` (the loss divided
  by ``β``; ``L̃ = 2 T f``): every active mode has curvature of order one.

Optimiser (measured on d = 19, K = 32, 64 points, 2-core CPU: all points at |ΔM²| < 1e-4 in ~2 s, see README):

1. **Adam warm-up**, ``b2 = 0.9``, step decaying exponentially from ``lr`` to ``0.03 lr`` over 600 updates: escapes
   the saddles of the random initialisation and separates modes that share a latent.
2. **Damped Newton** (Levenberg–Marquardt) with the exact analytic Hessian: ``Δ = −(H + μ I)⁻¹ ∇f``, accepted iff
   ``f`` does not increase (then ``μ ← max(μ/5, 1e-8)``, else ``μ ← 8μ``). It removes the critical slowing down of
   first-order methods next to a threshold, where the curvature is ``∝ |1 − T/T_k|``. A point stops when
   ``max|∇f| < 1e-5``, when the Newton decrement ``−∇f·Δ`` falls below ``10 ε |f|`` (float resolution), or when
   ``μ > 1e8``.

Objective family (docs/theory.md §5, :class:`linvae.model.Objective`; loss terms in :mod:`linvae.model`):

* ``'lambda-beta'``: the mean-path penalty only strengthens the coupling, ``E_s + λ E_μ = (1 + λ) ‖Λ^{1/2}(I − V B)‖²
  + tr(Λ V Σ Vᵀ)`` in the whitened basis (decoder ``W = U Λ^{1/2} V``), so the decoder is still eliminated in
  closed form, ``W* = (1 + λ) C Aᵀ ((1 + λ) A C Aᵀ + Σ)⁻¹``, and by Woodbury
  ``E_s + λ E_μ = κ tr(Λ P⁻¹)`` with ``κ = 1 + λ``, ``P = I + κ Bᵀ Σ⁻¹ B``. The scaled loss and the analytic Hessian
  above take ``κ`` as a traced per-point factor (``δ_k = κ e^{−s_k}``, trace weight ``κ / β_s``); ``κ = 1`` is the
  β-VAE, bit for bit.
* ``'lambda-beta-sampled'``: ``(1 + λ) [E_s / (2σ_dec²) + β/(1+λ) R]`` is the β-VAE at ``β / (1 + λ)``, identically in
  the parameters; trained as such (``L̃ = 2 T f`` still holds with the original ``T``).
* ``'lr'``: ``‖A W − I‖_F²`` couples encoder and decoder, and the optimal decoder solves a Sylvester equation
  ``Λ V (B Bᵀ + Σ) + 2ασ_dec² BᵀB V = (Λ + 2ασ_dec²) Bᵀ`` (``mK`` unknowns); no Woodbury form. The decoder stays a
  parameter: ``p = (B, V, s)`` with the scaled loss
  ``f = [‖Λ^{1/2}(I − V B)‖² + tr(Λ V Σ Vᵀ)] / (2β_s) + ½ [‖B‖² + Σ (expm1(s) − s)] + (α/β) ‖B V − I_K‖²``, the
  same Adam warm-up, and Newton steps with ``jax.hessian`` of ``f``. Without elimination the gradient is a poor
  distance measure next to a threshold, so LR stops on the Newton decrement (``GTOL_LR``) and may take up to
  ``MAX_NEWTON_LR`` iterations (measured: 130-250 at the smallest ``T``). Measured in float64 on a loaded 2-core
  CPU, spectrum (5, 2.5, 1.2, 0.6, 0.25, 0.1): K = 6 (78 parameters), 16 points, worst |ΔM²| 1e-11, loss to 1e-13,
  ~0.5 s after a ~8 s compilation; K = 8, 32 points, 7.7 s with compilation; float32: worst |ΔM²| 1.5e-3. The cost
  of a Newton step grows as ``(2Km)³``, so this path is meant for small ``K m`` (tens to a few hundred parameters;
  d = 19, K = 32 means 1,248; d = K = 12, 300 parameters, 8 points took 178 s on the loaded machine, mostly
  in the batched Cholesky, up to 336 Newton iterations; Marquardt's diagonal scaling of the damping did not cut
  the iteration count). Solving the Sylvester equation by vectorisation inside the loss would need an
  ``mK × mK`` solve per evaluation (and through it the Hessian), no cheaper at these sizes.
  Directions with zero variance are not parameterised (as for every objective): the LR infimum that lets a latent
  read a null direction with a diverging encoder gain (docs/objectives.md §7) is therefore not approached;
  on singular data the trained LR loss stays finite and exceeds the closed form's limit by ``α̃ = 2ασ_dec²/V`` per
  latent that the limit would park on a null direction (no drift, no NaN).

The positive-definite certificate is the Hessian of the loss actually minimised: the analytic one (with ``κ``) for
the β and λβ kinds, ``jax.hessian`` of the full ``(B, V, s)`` loss for LR, where it also certifies the decoder.

Numerics: ``P⁻¹`` is an unrolled Gauss–Jordan inverse in plain ``jax.numpy`` (``P`` is SPD with eigenvalues ≥ 1,
so no pivoting is needed): on a 2-thread CPU pool, jaxlib's batched LAPACK kernels can deadlock when two run
concurrently, so the only LAPACK call left is the sequential Cholesky solve of the Newton step. Entries below
1e-10 (parameters) and 1e-12·max diag (Hessian) are flushed to zero: collapsed rows otherwise sink into denormal
numbers, which slows LAPACK tenfold.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from linvae.model import Params, exact_penalty, exact_terms
from linvae.theory import coupling
from linvae.train import _engine
from linvae.train._engine import TrainResult

__all__ = ["ExactState", "ExactArgs", "EXACT_AXES", "scaled_loss", "lr_scaled_loss", "objective_loss", "hessian",
           "objective_hessian", "make_period", "kept_modes", "train_grid", "to_params", "objective_weights"]

WARMUP = 600            # Adam updates in the first period
NEWTON_PER_PERIOD = 10  # Newton iterations per later period
MAX_NEWTON = 50
GTOL = 1e-5
# LR keeps the decoder as a parameter: near a threshold its gradient is not a good distance measure (the flat
# direction has curvature ∝ |1 − τ|), so it stops on the Newton decrement (or μ) only and gets more iterations.
MAX_NEWTON_LR, GTOL_LR = 400, 1e-12
MU0, MU_MIN, MU_MAX = 1e-4, 1e-8, 1e8
P_FLUSH, H_FLUSH = 1e-10, 1e-12


class ExactState(NamedTuple):
    p: jnp.ndarray              # (K m + K,) flat parameters: B (K, m) row-major, then s (K,); LR: B, V (m, K), s
    mu: jnp.ndarray             # () Levenberg–Marquardt damping
    best_val: jnp.ndarray       # () normalised loss L̃ = 2 T f at the current iterate (Newton only accepts descent)
    step: jnp.ndarray           # () int32 updates done (Adam steps + Newton iterations)
    done: jnp.ndarray           # () bool
    stopped_early: jnp.ndarray  # () bool: converged by the criterion (not by the iteration cap)
    diverged: jnp.ndarray       # () bool: NaN/inf seen


def _split(p, n_latents):
    return p[:-n_latents].reshape(n_latents, -1), p[-n_latents:]


def _spd_inv(P):
    """Inverse of a small SPD matrix by unrolled Gauss–Jordan elimination (no LAPACK; see module docstring)."""
    for k in range(P.shape[-1]):
        pivot = P[k, k]
        row = P[k, :] / pivot
        col = P[:, k]
        P = P - col[:, None] * row[None, :]
        P = P.at[k, :].set(row).at[:, k].set(-col / pivot).at[k, k].set(1 / pivot)
    return P


@jax.custom_vjp
def _trace_eig_inv(P, eig):
    """``tr(Λ P⁻¹)`` with the reverse rule ``d tr(Λ P⁻¹) = −tr(P⁻¹ Λ P⁻¹ dP)``."""
    return jnp.sum(eig * jnp.diag(_spd_inv(P)))


def _trace_fwd(P, eig):
    Pi = _spd_inv(P)
    return jnp.sum(eig * jnp.diag(Pi)), (Pi, eig)


def _trace_bwd(res, ct):
    Pi, eig = res
    return -ct * (Pi * eig[None, :]) @ Pi, ct * jnp.diag(Pi)


_trace_eig_inv.defvjp(_trace_fwd, _trace_bwd)


def scaled_loss(p, eig, beta_s, n_latents, kappa=1.0):
    """``f = κ tr(Λ P⁻¹) / (2 σ_dec² β) + ½ [‖B‖² + Σ (expm1(s) − s)]``, ``P = I + κ Bᵀ Σ⁻¹ B``, with
    ``beta_s = σ_dec² β`` (module docstring; ``κ = 1 + λ`` for the λβ-VAE, 1 for the β-VAE)."""
    B, s = _split(p, n_latents)
    P = jnp.eye(B.shape[1], dtype=p.dtype) + (B.T * (kappa * jnp.exp(-s))) @ B
    return kappa * _trace_eig_inv(P, eig) / (2 * beta_s) + 0.5 * (jnp.sum(B * B) + jnp.sum(jnp.expm1(s) - s))


def _split_lr(p, n_latents, n_modes):
    K, m = n_latents, n_modes
    return p[:K * m].reshape(K, m), p[K * m:2 * K * m].reshape(m, K), p[2 * K * m:]


def lr_scaled_loss(p, eig, beta_s, n_latents, alpha_s):
    """LR-VAE loss over ``β`` in the whitened basis with the decoder as a parameter (module docstring):
    ``f = [‖Λ^{1/2}(I − V B)‖_F² + tr(Λ V Σ Vᵀ)] / (2β_s) + ½ [‖B‖² + Σ (expm1(s) − s)] + α_s ‖B V − I_K‖_F²``
    with ``α_s = α / β``; ``A = B Λ^{−1/2} U_keepᵀ``, ``W = U_keep Λ^{1/2} V`` give
    :func:`linvae.model.exact_loss` / β."""
    m = eig.shape[0]
    B, V, s = _split_lr(p, n_latents, m)
    R = jnp.eye(m, dtype=p.dtype) - V @ B
    sq_err = jnp.sum(eig[:, None] * R * R) + jnp.sum(eig[:, None] * V * V * jnp.exp(s)[None, :])
    gap = B @ V - jnp.eye(n_latents, dtype=p.dtype)
    return (sq_err / (2 * beta_s) + 0.5 * (jnp.sum(B * B) + jnp.sum(jnp.expm1(s) - s))
            + alpha_s * jnp.sum(gap * gap))


def objective_loss(kind, p, eig, beta_s, n_latents, weight):
    """The scaled loss minimised for objective ``kind``: ``weight`` is ``κ`` (eliminated kinds) or ``α/β`` (LR)."""
    if kind == "lr":
        return lr_scaled_loss(p, eig, beta_s, n_latents, weight)
    return scaled_loss(p, eig, beta_s, n_latents, weight)


def objective_hessian(kind, p, eig, beta_s, n_latents, weight):
    """Exact Hessian of :func:`objective_loss`: analytic (:func:`hessian`) or ``jax.hessian`` for LR."""
    if kind == "lr":
        return jax.hessian(lr_scaled_loss)(p, eig, beta_s, n_latents, weight)
    return hessian(p, eig, beta_s, n_latents, weight)


def hessian(p, eig, beta_s, n_latents, kappa=1.0):
    """Exact Hessian of :func:`scaled_loss`, assembled from closed-form blocks by broadcasting.

    With ``Π = P⁻¹``, ``Q = Π Λ Π`` and ``δ_k = e^{−s_k}``: differentiating ``tr(Λ P⁻¹)`` twice through
    ``P = I + Σ_k δ_k b_k b_kᵀ`` gives the ``(b, b)``, ``(b, s)`` and ``(s, s)`` blocks below; the rate adds ``I`` on
    ``B`` and ``½ e^{s}`` on the ``s`` diagonal. With the λβ factor ``κ``: ``δ_k = κ e^{−s_k}`` (still
    ``∂δ_k/∂s_k = −δ_k``) and the trace weighted by ``κ / β_s``. Checked against ``jax.hessian`` in the tests.
    """
    K = n_latents
    B, s = _split(p, K)
    m = B.shape[1]
    dl = kappa * jnp.exp(-s)
    Pi = _spd_inv(jnp.eye(m, dtype=p.dtype) + (B.T * dl) @ B)
    Q = Pi @ (eig[:, None] * Pi)
    PB, QB = B @ Pi, B @ Q
    BQB, BPB = QB @ B.T, PB @ B.T
    ib = kappa / beta_s
    dd = (dl[:, None] * dl[None, :]) * ib
    eK, em = jnp.eye(K, dtype=p.dtype), jnp.eye(m, dtype=p.dtype)
    Hbb = (dd[:, None, :, None] * (PB.T[None, :, :, None] * QB[:, None, None, :]
                                   + QB.T[None, :, :, None] * PB[:, None, None, :]
                                   + BQB[:, None, :, None] * Pi[None, :, None, :]
                                   + BPB[:, None, :, None] * Q[None, :, None, :])
           + eK[:, None, :, None] * ((-ib * dl)[:, None, None, None] * Q[None, :, None, :] + em[None, :, None, :]))
    Hbs = (-dd[:, None, :] * (PB.T[None, :, :] * BQB[:, None, :] + QB.T[None, :, :] * BPB[:, None, :])
           + eK[:, None, :] * (ib * dl[:, None] * QB)[:, :, None]).reshape(K * m, K)
    Hss = dd * BQB * BPB + jnp.diag(0.5 * jnp.exp(s) - 0.5 * ib * dl * jnp.diag(BQB))
    return jnp.block([[Hbb.reshape(K * m, K * m), Hbs], [Hbs.T, Hss]])


def _flush(p):
    return jnp.where(jnp.abs(p) < P_FLUSH, 0, p)


def init_state(key, n_latents, n_modes, dtype, scale=0.01, kind="beta") -> ExactState:
    """Random start: ``B ~ N(0, scale²)`` (LR: ``V`` too, drawn after ``B``), ``s = 0``."""
    n_random = n_latents * n_modes * (2 if kind == "lr" else 1)
    p = jnp.concatenate([scale * jax.random.normal(key, (n_random,), dtype), jnp.zeros(n_latents, dtype)])
    false = jnp.zeros((), bool)
    return ExactState(p=p, mu=jnp.asarray(MU0, dtype), best_val=jnp.asarray(jnp.inf, dtype),
                      step=jnp.zeros((), jnp.int32), done=false, stopped_early=false, diverged=false)


class ExactArgs(NamedTuple):
    """The traced inputs of one period, per point or shared by the grid (:data:`EXACT_AXES`)."""

    T: jnp.ndarray              # () per point: information price (the reported loss is L̃ = 2 T f)
    learning_rate: jnp.ndarray  # () per point: step size of the Adam warm-up
    eigenvalues: jnp.ndarray    # (m,) the kept eigenvalues, shared
    beta_s: jnp.ndarray         # () per point: σ_dec² β of the trained loss (sampled λβ: β / (1 + λ))
    budget: jnp.ndarray         # () int32 update budget, shared
    weight: jnp.ndarray         # () per point: κ = 1 + λ (λβ), α / β (LR) or 1


EXACT_AXES = ExactArgs(T=0, learning_rate=0, eigenvalues=None, beta_s=0, budget=None, weight=0)


def _warmup(loss, state: ExactState, a: ExactArgs) -> ExactState:
    """Period 0: ``WARMUP`` Adam updates (``b2 = 0.9``) with the step decaying from ``lr`` to ``0.03 lr``."""
    n_steps = jnp.minimum(WARMUP, a.budget)
    opt = optax.adam(optax.exponential_decay(a.learning_rate, WARMUP, 0.03), b2=0.9)
    grad = jax.grad(loss)

    def body(i, carry):
        p, opt_state = carry
        updates, new_state = opt.update(grad(p, a), opt_state, p)
        live = i < n_steps
        return jnp.where(live, optax.apply_updates(p, updates), p), jax.tree.map(
            lambda x, y: jnp.where(live, x, y), new_state, opt_state)

    p, _ = jax.lax.fori_loop(0, WARMUP, body, (state.p, opt.init(state.p)))
    finite = jnp.all(jnp.isfinite(p))
    # A warm-up that overflowed keeps the starting point and is flagged; the point takes no Newton step.
    return state._replace(p=jnp.where(finite, _flush(p), state.p), step=state.step + n_steps.astype(jnp.int32),
                          diverged=state.diverged | ~finite, done=state.done | ~finite)


def _newton(loss, hessian_fn, gtol, state: ExactState, a: ExactArgs) -> ExactState:
    """Later periods: up to ``NEWTON_PER_PERIOD`` damped Newton (Levenberg–Marquardt) iterations (module
    docstring); a step is accepted iff the loss does not increase."""
    eye = jnp.eye(state.p.shape[0], dtype=state.p.dtype)
    tol = 10 * jnp.finfo(state.p.dtype).eps
    value_and_grad = jax.value_and_grad(loss)

    def body(carry):
        i, st = carry
        f, g = value_and_grad(st.p, a)
        H = hessian_fn(st.p, a)
        H = jnp.where(jnp.abs(H) < H_FLUSH * jnp.max(jnp.diag(H)), 0, H)
        dp = -jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(H + st.mu * eye), True), g)
        finite = jnp.all(jnp.isfinite(dp))
        trial = jnp.where(finite, st.p + dp, st.p)
        accept = finite & (loss(trial, a) <= f)
        converged = (jnp.max(jnp.abs(g)) < gtol) | (finite & (st.mu <= 1e-3) & (-(g @ dp) < tol * jnp.abs(f)))
        live = ~st.done & (st.step < a.budget)
        new = st._replace(
            p=jnp.where(accept, _flush(trial), st.p), mu=jnp.where(accept, jnp.maximum(st.mu / 5, MU_MIN), st.mu * 8),
            step=st.step + 1, done=converged | (st.mu > MU_MAX) | ~jnp.isfinite(f), stopped_early=converged,
            diverged=~jnp.isfinite(f),
        )
        return i + 1, _engine.tree_where(live, new, st)

    # Under vmap the loop runs while any point is still live, so a converged grid ends the period early.
    return jax.lax.while_loop(lambda c: (c[0] < NEWTON_PER_PERIOD) & ~c[1].done & (c[1].step < a.budget), body,
                              (0, state))[1]


@functools.cache
def make_period(n_latents, out_sharding=None, kind="beta"):
    """Compiled grid function ``period(state, period_index, args: ExactArgs) -> state``, vmapped with
    :data:`EXACT_AXES`.

    ``kind`` is ``'beta'`` (decoder eliminated; serves the λβ kinds through ``weight``) or ``'lr'``. Period 0 is
    the Adam warm-up; later periods run up to ``NEWTON_PER_PERIOD`` Newton iterations per point.
    """
    gtol, max_newton = (GTOL_LR, MAX_NEWTON_LR) if kind == "lr" else (GTOL, MAX_NEWTON)

    def loss(p, a: ExactArgs):
        return objective_loss(kind, p, a.eigenvalues, a.beta_s, n_latents, a.weight)

    def hessian_fn(p, a: ExactArgs):
        return objective_hessian(kind, p, a.eigenvalues, a.beta_s, n_latents, a.weight)

    def period_one(state: ExactState, period_index, a: ExactArgs):
        state = jax.lax.cond(period_index == 0, lambda st: _warmup(loss, st, a),
                             lambda st: _newton(loss, hessian_fn, gtol, st, a), state)
        state = state._replace(done=state.done | (state.step >= a.budget)
                               | (period_index >= max_newton // NEWTON_PER_PERIOD))
        return state._replace(best_val=2 * a.T * loss(state.p, a))

    return jax.jit(jax.vmap(period_one, in_axes=(0, None, EXACT_AXES)), out_shardings=out_sharding)


@functools.cache
def _certificate(n_latents, kind="beta"):
    """Per point: is ``H + 1e-6 I`` positive definite at the final iterate (a minimum, not a saddle)?

    ``H`` is the Hessian of the loss the objective minimises (:func:`objective_hessian`). Exact symmetries
    (rotations inside a degenerate eigenspace) make ``H`` singular; the shift tolerates them.
    """

    def one(p, eig, beta_s, weight):
        H = objective_hessian(kind, p, eig, beta_s, n_latents, weight)
        return jnp.all(jnp.isfinite(jnp.linalg.cholesky(H + 1e-6 * jnp.eye(H.shape[0], dtype=H.dtype))))

    return jax.jit(jax.vmap(one, in_axes=(0, None, 0, 0)))


def certify(p, eig, beta_s, n_latents, weight=None, kind="beta"):
    """:func:`_certificate` evaluated in float64 (in float32 the 1e-6 shift is below rounding at small T)."""
    with jax.enable_x64(True):
        f64 = lambda a: jnp.asarray(np.asarray(a), jnp.float64)  # noqa: E731
        weight = np.ones(np.shape(beta_s)) if weight is None else weight
        return np.asarray(_certificate(n_latents, kind)(f64(p), f64(eig), f64(beta_s), f64(weight)))


def to_params(p, spectrum, keep, n_latents, kind="beta", kappa=1.0) -> Params:
    """Map whitened flat parameters (grid-leading) to data-unit :class:`Params` with the optimal decoder.

    ``A = B diag(λ^{-1/2}) U_keepᵀ``; ``W* = κ C Aᵀ (κ A C Aᵀ + Σ)⁻¹ = κ U_keep diag(√λ) Bᵀ (κ B Bᵀ + Σ)⁻¹``
    (``κ = 1 + λ`` for the λβ-VAE, else 1); LR: ``W = U_keep diag(√λ) V`` from its trained ``V``;
    ``b = 0``, ``c = x̄``; zero log-variance slope. Computed in float64 NumPy.
    """
    eig = spectrum.eigenvalues[keep]
    U = spectrum.eigenvectors[:, keep]
    p = np.asarray(p, np.float64)
    g, K, m = p.shape[0], n_latents, int(np.sum(keep))
    B, s = p[:, :K * m].reshape(g, K, m), p[:, -K:]
    A = np.einsum("gkm,m,dm->gkd", B, 1 / np.sqrt(eig), U)
    if kind == "lr":
        W = np.einsum("dm,m,gmk->gdk", U, np.sqrt(eig), p[:, K * m:2 * K * m].reshape(g, m, K))
    else:
        kappa = np.broadcast_to(np.asarray(kappa, np.float64), (g,))[:, None, None]
        M = kappa * np.einsum("gkm,gjm->gkj", B, B) + np.exp(s)[:, :, None] * np.eye(K)
        W = np.einsum("dm,m,gkm->gdk", U, np.sqrt(eig), kappa * np.linalg.solve(M, B))
    d = A.shape[2]
    return Params(encoder_weight=A, encoder_bias=np.zeros((g, K)), log_sigma2_weight=np.zeros((g, K, d)),
                  log_sigma2_bias=s, decoder_weight=W, decoder_bias=np.broadcast_to(spectrum.mean, (g, d)).copy())


def objective_weights(objective, betas, eigenvalues):
    """Per-point ``(β used in training, weight)`` for :func:`make_period` (module docstring), from the objective's
    one-mode reduction (:func:`linvae.theory.coupling`): the eliminated-decoder program trains at ``β / s_T`` (sampled
    λβ: ``β / (1 + λ)``) with ``weight = κ/t = p`` (λβ: ``1 + λ``; β-VAE: 1); LR keeps its decoder and takes
    ``weight = α / β``."""
    betas = np.asarray(betas, np.float64)
    if objective.kind == "lr":
        return betas, float(objective.alpha) / betas
    with jax.enable_x64(True):  # κ = 1 + λ and s_T in float64 whatever the training precision
        c = coupling(np.asarray(eigenvalues, np.float64), objective)
        p, t_scale = float(np.max(np.asarray(c.p))), float(np.asarray(c.t_scale))
    return betas / t_scale, np.full_like(betas, p)


def kept_modes(eigenvalues):
    """The modes the exact method parameterises: variance above ``1e-12`` of the largest (module docstring)."""
    eigenvalues = np.asarray(eigenvalues)
    return eigenvalues > 1e-12 * eigenvalues.max()


def train_grid(spectrum, betas, config, *, dtype, checkpoint=None, checkpoint_every=30.0, fingerprint="",
               resume=False, progress=True) -> TrainResult:
    """Train one model per β on the exact loss of ``config``'s objective (:class:`TrainResult`): data-unit
    parameters, their loss terms (the objective's extra term in loss units) and whether each point's Hessian is
    positive definite (a certified local minimum).

    The loss terms are re-evaluated from the data-unit parameters with :func:`linvae.model.exact_terms` and
    :func:`linvae.model.exact_penalty` in float64, independently of the reduced form used for training.
    """
    n_points = len(betas)
    g = _engine.padded_size(n_points, lapack_inside=True)
    eig = spectrum.eigenvalues
    keep = kept_modes(eig)
    K, kind = config.n_latents, config.objective
    keys = jax.random.split(jax.random.PRNGKey(config.seed), g)
    state, betas_p = _engine.init_grid(init_state, keys, betas, n_points, K, int(keep.sum()), dtype, 0.01, kind)
    train_betas, weights = objective_weights(config.objective_spec, betas_p, eig)
    grid_sh, replicated = _engine.grid_sharding(lapack_inside=True)
    on_grid = lambda a: _engine.place(jnp.asarray(a, dtype), grid_sh)  # noqa: E731
    args = ExactArgs(T=on_grid(betas_p * config.sigma_dec2 / spectrum.total_variance),
                     learning_rate=on_grid(np.full(g, config.effective_learning_rate)),
                     eigenvalues=_engine.place(jnp.asarray(eig[keep], dtype), replicated),
                     beta_s=on_grid(train_betas * config.sigma_dec2),
                     budget=_engine.place(jnp.int32(config.steps), replicated), weight=on_grid(weights))
    program = "lr" if kind == "lr" else "beta"  # λβ kinds are the β-VAE program with a weight: one compilation
    run = _engine.run_grid(make_period(K, grid_sh, program), _engine.shard_grid(state, grid_sh), args,
                           max_periods=1 + (MAX_NEWTON_LR if kind == "lr" else MAX_NEWTON) // NEWTON_PER_PERIOD,
                           describe=lambda flags: f"running {int(np.sum(~flags.done[:n_points]))}/{n_points}",
                           checkpoint=checkpoint, checkpoint_every=checkpoint_every, fingerprint=fingerprint,
                           resume=resume, progress=progress, sharding=grid_sh)
    certified = certify(run.state.p, *_engine.to_host((args.eigenvalues, args.beta_s)), K, weights, program)
    params = to_params(run.state.p, spectrum, keep, K, kind, weights if kind == "lambda-beta" else 1.0)
    sq_err, rate, penalty = _loss_terms(params, spectrum, config)
    return TrainResult(run=run, params=params, sq_err=sq_err, rate=rate, penalty=penalty,
                       certified=certified[:n_points])


def _loss_terms(params: Params, spectrum, config):
    """``E‖x − x̂‖²``, ``R`` and the objective's extra term of every point, float64, from the data-unit parameters."""
    objective = config.objective_spec
    with jax.enable_x64(True):
        def terms(prm, mean, cov):
            sq_err, rate = exact_terms(prm, mean, cov)
            return sq_err, rate, exact_penalty(prm, mean, cov, config.sigma_dec2, objective, sq_err)

        out = jax.vmap(terms, in_axes=(0, None, None))(
            jax.tree.map(jnp.asarray, params), jnp.asarray(spectrum.mean), jnp.asarray(spectrum.covariance))
        return tuple(np.asarray(x) for x in out)
