"""Held-out observables of a grid of models in one streamed pass over the data (docs/theory.md §7).

Everything is measured on evaluation data in the units the model was trained in. Shapes: ``G`` grid points,
``K`` latents, ``d`` features, ``N`` rows. The linear encoder is affine, so the data's first and second moments give
the averages of ``μ`` and ``log σ²`` exactly (an MLP encoder's are summed over the rows, docs/nonlinear.md); one
pass over the data (streamed over row blocks by :func:`row_blocks`) gives those moments and, for a variance head
that depends on ``x``, the averages of ``σ²``. The rest of the analysis is small float64 numpy algebra on those.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linvae._errors import InputError
from linvae.model import MlpParams, Params, encode

__all__ = ["Observables", "observables", "rank_by_signal", "row_blocks", "mean_square", "n_inputs"]


class Observables(NamedTuple):
    """Held-out averages per grid point and latent (float64 numpy; docs/theory.md §7) and the data's moments.

    Attributes:
      mu2: mean ``μ_k²``, ``(G, K)``.
      sigma2: mean ``σ_k²``, ``(G, K)``.
      log_sigma2: mean ``log σ_k²``, ``(G, K)``.
      kl: ``R_k`` = mean ``KL_k``, ``(G, K)``.
      M2: ``mu2 / (mu2 + sigma2)``, ``(G, K)``.
      snr: ``mu2 / sigma2``, ``(G, K)``.
      A2: ``mu2 + sigma2``, ``(G, K)``.
      jensen_gap: ``log sigma2 − log_sigma2``, ``(G, K)``.
      var_mu: ``Var_x μ_k`` over the evaluation rows (linear encoder: ``a_kᵀ C a_k``), ``(G, K)``.
      var_sigma2: ``Var_x σ_k²`` over the evaluation rows, ``(G, K)``.
      x_mean: mean of ``x − center``, ``(d,)``.
      x_cov: centred (population) covariance ``C_xx`` of the evaluation data, ``(d, d)``.
      n_rows: number of evaluation rows ``N``.
    """

    mu2: np.ndarray         # mean μ_k² (G, K)
    sigma2: np.ndarray      # mean σ_k² (G, K)
    log_sigma2: np.ndarray  # mean log σ_k² (G, K)
    kl: np.ndarray          # R_k = mean KL_k (G, K)
    M2: np.ndarray          # mu2 / (mu2 + sigma2) (G, K)
    snr: np.ndarray         # mu2 / sigma2 (G, K)
    A2: np.ndarray          # mu2 + sigma2 (G, K)
    jensen_gap: np.ndarray  # log sigma2 − log_sigma2 (G, K)
    var_mu: np.ndarray      # Var_x μ_k (G, K)
    var_sigma2: np.ndarray  # Var_x σ_k² (G, K)
    x_mean: np.ndarray      # mean of x − center (d,)
    x_cov: np.ndarray       # centred (population) covariance C_xx of the evaluation data (d, d)
    n_rows: int


def row_blocks(x, center, block_rows):
    """The rows of ``x − center`` in float64 blocks of ``block_rows``, each as ``(rows, padded, weight)``: the real
    rows, the block zero-padded to full size (one compilation serves every block) and the row mask. NaN or inf is
    an :class:`linvae.InputError` naming the rows (docs/theory.md §7).

    Args:
      x: ``(N, d)`` data (any array, e.g. a memory map: read one block at a time).
      center: ``(d,)`` the mean subtracted from every row.
      block_rows: rows per block.

    Yields:
      ``(rows, padded, weight)`` per block.
    """
    n = np.shape(x)[0]
    block = max(1, min(int(block_rows), n))
    for start in range(0, n, block):
        rows = np.asarray(x[start:start + block], np.float64) - center
        if not np.all(np.isfinite(rows)):
            raise InputError(f"evaluation data contain NaN or inf in rows {start}..{start + len(rows) - 1}; "
                             "drop or impute them first")
        weight = (np.arange(block) < len(rows)).astype(np.float64)
        yield rows, np.pad(rows, ((0, block - len(rows)), (0, 0))), weight


@jax.jit
def _variance_sums(log_sigma2_weight, log_sigma2_bias, xc, weight):
    """Weighted row sums of ``expm1(log σ²)`` and ``(σ² − σ²(x̄₀))²`` over one block, each ``(G, K)``, where
    ``σ²(x̄₀) = exp(t)`` is the variance at ``x − center = 0``; ``weight`` masks padding."""
    s = jnp.einsum("nd,gkd->gnk", xc, log_sigma2_weight) + log_sigma2_bias[:, None, :]
    e = jnp.expm1(s)
    return weight @ e, weight @ (e - jnp.expm1(log_sigma2_bias)[:, None, :]) ** 2


def observables(params: Params | MlpParams, x, center, *, block_rows=8192) -> Observables:
    """Per-latent held-out averages of a grid of models, from the data's moments and one streamed pass over ``x``
    (docs/theory.md §7).

    ``mu2 = mean μ_k²``, ``sigma2 = mean σ_k²``, ``log_sigma2 = mean log σ_k²``, ``kl = mean KL_k`` with
    ``KL_k = ½ [μ_k² + σ_k² − log σ_k² − 1]``; derived ``M2 = mu2 / (mu2 + sigma2)``, ``snr = mu2 / sigma2``,
    ``A2 = mu2 + sigma2``, ``jensen_gap = log sigma2 − log_sigma2``, ``var_mu = Var_x μ_k`` and
    ``var_sigma2 = Var_x σ_k²``.

    The linear encoder is affine, ``μ = A(x − c) + b`` and ``log σ² = S(x − c) + t``, so with the mean ``x̄`` and the
    (population) covariance ``C`` of ``x − c`` the first three terms are exact algebra on ``(G, K, d)`` arrays:
    ``mean μ_k² = a_kᵀ C a_k + (a_k·x̄ + b_k)²`` and ``mean log σ_k² = s_k·x̄ + t_k``. Only ``σ² = exp(log σ²)``
    is not affine: ``mean expm1(log σ_k²)`` and ``mean (σ_k² − e^{t_k})²`` are summed over the rows, in one jitted
    pass over blocks of ``block_rows`` rows, and only when some ``S`` is non-zero (a constant-variance encoder has
    ``σ² = e^t`` exactly, ``Var σ² = 0`` and a Jensen gap of exactly 0). ``expm1`` keeps ``KL_k`` accurate for a
    collapsed latent (``σ² → 1``), and the shift by ``e^t`` avoids the cancellation of ``mean σ⁴ − (mean σ²)²``.
    The pass over the data also returns ``x̄`` and ``C``, from which the truncated reconstructions follow exactly
    (``C_xμ = C Aᵀ``, ``C_μμ = A C Aᵀ``). An MLP encoder (:class:`linvae.model.MlpParams`, docs/nonlinear.md) is
    not affine: the same pass sums ``μ``, ``μ²``, ``log σ²``, ``expm1(log σ²)`` and its square over the rows.
    Always float64, whatever the training precision.

    Args:
      params: a grid of :class:`linvae.model.Params` (or :class:`linvae.model.MlpParams`), every array with a leading
        grid axis ``G``.
      x: ``(N, d)`` evaluation data (any array, e.g. a memory map: read one block at a time).
      center: ``(d,)`` the data mean the encoder subtracts.
      block_rows: rows per block of :func:`row_blocks`.

    Returns:
      The :class:`Observables`.
    """
    d_model = n_inputs(params)
    if np.ndim(x) != 2 or np.shape(x)[1] != d_model or np.shape(x)[0] < 1:
        raise InputError(f"evaluation data must be (N, {d_model}) with N >= 1, found shape {np.shape(x)}; pass "
                         "held-out rows in the model's feature units")
    blocks = row_blocks(x, np.asarray(center, np.float64), block_rows)
    if isinstance(params, MlpParams):
        return _mlp_observables(params, blocks)
    n, d = np.shape(x)
    A, b, S, t = (np.asarray(getattr(params, name), np.float64) for name in (
        "encoder_weight", "encoder_bias", "log_sigma2_weight", "log_sigma2_bias"))
    affine = np.any(S != 0, axis=-1)  # (G, K): latents whose variance depends on x
    s1, s2 = np.zeros(d), np.zeros((d, d))
    expm1_sum, spread = np.zeros(t.shape), np.zeros(t.shape)
    with jax.enable_x64(True):
        S64, t64 = jnp.asarray(S), jnp.asarray(t)
        for rows, padded, weight in blocks:
            s1, s2 = s1 + rows.sum(axis=0), s2 + rows.T @ rows
            if affine.any():
                e, q = _variance_sums(S64, t64, jnp.asarray(padded), jnp.asarray(weight))
                expm1_sum, spread = expm1_sum + np.asarray(e), spread + np.asarray(q)
    x_mean, x_cov = _moments(s1, s2, n)
    var_mu, mu2 = mean_square(A, b, x_mean, x_cov)
    mean_expm1 = np.where(affine, expm1_sum / n, np.expm1(t))
    shift = mean_expm1 - np.expm1(t)  # mean σ² − e^t
    var_sigma2 = np.where(affine, np.maximum(spread / n - shift**2, 0.0), 0.0)
    return _assembled(mu2, var_mu, S @ x_mean + t, mean_expm1, var_sigma2, affine, x_mean, x_cov, n)


def n_inputs(params: Params | MlpParams) -> int:
    """The number of features ``d`` a grid of models reads (docs/theory.md §7).

    Args:
      params: :class:`linvae.model.Params` or :class:`linvae.model.MlpParams`, grid axis first.

    Returns:
      ``d``.
    """
    return int(np.shape(params.encoder[0].weight if isinstance(params, MlpParams) else params.encoder_weight)[-1])


def _moments(s1, s2, n):
    x_mean = s1 / n
    x_cov = s2 / n - np.outer(x_mean, x_mean)
    return x_mean, 0.5 * (x_cov + x_cov.T)


def _assembled(mu2, var_mu, log_sigma2, mean_expm1, var_sigma2, varies, x_mean, x_cov, n) -> Observables:
    """:class:`Observables` from the per-latent means; ``varies`` marks latents whose ``σ²`` depends on ``x``."""
    sigma2 = 1.0 + mean_expm1
    A2 = mu2 + sigma2
    return Observables(mu2=mu2, sigma2=sigma2, log_sigma2=log_sigma2, kl=0.5 * (mu2 + mean_expm1 - log_sigma2),
                       M2=mu2 / A2, snr=mu2 / sigma2, A2=A2,
                       jensen_gap=np.where(varies, np.log(sigma2) - log_sigma2, 0.0), var_mu=var_mu,
                       var_sigma2=var_sigma2, x_mean=x_mean, x_cov=x_cov, n_rows=int(n))


@jax.jit
def _encoder_moments(params: MlpParams, xc, weight):
    """Per grid point and latent over one block (padding masked by ``weight``): the mean of ``μ`` and its sum of
    squared deviations, the mean of ``expm1(log σ²)``, the mean of ``σ²`` and its sum of squared deviations, and the
    sum of ``log σ²``, each ``(G, K)``; one grid point at a time (``lax.map``) to bound memory."""
    n = jnp.sum(weight)

    def one_point(p):
        mu, log_sigma2 = encode(p, xc, 0.0)
        sigma2 = jnp.exp(log_sigma2)
        mean_mu, mean_s = weight @ mu / n, weight @ sigma2 / n
        return (mean_mu, weight @ (mu - mean_mu) ** 2, weight @ jnp.expm1(log_sigma2) / n, mean_s,
                weight @ (sigma2 - mean_s) ** 2, weight @ log_sigma2)

    return jax.lax.map(one_point, params)


def _merged(total, block, n_total, n_block):
    """Chan et al.'s pairwise merge of (mean, sum of squared deviations) of two disjoint sets of rows."""
    if total is None:
        return block
    (mean, m2), (mean_b, m2_b) = total, block
    delta, n = mean_b - mean, n_total + n_block
    return mean + delta * n_block / n, m2 + m2_b + delta**2 * n_total * n_block / n


