"""Activity criteria: which latents does each published rule call active, at every scan point (docs/theory.md §8)?

Every criterion is computed per grid point and latent, arrays shaped ``(T, latent)``; thresholds live in one
frozen :class:`ActivityThresholds`. The rules, with ``x`` running over held-out data:

- signal fraction ``M_k² > m`` (Hirn);  KL rate ``R_k > ε`` nats (Lucas et al.);
- active units ``Var_x μ_k ≥ v``;
- Bonheme & Grzes: with ``Var_x σ_k² < w``, ``mean σ_k²`` within ``δ`` of 0 is *active*, within ``δ`` of 1 is
  *passive*; everything else is *mixed*. Encoded as small integers, :data:`BONHEME_LEGEND`:
  ``0 = passive``, ``1 = mixed``, ``2 = active`` (ordered by activity);
- entropy of the mean representation, three ways:
  the matrix-based Rényi entropy of order α (default 2) of the normalised RBF Gram matrix of ``μ_k`` over batches
  of samples (Sanchez Giraldo, Rao & Principe 2015; as used by Clapham 2026) with a bandwidth fixed in the prior's
  units (:func:`prior_bandwidth`, linvae's default: it sees scale) and with the published per-latent Silverman
  bandwidth (scale-invariant: it sees only whether ``μ_k`` varies at all); and for Gaussian ``μ_k`` the closed
  form ``½ log(2πe Var μ_k)``.

Units: **every entropy here is in bits (log base 2)**, the Rényi estimator's and the Gaussian closed form's alike,
so one threshold scale serves both; KL rates stay in nats, as everywhere in linvae.

Closed-form onsets (:func:`onset_levels`, :func:`criterion_onsets`): on the β-VAE optimum (docs/theory.md §3) an active
mode has ``mean μ_k² = Var μ_k = 1 − τ_k``, ``σ_k² = τ_k`` (constant over the data) and ``R_k = −½ log τ_k``, a
collapsed one ``μ_k ≡ 0``, ``σ_k² = 1``. Each rule is then a threshold ``τ*`` on ``τ_k = T / T_k``: mode ``k`` is
called active for ``T`` below ``T_k τ*``; other objectives follow their own ``M²(T)`` (:func:`criterion_onsets`).

The heavy numerics are plain array functions; names are attached only in :func:`linvae.analysis.add_activity_criteria`.
"""

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linvae._errors import InputError
from linvae.model import Objective
from linvae.theory import signal_onsets

__all__ = [
    "ActivityThresholds", "Criteria", "Onsets", "BONHEME_LEGEND", "PASSIVE", "MIXED", "ACTIVE",
    "silverman_bandwidth", "prior_bandwidth", "renyi_entropy", "mean_representation_entropy", "gaussian_entropy",
    "bonheme_class",
    "activity_criteria", "onset_levels", "criterion_onsets",
]

