"""A ground truth where nonlinearity matters: a few independent Gaussian factors mapped through a fixed smooth
nonlinear function into many observed features (docs/theory.md §9, "Synthetic data")."""

import numpy as np

from linvae._errors import InputError
from linvae.data._tables import Table

__all__ = ["manifold_data", "manifold_table"]


def manifold_data(n_samples, *, n_factors=3, n_features=12, hidden=32, noise=0.05, seed=0):
    """Samples of a smooth nonlinear map of independent factors, ``x = W₂ tanh(W₁ v + c) + n`` (docs/theory.md §9,
    "Synthetic data").

    The map is a fixed random one-hidden-layer network: ``W₁ ~ N(0, 1.5²)`` ``(hidden, n_factors)``,
    ``c ~ U(−1, 1)``, ``W₂ ~ N(0, 1/hidden)`` ``(n_features, hidden)``; the factors ``v ~ N(0, I)``; the noise ``n``
    is Gaussian with, feature by feature, ``noise`` times the standard deviation of the noiseless feature over the
    drawn samples. With the defaults, 3 factors need 6 principal components for 95 % of the variance and 8 carry
    more than 1 % each (seeds 0–5: 5–6 and 6–8): PCA, and so a linear VAE, sees many more directions than there are
    causes. One ``seed`` draws the map, then the factors, then the noise.

    Args:
      n_samples: number of rows ``N``.
      n_factors: number of independent factors.
      n_features: number of observed features ``d``.
      hidden: width of the hidden layer of the map.
      noise: noise standard deviation relative to each noiseless feature's.
      seed: seed of the map, the factors and the noise.

    Returns:
      ``(x, v)``: ``(N, d)`` float64 samples and their ``(N, n_factors)`` factors.

    Raises:
      InputError: a size below 1 (``n_samples`` below 2) or a negative noise level.
    """
    sizes = {"n_samples": n_samples - 1, "n_factors": n_factors, "n_features": n_features, "hidden": hidden}
    bad = [f"{name}={value + (name == 'n_samples')}" for name, value in sizes.items() if int(value) < 1]
    if bad or not noise >= 0:
        raise InputError(f"manifold data need n_samples >= 2, n_factors, n_features, hidden >= 1 and noise >= 0, "
                         f"found {', '.join(bad) or f'noise={noise}'}; e.g. the defaults")
    rng = np.random.default_rng(seed)
    W1 = rng.normal(0.0, 1.5, (hidden, n_factors))
    c = rng.uniform(-1.0, 1.0, hidden)
    W2 = rng.normal(0.0, 1.0 / np.sqrt(hidden), (n_features, hidden))
    v = rng.standard_normal((int(n_samples), n_factors))
    signal = np.tanh(v @ W1.T + c) @ W2.T
    x = signal + noise * signal.std(axis=0) * rng.standard_normal(signal.shape)
    return x, v


def manifold_table(n_samples=100_000, *, seed=0, **options) -> Table:
    """:func:`manifold_data` as a :class:`Table` for :func:`linvae.scan` (``--data synthetic:manifold``), without
    a split; the factors are not part of the table (call :func:`manifold_data` for them) (docs/theory.md §9).

    Args:
      n_samples: number of rows (default 100,000).
      seed: seed of the map, the factors and the noise.
      **options: ``n_factors``, ``n_features``, ``hidden``, ``noise`` of :func:`manifold_data`.

    Returns:
      The :class:`Table`, features ``m0 … m{d-1}``.
    """
    x, v = manifold_data(n_samples, seed=seed, **options)
    return Table(values=x, features=tuple(f"m{j}" for j in range(x.shape[1])),
                 source=f"synthetic manifold: {v.shape[1]} Gaussian factors through a fixed tanh network into "
                        f"{x.shape[1]} features, {n_samples} samples, seed {seed}")
