"""The paper's minibatch protocol for one model, vmapped over the grid by :mod:`linvae._engine` (SPEC.md §6).

Adam (step size traced), minibatches drawn on the device, one reparameterised sample per row, affine (or
constant) log-variance head. After every period of ``eval_every`` updates the model is evaluated on the
validation split; the best parameters are kept, and a model stops on its own after ``patience × budget``
updates without improvement, when its budget is spent, or when it produces NaN/inf (then it is frozen at its
best parameters and flagged ``diverged``).

The validation loss is :func:`linvae._model.expected_loss`, the expectation over the posterior noise (exact for
the linear decoder), so early stopping does not chase sampling noise.

Objective family (SPEC.md §5): the minibatch loss is :func:`linvae._model.sample_loss` with the configuration's
:class:`linvae.Objective`, passed as a pytree (its kind is static, ``λ`` and ``α`` are traced). For ``'lr'`` the
weight used at update ``t`` (the point's own count) is ``α min(1, t / n_warm)`` with ``n_warm = alpha_warmup``
(traced: a new warm-up length or weight never recompiles; ``n_warm = 0``: ``α`` throughout). Validation always
uses the full ``α``, so early stopping compares every period on the objective actually sought.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from linvae import _engine
from linvae._engine import all_finite, tree_where
from linvae._model import Params, expected_loss, init_params, sample_loss
from linvae._objectives import Objective

__all__ = ["SgdState", "init_state", "make_period", "train_grid"]


class SgdState(NamedTuple):
    """One model's training state (the grid adds a leading axis to every leaf)."""

    params: Params
    adam: optax.ScaleByAdamState
    best_params: Params
    best_val: jnp.ndarray       # () best validation loss so far
    best_step: jnp.ndarray      # () int32 update count at the best validation loss
    step: jnp.ndarray           # () int32 updates done
    done: jnp.ndarray           # () bool
    stopped_early: jnp.ndarray  # () bool: patience ran out before the budget
    diverged: jnp.ndarray       # () bool: NaN/inf seen; frozen at best_params


_ADAM = optax.scale_by_adam()


def init_state(key, n_features, n_latents, dtype) -> SgdState:
    params = init_params(key, n_features, n_latents, dtype)
    false = jnp.zeros((), bool)
    return SgdState(params=params, adam=_ADAM.init(params), best_params=params,
                    best_val=jnp.asarray(jnp.inf, dtype), best_step=jnp.zeros((), jnp.int32),
                    step=jnp.zeros((), jnp.int32), done=false, stopped_early=false, diverged=false)


@functools.cache
def make_period(eval_every, batch_size, constant_head, shared_batches, out_sharding=None):
    """Compiled grid function ``period(state, period_index, β, lr, budget, patience, keys, shared_key, data…,
    sigma_dec2[, objective, alpha_warmup])``.

    Cached on the static configuration only: everything else is traced (``objective`` is an
    :class:`linvae.Objective` pytree, default the β-VAE; ``alpha_warmup`` an int32 number of updates, default 0).
    ``out_sharding`` pins the state's layout (grid axis split over the devices), so the output can be fed back
    without a recompilation.
    """

    def period_one(state: SgdState, period_index, beta, lr, budget, patience, key, shared_key,
                   x_train, center, val_blocks, val_mask, sigma_dec2, objective, alpha_warmup):
        n_train = x_train.shape[0]
        n_latents = state.params.encoder_bias.shape[0]
        first = period_index * eval_every
        noise_key, own_batch_key = jax.random.split(key)  # independent streams: noise, and per-point indices

        # Masking once per period, not per update: a point done at the start stays frozen for the whole period
        # (restored below), and a point whose budget ends inside the period gets a zero step from then on. Only
        # its Adam moments move on, and it is done after this period, so nothing observable changes.
        n_live = jnp.where(state.done, 0, jnp.clip(budget - state.step, 0, eval_every))

        def update(i, carry):
            params, adam = carry
            t = first + i
            # The shared index stream depends only on (shared_key, t): computed once for the whole grid.
            batch_key = shared_key if shared_batches else own_batch_key
            # Each point draws its own noise on its own device, so threefry need not be partitionable; the
            # non-partitionable variant draws these normals ~1.7x faster on CPU (measured; jax 0.10.2).
            with jax.threefry_partitionable(False):
                idx = jax.random.randint(jax.random.fold_in(batch_key, t), (batch_size,), 0, n_train)
                eps = jax.random.normal(jax.random.fold_in(noise_key, t), (batch_size, n_latents), x_train.dtype)
            current = objective
            if objective.kind == "lr":  # linear warm-up of α over the point's own updates
                done_updates = (state.step + i).astype(x_train.dtype)
                ramp = jnp.where(alpha_warmup > 0, jnp.minimum(
                    done_updates / jnp.maximum(alpha_warmup, 1).astype(x_train.dtype), 1), 1)
                current = Objective("lr", alpha=objective.alpha * ramp)
            grads = jax.grad(lambda p: sample_loss(p, x_train[idx], center, eps, beta, sigma_dec2, current)[0])(
                params)
            if constant_head:
                grads = grads._replace(log_sigma2_weight=jnp.zeros_like(grads.log_sigma2_weight))
            direction, adam = _ADAM.update(grads, adam)
            step = jnp.where(i < n_live, lr, 0)
            return jax.tree.map(lambda p, u: p - step * u, params, direction), adam

        params, adam = jax.lax.fori_loop(0, eval_every, update, (state.params, state.adam))
        state = tree_where(state.done, state, state._replace(params=params, adam=adam,
                                                             step=state.step + n_live.astype(state.step.dtype)))
        val = expected_loss(state.params, val_blocks, val_mask, center, beta, sigma_dec2, objective)[0]
        bad = ~(jnp.isfinite(val) & all_finite(state.params))
        improved = ~state.done & ~bad & (val < state.best_val)
        best_params = tree_where(improved, state.params, state.best_params)
        best_step = jnp.where(improved, state.step, state.best_step)
        patience_out = state.step - best_step >= patience
        newly_done = ~state.done & (bad | patience_out | (state.step >= budget))
        return state._replace(
            params=tree_where(bad, state.best_params, state.params),
            best_params=best_params, best_val=jnp.where(improved, val, state.best_val), best_step=best_step,
            done=state.done | newly_done,
            stopped_early=state.stopped_early | (newly_done & ~bad & patience_out & (state.step < budget)),
            diverged=state.diverged | (~state.done & bad),
        )

    vgrid = jax.vmap(period_one, in_axes=(0, None, 0, 0, None, None, 0, None, None, None, None, None, None, None,
                                          None))

    def grid(state, period_index, *args):
        if len(args) == 11:  # β-VAE callers may omit the objective and the warm-up
            args = (*args, Objective(), jnp.int32(0))
        return vgrid(state, period_index, *args)

    return jax.jit(grid, out_shardings=out_sharding)