PASSIVE = 0
"""Bonheme class 0: steady encoder variance with mean σ² within ``tol`` of 1, the prior's (docs/criteria.md)."""
MIXED = 1
"""Bonheme class 1: neither passive nor active (docs/criteria.md)."""
ACTIVE = 2
"""Bonheme class 2: steady encoder variance with mean σ² within ``tol`` of 0 (docs/criteria.md)."""
BONHEME_LEGEND = "0 = passive, 1 = mixed, 2 = active"
"""The ``flag_meanings`` of the ``bonheme_class`` variable (docs/criteria.md)."""
_LOG2_2PIE = float(np.log2(2 * np.pi * np.e))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ActivityThresholds:
    """Thresholds of the activity criteria of docs/theory.md §8 (defaults in brackets).

    The paper leaves both entropy thresholds heuristic (docs/criteria.md).

    Attributes:
      signal_fraction: ``M² > m`` [0.1].
      kl: ``R_k > ε`` in nats [0.01].
      var_mu: ``Var_x μ_k ≥ v`` [0.01].
      bonheme_var_sigma2: Bonheme & Grzes need ``Var_x σ_k² < w`` [0.1].
      bonheme_tol: ``mean σ_k²`` within ``δ`` of 0 (active) or of 1 (passive) [0.1].
      renyi_entropy: Rényi entropy of the mean representation ``> h`` bits [0.1], both bandwidths (with the
        prior's, order 2, batches of 100, Gaussian ``μ_k``: ``Var μ_k`` above about 0.0067; with Silverman's: any
        ``μ_k ≢ 0``). Low because skewed real data concentrate ``μ_k`` and lower its entropy (docs/criteria.md).
      gaussian_entropy: ``½ log2(2πe Var μ_k) > h`` bits [0.0, i.e. ``Var μ_k > 1/(2πe) ≈ 0.059``].
    """

    signal_fraction: float = 0.1
    kl: float = 0.01
    var_mu: float = 0.01
    bonheme_var_sigma2: float = 0.1
    bonheme_tol: float = 0.1
    renyi_entropy: float = 0.1
    gaussian_entropy: float = 0.0

    def __post_init__(self):
        checks = {
            "signal_fraction": 0 <= self.signal_fraction < 1, "kl": self.kl >= 0, "var_mu": self.var_mu >= 0,
            "bonheme_var_sigma2": self.bonheme_var_sigma2 > 0, "bonheme_tol": 0 <= self.bonheme_tol < 0.5,
            "renyi_entropy": np.isfinite(self.renyi_entropy), "gaussian_entropy": np.isfinite(self.gaussian_entropy),
        }
        bad = [f"{name}={float(getattr(self, name))!r}" for name, ok in checks.items() if not ok]
        if bad:
            raise InputError(f"invalid activity thresholds {', '.join(bad)}; expected signal_fraction in [0, 1), "
                             "kl >= 0, var_mu >= 0, bonheme_var_sigma2 > 0, bonheme_tol in [0, 0.5), finite "
                             "entropies, e.g. ActivityThresholds()")


class Criteria(NamedTuple):
    """Verdict of every criterion, each ``(T, latent)`` (or any common shape) (docs/theory.md §8).

    Attributes:
      signal_fraction: bool, ``M² > m``.
      kl: bool, ``R_k > ε``.
      active_units: bool, ``Var μ_k ≥ v``.
      bonheme: int8, :data:`BONHEME_LEGEND` (0 passive, 1 mixed, 2 active).
      renyi_entropy: bool, Rényi entropy of ``μ_k`` ``> h`` (bits), linvae's bandwidth (default the prior's).
      gaussian_entropy: bool, ``½ log2(2πe Var μ_k) > h`` (bits).
      renyi_entropy_silverman: bool, the same rule on the entropy with Silverman's per-latent bandwidth.
    """

    signal_fraction: np.ndarray   # bool: M² > m
    kl: np.ndarray                # bool: R_k > ε
    active_units: np.ndarray      # bool: Var μ_k ≥ v
    bonheme: np.ndarray           # int8: BONHEME_LEGEND (0 passive, 1 mixed, 2 active)
    renyi_entropy: np.ndarray     # bool: Rényi entropy of μ_k > h (bits), fixed bandwidth (default the prior's)
    gaussian_entropy: np.ndarray  # bool: ½ log2(2πe Var μ_k) > h (bits)
    renyi_entropy_silverman: np.ndarray  # bool: the same rule with Silverman's per-latent bandwidth


class Onsets(NamedTuple):
    """Closed-form onsets ``τ*`` on ``τ = T / T_k`` (docs/theory.md §8): the rule calls a mode active for ``τ``
    below.

    Attributes:
      signal_fraction: ``M² = 1 − τ > m ⇔ τ < 1 − m``.
      kl: ``R = −½ log τ > ε ⇔ τ < e^{−2ε}``.
      active_units: ``Var μ = 1 − τ ≥ v ⇔ τ ≤ 1 − v``.
      bonheme_active: ``σ² = τ`` within ``δ`` of 0 ``⇔ τ ≤ δ`` (``Var σ² = 0``).
      bonheme_passive: ``σ² = min(τ, 1)`` within ``δ`` of 1 ``⇔ τ ≥ 1 − δ``; mixed in between.
      renyi_entropy: fixed bandwidth ``h_k``: ``1 − τ > v*`` with ``v*`` where the order-2 estimate of Gaussian
        samples crosses the threshold (:func:`onset_levels`).
      gaussian_entropy: ``½ log2(2πe (1 − τ)) > h ⇔ τ < 1 − 2^{2h} / (2πe)``, clipped to [0, 1].
      renyi_entropy_silverman: the scale-invariant estimator counts any ``μ_k ≢ 0``, so ``τ < 1``.
    """

    signal_fraction: float   # M² = 1 − τ > m           ⇔ τ < 1 − m
    kl: float                # R = −½ log τ > ε         ⇔ τ < e^{−2ε}
    active_units: float      # Var μ = 1 − τ ≥ v        ⇔ τ ≤ 1 − v
    bonheme_active: float    # σ² = τ within δ of 0     ⇔ τ ≤ δ   (Var σ² = 0)
    bonheme_passive: float   # σ² = min(τ, 1) within δ of 1 ⇔ τ ≥ 1 − δ; mixed in between
    renyi_entropy: float     # fixed bandwidth: 1 − τ above the variance v* where the estimate crosses h
    gaussian_entropy: float  # ½ log2(2πe (1 − τ)) > h  ⇔ τ < 1 − 2^{2h} / (2πe), clipped to [0, 1]
    renyi_entropy_silverman: float  # scale-invariant estimator: any μ_k ≢ 0 counts ⇒ τ < 1


