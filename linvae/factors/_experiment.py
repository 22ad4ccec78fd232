"""Scans of encoders over the information price on the factor model, and the λβ experiment over (λ, T)
(Vu, Wan & Wei 2026; docs/factors.md).

Why informativeness is lost, and why λ > 0 keeps it longer (the T-axis explanation, docs/factors.md). The optimum
of every objective of the family reads PCA modes of ``C``: latent ``k`` is ``z_k = √(M_k²/λ_k) u_kᵀ y + σ_k ε``
with ``σ_k² = 1 − M_k²``, so ``ρ_kj² = M_k² (u_kᵀ g_j)² / λ_k`` and
``I(z; v) = −½ Σ_k log(1 − M_k² (1 − σ_n²/λ_k))``: a factor is known only through the signal fractions ``M_k²`` of
the modes its column ``g_j`` overlaps. The λβ penalty multiplies the mean-path coupling of every mode by the same
``p = 1 + λ``, so every collapse threshold moves by the same factor, ``T_k(λ) = (1 + λ)² λ_k / V`` (docs/theory.md §5):
mode ``k`` informs about the factors exactly while ``T < (1 + λ)² T_k``, the whole code while
``T < (1 + λ)² T_1``, and on the axis ``T / (1 + λ)²`` the collapse points of all λ coincide. Only the onsets
align, not the curves: just below its threshold ``M² ≈ (1 − T/T_k(λ)) / (2p − 1)``.
"""

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from linvae._errors import InputError
from linvae._numerics import log_bisect
from linvae.data import spectrum_from_covariance
from linvae.factors._metrics import FactorMetrics, factor_covariance, factor_metrics, joint_mutual_information
from linvae.model import Objective
from linvae.results import FACTOR_SCHEMA, named, provenance
from linvae.theory import optimum, stationary_weights, thresholds

__all__ = ["FactorScan", "beta_vae_encoder", "lambda_beta_weights", "lambda_beta_encoder", "factor_scan",
           "factor_experiment"]


class FactorScan(NamedTuple):
    """A scan over information prices of encoders fitted to the factor model's data (docs/factors.md).

    Attributes:
      T: ``(G,)`` information prices ``T = β σ_dec² / tr C``.
      mode_thresholds: ``(d,)`` β-VAE thresholds ``T_k = λ_k / tr C`` of ``C = G Gᵀ + σ_n² I`` (whatever the
        encoder hook).
      encoder_weight: ``A``, ``(G, m, d)``.
      sigma2: ``σ²``, ``(G, m)``.
      metrics: the :class:`linvae.factors.FactorMetrics`, leading axis ``G``.
    """

    T: np.ndarray                  # (G,) information prices T = β σ_dec² / tr C
    mode_thresholds: np.ndarray    # (d,) T_k = λ_k / tr C of C = G Gᵀ + σ_n² I
    encoder_weight: jnp.ndarray    # A (G, m, d)
    sigma2: jnp.ndarray            # σ² (G, m)
    metrics: FactorMetrics         # leading axis G


def beta_vae_encoder(eigenvalues, eigenvectors, T, n_latents):
    """Encoder ``(A, σ²)`` of the β-VAE global optimum at ``T`` (λ = 0; docs/theory.md §3): latent ``k`` carries PCA
    mode ``k`` of ``C`` with ``a_k = sqrt((1 − τ_k)/λ_k) u_kᵀ``, ``σ_k² = min(τ_k, 1)``, ``τ_k = T V / λ_k``
    (:func:`linvae.theory.stationary_weights`); collapsed and surplus latents have ``a_k = 0``, ``σ_k² = 1``.

    Args:
      eigenvalues: ``(d,)`` eigenvalues of ``C``, descending.
      eigenvectors: ``(d, d)`` eigenvectors in columns.
      T: scalar information price.
      n_latents: ``m``.

    Returns:
      ``(A, σ²)``: ``(m, d)`` and ``(m,)``.
    """
    p = stationary_weights(jnp.zeros(eigenvalues.shape[-1]), eigenvalues, eigenvectors, T, n_latents)
    return p.encoder_weight, jnp.exp(p.log_sigma2_bias)


