"""Closed forms for the objective family beyond the β-VAE: λβ-VAE and LR-VAE (SPEC.md §5; derivation in
docs/objectives.md).

Every objective adds a term to the β-VAE loss ``L = E‖x − x̂(z)‖² / (2σ_dec²) + β R`` (SPEC.md §1):

- ``'beta'``: nothing (the closed form of SPEC.md §3, :func:`linvae.closed_form`);
- ``'lambda-beta'`` (Vu, Wan & Wei 2026): ``λ E‖x − x̂(μ(x))‖² / (2σ_dec²)``, the reconstruction decoded from the
  posterior *mean*;
- ``'lambda-beta-sampled'``: the same penalty on the *sampled* reconstruction ``x̂(z)``;
- ``'lr'`` (latent reconstruction, after Song, Kim & Lee 2025, in SPEC.md's squared-error form):
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

Under LR with fewer latents than modes a latent may read two modes at once (:func:`lr_mixed_latent`); the global
optimum with such latents is :func:`objective_optimum` (docs/objectives.md §6).

The closed forms are small pure ``jax.numpy`` functions, vectorised over a grid of ``T`` (leading axes) and the modes
(last axis), in the dtype of the eigenvalues; zero or slightly negative eigenvalues give no NaN.
"""

import dataclasses
import functools
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linvae._errors import InputError
from linvae._theory import Landau, local_temperature

__all__ = [
    "Objective", "ObjectiveBranch", "Coupling", "PhaseDiagram", "OBJECTIVE_KINDS",
    "objective_coupling", "objective_thresholds", "objective_mode_threshold", "objective_closed_form",
    "objective_mode_signal",
    "objective_optimum", "lr_mixed_latent", "MixedLatent",
    "objective_one_mode_loss",
    "objective_reduced_loss", "objective_landau", "collapse_is_continuous", "phase_diagram",
]

OBJECTIVE_KINDS = ("beta", "lambda-beta", "lambda-beta-sampled", "lr")
WEIGHT_KINDS = {"lam": ("lambda-beta", "lambda-beta-sampled"), "alpha": ("lr",)}  # the kinds each weight applies to
BETA_LAW_KINDS = ("beta", "lambda-beta-sampled")  # M²(T) = [1 − T/T_k]_+ (sampled λβ: a β-VAE at β/(1+λ))


def _concrete(value):
    """A value we can check now (not a tracer or a placeholder jax puts in while rebuilding a pytree)."""
    if isinstance(value, jax.core.Tracer):
        return False
    return isinstance(value, (int, float, np.ndarray, np.generic, jax.Array))


@functools.partial(jax.tree_util.register_dataclass, data_fields=["lam", "alpha"], meta_fields=["kind"])
@dataclasses.dataclass(frozen=True)
class Objective:
    """One objective of the family (SPEC.md §5). A pytree: ``kind`` is static, ``lam`` and ``alpha`` are traced,
    so a new weight never recompiles a jitted caller.

    Attributes:
      kind: ``'beta'``, ``'lambda-beta'`` (penalty on the posterior-mean reconstruction),
        ``'lambda-beta-sampled'`` (penalty on the sampled reconstruction) or ``'lr'`` (latent reconstruction).
      lam: penalty weight ``λ ≥ 0`` of the two λβ kinds (0 otherwise).
      alpha: latent-reconstruction weight ``α ≥ 0`` of ``'lr'`` in raw loss units (0 otherwise).
    """

    kind: str = "beta"
    lam: float = 0.0
    alpha: float = 0.0

    def __post_init__(self):
        if self.kind not in OBJECTIVE_KINDS:
            raise InputError(f"objective kind must be one of {', '.join(OBJECTIVE_KINDS)}, found {self.kind!r}; "
                             f"e.g. Objective('lambda-beta', lam=1.0)")
        for name, uses in WEIGHT_KINDS.items():
            value = getattr(self, name)
            if not _concrete(value):
                continue
            value = np.asarray(value, dtype=float)
            if not (np.all(np.isfinite(value)) and np.all(value >= 0)):
                raise InputError(f"objective weight {name} must be finite and >= 0, found {value}; "
                                 f"e.g. Objective({uses[0]!r}, {name}=0.5)")
            if self.kind not in uses and np.any(value != 0):
                raise InputError(f"objective weight {name} applies to {' or '.join(uses)} only, found {name}="
                                 f"{value} with kind {self.kind!r}; set kind={uses[0]!r} or {name}=0")


class Coupling(NamedTuple):
    """Per-mode reduction of an objective to the β-VAE one-mode problem (module docstring)."""

    p: jnp.ndarray        # (d,) reconstruction-coupling factor p_k ≥ 1 (inf for an LR zero mode)
    t_scale: jnp.ndarray  # () price divisor s_T: the one-mode problem sees T / s_T