def _mlp_observables(params: MlpParams, blocks) -> Observables:
    """The observables of an MLP encoder from one pass over the rows (docs/nonlinear.md): block means and centred
    sums of squares, merged across blocks, so that neither ``Var μ`` nor ``Var σ²`` cancels."""
    mu_stats = s_stats = None
    mean_e, sum_ls, s1, s2, n = 0.0, 0.0, 0.0, 0.0, 0
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        for rows, padded, weight in blocks:
            m_mu, q_mu, m_e, m_s, q_s, ls = (np.asarray(a) for a in _encoder_moments(
                p64, jnp.asarray(padded), jnp.asarray(weight)))
            k = len(rows)
            mu_stats, s_stats = _merged(mu_stats, (m_mu, q_mu), n, k), _merged(s_stats, (m_s, q_s), n, k)
            mean_e, sum_ls = mean_e + (m_e - mean_e) * k / (n + k), sum_ls + ls
            s1, s2, n = s1 + rows.sum(axis=0), s2 + rows.T @ rows, n + k
    var_mu = mu_stats[1] / n
    x_mean, x_cov = _moments(s1, s2, n)
    return _assembled(var_mu + mu_stats[0] ** 2, var_mu, sum_ls / n, mean_e, s_stats[1] / n,
                      np.ones(var_mu.shape, bool), x_mean, x_cov, n)