def silverman_bandwidth(samples):
    """Silverman's normal-reference bandwidth ``h = (4 / (3n))^{1/5} s`` over the last axis of ``samples``
    ``(..., n)``, with ``s`` the sample standard deviation (``n − 1`` in the denominator) (docs/theory.md §8).

    Args:
      samples: array ``(..., n)`` of 1-D sample sets.

    Returns:
      The bandwidths, shape ``(...)``.
    """
    x = jnp.asarray(samples)
    n = x.shape[-1]
    return (4 / (3 * n)) ** 0.2 * jnp.std(x, axis=-1, ddof=1)


def prior_bandwidth(batch_size=100):
    """Silverman's rule applied to the prior ``N(0, 1)`` instead of each latent's own spread: the fixed bandwidth
    ``h = (4 / (3n))^{1/5}`` (0.423 for batches of 100) that makes the Rényi entropy see scale, linvae's default
    (docs/criteria.md, "Two bandwidths").

    In prior units a latent's spread means something: an active latent of the optimum has ``Var μ_k = M_k²`` and a
    collapsed one ``0`` up to rounding. With this bandwidth float32 residue of ``10⁻⁸`` scores ``~10⁻¹⁵`` bits, where
    Silverman's per-latent rule scores it like a unit Gaussian.

    Args:
      batch_size: samples per batch ``n``.

    Returns:
      The bandwidth, a float.
    """
    return (4 / (3 * batch_size)) ** 0.2


def renyi_entropy(samples, *, alpha=2.0, bandwidth=None, method=None):
    """Matrix-based Rényi entropy (bits) of 1-D samples ``(..., n)``, vectorised over the leading axes.

    ``K_ij = exp(−(x_i − x_j)² / (2h²))``, ``Â = K / tr K`` (unit trace, eigenvalues ``λ_i ≥ 0`` summing to 1),
    ``S_α = log2(Σ_i λ_i^α) / (1 − α)`` (Sanchez Giraldo, Rao & Principe 2015). For ``α = 2`` this is
    ``S_2 = −log2 tr(Â²) = −log2 Σ_ij Â_ij²``, which ``method="trace"`` evaluates without an eigendecomposition;
    ``method="eigvalsh"`` diagonalises with ``jnp.linalg.eigvalsh`` (batched over all leading axes) and works for
    any ``α > 0, α ≠ 1``. The two agree to rounding (a test). ``method=None`` picks ``"trace"`` for ``α = 2``
    (measured on the 2-core CPU: 32 latents × 10 batches of 100 take 0.015 s, against 6 s for the batched
    ``eigvalsh`` of jax 0.10.2, ten times slower than numpy's), ``"eigvalsh"`` otherwise.

    Bandwidth: Silverman's rule per sample set (:func:`silverman_bandwidth`) unless ``bandwidth`` is given.
    Because that bandwidth is proportional to the spread of the samples, the estimate is **invariant to rescaling**
    ``μ_k → c μ_k``: it sees the shape of the distribution, not its scale. A latent with ``μ_k`` exactly constant
    gets ``S = 0`` (``K`` all ones), but any nonzero spread, however tiny, gets the full value of its shape (a
    Gaussian sample of 100 points: about 2.2 bits). Pass a fixed ``bandwidth`` to make the estimate scale-aware.
    See docs/theory.md §8 and docs/criteria.md.

    Args:
      samples: array ``(..., n)`` of 1-D sample sets.
      alpha: the Rényi order, ``α > 0, α ≠ 1``.
      bandwidth: fixed kernel bandwidth ``h`` (broadcast over the leading axes); ``None`` uses Silverman's rule.
      method: ``"trace"`` (``α = 2`` only), ``"eigvalsh"`` or ``None`` (pick by ``alpha``).

    Returns:
      The entropies in bits, shape ``(...)``.
    """
    if not (alpha > 0 and alpha != 1):
        raise InputError(f"the Rényi order must be positive and not 1, found alpha={alpha}; e.g. 2")
    method = ("trace" if alpha == 2 else "eigvalsh") if method is None else method
    if method not in ("eigvalsh", "trace"):
        raise InputError(f"method must be 'eigvalsh' or 'trace', found {method!r}")
    if method == "trace" and alpha != 2:
        raise InputError(f"method='trace' computes the order-2 entropy only, found alpha={alpha}; use 'eigvalsh'")
    return _renyi_entropy(jnp.asarray(samples), alpha, bandwidth, method)


