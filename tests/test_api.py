"""The public API, pinned: every subpackage's ``__all__``. A change here is a change of linvae's API — update the
snapshot on purpose, and say so in the changelog of the release."""

import importlib

import pytest

API = {
    "linvae": [
        "ActivityThresholds", "InputError", "Objective", "ScanConfig", "Spectrum", "Table", "add_activity_criteria",
        "add_analysis", "choose_beta", "default_table", "duality_table", "load", "load_table", "optimum",
        "pca_spectrum", "price_grid", "report", "save", "scan", "theory_dataset", "thresholds", "worldclim_table",
    ],
    "linvae.model": [
        "ACTIVATIONS", "Dense", "MlpParams", "OBJECTIVE_KINDS", "Objective", "Params", "VALIDATION_SAMPLES",
        "WEIGHT_KINDS", "decode", "encode", "exact_loss", "exact_penalty", "exact_terms", "expected_loss",
        "hidden_widths", "init_mlp_params", "init_params", "kl_per_latent", "lr_penalty", "mlp_decode", "mlp_encode",
        "mlp_sampled_error", "objective_penalty", "sample_loss",
    ],
    "linvae.theory": [
        "BetaChoice", "Branch", "Coupling", "Landau", "MeanPath", "MixedLatent", "PhaseDiagram", "beta_from_price",
        "choose_beta", "collapse_is_continuous", "coupling", "critical_betas", "follows_beta_law",
        "held_out_signal", "information_price", "landau", "local_price", "lr_mixed_latent", "mean_path", "mode_loss",
        "mode_signal",
        "mode_threshold", "optimum", "phase_diagram", "price_grid", "reduced_loss", "reduced_min_loss",
        "sampled_path_utility", "signal_onsets", "stationary_weights", "thresholds",
    ],
    "linvae.data": [
        "BIOCLIM", "BlockSplit", "BlockSplitConfig", "Spectrum", "Split", "Table", "check_table", "default_spectrum",
        "default_table", "feature_scale", "find_layers", "load_table", "load_worldclim", "manifold_data",
        "manifold_table", "moments", "pca_spectrum", "random_split", "spatial_block_split",
        "spectrum_from_covariance", "spectrum_from_eigenvalues", "split_from_labels", "standardized_spectrum",
        "synthetic_data", "worldclim_table",
    ],
    "linvae.results": [
        "FACTOR_SCHEMA", "PARAMETER_DIMS", "SCHEMA", "Variable", "add_theory", "assign", "assign_params",
        "dataset_objective", "dataset_params", "load", "mlp_schema", "named", "new_dataset", "provenance", "save",
        "schema_markdown", "theory_dataset",
    ],
    "linvae.analysis": [
        "ACTIVE", "ActivityThresholds", "BONHEME_LEGEND", "CollapseFit", "Criteria", "MIXED", "Observables", "Onsets",
        "PASSIVE", "activity_counts", "activity_criteria", "add_activity_criteria", "add_analysis", "add_bootstrap",
        "bonheme_class", "bootstrap_pca_fractions", "collapse_fit", "criterion_onsets", "decoded_truncated_distortion",
        "duality_table",
        "gaussian_entropy", "mean_representation_entropy", "observables", "onset_levels", "percentile_interval",
        "prior_bandwidth", "rank_by_signal", "renyi_entropy", "report", "resample_counts", "row_blocks",
        "scan_summary", "silverman_bandwidth", "truncated_distortion",
    ],
    "linvae.train": [
        "CACHE_DIR_ENV", "GridRun", "Interrupted", "MEMORY_LIMIT_ENV", "MemoryEstimate", "NO_CACHE_ENV", "ScanConfig",
        "TrainResult", "available_memory", "check_memory", "default_cache_dir", "enable_compilation_cache",
        "estimate_memory", "init_distributed", "init_from_env", "scan",
    ],
    "linvae.factors": [
        "FactorMetrics", "FactorScan", "beta_vae_encoder", "discretise", "factor_covariance", "factor_experiment",
        "factor_metrics", "factor_scan", "gaussian_mutual_information", "histogram_mig",
        "histogram_mutual_information", "joint_mutual_information", "lambda_beta_encoder", "lambda_beta_weights",
        "latent_factor_correlation", "mig", "sap",
    ],
    "linvae.plot": [
        "plot_activity_criteria", "plot_all", "plot_diagnostics", "plot_duality", "plot_factor_experiment",
        "plot_lr_latents", "plot_model_comparison", "plot_order_parameters", "plot_phase_diagram", "plot_split_map",
        "plot_theory", "plot_truncation", "rank_colors", "save_figure", "shown_ranks",
    ],
}


@pytest.mark.parametrize("name", API)
def test_public_api_is_pinned(name):
    module = importlib.import_module(name)
    assert sorted(module.__all__) == API[name]
    assert len(set(module.__all__)) == len(module.__all__), "a name is listed twice"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists names it does not define: {missing}"


def test_small_top_level():
    import linvae

    assert 15 <= len(linvae.__all__) <= 30
    assert not any(name.startswith("_") for name in linvae.__all__)
    for sub in ("model", "theory", "data", "results", "analysis", "train", "factors", "plot"):
        assert importlib.import_module(f"linvae.{sub}") is getattr(linvae, sub)  # reached by subpackage
