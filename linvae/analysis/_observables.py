"""Held-out observables of a grid of models in one streamed pass over the data (docs/theory.md §7).

Everything is measured on evaluation data in the units the model was trained in. Shapes: ``G`` grid points,
``K`` latents, ``d`` features, ``N`` rows. One pass over the data (JAX, vmapped over the grid, streamed over row
blocks by :func:`row_blocks`) gives the per-latent averages and the data's second moments; the rest of the
analysis is small float64 numpy algebra on those.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linvae._errors import InputError
from linvae.model import Params, encode, kl_per_latent

__all__ = ["Observables", "observables", "rank_by_signal", "row_blocks"]


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
def _block_sums(params: Params, xc, weight):
    """Weighted row sums of ``(μ², σ², log σ², KL)`` over one block, ``(G, 4, K)``; ``weight`` masks padding."""
    def one(p):
        mu, log_sigma2 = encode(p, xc, 0.0)
        terms = (mu**2, jnp.exp(log_sigma2), log_sigma2, kl_per_latent(mu, log_sigma2))
        return jnp.stack([weight @ t for t in terms])
    return jax.vmap(one)(params)


def observables(params: Params, x, center, *, block_rows=8192) -> Observables:
    """Per-latent held-out averages of a grid of models in one streamed pass over ``x`` (docs/theory.md §7).

    ``mu2 = mean μ_k²``, ``sigma2 = mean σ_k²``, ``log_sigma2 = mean log σ_k²``, ``kl = mean KL_k`` with
    ``KL_k = ½ [μ_k² + σ_k² − log σ_k² − 1]``; derived ``M2 = mu2 / (mu2 + sigma2)``, ``snr = mu2 / sigma2``,
    ``A2 = mu2 + sigma2``, ``jensen_gap = log sigma2 − log_sigma2``. Also the mean and centred covariance of
    ``x − center``: the encoder mean is affine in ``x``, so the moments the truncated reconstructions need follow
    from them exactly (``C_xμ = C_xx Aᵀ``, ``C_μμ = A C_xx Aᵀ``) and need not be accumulated per model.

    Precision: always float64, whatever the training precision (a one-off pass, cheap next to training). In
    float32 the block sums of ``log σ²`` carry ~1e-4 relative error, which swamps the Jensen gap of a
    constant-variance encoder (exactly 0) with ±1e-3 noise of either sign.

    Args:
      params: a grid of :class:`linvae.model.Params`, every leaf with a leading grid axis ``G``.
      x: ``(N, d)`` evaluation data (any array, e.g. a memory map: read one block at a time).
      center: ``(d,)`` the data mean the encoder subtracts.
      block_rows: rows per block of :func:`row_blocks`.

    Returns:
      The :class:`Observables`.
    """
    if np.ndim(x) != 2 or np.shape(x)[1] != np.shape(params.encoder_weight)[-1] or np.shape(x)[0] < 1:
        raise InputError(f"evaluation data must be (N, {np.shape(params.encoder_weight)[-1]}) with N >= 1, "
                         f"found shape {np.shape(x)}; pass held-out rows in the model's feature units")
    n, d = np.shape(x)
    s1, s2, sums = np.zeros(d), np.zeros((d, d)), 0.0
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        for rows, padded, weight in row_blocks(x, np.asarray(center, np.float64), block_rows):
            s1 += rows.sum(axis=0)
            s2 += rows.T @ rows
            sums = sums + np.asarray(_block_sums(p64, jnp.asarray(padded), jnp.asarray(weight)), np.float64)
    mu2, sigma2, log_sigma2, kl = (sums[:, i] / n for i in range(4))
    x_mean = s1 / n
    x_cov = s2 / n - np.outer(x_mean, x_mean)
    A2 = mu2 + sigma2
    return Observables(mu2=mu2, sigma2=sigma2, log_sigma2=log_sigma2, kl=kl, M2=mu2 / A2, snr=mu2 / sigma2,
                       A2=A2, jensen_gap=np.log(sigma2) - log_sigma2, x_mean=x_mean,
                       x_cov=0.5 * (x_cov + x_cov.T), n_rows=int(n))


def rank_by_signal(M2):
    """Latent indices by descending ``M_k²`` at each grid point, ``(G, K)`` (docs/theory.md §7, "Ranking").

    Ties keep latent order (stable sort); NaN ranks last.

    Args:
      M2: ``(G, K)`` signal fractions.

    Returns:
      ``(G, K)`` latent indices in rank order.
    """
    return np.argsort(-np.asarray(M2), axis=-1, kind="stable")
