"""Benchmark of MLP VAE scans: one vmapped, jitted grid versus the same model point by point, and versus PyTorch.

On the manifold data (``--data synthetic:manifold``: d = 12, 20,000 training rows), K = 8 latents, MLP encoder and
decoder of hidden widths 64,64 with GELU, batch 256, Adam at 3e-4, for G grid points (β log-spaced) it
  1. checks the answer: every point lowers its validation loss, and the grid and the per-point loop of the same
     compiled one-point model give the same losses (rtol 2e-3);
  2. times, side by side in one process: the warm vmapped grid (compilation timed apart), the per-point loop of the
     same jitted model, and a plain PyTorch loop over β training the same architecture (``torch.nn.Linear``
     layers, exact GELU, Adam with the same settings, one reparameterised sample per row), one model after another
     as a PyTorch user would write it (skipped with a message where torch is not installed);
  3. prints model-updates per second and the ratios, and writes everything to JSON.

Usage:  python benchmarks/mlp.py [--steps 1000] [--grid 1,8,32] [--hidden 64,64] [--devices N] [--out mlp.json]
``--devices N`` splits the grid over N XLA CPU devices, as ``linvae scan --method sgd`` does on a CPU (one device
per core); the per-point loop and PyTorch run as they would anyway.
"""

import argparse
import json
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from bench_engine import sharded, timed  # the same grid placement and timer as the engine benchmark

from linvae.data import manifold_data
from linvae.model import Objective
from linvae.train import _sgd  # the engine's compiled period is what is timed

K, BATCH, LR = 8, 256, 3e-4


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000, help="Adam updates per point to time (default 1000)")
    p.add_argument("--grid", default="1,8,32", help="grid sizes (default 1,8,32)")
    p.add_argument("--hidden", default="64,64", help="hidden widths (default 64,64)")
    p.add_argument("--devices", type=int, default=1, help="XLA CPU devices to split the grid over (default 1)")
    p.add_argument("--out", default="mlp.json", help="JSON output (default mlp.json)")
    return p.parse_args()


def inputs(G, x_train, x_val, hidden):
    """The grid's initial state and period inputs, built as linvae.scan builds them (one device)."""
    key = jax.random.PRNGKey(0)
    d = x_train.shape[1]
    state = jax.vmap(_sgd.init_state, in_axes=(0, None, None, None, None))(
        jax.random.split(key, G), d, K, jnp.float32, (hidden, "gelu"))
    vb, vm = _sgd.device_blocks(x_val, 8192, jnp.float32)
    args = _sgd.SgdArgs(
        beta=jnp.asarray(betas(G), jnp.float32), learning_rate=jnp.full((G,), LR, jnp.float32),
        budget=jnp.int32(10**9), patience=jnp.int32(10**9), key=jax.random.split(jax.random.fold_in(key, 1), G),
        shared_key=jax.random.PRNGKey(2), x_train=jnp.asarray(x_train, jnp.float32), center=jnp.zeros(d, jnp.float32),
        val_blocks=vb, val_mask=vm, sigma_dec2=jnp.float32(1.0), objective=Objective(), alpha_warmup=jnp.int32(0))
    return state, args


def betas(G):
    return np.geomspace(0.03, 3.0, G) * 12  # T from 3e-3 to 0.3 on standardised data (V = d = 12)


def bench_jax(G, steps, x_train, x_val, hidden):
    state, args = inputs(G, x_train, x_val, hidden)
    grid_state, grid_args, grid_sh = sharded(state, args)
    t0 = time.perf_counter()
    compiled = _sgd.make_period(steps, BATCH, False, True, grid_sh).lower(grid_state, jnp.int32(0),
                                                                           grid_args).compile()
    compile_s = time.perf_counter() - t0
    initial = np.asarray(_sgd._grid_expected_loss()(state.params, args.val_blocks, args.val_mask, args.center,
                                                    args.beta, args.sigma_dec2, args.objective)[0])
    out, grid_s = timed(compiled, grid_state, jnp.int32(0), grid_args)
    assert np.all(np.asarray(out.best_val) < initial), "the MLP grid did not lower its validation loss"
    pick = lambda tree, g: jax.tree.map(lambda a: a[g:g + 1], tree)  # noqa: E731
    point = lambda g: args._replace(beta=args.beta[g:g + 1], learning_rate=args.learning_rate[g:g + 1],  # noqa: E731
                                    key=args.key[g:g + 1])
    state, args = jax.device_get((state, args))  # the loop runs on the default device, as a user's would
    one = _sgd.make_period(steps, BATCH, False, True).lower(pick(state, 0), jnp.int32(0), point(0)).compile()
    t0 = time.perf_counter()
    losses = [float(jax.block_until_ready(one(pick(state, g), jnp.int32(0), point(g))).best_val[0]) for g in range(G)]
    loop_s = time.perf_counter() - t0
    np.testing.assert_allclose(losses, np.asarray(out.best_val), rtol=2e-3)  # the same answer both ways
    return {"G": G, "steps": steps, "compile_s": compile_s, "grid_s": grid_s, "loop_s": loop_s,
            "initial_val": initial.tolist(), "final_val": np.asarray(out.best_val).tolist()}


