"""LR-VAE latents that read two modes at once, and the global LR optimum with them (docs/theory.md §5;
docs/objectives.md §6).

With fewer latents than modes an LR latent may spread its gain over two modes and pay its LR cost once
(:func:`lr_mixed_latent`); :func:`lr_optimum` finds the best assignment of latents to single modes and pairs.
"""

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linvae.model import Objective
from linvae.theory._branch import Branch
from linvae.theory._family import one_mode_optimum_jit

__all__ = ["MixedLatent", "lr_mixed_latent", "lr_optimum"]


class MixedLatent(NamedTuple):
    """One LR latent reading two modes ``i`` and ``j`` (output of :func:`lr_mixed_latent`); normalised units
    (docs/objectives.md §6).

    Attributes:
      exists: whether the interior point exists (``c_i, c_j > 0``).
      M2: the latent's signal fraction ``1 − σ²``.
      sigma2: its posterior variance ``T / ρ``.
      share_i: ``c_i t_i``, the part of ``mean μ²`` (``= M²``) read from mode ``i``.
      share_j: ``c_j t_j``, the same for mode ``j``.
      mean_distortion_i: mean-path error left in mode ``i``, units of ``V``.
      mean_distortion_j: the same for mode ``j``.
      distortion_i: sampled-path error left in mode ``i`` (adds the noise ``w_i² σ²``).
      distortion_j: the same for mode ``j``.
      penalty: the LR cost ``t_i t_j / α̃`` in normalised loss units.
      loss: the pair's normalised loss.
    """

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
    """Closed form of one LR-VAE latent that reads two modes at once (docs/theory.md §5; docs/objectives.md §6).

    Normalised units (``t = λ/V``, ``T = βσ_dec²/V``, ``α̃ = 2ασ_dec²/V``). A latent with encoder gains ``a_k``
    (``c_k = a_k²``) on modes with ``t_i ≠ t_j`` and its decoder eliminated has, at ``A² = Σ c_k t_k + σ² = 1``
    (every stationary point), the loss ``t_i + t_j + α̃ − T log(1 − q) − Σ c_k κ_k² + α̃ Q² / (1 + α̃ n)`` with
    ``κ_k = t_k + α̃``, ``n = Σ c_k``, ``q = Σ c_k t_k``, ``Q = Σ c_k κ_k``. Its interior stationary point is

    - ``α̃ (a·w) = α̃ − √(t_i t_j)``, so the LR cost is ``t_i t_j / α̃``;
    - ``σ² = T / ρ`` with ``ρ = (√t_i + √t_j)²``: the latent collapses like a β-VAE latent on a mode of
      normalised variance ``ρ``, ``M² = 1 − T / ρ``;
    - ``n = (α̃ σ² − √(t_i t_j)) / (α̃ √(t_i t_j))``, ``c_i = (M² − n t_j) / (t_i − t_j)``,
      ``c_j = (n t_i − M²) / (t_i − t_j)``, ``a_k w_k = c_k (t_k + √(t_i t_j))``, ``w_k² = c_k t_k ρ``;
    - the error left in mode ``i``: its own ``t_i (1 − a_i w_i)²``, the leak ``w_i² c_j t_j``, sampled: ``+ w_i² σ²``.

    It exists (``exists``: ``c_i, c_j > 0``) for ``t_i > t_j`` exactly in the window
    ``√t_j ρ̂ (1 + t_i/α̃) < T < √t_i ρ̂ (1 + t_j/α̃)`` with ``ρ̂ = √t_i + √t_j``, which is not empty iff
    ``α̃ > √(t_i t_j)``. At its lower end ``c_j → 0`` and at its upper end ``c_i → 0``: there it is the one-mode
    latent of mode ``i`` (resp. ``j``), so across the window a latent turns continuously from the stronger mode to
    the weaker one (whose LR threshold is higher). It is the only interior stationary point, so the pair's optimum
    is the lower of it and the two one-mode optima. (A latent reading three or more modes never does better: the
    loss at fixed ``n``, ``q`` falls as ``Σ c_k t_k²`` grows, which puts all weight on the two extreme modes.)

    ``t_j = 0`` (a null direction of the data) is the limit ``t_j → 0``: the latent reads the null direction with a
    diverging gain, which cancels its LR cost, and is the β-VAE latent of mode ``i`` (``M² = 1 − T/t_i`` for
    ``T < t_i``, no penalty); the infimum is not attained (docs/objectives.md §7). As ``t_j → t_i`` the window
    closes and the formulas lose accuracy (relative error ~ ``1e-16 / |t_i/t_j − 1|``). Vectorised; no NaN.

    Args:
      T: information prices.
      t_i: normalised eigenvalue of the stronger mode.
      t_j: normalised eigenvalue of the weaker mode.
      alpha_n: ``α̃ = 2ασ_dec²/V``.

    Returns:
      The :class:`MixedLatent`, fields of the broadcast shape.
    """
    dtype = jnp.result_type(t_i, t_j, float)
    t_i, t_j, T, alpha_n = (jnp.asarray(v, dtype) for v in (t_i, t_j, T, alpha_n))
    exists, sigma2, M2, shares, means, noise, penalty = _interior(T, t_i, t_j, alpha_n)
    # t_j = 0: the limit t_j → 0, a β-VAE latent on mode i whose LR cost the null direction cancels
    null = (t_i > 0) & (t_j <= 0) & (alpha_n > 0) & (T > 0)
    t_safe = jnp.where(null, t_i, 1.0)
    null_s = jnp.where(null, T, 0.5) / t_safe
    sigma2 = jnp.where(null, null_s, sigma2)
    M2 = jnp.where(null, -jnp.expm1(jnp.log(jnp.where(null, T, 0.5)) - jnp.log(t_safe)), M2)
    share_i, share_j = jnp.where(null, M2, shares[0]), jnp.where(null, 0, shares[1])
    m_i, m_j = jnp.where(null, t_safe * null_s**2, means[0]), jnp.where(null, 0, means[1])
    d_i, d_j = m_i + jnp.where(null, t_safe * null_s * M2, noise[0]), m_j + jnp.where(null, 0, noise[1])
    penalty = jnp.where(null, 0, penalty)
    exists = (exists | null) & (sigma2 < 1)
    log_s = jnp.where(exists, jnp.log(jnp.where(exists, sigma2, 1)), 0.0)
    return MixedLatent(
        exists=exists, M2=jnp.where(exists, M2, 0), sigma2=jnp.where(exists, sigma2, 1),
        share_i=jnp.where(exists, share_i, 0), share_j=jnp.where(exists, share_j, 0),
        mean_distortion_i=jnp.where(exists, m_i, t_i), mean_distortion_j=jnp.where(exists, m_j, t_j),
        distortion_i=jnp.where(exists, d_i, t_i), distortion_j=jnp.where(exists, d_j, t_j),
        penalty=jnp.where(exists, penalty, alpha_n),
        loss=jnp.where(exists, d_i + d_j - T * log_s + penalty, jnp.inf),
    )