@functools.partial(jax.jit, static_argnames="method")
def _renyi_entropy(x, alpha, bandwidth, method):
    h = silverman_bandwidth(x) if bandwidth is None else jnp.broadcast_to(jnp.asarray(bandwidth, x.dtype),
                                                                          x.shape[:-1])
    # A constant sample set has h = 0 and all differences 0: any h > 0 gives the right K (all ones).
    h = jnp.where(h > 0, h, 1)[..., None, None]
    diff = x[..., :, None] - x[..., None, :]
    gram = jnp.exp(-0.5 * (diff / h) ** 2)
    A = gram / x.shape[-1]  # tr K = n for the RBF kernel
    if method == "trace":
        return -jnp.log2(jnp.sum(A**2, axis=(-2, -1)))
    eig = jnp.clip(jnp.linalg.eigvalsh(A), 0, None)  # rounding can leave tiny negative eigenvalues
    return jnp.log2(jnp.sum(eig**alpha, axis=-1)) / (1 - alpha)


def mean_representation_entropy(mu, *, batch_size=100, alpha=2.0, bandwidth=None, method=None):
    """Rényi entropy (bits) of the mean representation averaged over consecutive batches of ``batch_size``
    samples (docs/theory.md §8): ``mu`` ``(..., N)`` → ``(...)``; a last partial batch is dropped. The other arguments
    are those of :func:`renyi_entropy`.

    Args:
      mu: mean representation ``(..., N)`` over ``N`` samples.
      batch_size: samples per batch.
      alpha: the Rényi order.
      bandwidth: fixed kernel bandwidth; ``None`` uses Silverman's rule per batch.
      method: ``"trace"``, ``"eigvalsh"`` or ``None``, as in :func:`renyi_entropy`.

    Returns:
      The batch-averaged entropies in bits, shape ``(...)``.
    """
    mu = jnp.asarray(mu)
    n_batches = mu.shape[-1] // batch_size
    if n_batches < 1:
        raise InputError(f"the entropy needs at least one batch of {batch_size} samples, found {mu.shape[-1]}")
    batches = mu[..., : n_batches * batch_size].reshape(*mu.shape[:-1], n_batches, batch_size)
    return jnp.mean(renyi_entropy(batches, alpha=alpha, bandwidth=bandwidth, method=method), axis=-1)


def gaussian_entropy(var):
    """Differential entropy (bits) of a Gaussian of variance ``var``: ``½ log2(2πe var)``; ``−inf`` at 0
    (docs/theory.md §8).

    Args:
      var: variance(s), e.g. ``Var_x μ_k``.

    Returns:
      float64 array of the entropies in bits, the shape of ``var``.
    """
    with np.errstate(divide="ignore"):  # a collapsed latent (Var μ = 0) has −inf, below every threshold
        return 0.5 * (_LOG2_2PIE + np.log2(np.asarray(var, np.float64)))


