"""The objective family: which term is added to the β-VAE loss (docs/theory.md §5; derivation in docs/objectives.md).

- ``'beta'``: nothing;
- ``'lambda-beta'`` (Vu, Wan & Wei 2026): ``λ E‖x − x̂(μ(x))‖² / (2σ_dec²)``, the reconstruction decoded from the
  posterior *mean*;
- ``'lambda-beta-sampled'``: the same penalty on the *sampled* reconstruction ``x̂(z)``;
- ``'lr'`` (latent reconstruction, after Song, Kim & Lee 2025): ``α E_{z∼N(0,I)} ‖μ(x̂(z)) − z‖²`` in raw loss units.

The loss terms live in :mod:`linvae.model._linear`, their closed-form optimum in :mod:`linvae.theory`.
"""

import dataclasses
import functools

import jax
import numpy as np

from linvae._errors import InputError

__all__ = ["Objective", "OBJECTIVE_KINDS", "WEIGHT_KINDS"]

OBJECTIVE_KINDS = ("beta", "lambda-beta", "lambda-beta-sampled", "lr")
"""The objective kinds of :class:`Objective` (docs/theory.md §5)."""
WEIGHT_KINDS = {"lam": ("lambda-beta", "lambda-beta-sampled"), "alpha": ("lr",)}
"""The kinds each weight of :class:`Objective` applies to: ``lam`` to the two λβ kinds, ``alpha`` to LR
(docs/theory.md §5)."""


def _concrete(value):
    """A value we can check now (not a tracer or a placeholder jax puts in while rebuilding a pytree)."""
    if isinstance(value, jax.core.Tracer):
        return False
    return isinstance(value, (int, float, np.ndarray, np.generic, jax.Array))


@functools.partial(jax.tree_util.register_dataclass, data_fields=["lam", "alpha"], meta_fields=["kind"])
@dataclasses.dataclass(frozen=True)
class Objective:
    """One objective of the family (docs/theory.md §5). A pytree: ``kind`` is static, ``lam`` and ``alpha`` are traced,
    so a new weight never recompiles a jitted caller.

    Attributes:
      kind: ``'beta'``, ``'lambda-beta'`` (penalty on the posterior-mean reconstruction),
        ``'lambda-beta-sampled'`` (penalty on the sampled reconstruction) or ``'lr'`` (latent reconstruction).
      lam: penalty weight ``λ ≥ 0`` of the two λβ kinds (0 otherwise).
      alpha: latent-reconstruction weight ``α ≥ 0`` of ``'lr'`` in raw loss units (0 otherwise).
    """

    kind: str = "beta"
    lam: float = 0.0
    alpha: float = 0.0

    def __post_init__(self):
        if self.kind not in OBJECTIVE_KINDS:
            raise InputError(f"objective kind must be one of {', '.join(OBJECTIVE_KINDS)}, found {self.kind!r}; "
                             f"e.g. Objective('lambda-beta', lam=1.0)")
        for name, uses in WEIGHT_KINDS.items():
            value = getattr(self, name)
            if not _concrete(value):
                continue
            value = np.asarray(value, dtype=float)
            if not (np.all(np.isfinite(value)) and np.all(value >= 0)):
                raise InputError(f"objective weight {name} must be finite and >= 0, found {value}; "
                                 f"e.g. Objective({uses[0]!r}, {name}=0.5)")
            if self.kind not in uses and np.any(value != 0):
                raise InputError(f"objective weight {name} applies to {' or '.join(uses)} only, found {name}="
                                 f"{value} with kind {self.kind!r}; set kind={uses[0]!r} or {name}=0")

    @property
    def uses_mean_path(self) -> bool:
        """Whether the loss needs the reconstruction decoded from the posterior mean (the λβ penalty)."""
        return self.kind == "lambda-beta"
