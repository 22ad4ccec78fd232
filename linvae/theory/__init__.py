"""Closed forms: the global optimum of the β-VAE and of the objective family (λβ-VAE, LR-VAE), its thresholds,
Landau analysis, mean-path utilities and phase diagrams (docs/theory.md §1, §3, §5, §7).

Every function takes ``objective=Objective()`` (the β-VAE by default) where the objective matters. Imports only
:mod:`linvae.model`.
"""

from linvae.theory._beta import (
    Landau,
    beta_from_price,
    information_price,
    local_price,
    price_grid,
    reduced_min_loss,
    sampled_path_utility,
    stationary_weights,
)
from linvae.theory._branch import Branch
from linvae.theory._family import (
    Coupling,
    collapse_is_continuous,
    coupling,
    critical_betas,
    follows_beta_law,
    held_out_signal,
    landau,
    mode_loss,
    mode_signal,
    mode_threshold,
    reduced_loss,
    thresholds,
)
from linvae.theory._lr_mixing import MixedLatent, lr_mixed_latent
from linvae.theory._optimum import BetaChoice, MeanPath, choose_beta, mean_path, optimum, signal_onsets
from linvae.theory._phase import PhaseDiagram, phase_diagram

__all__ = [
    # the optimum and what it predicts
    "Branch", "optimum", "thresholds", "mode_threshold", "mode_signal", "stationary_weights",
    "BetaChoice", "choose_beta", "MeanPath", "mean_path", "sampled_path_utility", "signal_onsets",
    # the reduction to one mode and the Landau analysis
    "Coupling", "coupling", "reduced_loss", "reduced_min_loss", "mode_loss", "Landau", "landau",
    "collapse_is_continuous", "follows_beta_law", "held_out_signal",
    # LR latents reading two modes; phase diagrams
    "MixedLatent", "lr_mixed_latent", "PhaseDiagram", "phase_diagram",
    # units: the information price T = β σ_dec² / V
    "information_price", "beta_from_price", "critical_betas", "local_price", "price_grid",
]
