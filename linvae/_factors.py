"""Ground-truth linear-Gaussian factor model and disentanglement metrics (Vu, Wan & Wei 2026, §3–4).

Factors ``v ~ N(0, I_s)``, observations ``y = G v + n`` with ``n ~ N(0, σ_n² I)`` (``G`` is ``(d, s)``, the
"mixing"), data covariance ``C = G Gᵀ + σ_n² I``; a linear encoder with ``m`` latents and constant variance,
``z = A y + b + σ ⊙ ε``. Everything is jointly Gaussian, so the latent–factor statistics are closed forms of
``Cov(z, v) = A G`` and ``Var z_i = (A C Aᵀ)_ii + σ_i²`` (``Var v_j = 1``):

- correlation ``ρ_ij = (A G)_ij / sqrt(Var z_i)``; mutual information ``I(z_i; v_j) = −½ log(1 − ρ_ij²)``
  (**nats**), and of the whole code ``I(z; v) = ½ [log det(A C Aᵀ + Σ) − log det(σ_n² A Aᵀ + Σ)]``;
- **MIG** (Chen et al. 2018): per factor, the gap between the two largest ``I(z_i; v_j)`` over latents divided by
  the factor's entropy, averaged over factors. The factors here are continuous, so the entropy is that of the factor
  discretised into ``n_bins`` equal-probability bins, ``H(v_j^Δ) = log n_bins`` nats: the normaliser of the
  histogram estimator (:func:`histogram_mig`), so the two are directly comparable. The closed form uses the
  continuous ``I``, which exceeds ``log n_bins`` when a latent resolves its factor finer than the bins (``+inf``
  for a noiseless copy), so the closed-form MIG is not capped at 1; the histogram estimate is;
- **SAP** (Kumar et al. 2018): per factor, the gap between the two largest ``R²`` of a linear regression of the
  factor on one latent, averaged over factors; for Gaussians ``R² = ρ²``, so SAP lies in [0, 1].

The scan (:func:`factor_scan`) takes the encoder of each scan point from a hook: :func:`beta_vae_encoder`, the
β-VAE global optimum (λ = 0; :func:`linvae.stationary_weights` on ``C``), or :func:`lambda_beta_encoder`, the
λβ-VAE global optimum (:func:`linvae.objective_closed_form`). :func:`factor_experiment` runs the λβ-VAE over a
grid of ``(λ, T)`` and returns an ``xarray.Dataset`` (docs/factors.md).

Why informativeness is lost, and why λ > 0 keeps it longer (the T-axis explanation, docs/factors.md). The optimum
of every objective of the family reads PCA modes of ``C``: latent ``k`` is ``z_k = √(M_k²/λ_k) u_kᵀ y + σ_k ε``
with ``σ_k² = 1 − M_k²``, so ``ρ_kj² = M_k² (u_kᵀ g_j)² / λ_k`` and
``I(z; v) = −½ Σ_k log(1 − M_k² (1 − σ_n²/λ_k))``: a factor is known only through the signal fractions ``M_k²`` of
the modes its column ``g_j`` overlaps. The λβ penalty multiplies the mean-path coupling of every mode by the same
``p = 1 + λ``, so every collapse threshold moves by the same factor, ``T_k(λ) = (1 + λ)² λ_k / V`` (SPEC.md §5):
mode ``k`` informs about the factors exactly while ``T < (1 + λ)² T_k``, the whole code while
``T < (1 + λ)² T_1``, and on the axis ``T / (1 + λ)²`` the collapse points of all λ coincide. Only the onsets
align, not the curves: just below its threshold ``M² ≈ (1 − T/T_k(λ)) / (2p − 1)``.
"""

import datetime
import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from linvae._errors import InputError
from linvae._objectives import Objective, objective_closed_form, objective_thresholds
from linvae._pca import spectrum_from_covariance
from linvae._results import _version
from linvae._theory import log_bisect, mode_thresholds, stationary_weights

