"""The linear Gaussian VAE and the objective family: parameters, encoder, decoder and every loss term.

The bottom layer of linvae: it imports nothing from the rest of the package.

Attributes:
  OBJECTIVE_KINDS: the objective kinds, ``("beta", "lambda-beta", "lambda-beta-sampled", "lr")``
    (docs/theory.md §5).
  WEIGHT_KINDS: the kinds each weight applies to, ``{"lam": ("lambda-beta", "lambda-beta-sampled"),
    "alpha": ("lr",)}``.
"""

from linvae.model._linear import (
    Params as Params,
)
from linvae.model._linear import (
    decode as decode,
)
from linvae.model._linear import (
    encode as encode,
)
from linvae.model._linear import (
    exact_loss as exact_loss,
)
from linvae.model._linear import (
    exact_penalty as exact_penalty,
)
from linvae.model._linear import (
    exact_terms as exact_terms,
)
from linvae.model._linear import (
    expected_loss as expected_loss,
)
from linvae.model._linear import (
    init_params as init_params,
)
from linvae.model._linear import (
    kl_per_latent as kl_per_latent,
)
from linvae.model._linear import (
    lr_penalty as lr_penalty,
)
from linvae.model._linear import (
    objective_penalty as objective_penalty,
)
from linvae.model._linear import (
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
