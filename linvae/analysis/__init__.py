"""Measurement of trained scans: held-out observables, ranking, collapse fits, truncated reconstructions,
activity criteria, and the tables and report text (docs/theory.md §7, §8). Runs on a results Dataset alone (from
:func:`linvae.scan` or :func:`linvae.load`); imports :mod:`linvae.results`, :mod:`linvae.theory` and
:mod:`linvae.model`.

The Bonheme & Grzes classes of :func:`bonheme_class` (docs/theory.md §8) are the integers ``PASSIVE`` (0: encoder
variance ``σ² ≈ 1``, the prior's, for every input), ``MIXED`` (1: neither) and ``ACTIVE`` (2: ``σ² ≈ 0`` for every
input); ``BONHEME_LEGEND`` is their legend, ``"0 = passive, 1 = mixed, 2 = active"``, stored in the results attrs.
"""

from linvae.analysis._bootstrap import add_bootstrap, bootstrap_pca_fractions, percentile_interval, resample_counts
from linvae.analysis._criteria import (
    ACTIVE,
    BONHEME_LEGEND,
    MIXED,
    PASSIVE,
    ActivityThresholds,
    Criteria,
    Onsets,
    activity_criteria,
    bonheme_class,
    criterion_onsets,
    gaussian_entropy,
    mean_representation_entropy,
    onset_levels,
    prior_bandwidth,
    renyi_entropy,
    silverman_bandwidth,
)
from linvae.analysis._dataset import add_activity_criteria, add_analysis
from linvae.analysis._fits import CollapseFit, collapse_fit
from linvae.analysis._observables import Observables, observables, rank_by_signal, row_blocks
from linvae.analysis._tables import activity_counts, duality_table, report, scan_summary
from linvae.analysis._truncation import decoded_truncated_distortion, truncated_distortion

__all__ = [
    # the Dataset entry points
    "add_analysis", "add_activity_criteria", "add_bootstrap",
    # observables, ranking, fits, truncation
    "Observables", "observables", "row_blocks", "rank_by_signal", "CollapseFit", "collapse_fit",
    "truncated_distortion", "decoded_truncated_distortion",
    # bootstrap intervals
    "bootstrap_pca_fractions", "percentile_interval", "resample_counts",
    # activity criteria
    "ActivityThresholds", "Criteria", "Onsets", "activity_criteria", "onset_levels", "criterion_onsets",
    "renyi_entropy", "silverman_bandwidth", "prior_bandwidth", "mean_representation_entropy", "gaussian_entropy",
    "bonheme_class",
    "BONHEME_LEGEND", "PASSIVE", "MIXED", "ACTIVE",
    # tables and report text
    "duality_table", "activity_counts", "scan_summary", "report",
]
