"""PCA spectrum of a data set, accumulated in float64 over row blocks (docs/theory.md §1, §7 "PCA reference").

The covariance is the population one (divided by ``N``), the convention of the loss, which averages over data.
Row blocks are read one at a time, so a memory-mapped ``.npy`` of millions of rows is never copied whole.
"""

from typing import NamedTuple

import numpy as np

from linvae._errors import InputError

__all__ = ["Spectrum", "moments", "pca_spectrum", "spectrum_from_covariance", "spectrum_from_eigenvalues"]


class Spectrum(NamedTuple):
    """PCA of centred data: ``C = U diag(λ) Uᵀ`` with ``λ`` descending (float64 numpy arrays) (docs/theory.md §1, §9).

    Attributes:
      mean: ``x̄``, ``(d,)``.
      eigenvalues: ``λ_k``, ``(d,)``, descending; may hold a zero or a rounding-negative value.
      eigenvectors: ``U``, ``(d, d)``, ``u_k`` in column k, its largest-magnitude entry positive.
      n_samples: rows the spectrum was estimated from (0: given, not estimated).
    """

    mean: np.ndarray          # x̄ (d,)
    eigenvalues: np.ndarray   # λ_k (d,), descending; may hold a zero or a rounding-negative value
    eigenvectors: np.ndarray  # U (d, d), u_k in column k, largest-magnitude entry positive
    n_samples: int

    @property
    def total_variance(self) -> float:
        """``V = tr C = Σ λ_k``."""
        return float(self.eigenvalues.sum())

    @property
    def covariance(self) -> np.ndarray:
        """The covariance ``C = U diag(λ) Uᵀ``, ``(d, d)``, rebuilt from the decomposition."""
        return (self.eigenvectors * self.eigenvalues) @ self.eigenvectors.T

    @property
    def fraction(self) -> np.ndarray:
        """Explained-variance fractions ``λ_k / V`` (equal to the thresholds ``T_k``)."""
        return self.eigenvalues / self.total_variance

    @property
    def truncated_distortion(self) -> np.ndarray:
        """PCA reference ``D̃_k^PCA = 1 − Σ_{j≤k} λ_j / V`` for ``k = 1 … d`` (docs/theory.md §7).

        Computed as the tail sum ``Σ_{j>k} λ_j / V`` so small values are not lost to cancellation.
        """
        tail = np.cumsum(self.eigenvalues[::-1])[::-1]
        return np.append(tail[1:], 0.0) / self.total_variance


def moments(x, *, block_rows=65536):
    """Mean ``(d,)``, population covariance ``(d, d)`` and row count of ``x`` ``(N, d)``, in float64
    (docs/theory.md §9).

    Rows are read in blocks; sums are shifted by the first row: ``C = Σ (x − s)(x − s)ᵀ / N − m mᵀ`` with
    ``m = mean(x) − s``, which avoids the cancellation of the textbook one-pass formula for data far from the
    origin. The covariance is the population one (divided by ``N``) and is symmetrised.

    Args:
      x: ``(N, d)`` rows (any 2-D array, e.g. a memory map; converted to float64 one block at a time).
      block_rows: rows read per block (default 65536).

    Returns:
      ``(mean, cov, n)``: the ``(d,)`` mean, the ``(d, d)`` population covariance, both float64, and the row
      count ``N``.

    Raises:
      InputError: ``x`` is not 2-D, has fewer than two rows, or holds NaN or inf (the first offending row and
        column are named).
    """
    if x.ndim != 2:
        raise InputError(f"data must be 2-D (samples x features), found shape {x.shape}; reshape it")
    n, d = x.shape
    if n < 2:
        raise InputError(f"a covariance needs at least 2 rows, found {n}; supply more rows (a scan needs at least 4 "
                         "in all for its default 70/15/15 split)")
    shift = np.asarray(x[0], dtype=np.float64)
    s1 = np.zeros(d)
    s2 = np.zeros((d, d))
    for start in range(0, n, block_rows):
        block = np.asarray(x[start:start + block_rows], dtype=np.float64)
        bad = ~np.isfinite(block)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise InputError(f"data contain NaN or inf (first at row {start + row}, column {col}); "
                             "drop or impute those rows first")
        block = block - shift
        s1 += block.sum(axis=0)
        s2 += block.T @ block
    m = s1 / n
    cov = s2 / n - np.outer(m, m)
    return shift + m, 0.5 * (cov + cov.T), n


def pca_spectrum(x, *, block_rows=65536) -> Spectrum:
    """PCA spectrum of ``x`` ``(N, d)``: see :func:`moments` and :func:`spectrum_from_covariance`
    (docs/theory.md §1, §9).

    Args:
      x: ``(N, d)`` rows (any 2-D array, e.g. a memory map).
      block_rows: rows read per block (default 65536).

    Returns:
      The :class:`Spectrum` of the population covariance, with ``n_samples = N``.

    Raises:
      InputError: as :func:`moments`.
    """
    return spectrum_from_covariance(*moments(x, block_rows=block_rows))


def spectrum_from_covariance(mean, cov, n_samples=0) -> Spectrum:
    """Eigen-decomposition of a covariance, eigenvalues descending, eigenvector signs fixed (docs/theory.md §1).

    Each eigenvector's largest-magnitude entry is made positive, so the result does not depend on the LAPACK
    build.

    Args:
      mean: ``(d,)`` data mean, stored as given (float64).
      cov: ``(d, d)`` symmetric covariance.
      n_samples: rows it was estimated from (provenance only; default 0, "not estimated").

    Returns:
      The :class:`Spectrum`, eigenvalues descending.
    """
    eig, U = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    eig, U = eig[::-1], U[:, ::-1]
    # Make the largest-magnitude entry of each eigenvector positive: reproducible across LAPACK builds.
    pivot = np.abs(U).argmax(axis=0)
    U = U * np.sign(U[pivot, np.arange(U.shape[1])])
    return Spectrum(mean=np.asarray(mean, dtype=np.float64), eigenvalues=eig.copy(), eigenvectors=U.copy(),
                    n_samples=int(n_samples))


def spectrum_from_eigenvalues(eigenvalues, *, mean=None, eigenvectors=None, n_samples=0) -> Spectrum:
    """A :class:`Spectrum` from given eigenvalues (identity eigenvectors and zero mean unless given)
    (docs/theory.md §1).

    Args:
      eigenvalues: ``(d,)`` eigenvalues, in any order; they are sorted descending (stable, so ties keep their
        order).
      mean: ``(d,)`` mean; ``None`` (default): zeros.
      eigenvectors: ``(d, d)`` eigenvectors, ``u_k`` in column k, matching ``eigenvalues``; their columns are
        permuted with the sort. ``None`` (default): the identity. Signs are kept as given.
      n_samples: rows the spectrum was estimated from (provenance only; default 0, "not estimated").

    Returns:
      The :class:`Spectrum`.
    """
    eig = np.asarray(eigenvalues, dtype=np.float64)
    order = np.argsort(-eig, kind="stable")
    d = eig.size
    U = np.eye(d) if eigenvectors is None else np.asarray(eigenvectors, dtype=np.float64)
    mean = np.zeros(d) if mean is None else np.asarray(mean, dtype=np.float64)
    return Spectrum(mean=mean, eigenvalues=eig[order], eigenvectors=U[:, order], n_samples=int(n_samples))
