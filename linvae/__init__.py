"""linvae: posterior collapse in linear Gaussian β-VAEs as spectral pruning.

With PCA eigenvalues ``λ_k``, total variance ``V`` and the information price ``T = β σ_dec² / V``, mode ``k``
collapses at ``T_k = λ_k / V`` and keeps the signal fraction ``M_k² = [1 − T/T_k]_+``. The names a user needs first
live here; the rest by subpackage, in the order of the data flow:

- :mod:`linvae.model` — the linear VAE and the objective family (loss terms);
- :mod:`linvae.theory` — closed forms: optimum, thresholds, Landau analysis, phase diagrams;
- :mod:`linvae.data` — tables, PCA spectra, splits, WorldClim;
- :mod:`linvae.results` — the results schema, save and load;
- :mod:`linvae.analysis` — observables, fits, truncation, activity criteria, tables;
- :mod:`linvae.train` — the scan: a whole T-grid in one ``jax.jit(jax.vmap(…))`` call;
- :mod:`linvae.factors` — ground-truth factor model and disentanglement metrics;
- :mod:`linvae.plot` — every figure (imports matplotlib; not loaded by ``import linvae``).
"""

import importlib

from linvae import analysis as analysis
from linvae import data as data
from linvae import factors as factors
from linvae import model as model
from linvae import results as results
from linvae import theory as theory
from linvae import train as train
from linvae._errors import InputError
from linvae._version import __version__ as __version__
from linvae.analysis import ActivityThresholds, add_activity_criteria, add_analysis, duality_table, report
from linvae.data import Spectrum, Table, default_table, load_table, pca_spectrum, worldclim_table
from linvae.model import Objective
from linvae.results import load, save, theory_dataset
from linvae.theory import choose_beta, optimum, price_grid, thresholds
from linvae.train import ScanConfig, scan

__all__ = [
    # train a scan
    "scan", "ScanConfig", "Objective", "price_grid",
    # closed forms
    "optimum", "thresholds", "choose_beta", "theory_dataset",
    # data and spectra
    "Table", "load_table", "default_table", "worldclim_table", "Spectrum", "pca_spectrum",
    # results and analysis
    "save", "load", "add_analysis", "add_activity_criteria", "ActivityThresholds", "duality_table", "report",
    # errors
    "InputError",
]


def __getattr__(name):
    """``linvae.plot`` on first use, so that ``import linvae`` does not import matplotlib."""
    if name == "plot":
        return importlib.import_module("linvae.plot")
    raise AttributeError(f"module 'linvae' has no attribute {name!r}")
