"""Tests run in float64 with strict dtype promotion (STYLE.md: tolerances are set by precision).

A test module that trains through optax sets ``dtype_promotion = "standard"``: optax's Adam bias correction raises
a Python float to an int32 step count, which strict promotion rejects.
"""

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture(autouse=True)
def _dtype_promotion(request):
    with jax.numpy_dtype_promotion(getattr(request.module, "dtype_promotion", "strict")):
        yield
