"""Command-line interface: parse, call the library, write files, print a short summary (STYLE.md practice 7).

Bad input prints one line ``linvae: error: …`` on stderr and exits with status 2, writing nothing.
"""

import argparse
import pathlib
import sys

import numpy as np

from linvae._errors import InputError

DEFAULT_GRID = "1e-4:1:64"


def _grid(text):
    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        t_min, t_max, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise InputError(f"malformed --grid {text!r}; expected TMIN:TMAX:N, e.g. {DEFAULT_GRID}") from None
    from linvae._theory import temperature_grid

    return temperature_grid(t_min, t_max, n)


def _eigenvalues(text):
    try:
        lam = np.array([float(v) for v in text.split(",") if v.strip()], dtype=np.float64)
    except ValueError:
        raise InputError(f"malformed --eigenvalues {text!r}; expected comma-separated numbers, e.g. 4,2,1") from None
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        raise InputError(f"--eigenvalues must be finite numbers, found {text!r}")
    if lam.max() <= 0 or lam.min() < -1e-9 * lam.max():
        raise InputError(f"--eigenvalues must be non-negative with a positive one, found {text!r}")
    return lam


def _positive(name, value):
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"{name} must be positive and finite, found {value}")
    return value


def _latents(value, d):
    if value is None:
        return d
    if value < 1:
        raise InputError(f"--latents must be at least 1, found {value}")
    return value


def _spectrum_of(table, standardize):
    """PCA spectrum of a table, standardised per feature unless asked not to; returns (spectrum, scale)."""
    from linvae._data import feature_scale
    from linvae._pca import moments, spectrum_from_covariance

    mean, cov, n = moments(table.values)
    if not standardize:
        return spectrum_from_covariance(mean, cov, n), None
    scale = feature_scale(cov, table.features)
    return spectrum_from_covariance(mean, cov / np.outer(scale, scale), n), scale


def _print_modes(ds, file=None):
    print(f"{'mode':>4}  {'lambda_k':>11}  {'T_k':>11}  {'beta_c,k':>11}", file=file)
    for k, lam, tk, bk in zip(ds["mode"].values, ds["pca_eigenvalue"].values, ds["theory_threshold"].values,
                              ds["theory_beta_threshold"].values):
        print(f"{k:>4}  {lam:>11.4e}  {tk:>11.4e}  {bk:>11.4e}", file=file)


def cmd_theory(args):
    import linvae

    T = _grid(args.grid)
    sigma_dec2 = _positive("--sigma-dec2", args.sigma_dec2)
    out = pathlib.Path(args.out)
    if args.eigenvalues is not None:
        spectrum, scale, features, source = linvae.spectrum_from_eigenvalues(_eigenvalues(args.eigenvalues)), None, None, "eigenvalues"
    else:
        table = linvae.load_table(args.data)
        spectrum, scale = _spectrum_of(table, args.standardize)
        features, source = table.features, table.source
    K = _latents(args.latents, spectrum.eigenvalues.size)
    ds = linvae.theory_dataset(
        spectrum, T, n_latents=K, sigma_dec2=sigma_dec2, features=features, data_scale=scale, dataset=source,
        config={"standardize": bool(args.standardize and args.eigenvalues is None), "grid": args.grid},
    )
    linvae.save(ds, out)
    _print_modes(ds)
    print(f"V = {spectrum.total_variance:.6g}, K = {K}, {T.size} T points in [{T[0]:.3g}, {T[-1]:.3g}]; wrote {out}")


def cmd_demo(args):
    import linvae
    from linvae import _plots

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = linvae.default_table(seed=args.seed)
    spectrum, _ = _spectrum_of(table, standardize=False)
    ds = linvae.theory_dataset(spectrum, _grid(DEFAULT_GRID), n_latents=args.latents, features=table.features,
                               dataset=table.source, config={"standardize": False, "seed": args.seed})
    linvae.save(ds, out / "results.nc")
    figures = _plots.save_figure(_plots.plot_theory(ds), out / "theory")
    _print_modes(ds)
    choice = linvae.choose_beta(0.01, spectrum.eigenvalues, 1.0, args.latents)
    print(f"At T = 0.01 (beta = {float(choice.beta):.4g} for sigma_dec2 = 1): {int(choice.n_active)} active modes, "
          f"normalised distortion {float(choice.distortion):.4g}")
    print(f"wrote {out / 'results.nc'} and {', '.join(str(f) for f in figures)}")


def _scan_table(source, seed):
    import linvae

    if source == "synthetic":
        return linvae.default_table(seed=seed)
    return linvae.load_table(source)


