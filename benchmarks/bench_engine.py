"""Benchmark of the scan engine: one vmapped, jitted grid versus the same model trained point by point.

For G in {1, 8, 32, 64} grid points (d = 19, K = 32, spectrum 0.45^k, batch 256) and both methods it
  1. checks the answer (exact: every point's ranked M² within 1e-3 of the closed form; sgd: the loss falls),
  2. times compilation separately, then the warm run of the vmapped grid and of a per-point loop (a Python loop
     over the same model compiled for one point: a jitted scan per point), side by side in one process,
  3. prints model-steps per second and their ratio, peak memory, and writes everything to JSON.

Usage:  python benchmarks/bench_engine.py [--steps 2000] [--grid 1,8,32,64] [--devices N] [--out bench.json]
``--devices N`` splits the grid over N XLA CPU devices (sets XLA_FLAGS before JAX starts its backend, which
happens at the first computation, not at ``import jax``).
"""

import argparse
import json
import os
import platform
import resource
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import linvae
from linvae.data import spectrum_from_eigenvalues, synthetic_data
from linvae.model import Objective
from linvae.theory import optimum, price_grid
from linvae.train import _engine, _exact, _sgd  # the engine's internals are what is timed


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000, help="sgd updates per point to time (default 2000)")
    p.add_argument("--grid", default="1,8,32,64", help="grid sizes (default 1,8,32,64)")
    p.add_argument("--devices", type=int, default=1, help="XLA CPU devices to split the grid over (default 1)")
    p.add_argument("--out", default="bench_engine.json", help="JSON output (default bench_engine.json)")
    return p.parse_args()


D, K, BATCH = 19, 32, 256
EIG = 0.45 ** np.arange(D)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(f, *a):
    t0 = time.perf_counter()
    out = jax.block_until_ready(f(*a))
    return out, time.perf_counter() - t0


# ---- sgd ----------------------------------------------------------------------------------------------------

def sgd_inputs(G, x_train, x_val):
    key = jax.random.PRNGKey(0)
    state = jax.vmap(_sgd.init_state, in_axes=(0, None, None, None))(jax.random.split(key, G), D, K, jnp.float32)
    vb, vm = _sgd.device_blocks(x_val, 8192, jnp.float32)
    betas = np.geomspace(1e-4, 1, G) * EIG.sum()
    args = _sgd.SgdArgs(
        beta=jnp.asarray(betas, jnp.float32), learning_rate=jnp.full((G,), 3e-4, jnp.float32),
        budget=jnp.int32(10**9), patience=jnp.int32(10**9), key=jax.random.split(jax.random.fold_in(key, 1), G),
        shared_key=jax.random.PRNGKey(2), x_train=jnp.asarray(x_train, jnp.float32), center=jnp.zeros(D, jnp.float32),
        val_blocks=vb, val_mask=vm, sigma_dec2=jnp.float32(1.0), objective=Objective(), alpha_warmup=jnp.int32(0))
    return sharded(state, args)


def sharded(state, args):
    """The sgd grid split over the devices as linvae.scan places it: per-point inputs split, the rest replicated;
    ``(state, args, grid sharding)`` (also used by benchmarks/mlp.py)."""
    grid_sh, replicated = _engine.grid_sharding()
    per_point = {name for name, axis in _sgd.SGD_AXES._asdict().items() if axis == 0}
    args = args._replace(**{name: jax.device_put(value, grid_sh if name in per_point else replicated)
                            for name, value in args._asdict().items() if name != "objective"})
    return _engine.shard_grid(state, grid_sh), args, grid_sh


def bench_streams(G, steps, x_train, x_val):
    """Grid time with one minibatch index stream shared by the grid versus one stream per point."""
    state, args, grid_sh = sgd_inputs(G, x_train, x_val)
    times = {}
    for shared in (True, False):
        compiled = _sgd.make_period(steps, BATCH, False, shared, grid_sh).lower(state, jnp.int32(0), args).compile()
        _, times[shared] = timed(compiled, state, jnp.int32(0), args)
    return {"G": G, "steps": steps, "shared_s": times[True], "independent_s": times[False],
            "shared_speedup": times[False] / times[True]}


def bench_sgd(G, steps, x_train, x_val):
    state, args, grid_sh = sgd_inputs(G, x_train, x_val)
    period = _sgd.make_period(steps, BATCH, False, True, grid_sh)
    t0 = time.perf_counter()
    compiled = period.lower(state, jnp.int32(0), args).compile()
    compile_s = time.perf_counter() - t0
    initial = _sgd._grid_expected_loss()(state.params, args.val_blocks, args.val_mask, args.center, args.beta,
                                         args.sigma_dec2, args.objective)[0]
    out, grid_s = timed(compiled, state, jnp.int32(0), args)
    assert np.all(np.asarray(out.best_val) < np.asarray(initial)), "sgd did not lower the validation loss"
    # Per-point loop: the same model compiled for one point, called once per point.
    one_sh = _engine.grid_sharding()[0] if jax.local_device_count() == 1 else None
    one_period = _sgd.make_period(steps, BATCH, False, True, one_sh)
    pick = lambda tree, g: jax.tree.map(lambda a: a[g:g + 1], tree)  # noqa: E731
    host_state = jax.device_get(state)
    host_args = jax.device_get(args)

    def point_args(g):  # the per-point inputs of point g, the shared ones as they are
        return host_args._replace(beta=host_args.beta[g:g + 1], learning_rate=host_args.learning_rate[g:g + 1],
                                  key=host_args.key[g:g + 1])

    one_compiled = one_period.lower(pick(host_state, 0), jnp.int32(0), point_args(0)).compile()
    t0 = time.perf_counter()
    losses = []
    for g in range(G):
        st = one_compiled(pick(host_state, g), jnp.int32(0), point_args(g))
        losses.append(float(st.best_val[0]))
    loop_s = time.perf_counter() - t0
    np.testing.assert_allclose(losses, np.asarray(out.best_val), rtol=2e-3)  # same answer both ways
    return {"method": "sgd", "G": G, "steps": steps, "compile_s": compile_s, "grid_s": grid_s, "loop_s": loop_s,
            "grid_model_steps_per_s": G * steps / grid_s, "loop_model_steps_per_s": G * steps / loop_s,
            "speedup": loop_s / grid_s, "peak_rss_mib": peak_rss_mib()}


