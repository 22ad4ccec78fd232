"""The Gaussian VAEs and the objective family: parameters, encoders, decoders and every loss term.

The bottom layer of linvae: it imports nothing from the rest of the package. The linear VAE (:class:`Params`,
docs/theory.md §2) is the model of the closed forms; the MLP VAE (:class:`MlpParams`, docs/nonlinear.md) goes
through the same :func:`encode`, :func:`decode`, :func:`sample_loss` and :func:`expected_loss`.

Attributes:
  OBJECTIVE_KINDS: the objective kinds, ``("beta", "lambda-beta", "lambda-beta-sampled", "lr")``
    (docs/theory.md §5).
  WEIGHT_KINDS: the kinds each weight applies to, ``{"lam": ("lambda-beta", "lambda-beta-sampled"),
    "alpha": ("lr",)}``.
  ACTIVATIONS: the MLP's hidden-layer activations by name (docs/nonlinear.md).
  VALIDATION_SAMPLES: posterior draws per row of an MLP's expected loss (docs/nonlinear.md).
"""

from linvae.model._linear import (
    Params,
    decode,
    encode,
    exact_loss,
    exact_penalty,
    exact_terms,
    expected_loss,
    init_params,
    kl_per_latent,
    lr_penalty,
    objective_penalty,
    sample_loss,
)
from linvae.model._mlp import (
    ACTIVATIONS,
    VALIDATION_SAMPLES,
    Dense,
    MlpParams,
    hidden_widths,
    init_mlp_params,
    mlp_decode,
    mlp_encode,
    mlp_sampled_error,
)
from linvae.model._objective import OBJECTIVE_KINDS, WEIGHT_KINDS, Objective

__all__ = [
    "Params", "Objective", "OBJECTIVE_KINDS", "WEIGHT_KINDS",
    "encode", "decode", "kl_per_latent", "init_params",
    "sample_loss", "expected_loss", "exact_terms", "exact_loss",
    "objective_penalty", "exact_penalty", "lr_penalty",
    "MlpParams", "Dense", "ACTIVATIONS", "VALIDATION_SAMPLES", "hidden_widths", "init_mlp_params", "mlp_encode",
    "mlp_decode", "mlp_sampled_error",
]