class ObjectiveBranch(NamedTuple):
    """Global optimum on a T-grid (fields as :class:`linvae.Branch`, plus the penalty). Per-mode ``(..., d)``."""

    tau: jnp.ndarray               # T / T_k with the objective's threshold T_k (0 where T_k = inf, inf where 0)
    active: jnp.ndarray            # bool: mode carried by a latent, T < T_k and λ_k > 0 (then M² > 0)
    carried: jnp.ndarray           # bool: a latent reads the mode (top min(K, d) by loss gain, pairs counted once)
    partner: jnp.ndarray           # int32: the other mode read by the same latent (LR mixing), −1 if none
    M2: jnp.ndarray                # signal fraction M_k² = 1 − σ_k² on the active branch, else 0
    mu2: jnp.ndarray               # mean μ_k² = M_k² (A_k² = 1 for every objective)
    sigma2: jnp.ndarray            # posterior variance σ_k²
    log_sigma2: jnp.ndarray        # log σ_k²
    rate: jnp.ndarray              # R_k = −½ log σ_k²
    A2: jnp.ndarray                # A_k² = mean μ_k² + σ_k² = 1
    distortion: jnp.ndarray        # E(sampled-path squared error in mode k) / V
    mean_distortion: jnp.ndarray   # E(posterior-mean-path squared error in mode k) / V
    penalty: jnp.ndarray           # the objective's extra term in mode k, in the units of `loss`
    total_distortion: jnp.ndarray  # D̃ = Σ_k distortion
    total_rate: jnp.ndarray        # R = Σ_k R_k (nats)
    total_penalty: jnp.ndarray     # Σ_k penalty + α̃ per latent carrying no mode (LR)
    loss: jnp.ndarray              # L̃ = (2σ_dec² / V) L = D̃ + 2 T R + total_penalty
    n_active: jnp.ndarray          # number of active latents (int32; one per active mode without LR mixing)


class PhaseDiagram(NamedTuple):
    """Signal fractions on (weight, T) grids for the λβ-VAE and the LR-VAE (output of :func:`phase_diagram`)."""

    T: jnp.ndarray                  # (n_T,)
    lam: jnp.ndarray                # (n_lam,)
    alpha: jnp.ndarray              # (n_alpha,)
    M2_lambda: jnp.ndarray          # (n_lam, n_T, d) M_k² under Objective('lambda-beta', lam)
    M2_alpha: jnp.ndarray           # (n_alpha, n_T, d) M_k² under Objective('lr', alpha=alpha)
    thresholds_lambda: jnp.ndarray  # (n_lam, d) T_k = (1 + λ)² λ_k / V
    thresholds_alpha: jnp.ndarray   # (n_alpha, d) T_k = (λ_k + 2ασ_dec²)² / (λ_k V)


def _normalised(eigenvalues):
    """``t_k = max(λ_k, 0) / V`` and ``V``."""
    lam = jnp.asarray(eigenvalues)
    V = jnp.sum(lam, axis=-1)
    return jnp.maximum(lam, 0) / V, V


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


def _alpha_n(t, V, objective, sigma_dec2):
    """``α̃ = 2 α σ_dec² / V``: the LR cost of one latent that reads nothing, in the units of ``L̃``."""
    if objective.kind != "lr":
        return jnp.zeros((), t.dtype)
    return 2 * jnp.asarray(objective.alpha, t.dtype) * sigma_dec2 / V


def objective_coupling(eigenvalues, objective: Objective, sigma_dec2=1.0) -> Coupling:
    """Reduction factors of SPEC.md §5 (module docstring table): ``p_k`` and ``s_T``.

    ``p = 1 + λ`` (λβ), ``1 + 2ασ_dec²/λ_k`` (LR; ``inf`` for a zero mode when ``α > 0``), 1 otherwise;
    ``s_T = 1 + λ`` for the sampled λβ variant, 1 otherwise.
    """
    t, V = _normalised(eigenvalues)
    kappa, t_scale = _kappa(t, V, objective, sigma_dec2)
    positive = t > 0
    excess = kappa - t                                    # α̃ for LR, λ t for λβ, 0 otherwise
    if objective.kind == "lambda-beta":
        p = jnp.broadcast_to(1 + jnp.asarray(objective.lam, t.dtype), t.shape)
    else:
        p = jnp.where(positive, 1 + excess / jnp.where(positive, t, 1), jnp.where(excess > 0, jnp.inf, 1))
    return Coupling(p=p, t_scale=t_scale)


def objective_thresholds(eigenvalues, objective: Objective, sigma_dec2=1.0):
    """Normalised collapse thresholds ``T_k`` (units of ``T = β σ_dec² / V``) of SPEC.md §5, *derived*, verified.

    - β-VAE: ``T_k = λ_k / V``;
    - λβ-VAE (mean path): ``T_k = (1 + λ)² λ_k / V`` (uniform shift, PCA order kept);
    - λβ-VAE (sampled path): ``T_k = (1 + λ) λ_k / V`` (a β-VAE at ``β / (1 + λ)``);
    - LR-VAE with raw weight ``α``: ``T_k = (λ_k + 2 α σ_dec²)² / (λ_k V)``; needs the raw eigenvalues and
      ``σ_dec²``. It is smallest at ``λ_k = 2 α σ_dec²`` and grows again below, so weak modes are lifted most and
      the collapse order is no longer the PCA order. A zero mode has ``T_k = inf`` (its latent reads the null
      direction and cancels its LR penalty, with ``M² → 0``: see :func:`objective_closed_form`).

    A zero (or slightly negative) eigenvalue gives ``T_k = 0`` for the other objectives.

    Args:
      eigenvalues: ``(d,)`` raw PCA eigenvalues (any order); objective: :class:`Objective`; sigma_dec2: ``σ_dec²``.
    Returns:
      ``(d,)`` thresholds.
    """
    t, V = _normalised(eigenvalues)
    return objective_mode_threshold(t, V, objective, sigma_dec2)


