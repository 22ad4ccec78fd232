"""The objective family's configuration (linvae.model.Objective): a bad kind or weight is rejected with an
InputError that says what was wrong."""

import pytest

from linvae import InputError
from linvae.model import Objective


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="vq"), "kind must be one of"),
    (dict(kind="lambda-beta", lam=-0.1), "finite and >= 0"),
    (dict(kind="lr", alpha=float("nan")), "finite and >= 0"),
    (dict(kind="lr", lam=1.0), "applies to lambda-beta"),
    (dict(kind="beta", alpha=1.0), "applies to lr"),
])
def test_bad_objective_is_rejected(kwargs, match):
    with pytest.raises(InputError, match=match):
        Objective(**kwargs)