def row_blocks(x, block_rows, dtype):
    """``(n_blocks, block_rows, d)`` zero-padded copy of ``x`` and the matching row mask, on the device."""
    n, d = x.shape
    block_rows = min(block_rows, n)
    n_blocks = -(-n // block_rows)
    padded = np.zeros((n_blocks * block_rows, d))
    padded[:n] = x
    mask = (np.arange(n_blocks * block_rows) < n).reshape(n_blocks, block_rows)
    return jnp.asarray(padded.reshape(n_blocks, block_rows, d), dtype), jnp.asarray(mask, dtype)


@functools.cache
def _grid_expected_loss():
    return jax.jit(jax.vmap(expected_loss, in_axes=(0, None, None, None, 0, None, None)))


def train_grid(x_train, x_val, betas, config, *, dtype, checkpoint=None, checkpoint_every=30.0, fingerprint="",
               resume=False, progress=True):
    """Train one model per β with the minibatch protocol; returns
    ``(GridRun, best params, (E‖x−x̂‖², R, penalty))``.

    The returned parameters are each point's best (lowest validation loss); the terms are their
    noise-expected squared error, rate and objective penalty (loss units) on the training split.
    """
    n_points = len(betas)
    g = _engine.padded_size(n_points)
    n_train, d = x_train.shape
    K = config.n_latents
    eval_every = config.eval_every or -(-n_train // config.batch_size)
    max_periods = -(-config.steps // eval_every)
    root = jax.random.PRNGKey(config.seed)
    init_keys = jax.random.split(jax.random.fold_in(root, 0), g)
    noise_keys = jax.random.split(jax.random.fold_in(root, 1), g)
    shared_key = jax.random.fold_in(root, 2)
    state, betas_p = _engine.init_grid(init_state, init_keys, betas, n_points, d, K, dtype)
    grid_sh, replicated = _engine.grid_sharding()
    put = lambda a: _engine.place(jnp.asarray(a, dtype), replicated)  # noqa: E731
    on_grid = lambda a: _engine.place(a, grid_sh)  # noqa: E731
    val_blocks, val_mask = row_blocks(x_val, 8192, dtype)
    train = put(x_train)
    center = put(np.zeros(d))
    args = (
        on_grid(jnp.asarray(betas_p, dtype)), on_grid(jnp.full((g,), config.lr, dtype)),
        _engine.place(jnp.int32(config.steps), replicated),
        _engine.place(jnp.int32(max(1, int(config.patience * config.steps))), replicated),
        on_grid(noise_keys), _engine.place(shared_key, replicated), train, center, put(val_blocks), put(val_mask),
        put(config.sigma_dec2),
        jax.tree.map(put, Objective(config.objective, lam=float(config.lam), alpha=float(config.alpha))),
        _engine.place(jnp.int32(config.alpha_warmup), replicated),
    )
    period = make_period(eval_every, config.batch_size, config.variance_head == "constant", config.shared_batches,
                         grid_sh)

    def describe(flags):
        running = int(np.sum(~flags.done[:n_points]))
        best = float(np.min(np.where(np.isfinite(flags.best_val), flags.best_val, np.inf)))
        return f"running {running}/{n_points}, best val loss {best:.5g}"

    run = _engine.run_grid(period, _engine.shard_grid(state, grid_sh), args, max_periods=max_periods,
                           describe=describe, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                           fingerprint=fingerprint, resume=resume,
                           progress=progress, sharding=grid_sh, updates_per_period=eval_every)
    best = run.state.best_params
    train_blocks, train_mask = row_blocks(x_train, 8192, dtype)
    _, distortion, rate, penalty = _engine.to_host(_grid_expected_loss()(
        _engine.shard_grid(best, grid_sh), put(train_blocks), put(train_mask), center, args[0], args[10], args[11]))
    return run, best, (np.asarray(distortion) * 2 * config.sigma_dec2, np.asarray(rate), np.asarray(penalty))
