"""The memory guard (issue 13 item 2): the documented formula against XLA's own accounting of the compiled period,
and the refusal before anything is allocated (docs/training.md, "Memory")."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import linvae
from linvae import InputError
from linvae.model import Objective
from linvae.train import MEMORY_LIMIT_ENV, _exact, _sgd, available_memory, check_memory, estimate_memory

dtype_promotion = "standard"  # compiles the optax-based periods (see conftest)


def _xla_bytes(compiled):
    """What XLA allocates for one call: arguments, outputs and temporaries (less what outputs alias)."""
    m = compiled.memory_analysis()
    return m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes


def _grid_shapes(init, keys, *static):
    return jax.eval_shape(lambda k: jax.vmap(init, in_axes=(0,) + (None,) * len(static))(k, *static), keys)


def _exact_xla(K, m, G, kind):
    sds = jax.ShapeDtypeStruct
    keys = jax.random.split(jax.random.PRNGKey(0), G)
    state = _grid_shapes(lambda key, k, n: _exact.init_state(key, k, n, jnp.float32, kind=kind), keys, K, m)
    per_point = sds((G,), jnp.float32)
    args = _exact.ExactArgs(T=per_point, learning_rate=per_point, eigenvalues=sds((m,), jnp.float32),
                            beta_s=per_point, budget=sds((), jnp.int32), weight=per_point)
    return _xla_bytes(_exact.make_period(K, None, kind).lower(state, jnp.int32(0), args).compile())


def _sgd_xla(K, d, G, batch, n_train, n_val, architecture=None):
    sds = jax.ShapeDtypeStruct
    keys = jax.random.split(jax.random.PRNGKey(0), G)
    state = _grid_shapes(lambda key, n, k: _sgd.init_state(key, n, k, jnp.float32, architecture), keys, d, K)
    block = min(8192, n_val)
    n_blocks = -(-n_val // block)
    scalar, per_point = sds((), jnp.float32), sds((G,), jnp.float32)
    args = _sgd.SgdArgs(beta=per_point, learning_rate=per_point, budget=sds((), jnp.int32),
                        patience=sds((), jnp.int32), key=keys, shared_key=keys[0], x_train=sds((n_train, d),
                        jnp.float32), center=sds((d,), jnp.float32), val_blocks=sds((n_blocks, block, d), jnp.float32),
                        val_mask=sds((n_blocks, block), jnp.float32), sigma_dec2=scalar,
                        objective=Objective("beta", lam=scalar, alpha=scalar), alpha_warmup=sds((), jnp.int32))
    return _xla_bytes(_sgd.make_period(10, batch, False, True).lower(state, jnp.int32(0), args).compile())


@pytest.mark.parametrize("K, m, G, kind", [(8, 6, 4, "beta"), (32, 12, 16, "beta"), (64, 19, 8, "beta"),
                                            (8, 6, 4, "lr"), (16, 12, 4, "lr")])
def test_exact_formula_bounds_xla(K, m, G, kind):
    """The formula is an upper estimate of the compiled period's memory, within a factor 1.6."""
    config = linvae.ScanConfig(method="exact", n_latents=K, objective=kind, alpha=1.0 if kind == "lr" else 0.0)
    estimate = estimate_memory(config, G, m, n_modes=m)
    xla = _exact_xla(K, m, G, kind)
    assert xla <= estimate.needed <= 1.6 * xla, (estimate.needed, xla)


@pytest.mark.parametrize("K, d, G, batch, n_train, n_val", [
    (32, 12, 64, 256, 21000, 4500), (128, 50, 8, 1024, 5000, 1000), (1000, 12, 4, 256, 3000, 600),
    (4, 200, 8, 2048, 20000, 20000)])
def test_sgd_formula_bounds_xla(K, d, G, batch, n_train, n_val):
    """Within a factor 0.95-2 of XLA: parameters, moments, activations of a batch and a validation block, data."""
    config = linvae.ScanConfig(method="sgd", n_latents=K, batch_size=batch)
    estimate = estimate_memory(config, G, d, n_train=n_train, n_val=n_val)
    xla = _sgd_xla(K, d, G, batch, n_train, n_val)
    assert 0.95 * xla <= estimate.needed <= 2.0 * xla, (estimate.needed, xla)