def bonheme_class(mean_sigma2, var_sigma2, *, var_max=0.1, tol=0.1):
    """Bonheme & Grzes class (:data:`BONHEME_LEGEND`) from the encoder variance across the data: with
    ``Var_x σ² < var_max``, ``|mean σ²| ≤ tol`` is active (2) and ``|mean σ² − 1| ≤ tol`` passive (0); otherwise
    mixed (1) (docs/theory.md §8, docs/criteria.md).

    Args:
      mean_sigma2: mean of the encoder variance ``σ²`` across the data.
      var_sigma2: variance of ``σ²`` across the data.
      var_max: the steadiness threshold ``w`` on ``Var_x σ²``.
      tol: the tolerance ``δ`` around 0 (active) and 1 (passive).

    Returns:
      int8 array of classes, the broadcast shape of ``mean_sigma2`` and ``var_sigma2``.
    """
    mean_sigma2, var_sigma2 = np.asarray(mean_sigma2), np.asarray(var_sigma2)
    steady = var_sigma2 < var_max
    out = np.full(np.broadcast_shapes(mean_sigma2.shape, var_sigma2.shape), MIXED, np.int8)
    out[steady & (np.abs(mean_sigma2) <= tol)] = ACTIVE
    out[steady & (np.abs(mean_sigma2 - 1) <= tol)] = PASSIVE
    return out


def activity_criteria(*, M2, rate, var_mu, mean_sigma2, var_sigma2, renyi,
                      thresholds: ActivityThresholds = ActivityThresholds(), renyi_silverman=None) -> Criteria:
    """Every criterion of docs/theory.md §8 from per-latent statistics of one common shape (e.g. ``(T, latent)``).

    Args:
      M2: signal fraction.
      rate: KL rate ``R_k`` (nats).
      var_mu: ``Var_x μ_k``.
      mean_sigma2: mean of ``σ_k²`` across the data.
      var_sigma2: variance of ``σ_k²`` across the data.
      renyi: Rényi entropy of ``μ_k`` (bits, :func:`renyi_entropy`), linvae's bandwidth.
      thresholds: the :class:`ActivityThresholds`.
      renyi_silverman: the same with Silverman's bandwidth (``None``: never active).

    Returns:
      The :class:`Criteria`, each of the common shape.
    """
    t = thresholds
    return Criteria(
        signal_fraction=np.asarray(M2) > t.signal_fraction,
        kl=np.asarray(rate) > t.kl,
        active_units=np.asarray(var_mu) >= t.var_mu,
        bonheme=bonheme_class(mean_sigma2, var_sigma2, var_max=t.bonheme_var_sigma2, tol=t.bonheme_tol),
        renyi_entropy=np.asarray(renyi) > t.renyi_entropy,
        gaussian_entropy=gaussian_entropy(var_mu) > t.gaussian_entropy,
        renyi_entropy_silverman=(np.zeros(np.shape(M2), bool) if renyi_silverman is None
                                 else np.asarray(renyi_silverman) > t.renyi_entropy),
    )


def onset_levels(thresholds: ActivityThresholds = ActivityThresholds(), *, bandwidth="prior",
                 batch_size=100, alpha=2.0) -> Onsets:
    """Onsets ``τ*`` of every criterion on the closed-form β-VAE branch (docs/theory.md §3, §8); mode ``k`` switches at
    ``T = T_k τ*``.

    With ``Var μ = 1 − τ``, ``σ² = τ`` (constant, so ``Var σ² = 0``) and ``R = −½ log τ`` for ``τ < 1``:
    ``M² > m ⇔ τ < 1 − m``; ``R > ε ⇔ τ < e^{−2ε}``; ``Var μ ≥ v ⇔ τ ≤ 1 − v``; Bonheme & Grzes active
    ``⇔ τ ≤ δ``, passive ``⇔ τ ≥ 1 − δ`` (collapsed modes have ``σ² = 1``), mixed in between;
    ``½ log2(2πe (1 − τ)) > h ⇔ τ < 1 − 2^{2h}/(2πe)`` (0 when ``h ≥ ½ log2(2πe) ≈ 2.05`` bits: never active).
    The Rényi estimator with Silverman's bandwidth is scale-invariant (:func:`renyi_entropy`), so on this branch it
    only tells ``μ_k ≢ 0`` from ``μ_k ≡ 0``: ``τ* = 1`` (the collapse itself) for any threshold between 0 and the
    value of a Gaussian sample set (≈ 2.2 bits for batches of 100). With a fixed bandwidth ``h`` the order-2
    estimate of ``n`` Gaussian samples of variance ``v`` is, through the mean of ``tr Â²``,
    ``−log2(1/n + (1 − 1/n) / √(1 + 4v/h²))``; it crosses the threshold ``H`` at
    ``v* = (h²/4) [((1 − 1/n) / (2^{−H} − 1/n))² − 1]``, so ``τ* = 1 − v*`` (prior bandwidth, ``H = 0.1``:
    ``τ* ≈ 0.993``). The estimator averages ``−log2 tr Â²`` over batches, a little above this (Jensen), so the
    measured switch sits slightly before ``T_k τ*``.

    Args:
      thresholds: the :class:`ActivityThresholds`.
      bandwidth: the Rényi criterion's bandwidth, ``"prior"`` (:func:`prior_bandwidth`), ``"silverman"`` or a
        fixed float (order 2).
      batch_size: the entropy's batch size ``n``.
      alpha: the Rényi order; the fixed-bandwidth onset is the order-2 closed form, so another order gives NaN.

    Returns:
      The :class:`Onsets` ``τ*``.
    """
    t = thresholds
    return Onsets(
        signal_fraction=1 - t.signal_fraction,
        kl=float(np.exp(-2 * t.kl)),
        active_units=1 - t.var_mu,
        bonheme_active=t.bonheme_tol,
        bonheme_passive=1 - t.bonheme_tol,
        renyi_entropy=_renyi_onset(t.renyi_entropy, bandwidth, batch_size) if alpha == 2 or bandwidth == "silverman"
        else float("nan"),
        gaussian_entropy=float(np.clip(1 - 2 ** (2 * t.gaussian_entropy) / (2 * np.pi * np.e), 0, 1)),
        renyi_entropy_silverman=1.0,
    )