def bench_torch(G, steps, x_train, x_val, hidden):
    """A plain PyTorch per-β loop of the same MLP VAE; ``None`` where torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    xt = torch.as_tensor(x_train, dtype=torch.float32)
    xv = torch.as_tensor(x_val, dtype=torch.float32)
    d = xt.shape[1]

    def mlp(widths):
        layers = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.GELU()]
        return torch.nn.Sequential(*layers)

    def loss(nets, x, beta):
        h = nets["encoder"](x)
        mu, log_sigma2 = nets["mean"](h), nets["log_sigma2"](h)
        z = mu + torch.exp(0.5 * log_sigma2) * torch.randn_like(mu)
        x_hat = nets["output"](nets["decoder"](z))
        rate = 0.5 * (mu**2 + torch.expm1(log_sigma2) - log_sigma2).sum(-1).mean()
        return 0.5 * ((x - x_hat) ** 2).sum(-1).mean() + beta * rate

    t0 = time.perf_counter()
    final = []
    for beta in map(float, betas(G)):
        nets = torch.nn.ModuleDict({"encoder": mlp((d, *hidden)), "mean": torch.nn.Linear(hidden[-1], K),
                                    "log_sigma2": torch.nn.Linear(hidden[-1], K),
                                    "decoder": mlp((K, *hidden[::-1])), "output": torch.nn.Linear(hidden[0], d)})
        optimiser = torch.optim.Adam(nets.parameters(), lr=LR)
        with torch.no_grad():
            start = float(loss(nets, xv, beta))
        for _ in range(steps):
            batch = xt[torch.randint(0, xt.shape[0], (BATCH,))]
            optimiser.zero_grad(set_to_none=True)
            loss(nets, batch, beta).backward()
            optimiser.step()
        with torch.no_grad():
            final.append(float(loss(nets, xv, beta)))
        assert final[-1] < start, "the PyTorch model did not lower its validation loss"
    return {"torch_s": time.perf_counter() - t0, "torch_version": torch.__version__, "torch_final_val": final}


def main(args):
    hidden = tuple(int(h) for h in args.hidden.split(","))
    x, _ = manifold_data(25_000, seed=0)
    x = (x - x[:20_000].mean(0)) / x[:20_000].std(0)
    x_train, x_val = x[:20_000], x[20_000:]
    cpu = platform.processor() or platform.machine()
    device = f"{jax.devices()[0].device_kind} x{jax.local_device_count()} ({cpu}, {os.cpu_count()} cores)"
    print(f"linvae MLP benchmark on {device}; jax {jax.__version__}; d=12, K={K}, hidden {args.hidden} gelu, "
          f"batch {BATCH}, {args.steps} updates per point")
    rows = []
    for G in (int(g) for g in args.grid.split(",")):
        if G % jax.local_device_count():
            print(f"(G = {G} skipped: it does not split evenly over {jax.local_device_count()} devices)")
            continue
        row = bench_jax(G, args.steps, x_train, x_val, hidden)
        row.update(bench_torch(G, args.steps, x_train, x_val, hidden) or {})
        rows.append(row)
    if "torch_s" not in rows[0]:
        print("PyTorch baseline skipped: torch is not installed (pip install torch to run it)")
    print(f"{'G':>3} {'compile s':>9} {'grid s':>8} {'loop s':>8} {'torch s':>8} {'grid upd/s':>10} "
          f"{'loop/grid':>9} {'torch/grid':>10}")
    for r in rows:
        torch_s = r.get("torch_s", float("nan"))
        print(f"{r['G']:>3} {r['compile_s']:>9.2f} {r['grid_s']:>8.2f} {r['loop_s']:>8.2f} {torch_s:>8.2f} "
              f"{r['G'] * r['steps'] / r['grid_s']:>10.0f} {r['loop_s'] / r['grid_s']:>9.2f} "
              f"{torch_s / r['grid_s']:>10.2f}")
    with open(args.out, "w") as f:
        json.dump({"benchmark": "mlp", "device": device, "jax": jax.__version__, "steps": args.steps,
                   "python": sys.version.split()[0], "hidden": hidden, "rows": rows}, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    arguments = parse()
    if arguments.devices > 1:  # read by XLA when JAX starts its backend, at the first computation
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={arguments.devices}"
    main(arguments)