def objective_mode_threshold(t, total_variance, objective: Objective, sigma_dec2=1.0):
    """Threshold ``T_k`` of :func:`objective_thresholds` for a mode of normalised eigenvalue ``t = λ_k / V`` alone
    (any shape); ``total_variance`` is ``V`` (the LR coupling ``2ασ_dec²/V`` depends on it). The companion of
    :func:`objective_mode_signal`."""
    t = jnp.asarray(t)
    kappa, t_scale = _kappa(t, total_variance, objective, sigma_dec2)
    positive = t > 0
    # Collapse where the (a, w) Hessian at the collapsed point, [[T, −κ̃], [−κ̃, t]] per unit, loses positivity.
    return jnp.where(positive, t_scale * kappa**2 / jnp.where(positive, t, 1), jnp.where(kappa > 0, jnp.inf, 0))


def objective_closed_form(T, eigenvalues, objective: Objective, n_latents=None, sigma_dec2=1.0) -> ObjectiveBranch:
    """Global optimum of an objective of the family at information prices ``T`` (SPEC.md §5; closed form).

    Per mode, with ``t = λ_k / V``, ``κ̃ = p t``, the price seen by the one-mode problem ``T' = T / s_T``
    (:func:`objective_coupling`) and ``u = 1 − a w`` (the fraction of the mode the mean path leaves):

    - ``u`` is the positive root of ``κ̃ (κ̃ − t) u² + κ̃ t u = t T'``, evaluated as ``u = √t ξ`` with
      ``ξ = 2 T' / (κ̃ √t + √(κ̃² t + 4 κ̃ (κ̃ − t) T'))`` (no cancellation, finite at ``t = 0``);
    - ``σ² = κ̃² ξ² / T'``, ``M² = mean μ² = 1 − σ²``, ``A² = 1``, ``R = −½ log σ²``;
    - sampled-path distortion ``t u² + T' M²``; mean-path distortion ``t u²``;
    - penalty: ``λ t u²`` (λβ), ``λ × distortion`` (sampled λβ), ``α̃ u²`` with ``α̃ = 2ασ_dec²/V`` (LR).

    A collapsed mode (``T ≥ T_k``) has ``u = 1``, ``σ² = 1``, ``M² = 0``; a mode no latent carries leaves ``t`` of
    distortion. β-VAE: ``u = σ² = T/t``, which is :func:`linvae.closed_form`. With ``K < d`` latents the modes with
    the largest loss gain are carried (for LR this need not be the top-K PCA modes). For LR with ``K < d`` this is
    the optimum among latents that read one mode each; :func:`objective_optimum` adds latents reading two modes,
    which can do better. Each of the ``K`` latents costs
    ``α̃ u²`` under LR, so a latent carrying no mode costs ``α̃``. An LR mode with ``λ_k = 0`` is the limit
    ``λ_k → 0``: its latent reads the null direction with diverging gain, ``u → 0`` (no penalty), ``M² → 0``; the
    infimum is not attained there.

    Args:
      T: information prices ``β σ_dec² / V``, any shape ``S``; positive.
      eigenvalues: ``(d,)`` raw PCA eigenvalues, descending.
      objective: :class:`Objective`.
      n_latents: ``K``; ``None`` means ``K = d``.
      sigma_dec2: ``σ_dec²`` (enters the LR closed form only).
    Returns:
      :class:`ObjectiveBranch` with per-mode fields of shape ``S + (d,)``.
    """
    t, V = _normalised(eigenvalues)
    d = t.shape[-1]
    K = d if n_latents is None else n_latents
    m = min(K, d)
    kappa, t_scale = _kappa(t, V, objective, sigma_dec2)
    alpha_n = _alpha_n(t, V, objective, sigma_dec2)
    Tk = objective_thresholds(eigenvalues, objective, sigma_dec2)
    T = jnp.asarray(T, t.dtype)[..., None]
    Tp, u_branch, log_s_branch, below = _active_branch(T, t, kappa, t_scale)
    dist_branch = t * u_branch**2 - Tp * jnp.expm1(log_s_branch)

    # Which modes get a latent: the min(K, d) largest gains (loss of the mode left alone, plus the LR cost of an
    # idle latent, minus the loss with a latent on it). Stable order keeps PCA order among equal gains.
    pen_branch, pen_free = _penalties(objective, t, u_branch, dist_branch, alpha_n)
    loss_branch = dist_branch - T * log_s_branch + pen_branch
    gain = jnp.where(below, t + pen_free + alpha_n - loss_branch, 0)
    rank = jnp.argsort(jnp.argsort(-gain, axis=-1, stable=True), axis=-1, stable=True)
    carried = rank < m

    engaged = carried & below
    active = engaged & (t > 0)
    u = jnp.where(engaged, u_branch, 1)
    log_sigma2 = jnp.where(active, log_s_branch, 0)
    M2 = jnp.where(active, -jnp.expm1(log_sigma2), 0)
    distortion = jnp.where(active, dist_branch, t)
    pen_carried, _ = _penalties(objective, t, u, distortion, alpha_n)
    penalty = jnp.where(carried, pen_carried, pen_free)
    rate = -0.5 * log_sigma2
    total_distortion = distortion.sum(-1)
    total_rate = rate.sum(-1)
    total_penalty = penalty.sum(-1) + (K - m) * alpha_n
    return ObjectiveBranch(
        tau=local_temperature(T[..., 0], Tk), active=active, carried=carried,
        partner=jnp.full(M2.shape, -1, jnp.int32), M2=M2, mu2=M2,
        sigma2=jnp.exp(log_sigma2), log_sigma2=log_sigma2, rate=rate, A2=jnp.ones_like(M2),
        distortion=distortion, mean_distortion=t * u**2, penalty=penalty, total_distortion=total_distortion,
        total_rate=total_rate, total_penalty=total_penalty,
        loss=total_distortion + 2 * T[..., 0] * total_rate + total_penalty,
        n_active=active.sum(-1).astype(jnp.int32),
    )


