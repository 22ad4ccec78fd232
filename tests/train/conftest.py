"""Fixtures of the training tests (tests/train): the Gaussian data with an exactly singular direction."""

import pytest

from linvae.data import synthetic_data

from helpers import LAM_SINGULAR


@pytest.fixture(scope="session")
def singular_gaussian():
    """4000 Gaussian rows of :data:`helpers.LAM_SINGULAR` (its last mode has zero variance)."""
    x, _ = synthetic_data(LAM_SINGULAR, 4000, seed=3)
    return x