__all__ = [
    "FactorMetrics", "FactorScan", "factor_covariance", "latent_factor_correlation", "gaussian_mutual_information",
    "joint_mutual_information", "mig", "sap", "factor_metrics", "discretise", "histogram_mutual_information",
    "histogram_mig", "beta_vae_encoder", "lambda_beta_weights", "lambda_beta_encoder", "factor_scan",
    "factor_experiment",
]


class FactorMetrics(NamedTuple):
    """Closed-form latent–factor statistics; leading axes ``...`` of the encoder (e.g. a scan ``T``)."""

    correlation: jnp.ndarray         # ρ_ij (..., m, s)
    mutual_information: jnp.ndarray  # I(z_i; v_j) in nats (..., m, s)
    joint_information: jnp.ndarray   # I(z; v) in nats (...)
    mig_per_factor: jnp.ndarray      # (I_(1)j − I_(2)j) / log n_bins (..., s)
    mig: jnp.ndarray                 # mean over factors (...)
    sap_per_factor: jnp.ndarray      # ρ²_(1)j − ρ²_(2)j (..., s)
    sap: jnp.ndarray                 # mean over factors (...)


class FactorScan(NamedTuple):
    """A scan over information prices of encoders fitted to the factor model's data."""

    T: np.ndarray                  # (G,) information prices T = β σ_dec² / tr C
    mode_thresholds: np.ndarray    # (d,) T_k = λ_k / tr C of C = G Gᵀ + σ_n² I
    encoder_weight: jnp.ndarray    # A (G, m, d)
    sigma2: jnp.ndarray            # σ² (G, m)
    metrics: FactorMetrics         # leading axis G


def factor_covariance(mixing, noise_var):
    """Data covariance ``C = G Gᵀ + σ_n² I`` of ``y = G v + n``."""
    G = jnp.asarray(mixing)
    return G @ G.T + noise_var * jnp.eye(G.shape[0], dtype=G.dtype)


def latent_factor_correlation(encoder_weight, sigma2, mixing, noise_var):
    """``ρ_ij = (A G)_ij / sqrt((A C Aᵀ)_ii + σ_i²)``, ``(..., m, s)``; 0 for a latent of zero variance."""
    A, G = jnp.asarray(encoder_weight), jnp.asarray(mixing)
    var_z = jnp.einsum("...id,de,...ie->...i", A, factor_covariance(G, noise_var), A) + sigma2
    positive = var_z > 0
    return jnp.where(positive[..., None], (A @ G) / jnp.sqrt(jnp.where(positive, var_z, 1))[..., None], 0)


def gaussian_mutual_information(rho):
    """Mutual information of two jointly Gaussian scalars with correlation ``ρ``: ``−½ log(1 − ρ²)`` nats."""
    return -0.5 * jnp.log1p(-jnp.asarray(rho) ** 2)