def _active_branch(T, t, kappa, t_scale):
    """The one-mode active branch of :func:`objective_closed_form` at prices ``T`` (broadcasting with ``t``):
    ``(T', u, log σ², below)``, evaluated everywhere on safe values (double-where: no NaN), ``below`` = ``T < T_k``."""
    Tp = T / t_scale
    coupled = kappa > 0
    kap = jnp.where(coupled, kappa, 1)
    root_t = jnp.sqrt(t)
    xi = 2 * Tp / (kap * root_t + jnp.sqrt(kap**2 * t + 4 * kap * (kap - t) * Tp))
    log_s = jnp.minimum(2 * jnp.log(kap * xi) - jnp.log(Tp), 0)
    return Tp, root_t * xi, log_s, coupled & (t * Tp < kap**2)


def objective_mode_signal(T, t, total_variance, objective: Objective, sigma_dec2=1.0):
    """Signal fraction ``M²`` at prices ``T`` of a mode with normalised eigenvalue ``t = λ_k / V`` that a latent
    carries: the per-mode law of :func:`objective_closed_form` (``M² = 1 − σ²``; 0 at and above ``T_k``). ``T`` and
    ``t`` broadcast; ``total_variance`` is ``V`` (the LR coupling ``2ασ_dec²/V`` depends on it)."""
    t = jnp.asarray(t)
    kappa, t_scale = _kappa(t, total_variance, objective, sigma_dec2)
    _, _, log_s, below = _active_branch(jnp.asarray(T, t.dtype), t, kappa, t_scale)
    return jnp.where(below & (t > 0), -jnp.expm1(log_s), 0)


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


class MixedLatent(NamedTuple):
    """One LR latent reading two modes ``i`` and ``j`` (output of :func:`lr_mixed_latent`); normalised units."""

    exists: jnp.ndarray        # bool: the interior stationary point exists (both gains > 0, 0 < M² < 1)
    M2: jnp.ndarray            # the latent's signal fraction 1 − T / (√t_i + √t_j)²
    sigma2: jnp.ndarray        # its posterior variance T / (√t_i + √t_j)²
    share_i: jnp.ndarray       # c_i t_i: the part of mean μ² (= M²) read from mode i
    share_j: jnp.ndarray       # c_j t_j
    mean_distortion_i: jnp.ndarray  # posterior-mean-path error in mode i, t_i u_i² + w_i² c_j t_j
    mean_distortion_j: jnp.ndarray  # t_j u_j² + w_j² c_i t_i
    distortion_i: jnp.ndarray  # sampled-path error in mode i, mean_distortion_i + w_i² σ²
    distortion_j: jnp.ndarray  # mean_distortion_j + w_j² σ²
    penalty: jnp.ndarray       # LR cost α̃ (1 − a·w)² = t_i t_j / α̃
    loss: jnp.ndarray          # distortion_i + distortion_j − T log σ² + penalty


