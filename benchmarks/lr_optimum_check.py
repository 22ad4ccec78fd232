"""Check and time ``linvae.optimum`` for the LR-VAE with fewer latents than modes (docs/objectives.md §6).

Its assignment assumes that latents read disjoint modes (not proven). For random cases (spectrum, K ≤ d, α̃
between the smallest and the largest t_k, T chosen where a latent mixes in 80 % of the cases) this script
  1. checks the answer: scipy's trust-region Newton on the full matrix LR loss (written here from docs/theory.md §5,
  exact
     gradient and Hessian by jax, float64) from random starts must find nothing below ``linvae.optimum`` and
     should reach it; it prints the largest relative difference and the number of mixing cases;
  2. times ``linvae.optimum`` on a 64-point T grid against the scipy minimisation of one grid point, side by side.

Usage:  python benchmarks/lr_optimum_check.py [--cases 60] [--starts 12] [--seed 7] [--max-d 6]
"""

import argparse
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

import linvae

jax.config.update("jax_enable_x64", True)  # before any array is made: the check runs in float64


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=60, help="random cases (default 60)")
    p.add_argument("--starts", type=int, default=12, help="random starts of scipy per case (default 12)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--max-d", type=int, default=6, help="largest number of modes (default 6)")
    return p.parse_args()


def full_loss(theta, t, T, alpha_n, K):
    """Normalised LR loss (PCA basis, biases at their optimum): Σt − 2 tr(WAΛ) + tr(W(AΛAᵀ + S)Wᵀ)
    + T Σ_j [(AΛAᵀ)_jj + s_j − log s_j − 1] + α̃ ‖AW − I‖²."""
    d = t.shape[0]
    A = theta[:K * d].reshape(K, d)
    W = theta[K * d:2 * K * d].reshape(d, K)
    log_s = theta[2 * K * d:]
    s = jnp.exp(log_s)
    C = (A * t) @ A.T
    rec = jnp.sum(t) - 2 * jnp.trace(W @ A * t) + jnp.trace(W @ (C + jnp.diag(s)) @ W.T)
    kl = jnp.sum(jnp.diag(C) + s - log_s - 1)
    return rec + T * kl + alpha_n * jnp.sum((A @ W - jnp.eye(K)) ** 2)


_compiled = {}


def minimise(t, T, alpha_n, K, starts, rng):
    key = (t.shape[0], K)
    if key not in _compiled:
        f = lambda th, t, T, a: full_loss(th, t, T, a, K)  # noqa: E731
        _compiled[key] = (jax.jit(f), jax.jit(jax.grad(f)), jax.jit(jax.hessian(f)))
    f, g, h = _compiled[key]
    n = 2 * K * t.shape[0] + K
    best = np.inf
    for _ in range(starts):
        x0 = rng.normal(scale=rng.choice([0.3, 1.0, 3.0]), size=n)
        r = scipy.optimize.minimize(lambda x: float(f(x, t, T, alpha_n)), x0,
                                    jac=lambda x: np.asarray(g(x, t, T, alpha_n)),
                                    hess=lambda x: np.asarray(h(x, t, T, alpha_n)), method="trust-exact",
                                    options={"gtol": 1e-11, "maxiter": 3000})
        best = min(best, r.fun)
    return best


def main():
    args = parse()
    rng = np.random.default_rng(args.seed)
    worst_below, worst, mixing = 0.0, 0.0, 0
    grid = np.geomspace(1e-3, 2, 60)
    for case in range(args.cases):
        d = int(rng.integers(3, args.max_d + 1))
        K = int(rng.integers(1, d + 1))
        eigs = np.sort(np.exp(rng.uniform(-4, 1, d)))[::-1]
        t = eigs / eigs.sum()
        alpha_n = float(np.exp(rng.uniform(np.log(t.min()), np.log(t.max()))))
        objective = linvae.Objective("lr", alpha=alpha_n * eigs.sum() / 2)       # σ_dec² = 1
        mixes = np.flatnonzero(np.any(linvae.optimum(grid, eigs, objective, K).partner >= 0, axis=-1))
        T = float(grid[rng.choice(mixes)] if mixes.size and rng.random() < 0.8 else rng.choice(grid))
        ours = linvae.optimum(T, eigs, objective, K)
        mixing += bool(np.any(ours.partner >= 0))
        found = minimise(t, T, alpha_n, K, args.starts, rng)
        rel = (found - float(ours.loss)) / float(ours.loss)
        worst_below, worst = min(worst_below, rel), max(worst, abs(rel))
        print(f"case {case:3d}: d={d} K={K} α̃={alpha_n:.3g} T={T:.3g} mixing={bool(np.any(ours.partner >= 0))!s:5} "
              f"scipy − optimum = {rel:+.1e} (relative)", flush=True)
    print(f"\n{args.cases} cases ({mixing} with a latent reading two modes), {args.starts} scipy starts each: "
          f"largest |relative difference| {worst:.1e}; scipy below linvae.optimum by at most {-worst_below:.1e}")
    ok = worst_below > -1e-9
    print("CHECK", "passed: nothing below linvae.optimum" if ok else "FAILED: scipy found a lower loss")

    # timing: the closed-form optimum on a 64-point grid vs one scipy minimisation (one point, one start)
    eigs = np.array([5.0, 2.5, 1.2, 0.6, 0.25, 0.1])
    t, alpha_n, K = eigs / eigs.sum(), 1 / eigs.sum(), 4
    objective = linvae.Objective("lr", alpha=0.5)
    T = linvae.price_grid(1e-3, 2, 64)
    linvae.optimum(T, eigs, objective, K)                     # compile
    start = time.perf_counter()
    linvae.optimum(T, eigs, objective, K)
    closed = time.perf_counter() - start
    minimise(t, 0.0858, alpha_n, K, 1, rng)                             # compile
    start = time.perf_counter()
    minimise(t, 0.0858, alpha_n, K, 1, rng)
    one = time.perf_counter() - start
    print(f"\non {platform.processor() or platform.machine()}, jax {jax.__version__} ({jax.default_backend()}):")
    print(f"linvae.optimum, 64 T points, d = 6, K = 4: {closed * 1e3:.0f} ms "
          f"({closed / 64 * 1e3:.1f} ms per point)")
    print(f"scipy trust-exact, one T point, one start:    {one * 1e3:.0f} ms  "
          f"-> closed form is {one / (closed / 64):.0f}x faster per point and per start")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
