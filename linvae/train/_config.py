"""Scan configuration: a frozen dataclass that validates itself (STYLE.md practice 3)."""

import dataclasses
import math

import numpy as np

from linvae._errors import InputError
from linvae.model import ACTIVATIONS, OBJECTIVE_KINDS, WEIGHT_KINDS, Objective, hidden_widths

__all__ = ["ScanConfig"]

METHODS = ("exact", "sgd")
VARIANCE_HEADS = ("affine", "constant")
MODELS = ("linear", "mlp")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScanConfig:
    """How a T-grid of VAEs is trained (docs/theory.md §4, §6; MLPs: docs/nonlinear.md).

    Attributes:
      model: ``"linear"`` (the model of the closed forms) or ``"mlp"`` (MLP encoder and decoder, docs/nonlinear.md;
        sgd and the β-VAE objective only).
      hidden: the MLP's hidden widths ``(h_1, …, h_L)``, mirrored by its decoder (``model="mlp"``).
      activation: the MLP's activation, ``"gelu"``, ``"tanh"``, ``"relu"`` or ``"identity"`` (``model="mlp"``).
      method: ``"exact"`` (deterministic training on the covariance form of the loss, docs/theory.md §4) or ``"sgd"``
        (the paper's minibatch protocol, docs/theory.md §6).
      n_latents: ``K``.
      sigma_dec2: decoder variance convention; ``β = T V / σ_dec²``.
      steps: update budget per grid point (sgd: paper 500,000; exact: an upper bound, convergence stops earlier).
      batch_size: minibatch rows (sgd).
      learning_rate: Adam step size; ``None`` means the method's default (sgd: 3e-4 as in the paper, 1e-3 for the
        MLP, docs/nonlinear.md "Defaults"; exact: 0.1 in whitened units for the warm-up, decayed to 0.003 before the
        Newton phase).
      eval_every: updates between validation evaluations (sgd); ``None`` means one epoch of the training split.
      patience: early stopping after ``patience * steps`` updates without a better validation loss (sgd).
      variance_head: ``"affine"`` log-variance head (paper) or ``"constant"`` (canonical ansatz), sgd only.
      shared_batches: one minibatch index stream shared by the whole grid (noise stays independent per
        point); about 15-20 % faster on CPU than independent streams (sgd).
      seed: seeds initialisation, noise and minibatches.
      x64: train in float64 instead of float32.
      objective: the loss of the objective family (docs/theory.md §5, :class:`linvae.model.Objective`): ``"beta"``
        (default),
        ``"lambda-beta"`` (penalty ``λ E‖x − x̂(μ(x))‖² / (2σ_dec²)``), ``"lambda-beta-sampled"`` (the same on
        the sampled reconstruction) or ``"lr"`` (latent reconstruction ``α (‖A W − I‖_F² + ‖A (c − x̄) + b‖²)``).
      lam: ``λ ≥ 0`` of the two λβ objectives (0 otherwise).
      alpha: ``α ≥ 0`` of ``"lr"``, raw loss units (0 otherwise).
      alpha_warmup: sgd with ``"lr"``: the LR weight rises linearly from 0 to ``α`` over this many updates
        (0: full weight from the start). The exact method minimises the final objective and ignores it.
    """

    method: str = "exact"
    model: str = "linear"
    hidden: tuple = (64, 64)
    activation: str = "gelu"
    n_latents: int = 32
    sigma_dec2: float = 1.0
    steps: int = 500_000
    batch_size: int = 256
    learning_rate: float | None = None
    eval_every: int | None = None
    patience: float = 0.1
    variance_head: str = "affine"
    shared_batches: bool = True
    seed: int = 0
    x64: bool = False
    objective: str = "beta"
    lam: float = 0.0
    alpha: float = 0.0
    alpha_warmup: int = 0

    def __post_init__(self):
        def need(ok, what, found, fix):
            if not ok:
                raise InputError(f"{what}, found {_plain(found)!r}; {fix}")

        need(self.method in METHODS, f"method must be one of {METHODS}", self.method, "choose one of them")
        need(self.variance_head in VARIANCE_HEADS, f"variance_head must be one of {VARIANCE_HEADS}",
             self.variance_head, "choose one of them")
        _check_model(self, need)
        need(self.n_latents >= 1, "the number of latents must be at least 1", self.n_latents, "use --latents >= 1")
        need(self.sigma_dec2 > 0, "sigma_dec2 must be positive", self.sigma_dec2, "use e.g. 1")
        whole = isinstance(self.seed, (int, np.integer)) and not isinstance(self.seed, bool)
        need(whole and 0 <= self.seed < 2**32, "the seed must be a whole number in 0..2**32-1", self.seed,
             "use e.g. --seed 0")
        need(self.steps >= 1, "steps must be at least 1", self.steps, "use e.g. --steps 500000")
        need(self.batch_size >= 1, "batch size must be at least 1", self.batch_size, "use e.g. 256")
        need(self.learning_rate is None or self.learning_rate > 0, "the learning rate must be positive",
             self.learning_rate, "use e.g. --learning-rate 3e-4")
        need(self.eval_every is None or self.eval_every >= 1, "eval_every must be at least 1", self.eval_every,
             "leave it unset for one epoch")
        need(0 < self.patience <= 1, "patience must be a fraction in (0, 1]", self.patience, "use e.g. 0.1")
        need(self.objective in OBJECTIVE_KINDS, f"objective must be one of {OBJECTIVE_KINDS}", self.objective,
             "use e.g. --objective lambda-beta --lam 1")
        for name, uses in WEIGHT_KINDS.items():
            value, flag = getattr(self, name), f"--{name}"
            need(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                 and value >= 0, f"the objective weight {name} must be a finite number >= 0", value,
                 f"use e.g. {flag} 0.5")
            need(value == 0 or self.objective in uses, f"{name} applies to objective {' or '.join(uses)} only",
                 f"{name}={value} with objective {self.objective!r}", f"set --objective {uses[0]} or drop {flag}")
        need(self.objective != "lr" or self.alpha > 0, "objective lr needs a latent-reconstruction weight alpha > 0",
             self.alpha, "pass e.g. --alpha 0.5 (alpha = 0 is the plain beta-VAE)")
        need(isinstance(self.alpha_warmup, int) and not isinstance(self.alpha_warmup, bool) and self.alpha_warmup >= 0,
             "alpha_warmup must be a whole number of updates >= 0", self.alpha_warmup, "use e.g. --alpha-warmup 10000")
        need(self.alpha_warmup == 0 or self.objective == "lr", "alpha_warmup applies to objective lr only",
             f"alpha_warmup={self.alpha_warmup} with objective {self.objective!r}",
             "set --objective lr or drop --alpha-warmup")

    @property
    def effective_learning_rate(self) -> float:
        """The learning rate used: ``learning_rate``, or the method's default when none was given."""
        if self.learning_rate is not None:
            return self.learning_rate
        if self.method == "exact":
            return 0.1
        return 1e-3 if self.model == "mlp" else 3e-4

    @property
    def objective_spec(self) -> Objective:
        """The :class:`linvae.model.Objective` this configuration trains (``kind``, ``lam``, ``alpha``)."""
        return Objective(self.objective, lam=float(self.lam), alpha=float(self.alpha))

    def as_attrs(self):
        """The configuration as netCDF-storable scalars; the MLP's ``model``, ``hidden`` (as ``"64,64"``) and
        ``activation`` only for ``model="mlp"`` (a linear scan's attributes and checkpoints stay as they were)."""
        mlp_only = ("model", "hidden", "activation")
        return {k: ("" if v is None else ",".join(map(str, v)) if k == "hidden" else v)
                for k, v in dataclasses.asdict(self).items() if self.model == "mlp" or k not in mlp_only}


def _check_model(config: ScanConfig, need):
    """The model, its architecture (checked only for the MLP), and the methods and objectives it can train with."""
    need(config.model in MODELS, f"model must be one of {MODELS}", config.model, "choose one of them")
    if config.model != "mlp":
        return
    object.__setattr__(config, "hidden", hidden_widths(config.hidden))  # the (hashable) tuple, or InputError
    need(isinstance(config.activation, str) and config.activation in ACTIVATIONS,
         f"activation must be one of {tuple(ACTIVATIONS)}", config.activation, "use e.g. --activation gelu")
    need(config.method == "sgd", "the MLP model trains with the sgd method only", config.method, "add --method sgd")
    need(config.objective == "beta", "the MLP model trains the beta-VAE objective only", config.objective,
         "drop --objective (or use --model linear)")


def _plain(value):
    """A numpy scalar as the plain Python number, so messages never show ``np.float64(...)``."""
    return value.item() if isinstance(value, np.generic) else value
