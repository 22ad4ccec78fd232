"""Closed forms for the objective family beyond the β-VAE: λβ-VAE and LR-VAE (docs/theory.md §5; derivation in
docs/objectives.md).

Every objective adds a term to the β-VAE loss ``L = E‖x − x̂(z)‖² / (2σ_dec²) + β R`` (docs/theory.md §1):

- ``'beta'``: nothing (the closed form of docs/theory.md §3, :func:`linvae.theory._beta.beta_optimum`);
- ``'lambda-beta'`` (Vu, Wan & Wei 2026): ``λ E‖x − x̂(μ(x))‖² / (2σ_dec²)``, the reconstruction decoded from the
  posterior *mean*;
- ``'lambda-beta-sampled'``: the same penalty on the *sampled* reconstruction ``x̂(z)``;
- ``'lr'`` (latent reconstruction, after Song, Kim & Lee 2025, in the squared-error form of docs/theory.md §5):
  ``α E_{z∼N(0,I)} ‖μ(x̂(z)) − z‖² = α (‖A W − I‖_F² + ‖A (c − x̄) + b‖²)``, in raw units (not divided by
  ``2σ_dec²``).

In the PCA basis each objective splits into one-mode problems in the encoder gain ``a``, decoder gain ``w`` and
posterior variance ``σ²`` (biases at ``b = 0``, ``c = x̄``). Writing ``t = λ_k / V`` (the β-VAE threshold) and
``T = β σ_dec² / V``, every one-mode problem is the β-VAE one with two changes: the reconstruction coupling
``λ_k (1 − a w)²`` is multiplied by ``p`` and the price ``T`` is divided by ``s_T``,

====================== ===================== ======= ============================
objective               ``p``                 ``s_T`` threshold ``T_k``
====================== ===================== ======= ============================
beta                    1                     1       ``t``
lambda-beta             ``1 + λ``             1       ``(1 + λ)² t``
lambda-beta-sampled     1                     1 + λ   ``(1 + λ) t``
lr                      ``1 + α̃ / t``         1       ``(t + α̃)² / t``
====================== ===================== ======= ============================

with ``α̃ = 2 α σ_dec² / V`` (LR thresholds depend on ``σ_dec²`` and ``V``, not on ``T`` alone). On the active
branch (``T < T_k``) the stationarity equations have one solution with ``A² = mean μ² + σ² = 1``: with
``u = 1 − a w`` the positive root of ``(p − 1) u² + u = τ / p`` (``τ = T / (s_T t)``),
``σ² = p u / ((p − 1) u + 1)``, ``M² = 1 − σ²``, ``R = −½ log σ²``. Every transition is continuous (the Landau
quartic coefficient at the threshold is ``p² (p − ½) > 0``) and the collapsed point is a local minimum exactly for
``T ≥ T_k``: the spinodal and the global transition coincide, there is no coexistence region.

Under LR with fewer latents than modes a latent may read two modes at once (:mod:`linvae.theory._lr_mixing`); the
global optimum with such latents is :func:`linvae.theory.optimum` (docs/objectives.md §6).

The closed forms are small pure ``jax.numpy`` functions, vectorised over a grid of ``T`` (leading axes) and the modes
(last axis), in the dtype of the eigenvalues; zero or slightly negative eigenvalues give no NaN.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from linvae.model import Objective
from linvae.theory._beta import Landau, local_price
from linvae.theory._branch import Branch

__all__ = [
    "Coupling", "normalised_spectrum", "lr_cost", "coupling", "thresholds", "critical_betas", "mode_threshold",
    "one_mode_optimum", "one_mode_optimum_jit", "mode_signal", "mode_loss", "reduced_loss", "landau",
    "collapse_is_continuous", "follows_beta_law", "held_out_signal",
]

_BETA = Objective()


class Coupling(NamedTuple):
    """Per-mode reduction of an objective to the β-VAE one-mode problem (module docstring) (docs/theory.md §5;
    docs/objectives.md §2).

    Attributes:
      p: ``p_k`` per mode, the factor by which the objective strengthens the coupling of mode k.
      t_scale: ``s_T``, the factor by which the objective rescales the price the one-mode problem sees.
    """

    p: jnp.ndarray        # (d,) reconstruction-coupling factor p_k ≥ 1 (inf for an LR zero mode)
    t_scale: jnp.ndarray  # () price divisor s_T: the one-mode problem sees T / s_T



def normalised_spectrum(eigenvalues):
    """``t_k = max(λ_k, 0) / V`` and ``V``."""
    eig = jnp.asarray(eigenvalues)
    V = jnp.sum(eig, axis=-1)
    return jnp.maximum(eig, 0) / V, V


def _kappa(t, V, objective, sigma_dec2):
    """Normalised coupling ``κ̃ = p t`` (κ̃ = t + α̃ for LR) and the price divisor ``s_T``."""
    lam = jnp.asarray(objective.lam, t.dtype)
    one = jnp.ones((), t.dtype)
    if objective.kind == "lambda-beta":
        return (1 + lam) * t, one
    if objective.kind == "lambda-beta-sampled":
        return t, 1 + lam
    if objective.kind == "lr":
        return t + 2 * jnp.asarray(objective.alpha, t.dtype) * sigma_dec2 / V, one
    return t, one


def lr_cost(t, V, objective, sigma_dec2):
    """``α̃ = 2 α σ_dec² / V``: the LR cost of one latent that reads nothing, in the units of ``L̃``."""
    if objective.kind != "lr":
        return jnp.zeros((), t.dtype)
    return 2 * jnp.asarray(objective.alpha, t.dtype) * sigma_dec2 / V


def coupling(eigenvalues, objective: Objective = _BETA, sigma_dec2=1.0) -> Coupling:
    """Reduction factors of docs/theory.md §5 (module docstring table): ``p_k`` and ``s_T``.

    ``p = 1 + λ`` (λβ), ``1 + 2ασ_dec²/λ_k`` (LR; ``inf`` for a zero mode when ``α > 0``), 1 otherwise;
    ``s_T = 1 + λ`` for the sampled λβ variant, 1 otherwise.

    Args:
      eigenvalues: ``(d,)`` raw PCA eigenvalues.
      objective: the :class:`linvae.model.Objective` (default the β-VAE).
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).

    Returns:
      The :class:`Coupling`.
    """
    t, V = normalised_spectrum(eigenvalues)
    kappa, t_scale = _kappa(t, V, objective, sigma_dec2)
    positive = t > 0
    excess = kappa - t                                    # α̃ for LR, λ t for λβ, 0 otherwise
    if objective.kind == "lambda-beta":
        p = jnp.broadcast_to(1 + jnp.asarray(objective.lam, t.dtype), t.shape)
    else:
        p = jnp.where(positive, 1 + excess / jnp.where(positive, t, 1), jnp.where(excess > 0, jnp.inf, 1))
    return Coupling(p=p, t_scale=t_scale)


def thresholds(eigenvalues, objective: Objective = _BETA, sigma_dec2=1.0):
    """Normalised collapse thresholds ``T_k`` (units of ``T = β σ_dec² / V``) of docs/theory.md §5, *derived*, verified.

    - β-VAE: ``T_k = λ_k / V``;
    - λβ-VAE (mean path): ``T_k = (1 + λ)² λ_k / V`` (uniform shift, PCA order kept);
    - λβ-VAE (sampled path): ``T_k = (1 + λ) λ_k / V`` (a β-VAE at ``β / (1 + λ)``);
    - LR-VAE with raw weight ``α``: ``T_k = (λ_k + 2 α σ_dec²)² / (λ_k V)``; needs the raw eigenvalues and
      ``σ_dec²``. It is smallest at ``λ_k = 2 α σ_dec²`` and grows again below, so weak modes are lifted most and
      the collapse order is no longer the PCA order. A zero mode has ``T_k = inf`` (its latent reads the null
      direction and cancels its LR penalty, with ``M² → 0``: see :func:`one_mode_optimum`).

    A zero (or slightly negative) eigenvalue gives ``T_k = 0`` for the other objectives.

    Args:
      eigenvalues: ``(d,)`` raw PCA eigenvalues (any order).
      objective: :class:`Objective`.
      sigma_dec2: ``σ_dec²``.

    Returns:
      ``(d,)`` thresholds.
    """
    t, V = normalised_spectrum(eigenvalues)
    return mode_threshold(t, V, objective, sigma_dec2)


def mode_threshold(t, total_variance, objective: Objective = _BETA, sigma_dec2=1.0):
    """Threshold ``T_k`` of :func:`thresholds` for a mode of normalised eigenvalue ``t = λ_k / V`` alone
    (docs/theory.md §5). The companion of :func:`mode_signal`.

    Args:
      t: normalised eigenvalues ``λ_k / V``, any shape.
      total_variance: ``V`` (the LR coupling ``2ασ_dec²/V`` depends on it).
      objective: the :class:`linvae.model.Objective` (default the β-VAE).
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).

    Returns:
      The thresholds, the shape of ``t``.
    """
    t = jnp.asarray(t)
    kappa, t_scale = _kappa(t, total_variance, objective, sigma_dec2)
    positive = t > 0
    # Collapse where the (a, w) Hessian at the collapsed point, [[T, −κ̃], [−κ̃, t]] per unit, loses positivity.
    # κ̃ (κ̃/t) rather than κ̃²/t: exactly t for the β-VAE (κ̃ = t), the kernel's λ_k/V, with no rounding at the boundary.
    return jnp.where(positive, t_scale * kappa * (kappa / jnp.where(positive, t, 1)),
                     jnp.where(kappa > 0, jnp.inf, 0))


def one_mode_optimum(T, eigenvalues, objective: Objective = _BETA, n_latents=None, sigma_dec2=1.0) -> Branch:
    """Global optimum of an objective of the family at information prices ``T`` (docs/theory.md §5; closed form).

    Per mode, with ``t = λ_k / V``, ``κ̃ = p t``, the price seen by the one-mode problem ``T' = T / s_T``
    (:func:`coupling`) and ``u = 1 − a w`` (the fraction of the mode the mean path leaves):

    - ``u`` is the positive root of ``κ̃ (κ̃ − t) u² + κ̃ t u = t T'``, evaluated as ``u = √t ξ`` with
      ``ξ = 2 T' / (κ̃ √t + √(κ̃² t + 4 κ̃ (κ̃ − t) T'))`` (no cancellation, finite at ``t = 0``);
    - ``σ² = κ̃² ξ² / T'``, ``M² = mean μ² = 1 − σ²``, ``A² = 1``, ``R = −½ log σ²``;
    - sampled-path distortion ``t u² + T' M²``; mean-path distortion ``t u²``;
    - penalty: ``λ t u²`` (λβ), ``λ × distortion`` (sampled λβ), ``α̃ u²`` with ``α̃ = 2ασ_dec²/V`` (LR).

    A collapsed mode (``T ≥ T_k``) has ``u = 1``, ``σ² = 1``, ``M² = 0``; a mode no latent carries leaves ``t`` of
    distortion. β-VAE: ``u = σ² = T/t``, which is :func:`linvae.theory._beta.beta_optimum`. With ``K < d`` latents
    the modes with the largest loss gain are carried (for LR this need not be the top-K PCA modes). For LR with
    ``K < d`` this is the optimum among latents that read one mode each; :func:`linvae.theory.optimum` adds latents
    reading two modes, which can do better. Each of the ``K`` latents costs ``α̃ u²`` under LR, so a latent carrying
    no mode costs ``α̃``. An LR mode with ``λ_k = 0`` is the limit
    ``λ_k → 0``: its latent reads the null direction with diverging gain, ``u → 0`` (no penalty), ``M² → 0``; the
    infimum is not attained there.

    Args:
      T: information prices ``β σ_dec² / V``, any shape ``S``; positive.
      eigenvalues: ``(d,)`` raw PCA eigenvalues, descending.
      objective: :class:`linvae.model.Objective`.
      n_latents: ``K``; ``None`` means ``K = d``.
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).

    Returns:
      :class:`Branch` with per-mode fields of shape ``S + (d,)``.
    """
    t, V = normalised_spectrum(eigenvalues)
    K = t.shape[-1] if n_latents is None else n_latents
    m = min(K, t.shape[-1])
    kappa, t_scale = _kappa(t, V, objective, sigma_dec2)
    alpha_n = lr_cost(t, V, objective, sigma_dec2)
    T = jnp.asarray(T, t.dtype)[..., None]
    Tp, u_branch, log_s_branch, below = _active_branch(T, t, kappa, t_scale)
    dist_branch = t * u_branch**2 - Tp * jnp.expm1(log_s_branch)
    # Which modes get a latent: the min(K, d) largest gains (loss of the mode left alone, plus the LR cost of an
    # idle latent, minus the loss with a latent on it). Stable order keeps PCA order among equal gains.
    pen_branch, pen_free = _penalties(objective, t, u_branch, dist_branch, alpha_n)
    gain = jnp.where(below, t + pen_free + alpha_n - (dist_branch - T * log_s_branch + pen_branch), 0)
    carried = jnp.argsort(jnp.argsort(-gain, axis=-1, stable=True), axis=-1, stable=True) < m
    active = carried & below & (t > 0)
    u = jnp.where(carried & below, u_branch, 1)
    log_sigma2 = jnp.where(active, log_s_branch, 0)
    M2 = jnp.where(active, -jnp.expm1(log_sigma2), 0)
    distortion = jnp.where(active, dist_branch, t)
    penalty = jnp.where(carried, _penalties(objective, t, u, distortion, alpha_n)[0], pen_free)
    rate = -0.5 * log_sigma2
    totals = distortion.sum(-1), rate.sum(-1), penalty.sum(-1) + (K - m) * alpha_n
    return Branch(
        tau=local_price(T[..., 0], thresholds(eigenvalues, objective, sigma_dec2)), active=active, carried=carried,
        partner=jnp.full(M2.shape, -1, jnp.int32), M2=M2, mu2=M2, sigma2=jnp.exp(log_sigma2), log_sigma2=log_sigma2,
        rate=rate, A2=jnp.ones_like(M2), distortion=distortion, mean_distortion=t * u**2, penalty=penalty,
        total_distortion=totals[0], total_rate=totals[1], total_penalty=totals[2],
        loss=totals[0] + 2 * T[..., 0] * totals[1] + totals[2], n_active=active.sum(-1).astype(jnp.int32),
    )


# eager callers (add_theory, the LR assignment, figures) evaluate the closed form jitted: one compile per grid shape
one_mode_optimum_jit = jax.jit(one_mode_optimum, static_argnames="n_latents")


def critical_betas(eigenvalues, objective: Objective = _BETA, sigma_dec2=1.0):
    """Raw-β collapse thresholds ``β_c,k = T_k V / σ_dec² = s_T p_k² λ_k / σ_dec²`` (docs/theory.md §1, §5): the β-VAE's
    ``λ_k / σ_dec²`` (``p = s_T = 1``, exact), the λβ-VAE's ``(1 + λ)² λ_k / σ_dec²``, the LR-VAE's
    ``(λ_k + 2ασ_dec²)² / (λ_k σ_dec²)``; 0 for a zero mode (LR: ``inf``).

    Args:
      eigenvalues: ``(d,)`` raw PCA eigenvalues.
      objective: the :class:`linvae.model.Objective` (default the β-VAE).
      sigma_dec2: ``σ_dec²``.

    Returns:
      ``(d,)`` critical β.
    """
    eig = jnp.asarray(eigenvalues)
    c = coupling(eig, objective, sigma_dec2)
    positive, finite = eig > 0, jnp.isfinite(c.p)
    p = jnp.where(positive & finite, c.p, 1)
    raw = c.t_scale * p * (p * jnp.where(positive, eig, 0)) / sigma_dec2
    return jnp.where(positive & finite, raw, jnp.where(finite, 0, jnp.inf))


def _active_branch(T, t, kappa, t_scale):
    """The one-mode active branch of :func:`one_mode_optimum` at prices ``T`` (broadcasting with ``t``):
    ``(T', u, log σ², below)``, evaluated everywhere on safe values (double-where: no NaN), ``below`` = ``T < T_k``."""
    Tp = T / t_scale
    coupled = kappa > 0
    kap = jnp.where(coupled, kappa, 1)
    root_t = jnp.sqrt(t)
    xi = 2 * Tp / (kap * root_t + jnp.sqrt(kap**2 * t + 4 * kap * (kap - t) * Tp))
    log_s = jnp.minimum(2 * jnp.log(kap * xi) - jnp.log(Tp), 0)
    return Tp, root_t * xi, log_s, coupled & (t * Tp < kap**2)


def mode_signal(T, t, total_variance, objective: Objective = _BETA, sigma_dec2=1.0):
    """Signal fraction ``M²`` at prices ``T`` of a mode with normalised eigenvalue ``t = λ_k / V`` that a latent
    carries (docs/theory.md §5): the per-mode law of :func:`one_mode_optimum` (``M² = 1 − σ²``; 0 at and above
    ``T_k``).

    Args:
      T: information prices; broadcasts with ``t``.
      t: normalised eigenvalues ``λ_k / V``.
      total_variance: ``V`` (the LR coupling ``2ασ_dec²/V`` depends on it).
      objective: the :class:`linvae.model.Objective` (default the β-VAE).
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).

    Returns:
      ``M²``, the broadcast shape of ``T`` and ``t``.
    """
    t = jnp.asarray(t)
    kappa, t_scale = _kappa(t, total_variance, objective, sigma_dec2)
    _, _, log_s, below = _active_branch(jnp.asarray(T, t.dtype), t, kappa, t_scale)
    return jnp.where(below & (t > 0), -jnp.expm1(log_s), 0)


def held_out_signal(M2, ratio):
    """Signal fraction measured on data with ``ratio`` times the training variance along a latent's direction, of a
    latent with training signal fraction ``M2`` on the active branch (docs/theory.md §7, "Collapse spectrum").

    Every objective's optimum has ``A² = 1``, so ``σ² = 1 − M²`` does not depend on the input while ``mean μ²``
    scales with the data's variance: ``r m / (r m + 1 − m)``. It vanishes where ``m`` does, so the threshold is
    unchanged; ``ratio = 1`` returns ``M2``. Plain arithmetic: numpy and JAX arrays alike, in their own precision.

    Args:
      M2: training signal fraction ``m`` in ``[0, 1)`` (e.g. :func:`mode_signal`).
      ratio: ``r``, evaluation over training variance along the latent's direction (``> 0``); broadcasts.

    Returns:
      The held-out ``M²``.
    """
    return ratio * M2 / (ratio * M2 + 1 - M2)


def _penalties(objective, t, u, distortion, alpha_n):
    """Normalised extra term of a mode with a latent on it, and of a mode left alone (no latent)."""
    lam = jnp.asarray(objective.lam, t.dtype)
    if objective.kind == "lambda-beta":
        return lam * t * u**2, lam * t
    if objective.kind == "lambda-beta-sampled":
        return lam * distortion, lam * t
    if objective.kind == "lr":
        return alpha_n * u**2, jnp.zeros_like(t)
    return jnp.zeros_like(t), jnp.zeros_like(t)


def mode_loss(a, w, sigma2, eigenvalue, beta, objective: Objective = _BETA, sigma_dec2=1.0):
    """Raw one-mode loss in the PCA basis (docs/theory.md §5), biases at their optimum (``b = 0``, ``c = x̄``).

    With ``y`` the mode's coordinate (variance ``λ``), ``μ = a y``, ``z = μ + σ ε``, ``x̂ = w z``:
    ``E(y − x̂)² = λ (1 − a w)² + w² σ²`` (sampled path), ``λ (1 − a w)²`` (mean path),
    ``R = ½ (a² λ + σ² − log σ² − 1)`` and
    ``L = E(y − x̂)² / (2σ_dec²) + β R`` plus ``λ_pen λ (1 − a w)² / (2σ_dec²)`` (λβ),
    ``λ_pen E(y − x̂)² / (2σ_dec²)`` (sampled λβ) or ``α (a w − 1)²`` (LR).

    Args:
      a: encoder gain on the mode.
      w: decoder gain.
      sigma2: posterior variance ``σ²``.
      eigenvalue: the mode's raw eigenvalue ``λ``.
      beta: ``β``.
      objective: the :class:`linvae.model.Objective` (default the β-VAE).
      sigma_dec2: ``σ_dec²``.

    Returns:
      The raw loss ``L``, the broadcast shape of the inputs.
    """
    gap2 = (1 - a * w) ** 2
    sampled = (eigenvalue * gap2 + w**2 * sigma2) / (2 * sigma_dec2)
    loss = sampled + 0.5 * beta * (a**2 * eigenvalue + sigma2 - jnp.log(sigma2) - 1)
    if objective.kind == "lambda-beta":
        loss = loss + objective.lam * eigenvalue * gap2 / (2 * sigma_dec2)
    elif objective.kind == "lambda-beta-sampled":
        loss = loss + objective.lam * sampled
    elif objective.kind == "lr":
        loss = loss + objective.alpha * gap2
    return loss


def reduced_loss(M2, A2, tau, p=1.0, t_scale=1.0):
    """Decoder-eliminated one-mode loss in units of ``D_0 = λ_k / (2σ_dec²)`` (docs/theory.md §3, generalised in §5).

    ``ℓ(M², A²) = s_T {p (1 − M²) / (1 + (p − 1) M²) + τ [A² − log A² − log(1 − M²) − 1]}`` with ``τ = T / (s_T t)``
    the price the one-mode problem sees and ``p``, ``s_T`` from :func:`coupling`; ``p = s_T = 1`` is the β-VAE's
    ``(1 − M²) + τ [A² − log A² − log(1 − M²) − 1]``. The minimum over ``A²`` is at ``A² = 1`` for every objective.

    Args:
      M2: signal fraction ``M²`` in ``[0, 1)``.
      A2: ``A² = E μ² + σ²``.
      tau: ``τ = T / (s_T t)``.
      p: coupling ``p`` of :func:`coupling` (1: the β-VAE).
      t_scale: ``s_T`` of :func:`coupling`.

    Returns:
      ``ℓ``, the broadcast shape of the inputs.
    """
    data = p * (1 - M2) / (1 + (p - 1) * M2)
    return t_scale * (data + tau * (A2 - jnp.log(A2) - jnp.log1p(-M2) - 1))


def _landau(tau, p):
    tau = jnp.asarray(tau)
    p = jnp.asarray(p, tau.dtype)
    return Landau(c0=p * jnp.ones_like(tau), c2=tau - p**2, c4=p**2 * (p - 1) + tau / 2)


def landau(T, eigenvalues, objective: Objective = _BETA, sigma_dec2=1.0) -> Landau:
    """Landau expansion of :func:`reduced_loss` / ``s_T`` at ``A² = 1`` about the collapsed point, per mode, at
    information prices ``T`` (``(..., d)``; docs/theory.md §3, §5).

    ``ℓ = p + (τ − p²) M² + [p² (p − 1) + τ/2] M⁴ + O(M⁶)`` with ``τ = T / (s_T t_k)``; the β-VAE (``p = 1``) has
    ``1 + (τ − 1) M² + (τ/2) M⁴``. The quadratic coefficient vanishes at the threshold ``τ = p²``
    (``T_k = s_T p² λ_k / V``), where the quartic one is ``p² (p − ½)``: positive for every allowed weight
    (``p ≥ 1``), so every transition of the family is continuous. (It would turn first-order only for
    ``p < ½``, i.e. a negative weight ``λ < −½``, which :class:`linvae.model.Objective` rejects.)

    Args:
      T: information prices, shape ``(..., 1)`` to broadcast against the modes.
      eigenvalues: ``(d,)`` raw PCA eigenvalues.
      objective: the :class:`linvae.model.Objective` (default the β-VAE).
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).

    Returns:
      The :class:`Landau` coefficients, each ``(..., d)``.
    """
    t, _ = normalised_spectrum(eigenvalues)
    c = coupling(eigenvalues, objective, sigma_dec2)
    return _landau(local_price(jnp.asarray(T, t.dtype) / c.t_scale, t), c.p)


def collapse_is_continuous(eigenvalues, objective: Objective = _BETA, sigma_dec2=1.0):
    """Per mode: is the collapse transition continuous (``M² → 0`` at ``T_k``, no jump, no coexistence)?
    (docs/theory.md §5; docs/objectives.md §5)

    True where the Landau quartic coefficient at the threshold, ``p² (p − ½)``, is positive (:func:`landau`).
    For this family the active branch is also the only non-trivial stationary point and exists exactly for
    ``T < T_k``, while the collapsed point is a local minimum exactly for ``T ≥ T_k``: the spinodal and the global
    transition are both ``T_k`` (:func:`thresholds`). An LR zero mode (``p = inf``) counts as continuous
    (``M² = 0`` at every ``T``).

    Args:
      eigenvalues: ``(d,)`` raw PCA eigenvalues.
      objective: the :class:`linvae.model.Objective` (default the β-VAE).
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).

    Returns:
      ``(d,)`` booleans.
    """
    p = coupling(eigenvalues, objective, sigma_dec2).p
    return jnp.where(jnp.isfinite(p), _landau(jnp.where(jnp.isfinite(p), p, 1) ** 2, p).c4 > 0, True)


def follows_beta_law(objective: Objective = _BETA) -> bool:
    """Whether a carried mode's signal fraction is the β-VAE law ``M² = [1 − T/T_k]_+`` with the objective's own
    threshold: the β-VAE and the sampled λβ-VAE (a β-VAE at ``β / (1 + λ)``). The λβ- and LR-VAE bend it
    (:func:`mode_signal`) (docs/theory.md §5).

    Args:
      objective: the :class:`linvae.model.Objective` (default the β-VAE).

    Returns:
      ``True`` for the β-VAE and the sampled λβ-VAE.
    """
    return objective.kind in ("beta", "lambda-beta-sampled")
