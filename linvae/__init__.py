"""linvae: posterior collapse in linear Gaussian β-VAEs as spectral pruning (see SPEC.md).

Closed forms (:func:`closed_form`, :func:`stationary_weights`, :func:`choose_beta`), the PCA spectrum
(:func:`pca_spectrum`) and one results schema (:func:`theory_dataset`, :func:`save`, :func:`load`).
"""

from linvae._data import (
    Table, default_spectrum, default_table, feature_scale, load_table, standardized_spectrum, synthetic_data,
)
from linvae._errors import InputError
from linvae._model import (
    Params, decode, encode, exact_loss, exact_penalty, exact_terms, init_params, kl_per_latent, lr_penalty,
    objective_penalty, sample_loss,
)
from linvae._pca import Spectrum, moments, pca_spectrum, spectrum_from_covariance, spectrum_from_eigenvalues
from linvae._results import add_theory, dataset_objective, load, new_dataset, save, theory_dataset
from linvae._theory import (
    BetaChoice, Branch, Landau, beta_from_temperature, choose_beta, closed_form, critical_betas, landau_coefficients,
    local_temperature, mode_thresholds, one_mode_loss, one_mode_min_loss, stationary_weights, temperature,
    temperature_grid,
)

__version__ = "0.1.0"

__all__ = [
    "Table", "default_spectrum", "default_table", "feature_scale", "load_table", "standardized_spectrum",
    "synthetic_data",
    "InputError",
    "Params", "decode", "encode", "exact_loss", "exact_penalty", "exact_terms", "init_params", "kl_per_latent",
    "lr_penalty", "objective_penalty", "sample_loss",
    "Spectrum", "moments", "pca_spectrum", "spectrum_from_covariance", "spectrum_from_eigenvalues",
    "add_theory", "dataset_objective", "load", "new_dataset", "save", "theory_dataset",
    "BetaChoice", "Branch", "Landau", "beta_from_temperature", "choose_beta", "closed_form", "critical_betas",
    "landau_coefficients", "local_temperature", "mode_thresholds", "one_mode_loss", "one_mode_min_loss",
    "stationary_weights", "temperature", "temperature_grid",
]

from linvae._analysis import (  # noqa: E402
    activity_counts, add_analysis, collapse_fit, duality_table, observables, rank_by_signal, truncated_distortion,
)
from linvae._config import ScanConfig  # noqa: E402
from linvae._scan import Split, random_split, scan  # noqa: E402
from linvae._theory import mean_path_truncated_distortion, mean_path_utility, sampled_path_utility  # noqa: E402
from linvae._worldclim import (  # noqa: E402
    BIOCLIM, BlockSplit, BlockSplitConfig, find_layers, load_worldclim, spatial_block_split, worldclim_table,
)

__all__ += ["ScanConfig", "Split", "random_split", "scan", "add_analysis", "activity_counts", "duality_table", "collapse_fit", "observables",
            "rank_by_signal", "truncated_distortion", "mean_path_truncated_distortion", "mean_path_utility",
            "sampled_path_utility"]
__all__ += ["BIOCLIM", "BlockSplit", "BlockSplitConfig", "find_layers", "load_worldclim", "spatial_block_split", "worldclim_table"]

from linvae._criteria import (  # noqa: E402
    ACTIVE, BONHEME_LEGEND, MIXED, PASSIVE, ActivityThresholds, Criteria, Onsets, activity_criteria,
    add_activity_criteria, bonheme_class, criterion_onsets, gaussian_entropy, mean_representation_entropy,
    objective_criterion_onsets, renyi_entropy, silverman_bandwidth,
)
from linvae._criteria_plots import plot_activity_criteria  # noqa: E402
from linvae._distributed import init_distributed  # noqa: E402
from linvae._factor_plots import plot_factor_experiment  # noqa: E402
from linvae._factors import (  # noqa: E402
    FactorMetrics, FactorScan, beta_vae_encoder, factor_covariance, factor_experiment, factor_metrics, factor_scan,
    gaussian_mutual_information, histogram_mig, histogram_mutual_information, joint_mutual_information,
    lambda_beta_encoder, lambda_beta_weights, latent_factor_correlation, mig, sap,
)
from linvae._objective_plots import plot_lr_latents, plot_phase_diagram  # noqa: E402
from linvae._objectives import (  # noqa: E402
    OBJECTIVE_KINDS, Coupling, MixedLatent, Objective, ObjectiveBranch, PhaseDiagram, collapse_is_continuous,
    lr_mixed_latent, objective_closed_form, objective_optimum, objective_coupling, objective_landau, objective_mode_signal, objective_one_mode_loss,
    objective_mode_threshold, objective_reduced_loss, objective_thresholds, phase_diagram,
)

__all__ += [
    "ACTIVE", "BONHEME_LEGEND", "MIXED", "PASSIVE", "ActivityThresholds", "Criteria", "Onsets", "activity_criteria",
    "add_activity_criteria", "bonheme_class", "criterion_onsets", "gaussian_entropy", "mean_representation_entropy",
    "renyi_entropy", "silverman_bandwidth", "plot_activity_criteria", "init_distributed", "objective_criterion_onsets",
    "FactorMetrics", "FactorScan", "beta_vae_encoder", "factor_covariance", "factor_metrics", "factor_scan",
    "gaussian_mutual_information", "histogram_mig", "histogram_mutual_information", "joint_mutual_information",
    "latent_factor_correlation", "mig", "sap", "plot_phase_diagram", "plot_lr_latents", "factor_experiment", "lambda_beta_encoder",
    "lambda_beta_weights", "plot_factor_experiment",
    "OBJECTIVE_KINDS", "Coupling", "Objective", "ObjectiveBranch", "PhaseDiagram", "collapse_is_continuous",
    "objective_closed_form", "objective_coupling", "objective_landau", "objective_mode_signal",
    "objective_one_mode_loss", "objective_optimum", "lr_mixed_latent", "MixedLatent",
    "objective_mode_threshold", "objective_reduced_loss", "objective_thresholds", "phase_diagram",
]
