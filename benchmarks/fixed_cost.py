"""The fixed cost of a scan: whole-process time with and without the compilation cache, and its parts.

The scan is the one of issue 13: ``linvae scan --data synthetic --method sgd --steps 3000 --quiet`` (64 grid
points, K = 32, d = 11, 100,000 rows), run as a user runs it, in a new process each time:

1. ``--no-cache``: every process compiles everything;
2. with the cache, first run (an empty cache folder);
3. with the cache, second run (the same folder);
4. optionally ``--baseline DIR``: the same command with an older checkout of linvae first on ``PYTHONPATH``.

The check comes first: the three runs of this checkout must write identical trained parameters and spectra (the cache
must not change a result). Then, in this process, the parts: ``import linvae``, the initial grid state (one jitted
call against the former un-jitted ``vmap``), and the analysis of a 64-point grid on 30,000 held-out rows.

    python benchmarks/fixed_cost.py --out benchmarks/results/fixed_cost_cpu2.json [--baseline /path/to/old/checkout]
"""

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

SCAN = ["scan", "--data", "synthetic", "--method", "sgd", "--steps", "3000", "--quiet"]


def _process(out, cache_dir=None, no_cache=False, pythonpath=None):
    """Wall seconds of one whole ``linvae scan`` process."""
    env = {k: v for k, v in os.environ.items() if k not in ("LINVAE_NO_CACHE", "LINVAE_CACHE_DIR")}
    if cache_dir is not None:
        env["LINVAE_CACHE_DIR"] = str(cache_dir)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    argv = [sys.executable, "-m", "linvae.cli", *SCAN, "--out", str(out)] + (["--no-cache"] if no_cache else [])
    t0 = time.perf_counter()
    # run from the output's folder: ``python -m`` puts the working directory first on sys.path, which would shadow
    # the baseline's PYTHONPATH with this checkout
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=pathlib.Path(out).parent)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"scan failed: {proc.stderr.strip().splitlines()[-1]}")
    return wall


def _same_results(paths):
    import xarray as xr

    first = xr.load_dataset(paths[0])
    for path in paths[1:]:
        other = xr.load_dataset(path)
        for name in ("encoder_weight", "log_sigma2_weight", "decoder_weight", "M2", "best_val_loss"):
            if not np.array_equal(first[name].values, other[name].values, equal_nan=True):
                sys.exit(f"check failed: {name} differs between {paths[0].name} and {path.name}")


def _parts():
    """In-process seconds of the parts: import, initial grid state (jitted vs eager), analysis."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import linvae"], check=True)
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    import_s -= time.perf_counter() - t0  # less the interpreter's own start

    import jax

    import linvae
    from linvae.data import default_table
    from linvae.train import _engine, _sgd
    from linvae.train._scan import _analyse

    keys = jax.random.split(jax.random.PRNGKey(0), 64)
    t0 = time.perf_counter()
    eager = jax.block_until_ready(jax.vmap(_sgd.init_state, in_axes=(0, None, None, None))(keys, 11, 32,
                                                                                            jax.numpy.float32))
    eager_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    jitted, _ = _engine.init_grid(_sgd.init_state, keys, np.ones(64), 64, 11, 32, jax.numpy.float32)
    jax.block_until_ready(jitted)
    jit_first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(_engine.init_grid(_sgd.init_state, keys, np.ones(64), 64, 11, 32, jax.numpy.float32)[0])
    jit_warm_s = time.perf_counter() - t0
    # equal to float32 rounding: XLA fuses the compiled normal sampler differently (measured: 1 ulp in a quarter of
    # the weights)
    if not all(np.allclose(a, b, rtol=1e-6, atol=1e-8) for a, b in zip(jax.tree.leaves(eager.params),
                                                                          jax.tree.leaves(jitted.params))):
        sys.exit("check failed: the jitted initial state differs from the eager one")

    table = default_table()
    x = np.asarray(table.values, np.float64)
    ds = linvae.scan(table, linvae.price_grid(1e-5, 1, 64), linvae.ScanConfig(method="exact"), progress=False,
                     analyse=False)
    rng = np.random.default_rng(0)
    x_eval = (x[rng.choice(len(x), 30_000, replace=False)] - x.mean(0)) / x.std(0)
    affine = ds.copy()  # an sgd-like grid: a log-variance head that depends on x (one more pass over the rows)
    affine["log_sigma2_weight"] = ds["log_sigma2_weight"] + 0.01 * rng.standard_normal(ds["log_sigma2_weight"].shape)
    times = {}
    for name, grid in (("analysis_constant_head_s", ds), ("analysis_affine_head_s", affine)):
        _analyse(grid, x_eval[:500], "test")  # compile
        t0 = time.perf_counter()
        _analyse(grid, x_eval, "test")
        times[name] = time.perf_counter() - t0
    return dict(import_s=import_s, init_eager_s=eager_s, init_jit_first_s=jit_first_s, init_jit_warm_s=jit_warm_s,
                **times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=None, help="write the results as JSON here")
    parser.add_argument("--baseline", type=pathlib.Path, default=None,
                        help="an older checkout of linvae: its scan is timed too, by the same rule")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each variant; the best is kept")
    parser.add_argument("--device", default=f"cpu ({platform.machine()}, {os.cpu_count()} cores)")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-c", "import linvae"], check=True)  # warm the file cache first
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for rep in range(args.repeats):  # interleaved, so a drift in the machine's load hits every variant alike
            times = {"no_cache_s": _process(tmp / "a.nc", no_cache=True),
                     "cache_first_s": _process(tmp / "b.nc", cache_dir=tmp / f"cache{rep}"),
                     "cache_second_s": _process(tmp / "c.nc", cache_dir=tmp / f"cache{rep}")}
            if args.baseline is not None:
                times["baseline_s"] = _process(tmp / "d.nc", pythonpath=args.baseline)  # no cache there
            for key, value in times.items():
                runs[key] = min(value, runs.get(key, np.inf))  # the best of the repeats
            _same_results([tmp / "a.nc", tmp / "b.nc", tmp / "c.nc"])
    print("check: identical results with and without the cache")
    parts = _parts()
    import jax

    result = {"kind": "fixed_cost", "device": args.device, "jax": jax.__version__,
              "python": platform.python_version(), "scan": "linvae " + " ".join(SCAN),
              "repeats": args.repeats, **runs, **parts,
              "cache_speedup": runs["no_cache_s"] / runs["cache_second_s"]}
    for key, value in result.items():
        print(f"{key:>26}: {value:.2f}" if isinstance(value, float) else f"{key:>26}: {value}")
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
