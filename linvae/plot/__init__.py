"""Every figure: from a results Dataset (``plot_all`` writes the set), the activity criteria, the factor
experiment, the objective family and the MLP-versus-linear comparison. matplotlib is imported here only, never by
``import linvae``; no backend is chosen (the CLI picks Agg for itself). Imports :mod:`linvae.results`,
:mod:`linvae.theory` and :mod:`linvae.analysis`.
"""

from linvae.plot._criteria import plot_activity_criteria
from linvae.plot._factors import plot_factor_experiment
from linvae.plot._nonlinear import plot_model_comparison
from linvae.plot._objectives import plot_lr_latents, plot_phase_diagram
from linvae.plot._scan import (
    plot_all,
    plot_diagnostics,
    plot_duality,
    plot_order_parameters,
    plot_split_map,
    plot_theory,
    plot_truncation,
)
from linvae.plot._style import rank_colors, save_figure, shown_ranks

__all__ = [
    "plot_all", "plot_theory", "plot_order_parameters", "plot_truncation", "plot_duality", "plot_diagnostics",
    "plot_split_map", "plot_activity_criteria", "plot_factor_experiment", "plot_phase_diagram", "plot_lr_latents",
    "plot_model_comparison", "save_figure", "rank_colors", "shown_ranks",
]