def lr_mixed_latent(T, t_i, t_j, alpha_n) -> MixedLatent:
    """Closed form of one LR-VAE latent that reads two modes at once (SPEC.md §5; docs/objectives.md §6).

    Normalised units (``t = λ/V``, ``T = βσ_dec²/V``, ``α̃ = 2ασ_dec²/V``). A latent with encoder gains ``a_k``
    (``c_k = a_k²``) on modes with ``t_i ≠ t_j`` and its decoder eliminated has, at ``A² = Σ c_k t_k + σ² = 1``
    (every stationary point), the loss ``t_i + t_j + α̃ − T log(1 − q) − Σ c_k κ_k² + α̃ Q² / (1 + α̃ n)`` with
    ``κ_k = t_k + α̃``, ``n = Σ c_k``, ``q = Σ c_k t_k``, ``Q = Σ c_k κ_k``. Its interior stationary point is

    - ``α̃ (a·w) = α̃ − √(t_i t_j)``, so the LR cost is ``t_i t_j / α̃``;
    - ``σ² = T / ρ`` with ``ρ = (√t_i + √t_j)²``: the latent collapses like a β-VAE latent on a mode of
      normalised variance ``ρ``, ``M² = 1 − T / ρ``;
    - ``n = (α̃ σ² − √(t_i t_j)) / (α̃ √(t_i t_j))``, ``c_i = (M² − n t_j) / (t_i − t_j)``,
      ``c_j = (n t_i − M²) / (t_i − t_j)``, ``a_k w_k = c_k (t_k + √(t_i t_j))``, ``w_k² = c_k t_k ρ``;
    - the error left in mode ``i`` has the mode's own part ``t_i (1 − a_i w_i)²``, the leak of mode ``j`` through
      the shared latent ``w_i² c_j t_j`` and, on the sampled path, the noise ``w_i² σ²``.

    It exists (``exists``: ``c_i, c_j > 0``) for ``t_i > t_j`` exactly in the window
    ``√t_j ρ̂ (1 + t_i/α̃) < T < √t_i ρ̂ (1 + t_j/α̃)`` with ``ρ̂ = √t_i + √t_j``, which is not empty iff
    ``α̃ > √(t_i t_j)``. At its lower end ``c_j → 0`` and at its upper end ``c_i → 0``: there it is the one-mode
    latent of mode ``i`` (resp. ``j``), so across the window a latent turns continuously from the stronger mode to
    the weaker one (whose LR threshold is higher). It is the only interior stationary point, so the pair's optimum
    is the lower of it and the two one-mode optima. (A latent reading three or more modes never does better: for
    fixed ``n`` and ``q`` the loss falls as ``Σ c_k t_k²`` grows, which puts all weight on the two extreme modes.)

    ``t_j = 0`` (a null direction of the data) is the limit ``t_j → 0``: the latent reads the null direction with a
    diverging gain, which cancels its LR cost, and is the β-VAE latent of mode ``i`` (``M² = 1 − T/t_i`` for
    ``T < t_i``, no penalty); the infimum is not attained (docs/objectives.md §7). As ``t_j → t_i`` the window
    closes and the formulas lose accuracy (relative error ~ ``1e-16 / |t_i/t_j − 1|``). Vectorised over broadcast
    inputs; evaluated on safe values where the point does not exist (no NaN).
    """
    dtype = jnp.result_type(t_i, t_j, float)
    t_i, t_j = jnp.asarray(t_i, dtype), jnp.asarray(t_j, dtype)
    T = jnp.asarray(T, dtype)
    alpha_n = jnp.asarray(alpha_n, dtype)
    ok = (t_i > 0) & (t_j > 0) & (t_i != t_j) & (alpha_n > 0) & (T > 0)
    ti, tj = jnp.where(ok, t_i, 2.0), jnp.where(ok, t_j, 1.0)
    an, Ts = jnp.where(ok, alpha_n, 1.0), jnp.where(ok, T, 1.0)
    g = jnp.sqrt(ti * tj)
    rho = (jnp.sqrt(ti) + jnp.sqrt(tj)) ** 2
    sigma2 = Ts / rho
    M2 = -jnp.expm1(jnp.log(Ts) - jnp.log(rho))
    n = (an * sigma2 - g) / (an * g)
    c_i = (M2 - n * tj) / (ti - tj)
    c_j = (n * ti - M2) / (ti - tj)
    w2_i, w2_j = c_i * ti * rho, c_j * tj * rho
    m_i = ti * (1 - c_i * (ti + g)) ** 2 + w2_i * c_j * tj
    m_j = tj * (1 - c_j * (tj + g)) ** 2 + w2_j * c_i * ti
    # t_j = 0: the limit t_j → 0, a β-VAE latent on mode i whose LR cost the null direction cancels
    null = (t_i > 0) & (t_j <= 0) & (alpha_n > 0) & (T > 0)
    t_safe = jnp.where(null, t_i, 1.0)
    null_s = jnp.where(null, T, 0.5) / t_safe
    sigma2 = jnp.where(null, null_s, sigma2)
    M2 = jnp.where(null, -jnp.expm1(jnp.log(jnp.where(null, T, 0.5)) - jnp.log(t_safe)), M2)
    share_i, share_j = jnp.where(null, M2, c_i * ti), jnp.where(null, 0, c_j * tj)
    m_i, m_j = jnp.where(null, t_safe * null_s**2, m_i), jnp.where(null, 0, m_j)
    d_i, d_j = m_i + jnp.where(null, t_safe * null_s * M2, w2_i * sigma2), m_j + jnp.where(null, 0, w2_j * sigma2)
    penalty = jnp.where(null, 0, ti * tj / an)
    exists = (ok & (n > 0) & (c_i > 0) & (c_j > 0) | null) & (sigma2 < 1)
    log_s = jnp.where(exists, jnp.log(jnp.where(exists, sigma2, 1)), 0.0)
    return MixedLatent(
        exists=exists, M2=jnp.where(exists, M2, 0), sigma2=jnp.where(exists, sigma2, 1),
        share_i=jnp.where(exists, share_i, 0), share_j=jnp.where(exists, share_j, 0),
        mean_distortion_i=jnp.where(exists, m_i, t_i), mean_distortion_j=jnp.where(exists, m_j, t_j),
        distortion_i=jnp.where(exists, d_i, t_i), distortion_j=jnp.where(exists, d_j, t_j),
        penalty=jnp.where(exists, penalty, alpha_n),
        loss=jnp.where(exists, d_i + d_j - T * log_s + penalty, jnp.inf),
    )


