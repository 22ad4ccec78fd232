"""The linear Gaussian VAE and the objective family: parameters, encoder, decoder and every loss term.

The bottom layer of linvae: it imports nothing from the rest of the package.
"""

from linvae.model._linear import (
    Params as Params,
    decode as decode,
    encode as encode,
    exact_loss as exact_loss,
    exact_penalty as exact_penalty,
    exact_terms as exact_terms,
    expected_loss as expected_loss,
    init_params as init_params,
    kl_per_latent as kl_per_latent,
    lr_penalty as lr_penalty,
    objective_penalty as objective_penalty,
    sample_loss as sample_loss,
)
from linvae.model._objective import OBJECTIVE_KINDS as OBJECTIVE_KINDS
from linvae.model._objective import WEIGHT_KINDS as WEIGHT_KINDS
from linvae.model._objective import Objective as Objective

__all__ = [
    "Params", "Objective", "OBJECTIVE_KINDS", "WEIGHT_KINDS",
    "encode", "decode", "kl_per_latent", "init_params",
    "sample_loss", "expected_loss", "exact_terms", "exact_loss",
    "objective_penalty", "exact_penalty", "lr_penalty",
]
