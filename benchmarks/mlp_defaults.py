"""Measurement of the MLP's optimiser default: the loss reached by a whole scan at three Adam step sizes.

On 20,000 rows of the manifold data (``--data synthetic:manifold``), K = 8 latents, hidden widths 64,64 with GELU,
8 prices from 3e-3 to 0.3, batch 256, the same budget of updates and the same initialisation (the documented one:
``linvae.model.init_mlp_params``), it trains the scan at each learning rate and
  1. checks the answer: every point lowered its validation loss, none diverged;
  2. prints the normalised training loss ``L̃ = D̃ + 2 T R`` of the kept parameters at every price, the number of
     active latents (KL rate above 0.01 nats), and the training wall time, side by side;
  3. writes everything to JSON.
The step size with the lowest loss at every price is the default of ``ScanConfig(model="mlp")`` (docs/nonlinear.md,
"Defaults").

Usage:  python benchmarks/mlp_defaults.py [--steps 20000] [--rates 3e-4,1e-3,3e-3] [--out mlp_defaults.json]
"""

import argparse
import json
import os
import platform
import time

import jax
import numpy as np

import linvae
from linvae.data import manifold_table


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20_000, help="update budget per point (default 20000)")
    p.add_argument("--rates", default="3e-4,1e-3,3e-3", help="Adam step sizes (default 3e-4,1e-3,3e-3)")
    p.add_argument("--out", default="mlp_defaults.json", help="JSON output (default mlp_defaults.json)")
    return p.parse_args()


def main(args):
    table = manifold_table(20_000, seed=0)
    T = np.geomspace(3e-3, 0.3, 8)
    cpu = platform.processor() or platform.machine()
    device = f"{jax.devices()[0].device_kind} ({cpu}, {os.cpu_count()} cores)"
    print(f"MLP optimiser defaults on {device}; {args.steps} updates per point, hidden 64,64 gelu, K = 8")
    runs = {}
    for rate in (float(r) for r in args.rates.split(",")):
        cfg = linvae.ScanConfig(method="sgd", model="mlp", hidden=(64, 64), n_latents=8, steps=args.steps,
                                learning_rate=rate, eval_every=500, patience=0.2)
        t0 = time.perf_counter()
        ds = linvae.scan(table, T, cfg, progress=False)
        wall = time.perf_counter() - t0
        assert not ds["diverged"].any(), f"learning rate {rate}: a point diverged"
        runs[rate] = {"loss": ds["loss"].values.tolist(), "active": ds["active_kl"].sum("latent").values.tolist(),
                      "steps": ds["train_steps"].values.tolist(), "wall_s": wall,
                      "closed_form_linear_loss": ds["theory_loss"].values.tolist()}
    rates = list(runs)
    print(f"{'T':>8} " + " ".join(f"{'L at ' + format(r, 'g'):>11} {'active':>6}" for r in rates)
          + f" {'linear L':>9}")
    for i, t in enumerate(T):
        cells = " ".join(f"{runs[r]['loss'][i]:>11.4f} {runs[r]['active'][i]:>6d}" for r in rates)
        print(f"{t:>8.4f} {cells} {runs[rates[0]]['closed_form_linear_loss'][i]:>9.4f}")
    print("wall s   " + " ".join(f"{runs[r]['wall_s']:>18.0f}" for r in rates))
    best = [rates[int(np.argmin([runs[r]["loss"][i] for r in rates]))] for i in range(len(T))]
    print("lowest loss at each T: " + ", ".join(format(r, "g") for r in best))
    with open(args.out, "w") as f:
        json.dump({"benchmark": "mlp_defaults", "device": device, "jax": jax.__version__, "steps": args.steps,
                   "T": T.tolist(), "runs": {format(r, "g"): v for r, v in runs.items()}}, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main(parse())