def lambda_beta_weights(eigenvalues, eigenvectors, T, n_latents, lam):
    """Encoder ``(A, σ²)`` of the λβ-VAE global optimum at ``T`` (docs/theory.md §5; :func:`linvae.theory.optimum`
    with ``Objective('lambda-beta', lam)``; derivation in docs/objectives.md).

    The λβ loss on ``C`` is ``E‖x − x̂(z)‖²/(2σ_dec²) + β R + λ E‖x − x̂(μ(x))‖²/(2σ_dec²)``. Latent ``i`` carries
    the ``i``-th carried PCA mode ``k`` (the top ``min(K, d)`` modes, PCA order) with
    ``a_i = √(M_k² / λ_k) u_kᵀ`` and ``σ_i² = 1 − M_k² = p u / ((p − 1) u + 1)``, ``p = 1 + λ``, ``u`` the positive
    root of ``(p − 1) u² + u = τ_k / p``, ``τ_k = T V / λ_k``; active while ``T < (1 + λ)² λ_k / V``, otherwise (and
    for surplus latents) ``a_i = 0``, ``σ_i² = 1``. The posterior scale ``A² = mean μ_i² + σ_i²`` is 1 for every
    latent. λ = 0 is :func:`beta_vae_encoder`. ``lam`` may be traced (no recompilation for a new value).

    Args:
      eigenvalues: ``(d,)`` eigenvalues of ``C``, descending.
      eigenvectors: ``(d, d)`` eigenvectors in columns.
      T: scalar information price.
      n_latents: ``m``.
      lam: ``λ ≥ 0``.

    Returns:
      ``(A, σ²)``: ``(m, d)`` and ``(m,)``.
    """
    eig, U = jnp.asarray(eigenvalues), jnp.asarray(eigenvectors)
    d = eig.shape[-1]
    m = min(n_latents, d)
    branch = optimum(T, eig, Objective("lambda-beta", lam=lam), n_latents)
    order = jnp.argsort(jnp.where(branch.carried, 0, 1), stable=True)[:m]  # carried modes first, PCA order kept
    active = branch.active[order]
    gain = jnp.where(active, jnp.sqrt(branch.M2[order] / jnp.where(active, eig[order], 1)), 0)
    A = jnp.pad(gain[:, None] * U[:, order].T, ((0, n_latents - m), (0, 0)))
    sigma2 = jnp.pad(branch.sigma2[order], (0, n_latents - m), constant_values=1)
    return A, sigma2


def lambda_beta_encoder(lam):
    """The :func:`factor_scan` hook ``(eigenvalues, eigenvectors, T, n_latents) -> (A, σ²)`` of the λβ-VAE optimum
    at penalty weight ``λ ≥ 0`` (:func:`lambda_beta_weights`) (docs/factors.md).

    Args:
      lam: ``λ ≥ 0``.

    Returns:
      The encoder function for :func:`factor_scan`.
    """
    Objective("lambda-beta", lam=lam)  # validates λ now, with the objective's message
    return functools.partial(lambda_beta_weights, lam=lam)


def factor_scan(mixing, noise_var, T, n_latents, *, encoder: Callable = beta_vae_encoder, n_bins=20) -> FactorScan:
    """Latent–factor information along a scan of information prices ``T = β σ_dec² / tr C`` (docs/factors.md).

    ``encoder(eigenvalues, eigenvectors, T, n_latents) -> (A, σ²)`` gives the encoder of one scan point from the
    spectrum of ``C = G Gᵀ + σ_n² I`` (descending); it is vmapped over ``T``. The default is the β-VAE
    (:func:`beta_vae_encoder`). Hook for the λβ-VAE: pass a function of the same signature built on its closed form
    (:func:`lambda_beta_encoder`).

    For λ = 0 a mode carries information about the factors only while ``T < T_k``: beyond its collapse threshold
    its latent has ``a_k = 0`` and ``I(z_k; v) = 0`` (a test).

    Args:
      mixing: ``G``, ``(d, s)``.
      noise_var: ``σ_n²``.
      T: ``(G,)`` information prices.
      n_latents: ``m``.
      encoder: ``(eigenvalues, eigenvectors, T, n_latents) -> (A, σ²)``.
      n_bins: MIG normaliser (as :func:`linvae.factors.factor_metrics`).

    Returns:
      The :class:`FactorScan`.

    Raises:
      InputError: ``mixing`` not a finite ``(d, s)`` matrix or ``noise_var`` negative or not finite.
    """
    G = np.asarray(mixing, np.float64)
    if G.ndim != 2 or not np.all(np.isfinite(G)) or not (np.isfinite(noise_var) and noise_var >= 0):
        raise InputError(f"mixing must be a finite (d, s) matrix and noise_var >= 0, found shape {G.shape} and "
                         f"noise_var={noise_var}")
    spectrum = spectrum_from_covariance(np.zeros(G.shape[0]), np.asarray(factor_covariance(G, noise_var)))
    eig, U = jnp.asarray(spectrum.eigenvalues), jnp.asarray(spectrum.eigenvectors)
    T = np.atleast_1d(np.asarray(T, np.float64))
    A, sigma2 = jax.jit(jax.vmap(lambda t: encoder(eig, U, t, n_latents)))(jnp.asarray(T))
    return FactorScan(T=T, mode_thresholds=np.asarray(thresholds(eig)), encoder_weight=A, sigma2=sigma2,
                      metrics=factor_metrics(A, sigma2, G, noise_var, n_bins=n_bins))