def objective_optimum(T, eigenvalues, objective: Objective, n_latents=None, sigma_dec2=1.0) -> ObjectiveBranch:
    """Global optimum of an objective of the family, LR latents that read two modes included (SPEC.md §5).

    For β and λβ objectives, and for LR with ``α = 0``, this is :func:`objective_closed_form`. For LR a latent may
    read two modes at once and pay its LR cost once (:func:`lr_mixed_latent`); with fewer latents than modes that
    can beat one mode per latent. Latents read disjoint sets of modes (verified against scipy minimisation of the
    full matrix loss from random starts; not proven), each at most two. So at each ``T`` the optimum is the packing
    of at most ``K`` groups (one mode or a pair) that maximises the total gain
    ``gain(S) = Σ_{k∈S} t_k + α̃ − loss(S)`` (a latent reading nothing costs ``α̃``, a mode nobody reads leaves
    ``t_k``), solved exactly as a 0/1 program by scipy's ``milp`` (HiGHS) wherever a pair beats both of its one-mode
    latents; elsewhere the one-mode closed form stands. Not jittable (numpy, float64).

    A mixed latent is stored on the mode that gives it more of its signal (``active``, ``M2``, ``sigma2``,
    ``rate``, ``penalty``); its other mode has ``M2 = 0`` and ``carried = True``; ``partner`` links the two.
    ``distortion`` and ``mean_distortion`` stay per mode. ``tau`` keeps the one-mode thresholds.

    Args and returns as :func:`objective_closed_form` (numpy arrays).
    """
    lam = np.asarray(eigenvalues, np.float64)
    Tf = np.asarray(T, np.float64)
    with jax.enable_x64(True):
        closed = jax.tree.map(np.asarray, _closed_form_jit(Tf, lam, objective, n_latents, sigma_dec2))
        if objective.kind != "lr" or float(objective.alpha) == 0 or Tf.size == 0:
            return closed
        t = np.maximum(lam, 0) / lam.sum()
        alpha_n = 2 * float(objective.alpha) * float(sigma_dec2) / lam.sum()
        d = t.size
        K = d if n_latents is None else int(n_latents)
        shape = closed.M2.shape
        Tf = Tf.reshape(-1)
        one = jax.tree.map(np.asarray, _closed_form_jit(Tf, lam, objective, None, sigma_dec2))
        # pairs i < j with t_i > t_j, every positive mode with every other mode, zero modes included (their limit
        # in lr_mixed_latent); near-equal modes gain O(|t_i − t_j|²) from mixing, below the formulas' accuracy
        I, J = np.triu_indices(d, 1)
        swap = t[I] < t[J]
        I, J = np.where(swap, J, I), np.where(swap, I, J)
        keep = (t[I] > 0) & (t[I] - t[J] > 1e-6 * t[I])
        I, J = I[keep], J[keep]
        mixed = jax.tree.map(np.asarray, _mixed_latent_jit(Tf[:, None], t[I], t[J], alpha_n))
    single_gain = t + alpha_n - (one.distortion + 2 * Tf[:, None] * one.rate + one.penalty)
    pair_gain = np.where(mixed.exists, t[I] + t[J] + alpha_n - mixed.loss, -np.inf)
    better = pair_gain > np.maximum(single_gain[:, I], single_gain[:, J]) + 1e-13
    fields = {name: np.array(value).reshape((-1, d) if np.ndim(value) == len(shape) else (-1,))
              for name, value in closed._asdict().items()}
    for row in np.flatnonzero(better.any(axis=1)):
        chosen = _pack(single_gain[row], pair_gain[row], I, J, better[row], K)
        if chosen is not None:
            _fill_mixed(fields, row, chosen, single_gain[row], one, mixed, t, I, J, K, alpha_n, Tf[row])
    return ObjectiveBranch(**{name: value.reshape(shape if value.ndim == 2 else shape[:-1])
                              for name, value in fields.items()})


# objective_optimum calls the closed forms eagerly on numpy arrays: jitted, each grid shape compiles once
_closed_form_jit = jax.jit(objective_closed_form, static_argnames="n_latents")
_mixed_latent_jit = jax.jit(lr_mixed_latent)


def _pack(single_gain, pair_gain, I, J, usable, K):
    """Groups (singles, pairs) maximising the total gain with at most ``K`` groups and each mode in one group:
    a 0/1 program solved by scipy's ``milp``; ``None`` when the best packing has no pair (one-mode optimum)."""
    import scipy.optimize  # a dependency, imported on first use: ``import linvae`` does not load it

    d = single_gain.size
    singles = np.flatnonzero(single_gain > 0)
    pairs = np.flatnonzero(usable)
    gain = np.concatenate([single_gain[singles], pair_gain[pairs]])
    member = np.zeros((d, gain.size))
    member[singles, np.arange(singles.size)] = 1
    member[I[pairs], singles.size + np.arange(pairs.size)] = 1
    member[J[pairs], singles.size + np.arange(pairs.size)] = 1
    # Packings can differ by 1e-9 of the gain; HiGHS stops within an absolute gap (1e-6 by default) of the best
    # bound, so the gap is set to 0 (an option scipy passes on verbatim, with a warning) and the gains are scaled
    # to 1e6, which also puts the LP tolerances (1e-7) at 1e-13 of the gain.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Unrecognized options", RuntimeWarning)
        res = scipy.optimize.milp(
            -gain * (1e6 / np.max(np.abs(gain))), integrality=np.ones(gain.size), bounds=scipy.optimize.Bounds(0, 1),
            constraints=[scipy.optimize.LinearConstraint(member, -np.inf, 1),
                         scipy.optimize.LinearConstraint(np.ones((1, gain.size)), -np.inf, K)],
            options={"mip_rel_gap": 0.0, "mip_abs_gap": 0.0})
    if not res.success:
        raise RuntimeError(f"the LR latent assignment (scipy milp) failed: {res.message}; please report the "
                           "eigenvalues, T, K and alpha to the linvae issue tracker")
    x = res.x > 0.5
    chosen_pairs = pairs[x[singles.size:]]
    if chosen_pairs.size == 0:
        return None
    return singles[x[:singles.size]], chosen_pairs