def cmd_scan(args):
    import jax

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    import linvae

    config = linvae.ScanConfig(
        method=args.method, n_latents=args.latents, sigma_dec2=_positive("--sigma-dec2", args.sigma_dec2),
        steps=args.steps, batch_size=args.batch_size, learning_rate=args.lr, eval_every=args.eval_every,
        variance_head=args.variance_head, shared_batches=not args.independent_batches, seed=args.seed, x64=args.x64,
    )
    T = _grid(args.grid)
    out = pathlib.Path(args.out)
    if not out.parent.is_dir():
        raise InputError(f"output folder {str(out.parent)!r} does not exist; create it first")
    table = _scan_table(args.data, args.seed)
    checkpoint = out.with_name(out.name + ".ckpt.npz")
    ds = linvae.scan(table, T, config, standardize=args.standardize, checkpoint=checkpoint, resume=args.resume,
                     progress=not args.quiet)
    linvae.save(ds, out)
    checkpoint.unlink(missing_ok=True)
    _print_scan(ds)
    print(f"wrote {out}")


def _print_scan(ds):
    n_conv = int(ds["stopped_early"].sum())
    print(f"{ds.attrs['method']} scan: {ds.sizes['T']} points, K = {ds.attrs['n_latents']}, "
          f"{ds.attrs['train_wall_seconds']:.1f} s training, {int(ds['train_steps'].max())} updates max, "
          f"{n_conv} stopped early, {int(ds['diverged'].sum())} diverged")
    rel = np.abs(ds["loss"].values / ds["theory_loss"].values - 1)
    print(f"normalised loss vs closed form: median rel. diff {np.median(rel):.2e}, worst {rel.max():.2e}")


def build_parser():
    parser = argparse.ArgumentParser(prog="linvae", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("theory", help="closed-form collapse spectrum of a data set or an eigen-spectrum")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="data file: .npy (N x d), .csv (header + numeric columns) or .nc")
    src.add_argument("--eigenvalues", help="comma-separated eigenvalues, e.g. 4,2,1,0.5")
    p.add_argument("--latents", type=int, default=None, help="number of latents K (default: number of features)")
    p.add_argument("--grid", default=DEFAULT_GRID, help=f"TMIN:TMAX:N log-spaced T grid (default {DEFAULT_GRID})")
    p.add_argument("--sigma-dec2", type=float, default=1.0, help="decoder variance convention (default 1)")
    p.add_argument("--no-standardize", dest="standardize", action="store_false",
                   help="keep raw feature units (default: standardise each feature)")
    p.add_argument("--out", required=True, help="output netCDF file")
    p.set_defaults(func=cmd_theory)

    p = sub.add_parser("scan", help="train linear VAEs over a whole T-grid in one compiled call")
    p.add_argument("--data", required=True, help="data file (.npy, .csv, .nc) or 'synthetic' (embedded default)")
    p.add_argument("--method", choices=["exact", "sgd"], default="exact",
                   help="exact: covariance-form loss (fast, deterministic); sgd: the paper's minibatch protocol")
    p.add_argument("--latents", type=int, default=32, help="number of latents K (default 32)")
    p.add_argument("--grid", default=DEFAULT_GRID, help=f"TMIN:TMAX:N log-spaced T grid (default {DEFAULT_GRID})")
    p.add_argument("--steps", type=int, default=500_000, help="update budget per point (default 500000)")
    p.add_argument("--batch-size", type=int, default=256, help="minibatch size for sgd (default 256)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: sgd 3e-4, exact 0.03)")
    p.add_argument("--eval-every", type=int, default=None, help="sgd: updates between validations (default 1 epoch)")
    p.add_argument("--variance-head", choices=["affine", "constant"], default="affine",
                   help="sgd: encoder log-variance affine in x (paper) or constant")
    p.add_argument("--independent-batches", action="store_true",
                   help="sgd: draw minibatch indices per point (default: one stream shared by the grid, faster)")
    p.add_argument("--sigma-dec2", type=float, default=1.0, help="decoder variance convention (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of split, initialisation and noise (default 0)")
    p.add_argument("--x64", action="store_true", help="train in float64 (default float32)")
    p.add_argument("--no-standardize", dest="standardize", action="store_false",
                   help="keep raw feature units (default: standardise with training-split statistics)")
    p.add_argument("--resume", action="store_true", help="continue from OUT.ckpt.npz left by an interrupted run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, help="output netCDF file")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("demo", help="the whole job on the embedded default data (WorldClim spectrum)")
    p.add_argument("--out", default="demo-results", help="output folder (default demo-results)")
    p.add_argument("--latents", type=int, default=32, help="number of latents K (default 32)")
    p.add_argument("--seed", type=int, default=0, help="seed of the default data (default 0)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except InputError as err:
        print(f"linvae: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