def _renyi_onset(threshold, bandwidth, n):
    """``τ* = 1 − v*`` of the order-2 entropy at a fixed bandwidth (1 for Silverman's: any spread counts)."""
    if isinstance(bandwidth, str) and bandwidth == "silverman" or threshold <= 0:
        return 1.0
    h = prior_bandwidth(n) if isinstance(bandwidth, str) else float(bandwidth)
    trace = 2.0 ** -threshold
    if trace <= 1 / n:  # above the estimator's ceiling log2 n: never active
        return 0.0
    return float(np.clip(1 - h**2 / 4 * (((1 - 1 / n) / (trace - 1 / n)) ** 2 - 1), 0, 1))


def criterion_onsets(eigenvalues, objective: Objective = Objective(),
                     thresholds: ActivityThresholds = ActivityThresholds(), sigma_dec2=1.0, *, iterations=64,
                     bandwidth="prior", batch_size=100, alpha=2.0):
    """Onset prices ``T`` ``(criterion, mode)`` of every criterion on the closed-form optimum of ``objective``
    (docs/theory.md §5, §8); criteria in the order of :class:`Onsets`.

    On every objective's active branch ``A² = 1`` and the encoder variance is constant, so ``Var μ = M²``,
    ``σ² = 1 − M²`` and ``R = −½ log(1 − M²)``: each rule of :func:`onset_levels` reads "``M²`` above ``1 − τ*``",
    and its onset is where the objective's ``M²(T)`` crosses that level (:func:`linvae.theory.signal_onsets`):
    ``T_k τ*`` for the β-VAE, a bisection on ``log T`` otherwise. A mode that never activates gives 0; one whose
    threshold is infinite (LR, zero mode) gives NaN.

    Args:
      eigenvalues: the data spectrum (PCA eigenvalues).
      objective: the :class:`linvae.model.Objective`.
      thresholds: the :class:`ActivityThresholds`.
      sigma_dec2: decoder noise variance ``σ_dec²``.
      iterations: bisection steps on ``log T``.
      bandwidth: the Rényi criterion's bandwidth (:func:`onset_levels`).
      batch_size: the Rényi entropy's batch size.
      alpha: the Rényi order (:func:`onset_levels`).

    Returns:
      Array ``(criterion, mode)`` of onset prices ``T``.
    """
    if isinstance(eigenvalues, ActivityThresholds):
        raise TypeError("criterion_onsets takes the eigenvalues first (linvae 0.2); the onsets on tau = T/T_k of the "
                        "beta-VAE are onset_levels(thresholds)")
    levels = 1 - np.asarray(onset_levels(thresholds, bandwidth=bandwidth, batch_size=batch_size, alpha=alpha),
                            np.float64)
    return signal_onsets(eigenvalues, levels, objective, sigma_dec2, iterations=iterations)
