"""Truncated reconstructions: the distortion left when only the top-ranked latents are kept (docs/theory.md §7)."""

import numpy as np

__all__ = ["truncated_distortion", "utilities_at_best"]


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