# ---- the λβ experiment: informativeness over (λ, T) -------------------------------------------------------------

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
    top = jax.vmap(lambda lam: thresholds(eigenvalues, Objective("lambda-beta", lam=lam))[0])(
        lams)                                                            # T_1(λ): I(z; v) = 0 from here on

    def drop(lam, T1):  # I(z; v) decreases with T (every M_k² does): bisection on log T in [1e-12 T_1(λ), T_1(λ)]
        def informative(log_T):
            return _joint_information_at(jnp.exp(log_T), lam, eigenvalues, eigenvectors, mixing, noise_var,
                                         n_latents) >= target
        lo, _ = log_bisect(informative, jnp.log(T1) - 12 * jnp.log(10.0), jnp.log(T1))
        return jnp.exp(lo)

    drop_T = jnp.where(jnp.isfinite(limit) & (limit > 0), jax.vmap(drop)(lams, top), jnp.nan)
    return sigma2, metrics, limit, drop_T


def _check_experiment(mixing, noise_var, lams, n_latents, T, beta, sigma_dec2, fraction):
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
    grid = np.atleast_1d(np.asarray(T if beta is None else beta, np.float64))
    if grid.ndim != 1 or not np.all(np.isfinite(grid) & (grid > 0)):
        raise InputError(f"{'T' if beta is None else 'beta'} must be a 1-D grid of positive values, found {grid}")
    return G, lams, grid