@pytest.mark.parametrize("K, d, G, batch, n_train, n_val, hidden", [
    (8, 12, 16, 256, 21000, 4500, (64, 64)),
    pytest.param(32, 19, 8, 256, 5000, 1000, (128,), marks=pytest.mark.slow),
    pytest.param(4, 11, 64, 512, 20000, 20000, (32, 32, 32), marks=pytest.mark.slow),
    pytest.param(16, 50, 4, 1024, 3000, 600, (256, 64), marks=pytest.mark.slow)])
def test_mlp_formula_bounds_xla(K, d, G, batch, n_train, n_val, hidden):
    """The MLP's terms (docs/nonlinear.md): within a factor 1-2 of XLA's accounting of the larger of its two
    programs, the compiled period and the final loss pass over the training rows."""
    config = linvae.ScanConfig(method="sgd", model="mlp", hidden=hidden, n_latents=K, batch_size=batch)
    estimate = estimate_memory(config, G, d, n_train=n_train, n_val=n_val)
    xla = max(_sgd_xla(K, d, G, batch, n_train, n_val, (hidden, "gelu")), _final_pass_xla(K, d, G, n_train, hidden))
    assert xla <= estimate.needed <= 2.0 * xla, (estimate.needed, xla)


def _final_pass_xla(K, d, G, n_train, hidden):
    """XLA's accounting of the final noise-expected loss pass of an MLP grid over its training rows."""
    sds = jax.ShapeDtypeStruct
    keys = jax.random.split(jax.random.PRNGKey(0), G)
    params = _grid_shapes(lambda key, n, k: _sgd.init_state(key, n, k, jnp.float32, (hidden, "gelu")), keys, d,
                          K).params
    block = min(8192, n_train)
    n_blocks = -(-n_train // block)
    scalar = sds((), jnp.float32)
    compiled = _sgd._grid_expected_loss().lower(
        params, sds((n_blocks, block, d), jnp.float32), sds((n_blocks, block), jnp.float32), sds((d,), jnp.float32),
        sds((G,), jnp.float32), scalar, Objective("beta", lam=scalar, alpha=scalar)).compile()
    return _xla_bytes(compiled)


def test_devices_with_their_own_memory_count_their_share():
    config = linvae.ScanConfig(method="sgd", n_latents=8)
    shared = estimate_memory(config, 64, 10, n_train=1000, n_val=200, n_devices=4)
    own = estimate_memory(config, 64, 10, n_train=1000, n_val=200, n_devices=4, shares_memory=False)
    assert shared.needed == 64 * shared.per_point + 4 * shared.shared
    assert own.needed == 16 * own.per_point + own.shared
    assert estimate_memory(linvae.ScanConfig(method="sgd", n_latents=8, x64=True), 64, 10).per_point == \
        2 * estimate_memory(config, 64, 10).per_point


def test_refusal_is_one_line_with_estimate_available_and_fix():
    estimate = estimate_memory(linvae.ScanConfig(n_latents=10_000), 64, 12)
    with pytest.raises(InputError) as err:
        check_memory(estimate, available=8 * 2**30)
    message = str(err.value)
    assert "\n" not in message and "8.59 GB is available" in message and "fewer --latents" in message
    assert f"{estimate.needed / 1e12:.3g} TB" in message
    assert check_memory(estimate_memory(linvae.ScanConfig(n_latents=4), 8, 5), available=2**30) > 0


def test_limit_from_the_environment(monkeypatch):
    for text, expected in (("8G", 8 * 2**30), ("512MiB", 512 * 2**20), ("1e9", 10**9), ("off", None)):
        monkeypatch.setenv(MEMORY_LIMIT_ENV, text)
        assert available_memory() == expected, text
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(InputError, match="not a memory size"):
        available_memory()
    monkeypatch.delenv(MEMORY_LIMIT_ENV)
    assert available_memory() is None or available_memory() > 0


def test_scan_refuses_before_training(monkeypatch):
    """The guard runs inside linvae.scan before the first allocation: a tight limit refuses a small grid."""
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "100K")
    x = np.random.default_rng(0).standard_normal((300, 6))
    with pytest.raises(InputError, match="100 kB|102 kB"):
        linvae.scan(x, np.geomspace(1e-3, 1, 16), linvae.ScanConfig(method="exact", n_latents=6), progress=False)