def _fill_mixed(fields, row, chosen, gain, one, mixed, t, I, J, K, alpha_n, T):
    """Write the optimum with mixed latents into row ``row`` of the per-mode ``fields`` (see objective_optimum)."""
    singles, pairs = chosen
    d = t.size
    busy = np.zeros(d, bool)
    busy[singles] = busy[I[pairs]] = busy[J[pairs]] = True
    # latents left over go, as in the closed form, to the free modes of largest gain (collapsed: gain 0, cost α̃)
    free = np.flatnonzero(~busy)
    extra = free[np.argsort(-gain[free], kind="stable")][:max(K - singles.size - pairs.size, 0)]
    carried = np.zeros(d, bool)
    carried[singles] = carried[extra] = True
    per_mode = {name: np.where(carried, getattr(one, name)[row], default) for name, default in (
        ("M2", 0.0), ("mu2", 0.0), ("sigma2", 1.0), ("log_sigma2", 0.0), ("rate", 0.0), ("distortion", t),
        ("mean_distortion", t), ("penalty", 0.0))}
    active = carried & (per_mode["M2"] > 0)
    partner = np.full(d, -1, np.int32)
    for p in pairs:
        i, j = I[p], J[p]
        m = jax.tree.map(lambda x: x[row, p], mixed)
        main = i if m.share_i >= m.share_j else j
        for k, other, mean_dist, dist in ((i, j, m.mean_distortion_i, m.distortion_i),
                                          (j, i, m.mean_distortion_j, m.distortion_j)):
            carried[k], partner[k] = True, other
            per_mode["distortion"][k], per_mode["mean_distortion"][k] = dist, mean_dist
        per_mode["M2"][main] = per_mode["mu2"][main] = m.M2
        per_mode["sigma2"][main] = m.sigma2
        per_mode["log_sigma2"][main] = np.log(m.sigma2)
        per_mode["rate"][main] = -0.5 * np.log(m.sigma2)
        per_mode["penalty"][main] = m.penalty
        active[main] = True
    n_groups = singles.size + extra.size + pairs.size
    total_penalty = per_mode["penalty"].sum() + (K - n_groups) * alpha_n
    for name, value in per_mode.items():
        fields[name][row] = value
    fields["active"][row], fields["carried"][row], fields["partner"][row] = active, carried, partner
    fields["A2"][row] = 1.0
    fields["total_distortion"][row] = per_mode["distortion"].sum()
    fields["total_rate"][row] = per_mode["rate"].sum()
    fields["total_penalty"][row] = total_penalty
    fields["loss"][row] = fields["total_distortion"][row] + 2 * T * fields["total_rate"][row] + total_penalty
    fields["n_active"][row] = active.sum()


