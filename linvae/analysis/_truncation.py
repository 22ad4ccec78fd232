"""Truncated reconstructions: the distortion left when only the top-ranked latents are kept (docs/theory.md §7)."""

import jax
import jax.numpy as jnp
import numpy as np

from linvae._errors import InputError
from linvae.analysis._observables import n_inputs, row_blocks
from linvae.model import MlpParams, Params, decode, encode

__all__ = ["truncated_distortion", "decoded_truncated_distortion", "utilities_at_best"]


def truncated_distortion(x_cov, encoder_weight, decoder_weight, order):
    """Normalised distortion ``D̃_k`` of posterior-mean reconstructions keeping the first ``k`` ranked latents,
    ``k = 0 … K``, ``(G, K + 1)`` (docs/theory.md §7, "Truncated reconstructions").

    Pruned latents sit at the prior mean 0 and the decoder bias is re-fitted by least squares for every ``k``
    (``c = x̄ − Σ_{r≤k} w_r mean μ_r``), which leaves centred second moments only:
    ``D_k = tr C − 2 Σ_{r≤k} w_rᵀ C a_r + Σ_{r,r'≤k} (w_rᵀ w_r') (a_rᵀ C a_r')``, ``D̃_k = D_k / tr C``
    (``C_xμ = C Aᵀ``, ``C_μμ = A C Aᵀ`` because ``μ`` is affine in ``x``; so ``D̃_0 = 1`` exactly). The sums
    over kept ranks are cumulative sums in rank order, one evaluation for all ``k``.

    Args:
      x_cov: ``(d, d)`` centred covariance of the evaluation data.
      encoder_weight: ``(G, K, d)``.
      decoder_weight: ``(G, d, K)``.
      order: ``(G, K)`` latent index at each rank.

    Returns:
      ``(G, K + 1)`` normalised distortions ``D̃_0 … D̃_K``.
    """
    C = np.asarray(x_cov, np.float64)
    order = np.asarray(order)
    A = np.take_along_axis(np.asarray(encoder_weight, np.float64), order[:, :, None], axis=1)  # (G, K, d)
    W = np.take_along_axis(np.asarray(decoder_weight, np.float64), order[:, None, :], axis=2)  # (G, d, K)
    AC = A @ C                                                                                  # C_μx rows
    cross = np.einsum("gdk,gkd->gk", W, AC)
    quad = np.einsum("gdk,gdl->gkl", W, W) * (AC @ np.swapaxes(A, 1, 2))
    quad_kept = np.diagonal(np.cumsum(np.cumsum(quad, axis=1), axis=2), axis1=1, axis2=2)
    trace = np.trace(C)
    D = trace - 2 * np.cumsum(cross, axis=1) + quad_kept
    return np.concatenate([np.ones((D.shape[0], 1)), D / trace], axis=1)


def decoded_truncated_distortion(params: Params | MlpParams, x, order, *, block_rows=2048):
    """Normalised distortion ``D̃_k`` of posterior-mean reconstructions keeping the first ``k`` ranked latents,
    ``k = 0 … K``, ``(G, K + 1)``, by decoding every row (docs/theory.md §7; any decoder, docs/nonlinear.md).

    The latents ranked below ``k`` are set to the prior mean 0, the code is decoded, ``r_k = x − x̂(μ_{≤k})``, and the
    output bias is re-fitted by least squares as in :func:`truncated_distortion`, which leaves the residuals'
    covariance: ``D̃_k = (mean ‖r_k‖² − ‖mean r_k‖²) / tr C`` with ``C`` the data's covariance. So ``D̃_0 = 1``
    (to rounding), and for the linear model this is :func:`truncated_distortion` evaluated on the rows. One jitted pass
    over blocks of ``block_rows`` rows, grid point by grid point (``lax.map``) to bound memory; float64.

    Args:
      params: a grid of :class:`linvae.model.Params` or :class:`linvae.model.MlpParams`, grid axis first.
      x: ``(N, d)`` evaluation data, in the model's units (the encoder reads them as they are).
      order: ``(G, K)`` latent index at each rank.
      block_rows: rows per block of the pass (:func:`linvae.analysis.row_blocks`).

    Returns:
      ``(G, K + 1)`` normalised distortions ``D̃_0 … D̃_K``.
    """
    order, d = np.asarray(order), n_inputs(params)
    if np.ndim(x) != 2 or np.shape(x)[1] != d or np.shape(x)[0] < 1 or order.ndim != 2:
        raise InputError(f"decoded truncation needs (N, {d}) rows with N >= 1 and a (G, K) rank order, found rows "
                         f"{np.shape(x)} and order {order.shape}; pass held-out rows in the model's units")
    G, K = order.shape
    kept = (np.argsort(order, axis=1)[:, None, :] < np.arange(K + 1)[None, :, None]).astype(np.float64)  # (G, K+1, K)
    sq, res, s1, s2, n = np.zeros((G, K + 1)), 0.0, 0.0, 0.0, 0
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        for rows, padded, weight in row_blocks(x, 0.0, block_rows):
            q, r = _residual_sums(p64, jnp.asarray(kept), jnp.asarray(padded), jnp.asarray(weight))
            sq, res = sq + np.asarray(q), res + np.asarray(r)
            s1, s2, n = s1 + rows.sum(axis=0), s2 + np.sum(rows**2), n + len(rows)
    trace = s2 / n - np.sum((s1 / n) ** 2)
    return (sq / n - np.sum((res / n) ** 2, axis=-1)) / trace


@jax.jit
def _residual_sums(params, kept, x, weight):
    """Per grid point and ``k``: the weighted sums of ``‖r_k‖²`` ``(G, K + 1)`` and of ``r_k`` ``(G, K + 1, d)``."""

    def one_point(args):
        p, mask = args
        mu = encode(p, x, 0.0)[0]                                                 # (n, K)
        r = x - jax.vmap(lambda m: decode(p, mu * m))(mask)                      # (K + 1, n, d)
        return jnp.einsum("n,knd->k", weight, r**2), jnp.einsum("n,knd->kd", weight, r)

    return jax.lax.map(one_point, (params, kept))


def utilities_at_best(D):
    """Utilities ``ΔD̃_k = D̃_{k−1} − D̃_k`` ``(G, K)`` of truncated distortions ``D`` ``(G, K + 1)`` and the grid
    point of lowest full-model distortion, where the utility spectrum is read (docs/theory.md §7; 0 when no point
    is finite).

    Args:
      D: ``(G, K + 1)`` normalised truncated distortions (:func:`truncated_distortion`).

    Returns:
      ``(utility, best)``: the ``(G, K)`` utilities and the index of the best grid point.
    """
    full = D[:, -1]
    return D[:, :-1] - D[:, 1:], int(np.nanargmin(full)) if np.any(np.isfinite(full)) else 0