def mean_square(encoder_weight, encoder_bias, x_mean, x_cov):
    """``Var_x μ_k = a_kᵀ C a_k`` and ``mean μ_k² = Var_x μ_k + (a_k·x̄ + b_k)²`` of an affine encoder from the data's
    mean and (population) covariance, each ``(G, K)`` (docs/theory.md §7).

    Args:
      encoder_weight: ``A``, ``(G, K, d)``.
      encoder_bias: ``b``, ``(G, K)``.
      x_mean: ``x̄``, ``(d,)``.
      x_cov: ``C``, ``(d, d)``.

    Returns:
      ``(var_mu, mu2)``.
    """
    A = np.asarray(encoder_weight, np.float64)
    var_mu = np.einsum("gkd,de,gke->gk", A, x_cov, A)
    return var_mu, var_mu + (A @ x_mean + np.asarray(encoder_bias, np.float64)) ** 2


def rank_by_signal(M2):
    """Latent indices by descending ``M_k²`` at each grid point, ``(G, K)`` (docs/theory.md §7, "Ranking").

    Ties keep latent order (stable sort); NaN ranks last.

    Args:
      M2: ``(G, K)`` signal fractions.

    Returns:
      ``(G, K)`` latent indices in rank order.
    """
    return np.argsort(-np.asarray(M2), axis=-1, kind="stable")
