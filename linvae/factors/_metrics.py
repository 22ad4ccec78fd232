"""Closed-form latent–factor statistics of the linear-Gaussian factor model, and histogram estimators on samples.

Factors ``v ~ N(0, I_s)``, observations ``y = G v + n`` with ``n ~ N(0, σ_n² I)``; a linear encoder
``z = A y + b + σ ⊙ ε``. See :mod:`linvae.factors` for the formulas and the metrics' definitions.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linvae._errors import InputError

__all__ = [
    "FactorMetrics", "factor_covariance", "latent_factor_correlation", "gaussian_mutual_information",
    "joint_mutual_information", "mig", "sap", "factor_metrics", "discretise", "histogram_mutual_information",
    "histogram_mig",
]


class FactorMetrics(NamedTuple):
    """Closed-form latent–factor statistics; leading axes ``...`` of the encoder (e.g. a scan ``T``) (docs/factors.md).

    Attributes:
      correlation: ``ρ_ij``, latent–factor correlations, ``(..., m, s)``.
      mutual_information: ``I(z_i; v_j)`` in nats, ``(..., m, s)``.
      joint_information: ``I(z; v)`` in nats, ``(...)``.
      mig_per_factor: ``(I_(1)j − I_(2)j) / log n_bins``, ``(..., s)``.
      mig: mean of ``mig_per_factor`` over factors, ``(...)``.
      sap_per_factor: ``ρ²_(1)j − ρ²_(2)j``, ``(..., s)``.
      sap: mean of ``sap_per_factor`` over factors, ``(...)``.
    """

    correlation: jnp.ndarray         # ρ_ij (..., m, s)
    mutual_information: jnp.ndarray  # I(z_i; v_j) in nats (..., m, s)
    joint_information: jnp.ndarray   # I(z; v) in nats (...)
    mig_per_factor: jnp.ndarray      # (I_(1)j − I_(2)j) / log n_bins (..., s)
    mig: jnp.ndarray                 # mean over factors (...)
    sap_per_factor: jnp.ndarray      # ρ²_(1)j − ρ²_(2)j (..., s)
    sap: jnp.ndarray                 # mean over factors (...)


def factor_covariance(mixing, noise_var):
    """Data covariance ``C = G Gᵀ + σ_n² I`` of ``y = G v + n`` (docs/factors.md).

    Args:
      mixing: ``G``, ``(d, s)``.
      noise_var: ``σ_n²``.

    Returns:
      ``(d, d)`` covariance.
    """
    G = jnp.asarray(mixing)
    return G @ G.T + noise_var * jnp.eye(G.shape[0], dtype=G.dtype)


def latent_factor_correlation(encoder_weight, sigma2, mixing, noise_var):
    """``ρ_ij = (A G)_ij / sqrt((A C Aᵀ)_ii + σ_i²)``, ``(..., m, s)``; 0 for a latent of zero variance
    (docs/factors.md).

    Args:
      encoder_weight: ``A``, ``(..., m, d)`` encoder weights of ``m`` latents.
      sigma2: ``σ²``, ``(..., m)`` posterior variances.
      mixing: ``G``, ``(d, s)``: the data are ``y = G v + n`` with ``s`` standard normal factors ``v``.
      noise_var: ``σ_n²``, the variance of the isotropic noise ``n``.

    Returns:
      ``(..., m, s)`` correlations.
    """
    A, G = jnp.asarray(encoder_weight), jnp.asarray(mixing)
    var_z = jnp.einsum("...id,de,...ie->...i", A, factor_covariance(G, noise_var), A) + sigma2
    positive = var_z > 0
    return jnp.where(positive[..., None], (A @ G) / jnp.sqrt(jnp.where(positive, var_z, 1))[..., None], 0)


def gaussian_mutual_information(rho):
    """Mutual information of two jointly Gaussian scalars with correlation ``ρ``: ``−½ log(1 − ρ²)`` nats
    (docs/factors.md).

    Args:
      rho: correlations, any shape, ``|ρ| < 1``.

    Returns:
      Mutual information in nats, the shape of ``rho``.
    """
    return -0.5 * jnp.log1p(-jnp.asarray(rho) ** 2)


def joint_mutual_information(encoder_weight, sigma2, mixing, noise_var):
    """``I(z; v) = ½ [log det(A C Aᵀ + Σ) − log det(σ_n² A Aᵀ + Σ)]`` nats, ``Σ = diag σ²`` (needs ``σ² > 0``):
    the entropy of the code minus its entropy given the factors (``Cov(z | v) = σ_n² A Aᵀ + Σ``) (docs/factors.md).

    Args:
      encoder_weight: ``A``, ``(..., m, d)`` encoder weights of ``m`` latents.
      sigma2: ``σ²``, ``(..., m)`` posterior variances.
      mixing: ``G``, ``(d, s)``: the data are ``y = G v + n`` with ``s`` standard normal factors ``v``.
      noise_var: ``σ_n²``, the variance of the isotropic noise ``n``.

    Returns:
      ``I(z; v)`` in nats, ``(...)``.
    """
    A = jnp.asarray(encoder_weight)
    C = factor_covariance(mixing, noise_var)
    noise = jnp.asarray(sigma2)[..., None] * jnp.eye(A.shape[-2], dtype=A.dtype)
    At = jnp.swapaxes(A, -1, -2)
    return 0.5 * (jnp.linalg.slogdet(A @ C @ At + noise)[1] - jnp.linalg.slogdet(noise_var * A @ At + noise)[1])


def _top_two_gap(score):
    """Largest minus second-largest entry over the latent axis (-2) of ``(..., m, s)``; the second is 0 if m = 1."""
    top = jnp.sort(score, axis=-2)
    second = top[..., -2, :] if score.shape[-2] > 1 else jnp.zeros_like(top[..., -1, :])
    return top[..., -1, :] - second


def mig(mutual_information, factor_entropy):
    """Mutual information gap (Chen et al. 2018): ``(per_factor, mean)`` with per-factor
    ``(I_(1)j − I_(2)j) / H(v_j)`` from a ``(..., m, s)`` matrix ``I(z_i; v_j)`` and entropies ``(s,)`` or scalar
    in the same log base (docs/factors.md).

    Args:
      mutual_information: ``(..., m, s)`` matrix ``I(z_i; v_j)``; with one latent (``m = 1``) the second-largest
        value is taken as 0.
      factor_entropy: ``H(v_j)``, ``(s,)`` or a scalar, in the same log base.

    Returns:
      ``(per_factor, mean)``: ``(..., s)`` gaps and their mean over factors.
    """
    per_factor = _top_two_gap(jnp.asarray(mutual_information)) / factor_entropy
    return per_factor, per_factor.mean(-1)


def sap(score):
    """Separated attribute predictability (Kumar et al. 2018): ``(per_factor, mean)`` with per-factor gap between
    the two largest scores ``S_ij`` over latents; for continuous factors ``S_ij`` is the ``R²`` of regressing factor
    ``j`` on latent ``i`` alone (docs/factors.md).

    Args:
      score: ``(..., m, s)`` scores ``S_ij``; with one latent (``m = 1``) the second-largest score is taken as 0.

    Returns:
      ``(per_factor, mean)``: ``(..., s)`` gaps and their mean over factors.
    """
    per_factor = _top_two_gap(jnp.asarray(score))
    return per_factor, per_factor.mean(-1)


@functools.partial(jax.jit, static_argnames="n_bins")
def factor_metrics(encoder_weight, sigma2, mixing, noise_var, *, n_bins=20) -> FactorMetrics:
    """Closed-form MI, MIG and SAP of encoders ``(A, σ²)`` (leading axes allowed) on the factor model (docs/factors.md).

    MIG is normalised by ``log n_bins`` nats, the entropy of a factor discretised into ``n_bins`` equal-probability
    bins (the normaliser of :func:`histogram_mig` with ``binning="quantile"``); SAP uses ``R² = ρ²``.

    Args:
      encoder_weight: ``A``, ``(..., m, d)`` encoder weights of ``m`` latents.
      sigma2: ``σ²``, ``(..., m)`` posterior variances.
      mixing: ``G``, ``(d, s)``: the data are ``y = G v + n`` with ``s`` standard normal factors ``v``.
      noise_var: ``σ_n²``, the variance of the isotropic noise ``n``.
      n_bins: MIG normaliser ``log n_bins`` nats.

    Returns:
      The :class:`FactorMetrics`.
    """
    rho = latent_factor_correlation(encoder_weight, sigma2, mixing, noise_var)
    mi = gaussian_mutual_information(rho)
    mig_j, mig_mean = mig(mi, np.log(n_bins))
    sap_j, sap_mean = sap(rho**2)
    return FactorMetrics(correlation=rho, mutual_information=mi,
                         joint_information=joint_mutual_information(encoder_weight, sigma2, mixing, noise_var),
                         mig_per_factor=mig_j, mig=mig_mean, sap_per_factor=sap_j, sap=sap_mean)


# ---- histogram (discretised) estimators on samples, plain numpy -----------------------------------------------

BINNINGS = ("uniform", "quantile")

def discretise(x, n_bins):
    """Bin each column of ``x`` ``(N, p)`` into ``n_bins`` equal-probability bins at its empirical quantiles;
    integer codes ``0 … n_bins − 1``. Equal values share a bin (a constant column is one bin) (docs/factors.md).

    Args:
      x: ``(N, p)`` samples.
      n_bins: bins per column.

    Returns:
      ``(N, p)`` integer bin codes.
    """
    x = np.asarray(x, np.float64)
    inner = np.quantile(x, np.arange(1, n_bins) / n_bins, axis=0)  # (n_bins − 1, p)
    return np.stack([np.searchsorted(inner[:, j], x[:, j], side="right") for j in range(x.shape[1])], axis=1)


def _plugin_entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return -np.sum(p * np.log(p))


def _codes(z, v, n_bins, binning):
    """Integer codes of ``z`` and ``v`` per column and the number of codes of each: ``"quantile"`` bins both into
    ``n_bins`` equal-probability bins; ``"uniform"`` bins ``z`` into ``n_bins`` equal-width bins between each column's
    extremes (``numpy.histogram``'s edges) and takes ``v`` as discrete labels (its distinct values)."""
    if binning not in BINNINGS:
        raise InputError(f"binning must be one of {', '.join(BINNINGS)}, found {binning!r}")
    z, v = np.asarray(z, np.float64), np.asarray(v)
    if binning == "quantile":
        return discretise(z, n_bins), discretise(v, n_bins), n_bins, n_bins
    cz = np.stack([np.digitize(col, np.histogram_bin_edges(col, n_bins)[:-1]) - 1 for col in z.T], axis=1)
    labels = [np.unique(col, return_inverse=True) for col in v.T]
    cv = np.stack([inverse.ravel() for _, inverse in labels], axis=1)
    return cz, cv, n_bins, max(len(values) for values, _ in labels)


def histogram_mutual_information(z, v, n_bins=20, binning="uniform"):
    """Plug-in estimate of ``I(z_i; v_j)`` in nats, ``(m, s)``, from samples ``z`` ``(N, m)`` and ``v`` ``(N, s)``:
    ``Σ p_ab log(p_ab / (p_a p_b))`` over the codes of ``binning`` (docs/factors.md, "Two MIG estimators").

    ``"uniform"`` (disentanglement_lib's MIG): ``n_bins`` equal-width bins for each code, the factors as discrete
    labels. ``"quantile"``: ``n_bins`` equal-probability bins for codes and factors alike (:func:`discretise`), for
    continuous factors; biased upward by about ``(n_bins − 1)² / (2N)`` from finite samples and downward by the
    discretisation.

    Args:
      z: ``(N, m)`` latent samples (e.g. posterior means).
      v: ``(N, s)`` factor samples: discrete labels for ``"uniform"``, continuous values for ``"quantile"``.
      n_bins: bins per code (and per factor for ``"quantile"``).
      binning: ``"uniform"`` or ``"quantile"``.

    Returns:
      ``(m, s)`` mutual information in nats.

    Raises:
      InputError: an unknown ``binning``.
    """
    return _plugin_mutual_information(*_codes(z, v, n_bins, binning))


def _plugin_mutual_information(cz, cv, kz, kv):
    """``(m, s)`` plug-in ``I = H(a) + H(b) − H(a, b)`` of integer codes ``cz`` ``(N, m)`` (``kz`` values) and
    ``cv`` ``(N, s)`` (``kv`` values)."""
    out = np.empty((cz.shape[1], cv.shape[1]))
    for i in range(cz.shape[1]):
        hz = _plugin_entropy(np.bincount(cz[:, i], minlength=kz))
        for j in range(cv.shape[1]):
            hv = _plugin_entropy(np.bincount(cv[:, j], minlength=kv))
            joint = _plugin_entropy(np.bincount(cz[:, i] * kv + cv[:, j], minlength=kz * kv))
            out[i, j] = hz + hv - joint
    return out


def histogram_mig(z, v, n_bins=20, binning="uniform"):
    """MIG from samples, ``(per_factor, mean)``: gaps of :func:`histogram_mutual_information` over the plug-in
    entropy of each factor's codes (docs/factors.md, "Two MIG estimators").

    ``binning="uniform"`` reproduces the MIG of disentanglement_lib (Locatello et al. 2019), the number published
    papers report: codes in ``n_bins`` equal-width bins, factors as the discrete labels they are, entropy
    ``H(v_j)`` of the labels. ``binning="quantile"`` bins codes and factors into equal-probability bins (entropy
    ``≈ log n_bins``), the estimator that matches the closed form of :func:`factor_metrics` for continuous factors.
    The two differ when a monotone map squeezes a code (equal-width bins then waste most of their range) and when a
    factor has rare middle values (equal-probability bins merge or split them).

    Args:
      z: ``(N, m)`` latent samples (with one latent the second-largest information is taken as 0).
      v: ``(N, s)`` factor samples: discrete labels for ``"uniform"``, continuous values for ``"quantile"``.
      n_bins: bins per code (and per factor for ``"quantile"``).
      binning: ``"uniform"`` or ``"quantile"``.

    Returns:
      ``(per_factor, mean)``: an ``(s,)`` array and a float.

    Raises:
      InputError: an unknown ``binning``.
    """
    cz, cv, kz, kv = _codes(z, v, n_bins, binning)
    entropy = np.array([_plugin_entropy(np.bincount(cv[:, j], minlength=kv)) for j in range(cv.shape[1])])
    per_factor, mean = mig(_plugin_mutual_information(cz, cv, kz, kv), entropy)
    return np.asarray(per_factor), float(mean)
