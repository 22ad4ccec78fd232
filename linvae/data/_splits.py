"""Train / validation / test splits of a table's rows: seeded random, or from per-sample labels."""

from typing import NamedTuple

import numpy as np

from linvae._errors import InputError

__all__ = ["Split", "random_split", "split_from_labels"]


class Split(NamedTuple):
    """Row indices of the training, validation and test splits (docs/theory.md §9, docs/how-to/own-data.md).

    Attributes:
      train: 1-D integer row indices of the training split.
      val: 1-D integer row indices of the validation split.
      test: 1-D integer row indices of the test split.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def random_split(n_rows, *, fractions=(0.7, 0.15, 0.15), seed=0) -> Split:
    """A seeded random split of ``n_rows`` rows (default 70/15/15), each part sorted (docs/theory.md §9).

    The training and validation sizes are ``round(fraction · n_rows)``, at least one row each, and training leaves
    at least two rows for the other parts; the test split takes the rows left over.

    Args:
      n_rows: number of rows, at least 3.
      fractions: ``(train, val, test)`` proportions; only the first two are used, the test split gets the rest.
      seed: seed of the random permutation (default 0).

    Returns:
      The :class:`Split`, each part's indices sorted.

    Raises:
      InputError: fewer than 3 rows.
    """
    if n_rows < 3:
        raise InputError(f"training needs at least 3 samples for a train/validation/test split, found {n_rows}")
    perm = np.random.default_rng(seed).permutation(n_rows)
    n_train = max(1, int(round(fractions[0] * n_rows)))
    n_val = max(1, int(round(fractions[1] * n_rows)))
    n_train = min(n_train, n_rows - 2)
    parts = np.split(perm, [n_train, n_train + n_val])
    return Split(*(np.sort(p) for p in parts))


def split_from_labels(labels) -> Split:
    """A :class:`Split` from per-sample labels ``train`` / ``val`` (or ``validation``) / ``test``
    (docs/how-to/own-data.md).

    Args:
      labels: ``(N,)`` per-row labels ``train``, ``val`` (or ``validation``) or ``test``, in any case.

    Returns:
      The :class:`Split`: the ascending indices of the rows carrying each label.

    Raises:
      InputError: an unknown label, or a part without rows.
    """
    labels = np.char.lower(np.asarray(labels).astype(str))
    parts = [np.flatnonzero(np.isin(labels, names)) for names in (["train"], ["val", "validation"], ["test"])]
    unknown = sorted(set(np.unique(labels)) - {"train", "val", "validation", "test"})
    if unknown or any(len(p) == 0 for p in parts):
        found = ", ".join(str(v) for v in np.unique(labels))
        raise InputError(f"a data split needs labels train, val and test (each at least once), found {found}; "
                         "fix the 'split' variable")
    return Split(*parts)