def _interior(T, t_i, t_j, alpha_n):
    """The interior stationary point of :func:`lr_mixed_latent` for ``t_i, t_j > 0``, evaluated on safe values
    where it does not apply (no NaN): ``(exists, σ², M², shares c_k t_k, mean-path errors, sampled-path noise
    w_k² σ², LR cost)``."""
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
    exists = ok & (n > 0) & (c_i > 0) & (c_j > 0)
    return exists, sigma2, M2, (c_i * ti, c_j * tj), (m_i, m_j), (w2_i * sigma2, w2_j * sigma2), ti * tj / an


def lr_optimum(T, eigenvalues, objective: Objective, n_latents=None, sigma_dec2=1.0) -> Branch:
    """Global optimum of the LR-VAE, latents that read two modes included (docs/theory.md §5); numpy, float64.

    A latent may read two modes at once and pay its LR cost once (:func:`lr_mixed_latent`); with fewer latents
    than modes that can beat one mode per latent. Latents read disjoint sets of modes (verified against scipy
    minimisation of the full matrix loss from random starts; not proven), each at most two. So at each ``T`` the
    optimum is the packing of at most ``K`` groups (one mode or a pair) that maximises the total gain
    ``gain(S) = Σ_{k∈S} t_k + α̃ − loss(S)`` (a latent reading nothing costs ``α̃``, a mode nobody reads leaves
    ``t_k``), solved exactly as a 0/1 program by scipy's ``milp`` (HiGHS) wherever a pair beats both of its one-mode
    latents; elsewhere the one-mode closed form (:func:`linvae.theory._family.one_mode_optimum`) stands.

    A mixed latent is stored on the mode that gives it more of its signal (``active``, ``M2``, ``sigma2``,
    ``rate``, ``penalty``); its other mode has ``M2 = 0`` and ``carried = True``; ``partner`` links the two.
    ``distortion`` and ``mean_distortion`` stay per mode. ``tau`` keeps the one-mode thresholds.
    """
    eig = np.asarray(eigenvalues, np.float64)
    Tf = np.asarray(T, np.float64)
    with jax.enable_x64(True):
        closed = jax.tree.map(np.asarray, one_mode_optimum_jit(Tf, eig, objective, n_latents, sigma_dec2))
        if float(objective.alpha) == 0 or Tf.size == 0:
            return closed
        t = np.maximum(eig, 0) / eig.sum()
        alpha_n = 2 * float(objective.alpha) * float(sigma_dec2) / eig.sum()
        d = t.size
        K = d if n_latents is None else int(n_latents)
        shape = closed.M2.shape
        Tf = Tf.reshape(-1)
        one = jax.tree.map(np.asarray, one_mode_optimum_jit(Tf, eig, objective, None, sigma_dec2))
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
    return Branch(**{name: value.reshape(shape if value.ndim == 2 else shape[:-1]) for name, value in fields.items()})


# lr_optimum calls the closed forms eagerly on numpy arrays: jitted, each grid shape compiles once
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
    """Write the optimum with mixed latents into row ``row`` of the per-mode ``fields`` (see lr_optimum)."""
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
        m = jax.tree.map(lambda x, p=p: x[row, p], mixed)
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