def objective_one_mode_loss(a, w, sigma2, eigenvalue, beta, objective: Objective, sigma_dec2=1.0):
    """Raw one-mode loss in the PCA basis (SPEC.md §5), biases at their optimum (``b = 0``, ``c = x̄``).

    With ``y`` the mode's coordinate (variance ``λ``), ``μ = a y``, ``z = μ + σ ε``, ``x̂ = w z``:
    ``E(y − x̂)² = λ (1 − a w)² + w² σ²`` (sampled path), ``λ (1 − a w)²`` (mean path),
    ``R = ½ (a² λ + σ² − log σ² − 1)`` and
    ``L = E(y − x̂)² / (2σ_dec²) + β R`` plus ``λ_pen λ (1 − a w)² / (2σ_dec²)`` (λβ),
    ``λ_pen E(y − x̂)² / (2σ_dec²)`` (sampled λβ) or ``α (a w − 1)²`` (LR).
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


def objective_reduced_loss(M2, A2, tau, p, t_scale=1.0):
    """Decoder-eliminated one-mode loss in units of ``D_0 = λ_k / (2σ_dec²)`` (generalises SPEC.md §3).

    ``ℓ(M², A²) = s_T {p (1 − M²) / (1 + (p − 1) M²) + τ [A² − log A² − log(1 − M²) − 1]}`` with ``τ = T / (s_T t)``
    the price the one-mode problem sees and ``p``, ``s_T`` from :func:`objective_coupling`. ``p = s_T = 1`` is the
    β-VAE loss of :func:`linvae.one_mode_loss`. The minimum over ``A²`` is at ``A² = 1`` for every objective.
    """
    data = p * (1 - M2) / (1 + (p - 1) * M2)
    return t_scale * (data + tau * (A2 - jnp.log(A2) - jnp.log1p(-M2) - 1))


def objective_landau(tau, p) -> Landau:
    """Landau expansion of :func:`objective_reduced_loss` (``A² = 1``, ``s_T = 1``) about the collapsed point.

    ``ℓ = p + (τ − p²) M² + [p² (p − 1) + τ/2] M⁴ + O(M⁶)``. The quadratic coefficient vanishes at the threshold
    ``τ = p²`` (``T_k = s_T p² λ_k / V``), where the quartic one is ``p² (p − ½)``: positive for every allowed weight
    (``p ≥ 1``), so every transition of the family is continuous. (It would turn first-order only for
    ``p < ½``, i.e. a negative weight ``λ < −½``, which :class:`Objective` rejects.)
    """
    tau = jnp.asarray(tau)
    p = jnp.asarray(p, tau.dtype)
    return Landau(c0=p * jnp.ones_like(tau), c2=tau - p**2, c4=p**2 * (p - 1) + tau / 2)


def collapse_is_continuous(eigenvalues, objective: Objective, sigma_dec2=1.0):
    """Per mode: is the collapse transition continuous (``M² → 0`` at ``T_k``, no jump, no coexistence)?

    True where the Landau quartic coefficient at the threshold, ``p² (p − ½)``, is positive (:func:`objective_landau`).
    For this family the active branch is also the only non-trivial stationary point and exists exactly for
    ``T < T_k``, while the collapsed point is a local minimum exactly for ``T ≥ T_k``: the spinodal and the global
    transition are both ``T_k`` (:func:`objective_thresholds`). An LR zero mode (``p = inf``) counts as continuous
    (``M² = 0`` at every ``T``).
    """
    p = objective_coupling(eigenvalues, objective, sigma_dec2).p
    return jnp.where(jnp.isfinite(p), objective_landau(jnp.where(jnp.isfinite(p), p, 1) ** 2, p).c4 > 0, True)


def phase_diagram(T, eigenvalues, lams, alphas, n_latents=None, sigma_dec2=1.0) -> PhaseDiagram:
    """Signal fractions ``M_k²`` on ``(λ, T)`` and ``(α, T)`` grids, with the threshold curves (SPEC.md §5).

    One ``jax.vmap`` over the weights of :func:`objective_closed_form` for ``Objective('lambda-beta', lam)`` and
    ``Objective('lr', alpha=alpha)``, jitted once here (new weight values of the same count do not recompile).
    With fewer latents than modes the LR part is :func:`objective_optimum` per weight (a latent reading two modes
    holds its ``M²`` on one of them).

    Args:
      T: ``(n_T,)`` information prices; eigenvalues: ``(d,)`` raw, descending; lams: ``(n_lam,)`` λβ weights ≥ 0;
      alphas: ``(n_alpha,)`` raw LR weights ≥ 0; n_latents: ``K`` (``None``: ``d``); sigma_dec2: ``σ_dec²``.
    """
    lam_e = jnp.asarray(eigenvalues)
    dtype = lam_e.dtype
    T = jnp.asarray(T, dtype)
    weights = {}
    for name, values in (("lam", lams), ("alpha", alphas)):
        values = np.atleast_1d(np.asarray(values, dtype=float))
        if values.ndim != 1 or not np.all(np.isfinite(values) & (values >= 0)):
            raise InputError(f"phase_diagram {name}s must be a 1-D list of finite weights >= 0, found {values}; "
                             f"e.g. {name}s=[0, 0.5, 1, 2]")
        weights[name] = jnp.asarray(values, dtype)

    M2_l, Tk_l, M2_a, Tk_a = _phase_grid(T, lam_e, weights["lam"], weights["alpha"], n_latents, sigma_dec2)
    if M2_a is None:  # LR with fewer latents than modes: latents may read two modes (objective_optimum, not jittable)
        M2_a = jnp.asarray(np.stack([objective_optimum(T, lam_e, Objective("lr", alpha=float(a)), n_latents,
                                                       sigma_dec2).M2 for a in np.asarray(weights["alpha"])]), dtype)
    return PhaseDiagram(T=T, lam=weights["lam"], alpha=weights["alpha"], M2_lambda=M2_l, M2_alpha=M2_a,
                        thresholds_lambda=Tk_l, thresholds_alpha=Tk_a)


@functools.partial(jax.jit, static_argnames="n_latents")
def _phase_grid(T, eigenvalues, lams, alphas, n_latents, sigma_dec2):
    def per_weight(objective):
        branch = objective_closed_form(T, eigenvalues, objective, n_latents, sigma_dec2)
        return branch.M2, objective_thresholds(eigenvalues, objective, sigma_dec2)

    M2_l, Tk_l = jax.vmap(lambda w: per_weight(Objective("lambda-beta", lam=w)))(lams)
    if n_latents is not None and n_latents < eigenvalues.shape[-1]:   # LR M² left to phase_diagram
        Tk_a = jax.vmap(lambda w: objective_thresholds(eigenvalues, Objective("lr", alpha=w), sigma_dec2))(alphas)
        return M2_l, Tk_l, None, Tk_a
    M2_a, Tk_a = jax.vmap(lambda w: per_weight(Objective("lr", alpha=w)))(alphas)
    return M2_l, Tk_l, M2_a, Tk_a