def factor_experiment(mixing, noise_var, lams, n_latents, *, T=None, beta=None, sigma_dec2=1.0, n_bins=20,
                      fraction=0.01) -> xr.Dataset:
    """Informativeness of the λβ-VAE optimum about the factors over a grid of β (or ``T``) for several λ.

    The experiment of Vu, Wan & Wei (2026) in closed form: for each λ and each price, the global optimum of the
    λβ-VAE on ``C = G Gᵀ + σ_n² I`` (:func:`lambda_beta_weights`) and its latent–factor statistics
    (:func:`factor_metrics`). ``T = β σ_dec² / V``, ``V = tr C`` (docs/theory.md §1); the λ penalty is divided by
    ``2σ_dec²`` like the reconstruction term, so the optimum depends on β and σ_dec² only through ``T``. Every
    threshold moves to ``T_k(λ) = (1 + λ)² λ_k / V``, so ``I(z; v) = 0`` for ``T ≥ (1 + λ)² T_1`` (docs/factors.md).

    Args:
      mixing: ``G``, ``(d, s)``.
      noise_var: ``σ_n² ≥ 0``.
      lams: 1-D penalty weights ``λ ≥ 0`` (include 0 for the β-VAE).
      n_latents: ``K``.
      T: 1-D positive information prices (exactly one of ``T`` and ``beta``).
      beta: 1-D positive raw weights ``β`` instead of ``T``.
      sigma_dec2: ``σ_dec²`` of the β convention (only converts between β and ``T``).
      n_bins: MIG normaliser ``log n_bins`` nats (as :func:`factor_metrics`).
      fraction: ``information_drop_T`` is the largest ``T`` with ``I(z; v) ≥ fraction × I(z; v)|_{T→0}``
        (NaN without noise, where the limit is infinite).

    Returns:
      Dataset with dims ``(lam, T, latent, factor)`` (plus ``mode``, ``feature``): ``mutual_information``,
      ``joint_information``, ``mig``, ``mig_per_factor``, ``sap``, ``sap_per_factor``, ``sigma2``, ``threshold``
      ``(lam, mode)``, ``information_limit``, ``information_drop_T`` ``(lam,)``, ``mixing``, ``pca_eigenvalue``;
      coordinates ``beta`` ``(T,)`` and ``T_rescaled = T / (1 + λ)²`` ``(lam, T)``. Information in nats.

    Raises:
      InputError: an invalid argument, or not exactly one of ``T`` and ``beta``.
    """
    G, lams, grid = _check_experiment(mixing, noise_var, lams, n_latents, T, beta, sigma_dec2, fraction)
    spectrum = spectrum_from_covariance(np.zeros(G.shape[0]), np.asarray(G @ G.T + noise_var * np.eye(G.shape[0])))
    V = float(np.sum(spectrum.eigenvalues))
    T = grid if beta is None else grid * sigma_dec2 / V
    with jax.enable_x64(True):  # closed forms in float64 whatever the caller's precision
        sigma2, metrics, limit, drop_T = jax.tree.map(np.asarray, _experiment_grid(
            jnp.asarray(T), jnp.asarray(lams), jnp.asarray(spectrum.eigenvalues),
            jnp.asarray(spectrum.eigenvectors), jnp.asarray(G), jnp.asarray(noise_var, jnp.float64),
            jnp.asarray(fraction, jnp.float64), n_latents=n_latents, n_bins=n_bins))
        Tk = np.stack([np.asarray(thresholds(spectrum.eigenvalues, Objective("lambda-beta", lam))) for lam in lams])
    ds = xr.Dataset(
        coords={"lam": lams, "T": T, "beta": ("T", T * V / sigma_dec2),
                "T_rescaled": (("lam", "T"), T / (1 + lams[:, None]) ** 2), "latent": np.arange(n_latents),
                "factor": np.arange(G.shape[1]), "mode": np.arange(1, G.shape[0] + 1),
                "feature": np.arange(G.shape[0])},
        data_vars={
            "mutual_information": (FACTOR_SCHEMA["mutual_information"].dims, metrics.mutual_information),
            **{name: (FACTOR_SCHEMA[name].dims, getattr(metrics, name))
               for name in ("joint_information", "mig", "mig_per_factor", "sap", "sap_per_factor")},
            "sigma2": (FACTOR_SCHEMA["sigma2"].dims, sigma2), "threshold": (FACTOR_SCHEMA["threshold"].dims, Tk),
            "information_limit": ((), limit), "information_drop_T": ("lam", drop_T),
            "mixing": (("feature", "factor"), G), "pca_eigenvalue": ("mode", spectrum.eigenvalues),
        },
    )
    ds = named(ds, FACTOR_SCHEMA)
    ds["information_drop_T"].attrs["fraction"] = float(fraction)
    ds.attrs = _experiment_attrs(sigma_dec2, V, noise_var, n_latents, G.shape, n_bins)
    return ds


def _experiment_attrs(sigma_dec2, V, noise_var, n_latents, shape, n_bins):
    d, s = shape
    return {
        "title": "linvae factor experiment: lambda-beta-VAE optimum, latent-factor information over (lambda, T)",
        "objective": "lambda-beta: E||x - xhat(z)||^2/(2 sigma_dec2) + beta R "
                     "+ lam E||x - xhat(mu(x))||^2/(2 sigma_dec2)",
        "beta_convention": f"T = beta sigma_dec2 / V with sigma_dec2 = {float(sigma_dec2):g} and V = tr C = {V:.12g}",
        "sigma_dec2": float(sigma_dec2), "total_variance": V, "noise_var": float(noise_var),
        "n_latents": int(n_latents), "n_factors": int(s), "n_features": int(d), "n_bins": int(n_bins),
        "information_units": "nats (variables with units 1 name their unit in long_name; docs/cf-conventions.md)",
        "mig_normalisation": f"log(n_bins) = log({int(n_bins)}) nats, the entropy of a factor discretised into "
                             "n_bins equal-probability bins (closed-form MIG is not capped at 1)",
        "threshold_law": "T_k(lambda) = (1 + lambda)^2 lambda_k / V: I(z; v) = 0 for T >= T_1(lambda)",
        **provenance(f"closed-form lambda-beta factor experiment, {int(n_latents)} latents, {int(s)} factors, "
                     f"{int(d)} features"),
        "spec": "docs/theory.md sections 1, 3, 5; docs/factors.md",
    }
