"""What bootstrap intervals cost: the demo's exact scan (64 prices, 32 latents, embedded default data) with and
without ``N = 200`` replicates (docs/theory.md §7, "Uncertainty"; docs/performance.md).

Checks the answer first (each exact replicate's fitted thresholds are that replicate's ``λ_k / V``, so the two
intervals agree), then times, side by side in one run: the scan with its analysis, and ``add_bootstrap`` alone
(first call, with its compilation, and a second call). Prints the times and their ratio; writes nothing.

    python benchmarks/bootstrap.py [--replicates 200]
"""

import argparse
import os
import platform
import time

os.environ.setdefault("LINVAE_NO_CACHE", "1")  # compile from scratch, like a first run

import numpy as np  # noqa: E402

import linvae  # noqa: E402
from linvae.analysis import add_bootstrap  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    args = parser.parse_args()
    table = linvae.default_table()
    T = linvae.price_grid(1e-5, 1, 64)
    config = linvae.ScanConfig(method="exact", n_latents=32)
    start = time.perf_counter()
    ds = linvae.scan(table, T, config, standardize=False, progress=False)
    scan_s = time.perf_counter() - start
    split = linvae.data.random_split(len(table.values), seed=0)
    x_train, x_test = (table.values[part] - ds["data_mean"].values for part in (split.train, split.test))
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        out = add_bootstrap(ds, x_train, x_test, n_replicates=args.replicates)
        timings.append(time.perf_counter() - start)
    fit = ds["collapse_fit_points"].values[:10] >= 3
    np.testing.assert_allclose(out["collapse_threshold_ci"].values[:10][fit], out["pca_fraction_ci"].values[:10][fit],
                               rtol=1e-4)
    print(f"device: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (CPU)")
    print(f"exact scan + analysis (64 x 32, compiled from scratch): {scan_s:6.2f} s")
    print(f"add_bootstrap, {args.replicates} replicates, first call: {timings[0]:6.2f} s "
          f"({timings[0] / scan_s:.2f} x the scan)")
    print(f"add_bootstrap, {args.replicates} replicates, second call: {timings[1]:6.2f} s "
          f"({timings[1] / scan_s:.2f} x the scan)")


if __name__ == "__main__":
    main()