def joint_mutual_information(encoder_weight, sigma2, mixing, noise_var):
    """``I(z; v) = ½ [log det(A C Aᵀ + Σ) − log det(σ_n² A Aᵀ + Σ)]`` nats, ``Σ = diag σ²`` (needs ``σ² > 0``):
    the entropy of the code minus its entropy given the factors (``Cov(z | v) = σ_n² A Aᵀ + Σ``)."""
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
    in the same log base."""
    per_factor = _top_two_gap(jnp.asarray(mutual_information)) / factor_entropy
    return per_factor, per_factor.mean(-1)


def sap(score):
    """Separated attribute predictability (Kumar et al. 2018): ``(per_factor, mean)`` with per-factor gap between
    the two largest scores ``S_ij`` over latents; for continuous factors ``S_ij`` is the ``R²`` of regressing factor
    ``j`` on latent ``i`` alone."""
    per_factor = _top_two_gap(jnp.asarray(score))
    return per_factor, per_factor.mean(-1)


@functools.partial(jax.jit, static_argnames="n_bins")
def factor_metrics(encoder_weight, sigma2, mixing, noise_var, *, n_bins=20) -> FactorMetrics:
    """Closed-form MI, MIG and SAP of encoders ``(A, σ²)`` (leading axes allowed) on the factor model.

    MIG is normalised by ``log n_bins`` nats, the entropy of a factor discretised into ``n_bins`` equal-probability
    bins (the normaliser of :func:`histogram_mig`); SAP uses ``R² = ρ²``.
    """
    rho = latent_factor_correlation(encoder_weight, sigma2, mixing, noise_var)
    mi = gaussian_mutual_information(rho)
    mig_j, mig_mean = mig(mi, np.log(n_bins))
    sap_j, sap_mean = sap(rho**2)
    return FactorMetrics(correlation=rho, mutual_information=mi,
                         joint_information=joint_mutual_information(encoder_weight, sigma2, mixing, noise_var),
                         mig_per_factor=mig_j, mig=mig_mean, sap_per_factor=sap_j, sap=sap_mean)


# ---- histogram (discretised) estimators on samples, plain numpy -----------------------------------------------

def discretise(x, n_bins):
    """Bin each column of ``x`` ``(N, p)`` into ``n_bins`` equal-probability bins at its empirical quantiles;
    integer codes ``0 … n_bins − 1``. Equal values share a bin (a constant column is one bin)."""
    x = np.asarray(x, np.float64)
    inner = np.quantile(x, np.arange(1, n_bins) / n_bins, axis=0)  # (n_bins − 1, p)
    return np.stack([np.searchsorted(inner[:, j], x[:, j], side="right") for j in range(x.shape[1])], axis=1)


def _plugin_entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return -np.sum(p * np.log(p))


def histogram_mutual_information(z, v, n_bins=20):
    """Plug-in estimate of ``I(z_i; v_j)`` in nats, ``(m, s)``, from samples ``z`` ``(N, m)`` and ``v`` ``(N, s)``
    both discretised by :func:`discretise`: ``Σ p_ab log(p_ab / (p_a p_b))``. Biased upward by about
    ``(n_bins − 1)² / (2N)`` from finite samples and downward by the discretisation."""
    cz, cv = discretise(z, n_bins), discretise(v, n_bins)
    out = np.empty((cz.shape[1], cv.shape[1]))
    for i in range(cz.shape[1]):
        hz = _plugin_entropy(np.bincount(cz[:, i], minlength=n_bins))
        for j in range(cv.shape[1]):
            hv = _plugin_entropy(np.bincount(cv[:, j], minlength=n_bins))
            joint = _plugin_entropy(np.bincount(cz[:, i] * n_bins + cv[:, j], minlength=n_bins**2))
            out[i, j] = hz + hv - joint
    return out


def histogram_mig(z, v, n_bins=20):
    """MIG from samples with the histogram estimator, ``(per_factor, mean)``: gaps of
    :func:`histogram_mutual_information` over the plug-in entropy of each discretised factor (``≈ log n_bins``)."""
    cv = discretise(v, n_bins)
    entropy = np.array([_plugin_entropy(np.bincount(cv[:, j], minlength=n_bins)) for j in range(cv.shape[1])])
    per_factor, mean = mig(histogram_mutual_information(z, v, n_bins), entropy)
    return np.asarray(per_factor), float(mean)


# ---- scans over the information price ----------------------------------------------------------------------------

def beta_vae_encoder(eigenvalues, eigenvectors, T, n_latents):
    """Encoder ``(A, σ²)`` of the β-VAE global optimum at ``T`` (λ = 0; SPEC.md §3): latent ``k`` carries PCA mode
    ``k`` of ``C`` with ``a_k = sqrt((1 − τ_k)/λ_k) u_kᵀ``, ``σ_k² = min(τ_k, 1)``
    (:func:`linvae.stationary_weights`)."""
    p = stationary_weights(jnp.zeros(eigenvalues.shape[-1]), eigenvalues, eigenvectors, T, n_latents)
    return p.encoder_weight, jnp.exp(p.log_sigma2_bias)


def lambda_beta_weights(eigenvalues, eigenvectors, T, n_latents, lam):
    """Encoder ``(A, σ²)`` of the λβ-VAE global optimum at ``T`` (SPEC.md §5; :func:`linvae.objective_closed_form`
    with ``Objective('lambda-beta', lam)``; derivation in docs/objectives.md).

    The λβ loss on ``C`` is ``E‖x − x̂(z)‖²/(2σ_dec²) + β R + λ E‖x − x̂(μ(x))‖²/(2σ_dec²)``. Latent ``i`` carries
    the ``i``-th carried PCA mode ``k`` (the top ``min(K, d)`` modes, PCA order) with
    ``a_i = √(M_k² / λ_k) u_kᵀ`` and ``σ_i² = 1 − M_k² = p u / ((p − 1) u + 1)``, ``p = 1 + λ``, ``u`` the positive
    root of ``(p − 1) u² + u = τ_k / p``, ``τ_k = T V / λ_k``; active while ``T < (1 + λ)² λ_k / V``, otherwise (and
    for surplus latents) ``a_i = 0``, ``σ_i² = 1``. ``A² = 1`` per latent. λ = 0 is :func:`beta_vae_encoder`.
    ``lam`` may be traced (no recompilation for a new value).
    """
    lam_e, U = jnp.asarray(eigenvalues), jnp.asarray(eigenvectors)
    d = lam_e.shape[-1]
    m = min(n_latents, d)
    branch = objective_closed_form(T, lam_e, Objective("lambda-beta", lam=lam), n_latents)
    order = jnp.argsort(jnp.where(branch.carried, 0, 1), stable=True)[:m]  # carried modes first, PCA order kept
    active = branch.active[order]
    gain = jnp.where(active, jnp.sqrt(branch.M2[order] / jnp.where(active, lam_e[order], 1)), 0)
    A = jnp.pad(gain[:, None] * U[:, order].T, ((0, n_latents - m), (0, 0)))
    sigma2 = jnp.pad(branch.sigma2[order], (0, n_latents - m), constant_values=1)
    return A, sigma2


def lambda_beta_encoder(lam):
    """The :func:`factor_scan` hook ``(eigenvalues, eigenvectors, T, n_latents) -> (A, σ²)`` of the λβ-VAE optimum
    at penalty weight ``λ ≥ 0`` (:func:`lambda_beta_weights`)."""
    Objective("lambda-beta", lam=lam)  # validates λ now, with the objective's message
    return functools.partial(lambda_beta_weights, lam=lam)


def factor_scan(mixing, noise_var, T, n_latents, *, encoder: Callable = beta_vae_encoder, n_bins=20) -> FactorScan:
    """Latent–factor information along a scan of information prices ``T = β σ_dec² / tr C``.

    ``encoder(eigenvalues, eigenvectors, T, n_latents) -> (A, σ²)`` gives the encoder of one scan point from the
    spectrum of ``C = G Gᵀ + σ_n² I`` (descending); it is vmapped over ``T``. The default is the β-VAE
    (:func:`beta_vae_encoder`). Hook for the λβ-VAE: pass a function of the same signature built on its closed form
    (:func:`lambda_beta_encoder`).

    For λ = 0 a mode carries information about the factors only while ``T < T_k``: beyond its collapse threshold
    its latent has ``a_k = 0`` and ``I(z_k; v) = 0`` (a test).
    """
    G = np.asarray(mixing, np.float64)
    if G.ndim != 2 or not np.all(np.isfinite(G)) or not (np.isfinite(noise_var) and noise_var >= 0):
        raise InputError(f"mixing must be a finite (d, s) matrix and noise_var >= 0, found shape {G.shape} and "
                         f"noise_var={noise_var}")
    spectrum = spectrum_from_covariance(np.zeros(G.shape[0]), np.asarray(factor_covariance(G, noise_var)))
    lam, U = jnp.asarray(spectrum.eigenvalues), jnp.asarray(spectrum.eigenvectors)
    T = np.atleast_1d(np.asarray(T, np.float64))
    A, sigma2 = jax.jit(jax.vmap(lambda t: encoder(lam, U, t, n_latents)))(jnp.asarray(T))
    return FactorScan(T=T, mode_thresholds=np.asarray(mode_thresholds(lam)), encoder_weight=A, sigma2=sigma2,
                      metrics=factor_metrics(A, sigma2, G, noise_var, n_bins=n_bins))


# ---- the λβ experiment: informativeness over (λ, T) -------------------------------------------------------------

_NATS = "nats"
_EXPERIMENT_ATTRS = {  # long name and units of every variable of the experiment Dataset
    "T": ("normalised information price T = beta sigma_dec2 / V, V = tr C", "1"),
    "beta": ("raw regularisation weight beta = T V / sigma_dec2", "1"),
    "lam": ("lambda-beta penalty weight lambda (posterior-mean reconstruction)", "1"),
    "T_rescaled": ("rescaled information price T / (1 + lambda)^2", "1"),
    "latent": ("latent index", "1"),
    "factor": ("ground-truth factor index", "1"),
    "mode": ("PCA mode index of C, eigenvalues descending", "1"),
    "feature": ("observed feature index", "1"),
    "mixing": ("mixing matrix G of y = G v + n", "1"),
    "pca_eigenvalue": ("eigenvalue lambda_k of C = G G^T + sigma_n^2 I, descending", "1"),
    "threshold": ("collapse threshold T_k(lambda) = (1 + lambda)^2 lambda_k / V", "1"),
    "mutual_information": ("closed-form I(z_i; v_j) between latent i and factor j", _NATS),
    "joint_information": ("closed-form I(z; v) between the whole code and all factors", _NATS),
    "information_limit": ("I(z; v) as T -> 0: 1/2 sum_{k <= min(K, d)} log(lambda_k / sigma_n^2)", _NATS),
    "information_drop_T": ("largest T with I(z; v) >= fraction * information_limit (bisection on the closed form)",
                           "1"),
    "mig": ("mutual information gap, mean over factors, normalised by log(n_bins)", "1"),
    "mig_per_factor": ("(I_(1)j - I_(2)j) / log(n_bins) per factor j", "1"),
    "sap": ("separated attribute predictability, mean over factors (R^2 = rho^2)", "1"),
    "sap_per_factor": ("rho^2_(1)j - rho^2_(2)j per factor j", "1"),
    "sigma2": ("posterior variance sigma_i^2 of latent i (1 - signal fraction)", "1"),
}


def _joint_information_at(T, lam, eigenvalues, eigenvectors, mixing, noise_var, n_latents):
    A, sigma2 = lambda_beta_weights(eigenvalues, eigenvectors, T, n_latents, lam)
    return joint_mutual_information(A, sigma2, mixing, noise_var)


@functools.partial(jax.jit, static_argnames=("n_latents", "n_bins"))
def _experiment_grid(T, lams, eigenvalues, eigenvectors, mixing, noise_var, fraction, *, n_latents, n_bins):
    """Encoders and metrics on the (λ, T) grid, and the T where I(z; v) falls to ``fraction`` of its T → 0 limit.
    One vmap over λ of one vmap over T; λ, T and the fraction are traced."""
    per_T = jax.vmap(lambda t, lam: lambda_beta_weights(eigenvalues, eigenvectors, t, n_latents, lam), (0, None))
    A, sigma2 = jax.vmap(per_T, (None, 0))(T, lams)                      # (n_lam, n_T, K, d), (n_lam, n_T, K)
    metrics = factor_metrics(A, sigma2, mixing, noise_var, n_bins=n_bins)

    m = min(n_latents, eigenvalues.shape[-1])
    limit = 0.5 * jnp.sum(jnp.log(eigenvalues[:m] / noise_var))        # whitened top modes, σ² → 0
    target = fraction * limit
    top = jax.vmap(lambda lam: objective_thresholds(eigenvalues, Objective("lambda-beta", lam=lam))[0])(
        lams)                                                            # T_1(λ): I(z; v) = 0 from here on

    def drop(lam, T1):  # I(z; v) decreases with T (every M_k² does): bisection on log T in [1e-12 T_1(λ), T_1(λ)]
        def informative(log_T):
            return _joint_information_at(jnp.exp(log_T), lam, eigenvalues, eigenvectors, mixing, noise_var,
                                         n_latents) >= target
        lo, _ = log_bisect(informative, jnp.log(T1) - 12 * jnp.log(10.0), jnp.log(T1))
        return jnp.exp(lo)

    drop_T = jnp.where(jnp.isfinite(limit) & (limit > 0), jax.vmap(drop)(lams, top), jnp.nan)
    return sigma2, metrics, limit, drop_T


def factor_experiment(mixing, noise_var, lams, n_latents, *, T=None, beta=None, sigma_dec2=1.0, n_bins=20,
                      fraction=0.01) -> xr.Dataset:
    """Informativeness of the λβ-VAE optimum about the factors over a grid of β (or ``T``) for several λ.

    The experiment of Vu, Wan & Wei (2026) in closed form: for each λ and each price, the global optimum of the
    λβ-VAE on ``C = G Gᵀ + σ_n² I`` (:func:`lambda_beta_weights`) and its latent–factor statistics
    (:func:`factor_metrics`). β and ``T`` are related by ``T = β σ_dec² / V`` with ``V = tr C`` (SPEC.md §1); the
    λ penalty is divided by ``2σ_dec²`` like the reconstruction term, so the optimum depends on β and σ_dec² only
    through ``T`` (the common convention ``σ_dec² = 1`` gives ``β = T V``).

    T-axis explanation (docs/factors.md): every factor's information rides on the PCA modes of ``C``, and the λβ
    penalty moves every mode's collapse threshold by the same factor, ``T_k(λ) = (1 + λ)² λ_k / V``. So
    ``I(z; v) = 0`` exactly for ``T ≥ (1 + λ)² T_1`` and is positive below; the informative range is
    ``(1 + λ)²`` times longer than the β-VAE's, and on the axis ``T / (1 + λ)²`` the collapse points of every λ
    coincide (only the onsets: the curves differ, ``M² ≈ (1 − T/T_k(λ))/(2p − 1)`` near a threshold).

    Args:
      mixing: ``G``, ``(d, s)``; noise_var: ``σ_n² ≥ 0``.
      lams: 1-D penalty weights ``λ ≥ 0`` (include 0 for the β-VAE).
      n_latents: ``K``.
      T: 1-D positive information prices; or ``beta``: 1-D positive raw weights (exactly one of the two).
      sigma_dec2: ``σ_dec²`` of the β convention (only converts between β and ``T``).
      n_bins: MIG normaliser ``log n_bins`` nats (as :func:`factor_metrics`).
      fraction: ``information_drop_T`` is the largest ``T`` with ``I(z; v) ≥ fraction × I(z; v)|_{T→0}``
        (NaN without noise, where the limit is infinite).
    Returns:
      Dataset with dims ``(lam, T, latent, factor)`` (plus ``mode``, ``feature``): ``mutual_information``,
      ``joint_information``, ``mig``, ``mig_per_factor``, ``sap``, ``sap_per_factor``, ``sigma2``, ``threshold``
      ``(lam, mode)``, ``information_limit``, ``information_drop_T`` ``(lam,)``, ``mixing``, ``pca_eigenvalue``;
      coordinates ``beta`` ``(T,)`` and ``T_rescaled = T / (1 + λ)²`` ``(lam, T)``. Information in nats.
    """
    G = np.asarray(mixing, np.float64)
    if G.ndim != 2 or not np.all(np.isfinite(G)) or not (np.isfinite(noise_var) and noise_var >= 0):
        raise InputError(f"mixing must be a finite (d, s) matrix and noise_var >= 0, found shape {G.shape} and "
                         f"noise_var={noise_var}")
    lams = np.atleast_1d(np.asarray(lams, np.float64))
    if lams.ndim != 1 or not np.all(np.isfinite(lams) & (lams >= 0)):
        raise InputError(f"lams must be a 1-D list of finite weights >= 0, found {lams}; e.g. lams=[0, 1, 3]")
    if (T is None) == (beta is None):
        raise InputError("factor_experiment needs exactly one of T (information prices) or beta (raw weights), "
                         f"found T={T} and beta={beta}")
    if not (isinstance(n_latents, (int, np.integer)) and n_latents >= 1):
        raise InputError(f"n_latents must be a positive integer, found {n_latents!r}")
    if not (np.isfinite(sigma_dec2) and sigma_dec2 > 0 and 0 < fraction < 1):
        raise InputError(f"sigma_dec2 must be > 0 and fraction in (0, 1), found {sigma_dec2} and {fraction}")
    spectrum = spectrum_from_covariance(np.zeros(G.shape[0]), np.asarray(G @ G.T + noise_var * np.eye(G.shape[0])))
    V = float(np.sum(spectrum.eigenvalues))
    grid = np.atleast_1d(np.asarray(T if beta is None else beta, np.float64))
    if grid.ndim != 1 or not np.all(np.isfinite(grid) & (grid > 0)):
        raise InputError(f"{'T' if beta is None else 'beta'} must be a 1-D grid of positive values, found {grid}")
    T = grid if beta is None else grid * sigma_dec2 / V
    beta = T * V / sigma_dec2

    with jax.enable_x64(True):  # closed forms in float64 whatever the caller's precision
        sigma2, metrics, limit, drop_T = jax.tree.map(np.asarray, _experiment_grid(
            jnp.asarray(T), jnp.asarray(lams), jnp.asarray(spectrum.eigenvalues),
            jnp.asarray(spectrum.eigenvectors), jnp.asarray(G), jnp.asarray(noise_var, jnp.float64),
            jnp.asarray(fraction, jnp.float64), n_latents=n_latents, n_bins=n_bins))
        thresholds = np.stack([np.asarray(objective_thresholds(spectrum.eigenvalues, Objective("lambda-beta", lam)))
                               for lam in lams])
    d, s = G.shape
    ds = xr.Dataset(
        coords={"lam": lams, "T": T, "beta": ("T", beta), "T_rescaled": (("lam", "T"), T / (1 + lams[:, None]) ** 2),
                "latent": np.arange(n_latents), "factor": np.arange(s), "mode": np.arange(1, d + 1),
                "feature": np.arange(d)},
        data_vars={
            "mutual_information": (("lam", "T", "latent", "factor"), metrics.mutual_information),
            "joint_information": (("lam", "T"), metrics.joint_information),
            "mig": (("lam", "T"), metrics.mig), "mig_per_factor": (("lam", "T", "factor"), metrics.mig_per_factor),
            "sap": (("lam", "T"), metrics.sap), "sap_per_factor": (("lam", "T", "factor"), metrics.sap_per_factor),
            "sigma2": (("lam", "T", "latent"), sigma2),
            "threshold": (("lam", "mode"), thresholds),
            "information_limit": ((), limit), "information_drop_T": ("lam", drop_T),
            "mixing": (("feature", "factor"), G), "pca_eigenvalue": ("mode", spectrum.eigenvalues),
        },
    )
    for name, (long_name, units) in _EXPERIMENT_ATTRS.items():
        ds[name].attrs.update(long_name=long_name, units=units)
    ds["information_drop_T"].attrs["fraction"] = float(fraction)
    ds.attrs = {
        "title": "linvae factor experiment: lambda-beta-VAE optimum, latent-factor information over (lambda, T)",
        "objective": "lambda-beta: E||x - xhat(z)||^2/(2 sigma_dec2) + beta R "
                     "+ lam E||x - xhat(mu(x))||^2/(2 sigma_dec2)",
        "beta_convention": f"T = beta sigma_dec2 / V with sigma_dec2 = {float(sigma_dec2):g} and V = tr C = {V:.12g}",
        "sigma_dec2": float(sigma_dec2), "total_variance": V, "noise_var": float(noise_var),
        "n_latents": int(n_latents), "n_factors": int(s), "n_features": int(d), "n_bins": int(n_bins),
        "information_units": _NATS,
        "mig_normalisation": f"log(n_bins) = log({int(n_bins)}) nats, the entropy of a factor discretised into "
                             "n_bins equal-probability bins (closed-form MIG is not capped at 1)",
        "threshold_law": "T_k(lambda) = (1 + lambda)^2 lambda_k / V: I(z; v) = 0 for T >= T_1(lambda)",
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "linvae_version": _version("linvae"), "jax_version": jax.__version__, "xarray_version": xr.__version__,
        "numpy_version": np.__version__, "spec": "SPEC.md sections 1, 3, 5; docs/factors.md",
    }
    return ds
