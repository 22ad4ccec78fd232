"""Ground-truth linear-Gaussian factor model and disentanglement metrics (Vu, Wan & Wei 2026, §3–4).

Factors ``v ~ N(0, I_s)``, observations ``y = G v + n`` with ``n ~ N(0, σ_n² I)`` (``G`` is ``(d, s)``, the
"mixing"), data covariance ``C = G Gᵀ + σ_n² I``; a linear encoder with ``m`` latents and constant variance,
``z = A y + b + σ ⊙ ε``. Everything is jointly Gaussian, so the latent–factor statistics are closed forms of
``Cov(z, v) = A G`` and ``Var z_i = (A C Aᵀ)_ii + σ_i²`` (``Var v_j = 1``):

- correlation ``ρ_ij = (A G)_ij / sqrt(Var z_i)``; ``I(z_i; v_j) = −½ log(1 − ρ_ij²)`` (**nats**), of the whole
  code ``I(z; v) = ½ [log det(A C Aᵀ + Σ) − log det(σ_n² A Aᵀ + Σ)]``;
- **MIG** (Chen et al. 2018): per factor, the gap between the two largest ``I(z_i; v_j)`` over latents divided by
  the factor's entropy, averaged over factors. The factors here are continuous, so the entropy is that of the factor
  discretised into ``n_bins`` equal-probability bins, ``H(v_j^Δ) = log n_bins`` nats: the normaliser of the
  histogram estimator with ``binning="quantile"`` (:func:`histogram_mig`), so the two are directly comparable. The
  closed form uses the continuous ``I``, which exceeds ``log n_bins`` when a latent resolves its factor finer than
  the bins (``+inf`` for a noiseless copy), so the closed-form MIG is not capped at 1 (docs/factors.md);
- **SAP** (Kumar et al. 2018): per factor, the gap between the two largest ``R²`` of a linear regression of the
  factor on one latent, averaged over factors; for Gaussians ``R² = ρ²``, so SAP lies in [0, 1].

The scan (:func:`factor_scan`) takes the encoder of each scan point from a hook: :func:`beta_vae_encoder`, the
β-VAE global optimum (λ = 0; :func:`linvae.theory.stationary_weights` on ``C``), or :func:`lambda_beta_encoder`, the
λβ-VAE global optimum (:func:`linvae.theory.optimum`). :func:`factor_experiment` runs the λβ-VAE over a
grid of ``(λ, T)`` and returns an ``xarray.Dataset`` (docs/factors.md).

Why λ > 0 keeps information longer: :mod:`linvae.factors._experiment` and docs/factors.md.

Imports :mod:`linvae.theory`, :mod:`linvae.data` and :mod:`linvae.results`.
"""

from linvae.factors._experiment import (
    FactorScan,
    beta_vae_encoder,
    factor_experiment,
    factor_scan,
    lambda_beta_encoder,
    lambda_beta_weights,
)
from linvae.factors._metrics import (
    FactorMetrics,
    discretise,
    factor_covariance,
    factor_metrics,
    gaussian_mutual_information,
    histogram_mig,
    histogram_mutual_information,
    joint_mutual_information,
    latent_factor_correlation,
    mig,
    sap,
)

__all__ = [
    # closed-form statistics and metrics
    "FactorMetrics", "factor_covariance", "latent_factor_correlation", "gaussian_mutual_information",
    "joint_mutual_information", "mig", "sap", "factor_metrics",
    # histogram estimators on samples
    "discretise", "histogram_mutual_information", "histogram_mig",
    # scans and the λβ experiment
    "FactorScan", "beta_vae_encoder", "lambda_beta_weights", "lambda_beta_encoder", "factor_scan",
    "factor_experiment",
]
