"""Data: tables (``.npy``, ``.csv``, ``.nc``, synthetic, the embedded default), PCA spectra, splits and the
WorldClim bioclimatic layers (docs/theory.md §1, §9). Imports nothing from the rest of linvae but its error type.

Attributes:
  BIOCLIM: the 19 WorldClim 2 bioclimatic variables, ``{n: (long name, units)}`` for BIO1 … BIO19.
"""

from linvae.data._manifold import manifold_data, manifold_table
from linvae.data._pca import Spectrum, moments, pca_spectrum, spectrum_from_covariance, spectrum_from_eigenvalues
from linvae.data._splits import Split, random_split, split_from_labels
from linvae.data._tables import (
    Table,
    check_table,
    default_spectrum,
    default_table,
    feature_scale,
    load_table,
    standardized_spectrum,
    synthetic_data,
)
from linvae.data._worldclim import (
    BIOCLIM,
    BlockSplit,
    BlockSplitConfig,
    find_layers,
    load_worldclim,
    spatial_block_split,
    worldclim_table,
)

__all__ = [
    # tables
    "Table", "check_table", "load_table", "default_table", "default_spectrum", "synthetic_data", "feature_scale",
    "standardized_spectrum", "manifold_data", "manifold_table",
    # PCA
    "Spectrum", "moments", "pca_spectrum", "spectrum_from_covariance", "spectrum_from_eigenvalues",
    # splits
    "Split", "random_split", "split_from_labels",
    # WorldClim
    "BIOCLIM", "find_layers", "load_worldclim", "worldclim_table", "BlockSplitConfig", "BlockSplit",
    "spatial_block_split",
]