# ---- exact --------------------------------------------------------------------------------------------------

def bench_exact(G, spectrum):
    T = price_grid(1e-4, 1, G) if G > 1 else np.array([1e-2])
    cfg = linvae.ScanConfig(method="exact", n_latents=K)
    betas = T * spectrum.total_variance

    def run():
        return _exact.train_grid(spectrum, betas, cfg, dtype=jnp.float32, progress=False)

    t0 = time.perf_counter()
    run()                                   # compiles (and trains once)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = run()
    grid_s = time.perf_counter() - t0
    steps = int(np.sum(result.run.state.step))
    err = max_dM2(result.params, spectrum, T)
    assert err < 1e-3, f"exact grid misses the closed form: max |dM2| = {err:.2e}"
    _exact.train_grid(spectrum, betas[:1], cfg, dtype=jnp.float32, progress=False)   # compile the 1-point model
    t0 = time.perf_counter()
    for b in betas:                         # per point: the same compiled model for one point
        _exact.train_grid(spectrum, np.array([b]), cfg, dtype=jnp.float32, progress=False)
    loop_s = time.perf_counter() - t0
    return {"method": "exact", "G": G, "steps": steps, "compile_s": first_s - grid_s, "grid_s": grid_s,
            "loop_s": loop_s, "grid_model_steps_per_s": steps / grid_s, "loop_model_steps_per_s": steps / loop_s,
            "speedup": loop_s / grid_s, "max_abs_dM2": err, "peak_rss_mib": peak_rss_mib()}


def max_dM2(params, spectrum, T):
    C = spectrum.covariance
    A = np.asarray(params.encoder_weight)
    mu2 = np.einsum("gkd,de,gke->gk", A, C, A)
    M2 = np.sort(mu2 / (mu2 + np.exp(np.asarray(params.log_sigma2_bias))), axis=1)[:, ::-1]
    th = np.asarray(optimum(T, spectrum.eigenvalues, n_latents=K).M2)
    th = np.pad(th, ((0, 0), (0, K - th.shape[1])))
    return float(np.abs(M2 - th).max())


def main(args):
    grid_sizes = [int(g) for g in args.grid.split(",")]
    x, Q = synthetic_data(EIG, 60_000, seed=0)
    x_train, x_val = x[:50_000], x[50_000:]
    spectrum = spectrum_from_eigenvalues(EIG, eigenvectors=Q)
    cpu = platform.processor() or platform.machine()
    device = f"{jax.devices()[0].device_kind} x{jax.local_device_count()} ({cpu}, {os.cpu_count()} cores)"
    print(f"linvae engine benchmark on {device}; jax {jax.__version__}; d={D}, K={K}, batch {BATCH}")
    rows = []
    for G in grid_sizes:
        if G % jax.local_device_count():
            print(f"(G = {G} skipped: it does not split evenly over {jax.local_device_count()} devices)")
            continue
        rows.append(bench_exact(G, spectrum))
        rows.append(bench_sgd(G, args.steps, x_train, x_val))
    head = f"{'method':>6} {'G':>3} {'compile s':>9} {'grid s':>8} {'loop s':>8} {'grid steps/s':>12} " \
           f"{'loop steps/s':>12} {'ratio':>6} {'peak MiB':>8}"
    print(head)
    for r in rows:
        print(f"{r['method']:>6} {r['G']:>3} {r['compile_s']:>9.2f} {r['grid_s']:>8.2f} {r['loop_s']:>8.2f} "
              f"{r['grid_model_steps_per_s']:>12.0f} {r['loop_model_steps_per_s']:>12.0f} {r['speedup']:>6.2f} "
              f"{r['peak_rss_mib']:>8.0f}")
    exact64 = [r for r in rows if r["method"] == "exact" and r["G"] == 64]
    if exact64:
        r = exact64[0]
        print(f"exact, G=64: every point within |dM2| < 1e-3 of the closed form (max {r['max_abs_dM2']:.1e}) "
              f"in {r['grid_s']:.2f} s after compilation")
    G = max(grid_sizes)
    streams = bench_streams(G, args.steps, x_train, x_val)
    print(f"sgd batch stream, G={G}: shared {streams['shared_s']:.2f} s, independent {streams['independent_s']:.2f} s "
          f"(shared is {100 * (streams['shared_speedup'] - 1):.0f} % faster)")
    with open(args.out, "w") as f:
        json.dump({"device": device, "jax": jax.__version__, "python": sys.version.split()[0], "rows": rows,
                   "batch_streams": streams}, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    arguments = parse()
    if arguments.devices > 1:  # read by XLA when JAX starts its backend, at the first computation
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={arguments.devices}"
    main(arguments)
