"""Command-line interface: parse, call the library, write files, print a short summary (STYLE.md practice 7).

Bad input prints one line ``linvae: error: …`` on stderr and exits with status 2, writing nothing.
"""

import argparse
import glob
import hashlib
import json
import os
import pathlib
import signal
import sys

import numpy as np

from linvae._errors import InputError
from linvae._files import probe_writable, written_atomically

# Down to 1e-5: a utility read at T_min is biased by (1 - (T_min/T_k)^2), so T_min must sit well below the
# weakest threshold of interest (the default data's weakest non-zero mode has T_k = 2.4e-4).
DEFAULT_GRID = "1e-5:1:64"


def _grid(text):
    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        t_min, t_max, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise InputError(f"malformed --grid {text!r}; expected TMIN:TMAX:N, e.g. {DEFAULT_GRID} (a grid starting "
                         "with '-' is written --grid=TMIN:TMAX:N)") from None
    from linvae.theory import price_grid

    return price_grid(t_min, t_max, n)


def _eigenvalues(text):
    try:
        eig = np.array([float(v) for v in text.split(",") if v.strip()], dtype=np.float64)
    except ValueError:
        raise InputError(f"malformed --eigenvalues {text!r}; expected comma-separated numbers, e.g. 4,2,1") from None
    if eig.size == 0 or not np.all(np.isfinite(eig)):
        raise InputError(f"--eigenvalues must be finite numbers, found {text!r}")
    if eig.max() <= 0 or eig.min() < -1e-9 * eig.max():
        raise InputError(f"--eigenvalues must be non-negative with a positive one, found {text!r}")
    return eig


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


def _objective_options(p, warmup):
    g = p.add_argument_group("objective (docs/theory.md section 5)")
    g.add_argument("--objective", default="beta", help="beta (default), lambda-beta, lambda-beta-sampled or lr")
    g.add_argument("--lam", type=float, default=0.0, help="penalty weight lambda of the lambda-beta objectives")
    g.add_argument("--alpha", type=float, default=0.0, help="latent-reconstruction weight alpha of lr (raw units)")
    if warmup:
        g.add_argument("--alpha-warmup", type=int, default=0,
                       help="sgd with lr: updates over which alpha rises linearly from 0 (default 0)")


def _objective(args):
    """The objective flags as ScanConfig keyword arguments, validated by ScanConfig (messages name the flags)."""
    from linvae.train import ScanConfig

    ScanConfig(objective=args.objective, lam=args.lam, alpha=args.alpha)
    return {"objective": args.objective, "lam": args.lam, "alpha": args.alpha}


def _print_modes(ds, file=None):
    print(f"{'mode':>4}  {'lambda_k':>11}  {'T_k':>11}  {'beta_c,k':>11}", file=file)
    for k, eig, tk, bk in zip(ds["mode"].values, ds["pca_eigenvalue"].values, ds["theory_threshold"].values,
                              ds["theory_beta_threshold"].values):
        print(f"{k:>4}  {eig:>11.4e}  {tk:>11.4e}  {bk:>11.4e}", file=file)


def cmd_theory(args):
    import linvae

    T = _grid(args.grid)
    sigma_dec2 = _positive("--sigma-dec2", args.sigma_dec2)
    _objective(args)  # bad objective flags fail before any data are read
    out = pathlib.Path(args.out)
    if args.eigenvalues is not None:
        spectrum = linvae.data.spectrum_from_eigenvalues(_eigenvalues(args.eigenvalues))
        scale, features, source = None, None, "eigenvalues"
    else:
        table = _read_table(args, split=False)  # theory has no split: the spectrum of the whole data set
        spectrum, scale = linvae.data.standardized_spectrum(table.values, table.features, args.standardize)
        features, source = table.features, table.source
    K = _latents(args.latents, spectrum.eigenvalues.size)
    ds = linvae.theory_dataset(
        spectrum, T, n_latents=K, sigma_dec2=sigma_dec2, features=features, data_scale=scale, dataset=source,
        config={"standardize": bool(args.standardize and args.eigenvalues is None), "grid": args.grid},
        **_objective(args),
    )
    linvae.save(ds, out)
    _print_modes(ds)
    print(f"objective {args.objective} (lam = {args.lam:g}, alpha = {args.alpha:g})")
    print(f"V = {spectrum.total_variance:.6g}, K = {K}, {T.size} T points in [{T[0]:.3g}, {T[-1]:.3g}]; wrote {out}")


def cmd_demo(args):
    import linvae

    config = linvae.ScanConfig(method="exact", n_latents=args.latents, seed=args.seed)  # validated before mkdir
    _bootstrap_count(args.bootstrap)
    out = _output_dir(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = linvae.default_table(seed=args.seed)
    _, info = linvae.data.default_spectrum()
    print(f"default data: {table.values.shape[0]} Gaussian samples with the eigen-spectrum of the standardised "
          f"WorldClim 10' variables {', '.join(info['variables'])} ({info['n_cells']} land cells)")
    ds = linvae.scan(table, _grid(DEFAULT_GRID), config, standardize=False, progress=not args.quiet,
                     bootstrap=args.bootstrap)
    _write_results(ds, out / "results.nc", out)
    choice = linvae.choose_beta(0.01, ds["pca_eigenvalue"].values, n_latents=args.latents)
    print(f"choosing beta: T = 0.01 means beta = {float(choice.beta):.4g} (sigma_dec2 = 1), "
          f"{int(choice.n_active)} active modes, normalised distortion {float(choice.distortion):.4g}")


def _read_table(args, *, split=True):
    """The data named by ``--data``: 'synthetic', 'worldclim:DIR' (with its spatial-block split when ``split``)
    or a file."""
    import linvae

    flags = {"--variables": "variables", "--block-km": "block_km", "--split-fractions": "split_fractions",
             "--split-seed": "split_seed"}  # theory has no split flags
    given = [flag for flag, name in flags.items() if getattr(args, name, None) is not None]
    given += [] if args.derive_bio7 else ["--no-derive-bio7"]
    if given and not args.data.lower().startswith("worldclim:"):
        raise InputError(f"{', '.join(given)} only apply to --data worldclim:DIR; drop them for {args.data!r}")
    if args.data == "synthetic":
        return linvae.default_table(seed=args.seed)
    if args.data == "synthetic:manifold":
        return linvae.data.manifold_table(seed=args.seed)
    if args.data.lower().startswith("worldclim:"):
        config = None
        if split:
            fractions = {} if args.split_fractions is None else {"fractions": _fractions(args.split_fractions)}
            config = linvae.data.BlockSplitConfig(block_km=500.0 if args.block_km is None else args.block_km,
                                                  seed=args.split_seed or 0, **fractions)
        return linvae.worldclim_table(args.data.split(":", 1)[1], _bio_numbers(args.variables),
                                      derive_bio7=args.derive_bio7, split=config)
    return linvae.load_table(args.data)


def _bio_numbers(text):
    if text is None:
        return None
    try:
        return [int(v.strip().upper().removeprefix("BIO")) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--variables must list BIO numbers, e.g. 1,5,6,7,12; found {text!r}") from None


def _fractions(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 3:
        raise InputError(f"--split-fractions needs three numbers TRAIN,VAL,TEST, e.g. 0.62,0.19,0.19; found {text!r}")
    return values


def _cpu_devices(args):
    """Let an sgd grid use every CPU core: XLA gives the host a single device unless told otherwise, and one
    device per core is what splits the grid (measured 1.5x faster on 2 cores, results equal to 1e-9). Must run
    before JAX starts its backend; a user's own ``--xla_force_host_platform_device_count`` wins."""
    flags = os.environ.get("XLA_FLAGS", "")
    if args.method != "sgd" or "xla_force_host_platform_device_count" in flags:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = min(cores, _grid(args.grid).size)  # the cores this process may use (cgroups, Slurm), one device each
    if n > 1:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()


def _sgd_options(args):
    """The update flags as ScanConfig keyword arguments. The exact method uses ``--steps`` (its budget) and
    ``--learning-rate`` (its Adam warm-up) but no minibatches, so ``--batch-size`` and ``--eval-every`` are refused."""
    given = {"steps": args.steps, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
             "eval_every": args.eval_every}
    given = {name: value for name, value in given.items() if value is not None}
    unused = [name for name in ("batch_size", "eval_every") if name in given]
    if args.method == "exact" and unused:
        flags = ", ".join("--" + name.replace("_", "-") for name in unused)
        raise InputError(f"{flags} only apply to --method sgd (exact uses no minibatches); drop them or pass "
                         "--method sgd")
    return given


def cmd_scan(args):
    _cpu_devices(args)
    import jax

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    from linvae.train import init_from_env

    init_from_env()  # several processes when LINVAE_COORDINATOR / _NUM_PROCESSES / _PROCESS_ID are set
    import linvae

    config = linvae.ScanConfig(
        method=args.method, model=args.model, hidden=args.hidden, activation=args.activation,
        n_latents=args.latents, sigma_dec2=_positive("--sigma-dec2", args.sigma_dec2),
        **_sgd_options(args), patience=args.patience, variance_head=args.variance_head,
        shared_batches=not args.independent_batches, seed=args.seed, x64=args.x64,
        alpha_warmup=args.alpha_warmup, **_objective(args),
    )
    T = _grid(args.grid)
    _bootstrap_count(args.bootstrap)
    out = _output_file(args.out)
    figures = _output_dir(args.figures) if args.figures else None
    table = _read_table(args)
    checkpoint = _scan_checkpoint(out, table, T, config, args)
    every = _positive_or_zero("LINVAE_CHECKPOINT_EVERY", os.environ.get("LINVAE_CHECKPOINT_EVERY", "30"))
    ds = linvae.scan(table, T, config, standardize=args.standardize, checkpoint=checkpoint, resume=args.resume,
                     checkpoint_every=every, progress=not args.quiet, eval_split=args.eval_split,
                     store_split=args.save_split, bootstrap=args.bootstrap)
    if jax.process_index() == 0:  # every process holds the whole result; one writes it
        _write_results(ds, out, figures)
        checkpoint.unlink(missing_ok=True)


def _bootstrap_count(n):
    if n != 0 and n < 2:
        raise InputError(f"--bootstrap must be 0 (none) or at least 2 replicates, found {n}; e.g. --bootstrap 200")
    return n


def _scan_checkpoint(out, table, T, config, args):
    """``OUT.<fp12>.ckpt.npz``: the checkpoint of this scan, named by a digest of its data, grid and settings, so
    two scans never share one (docs/training.md, "Checkpoints, interrupts and concurrent runs"). With ``--resume``
    and only checkpoints of other scans next to ``OUT``, refuse before any work."""
    h = hashlib.sha256(json.dumps({**config.as_attrs(), "standardize": bool(args.standardize)}, sort_keys=True,
                                  default=str).encode())
    h.update(np.asarray(T, np.float64).tobytes())
    for part in (table.values, table.split):
        if part is not None:
            h.update(str(np.shape(part)).encode())
            part = np.asarray(part)
            h.update(np.ascontiguousarray(part.astype(str) if part.dtype == object else part))
    checkpoint = out.with_name(f"{out.name}.{h.hexdigest()[:12]}.ckpt.npz")
    others = set(out.parent.glob(f"{glob.escape(out.name)}.*.ckpt.npz")) - {checkpoint}
    if args.resume and not checkpoint.is_file() and others:
        latest = max(others, key=lambda path: path.stat().st_mtime)
        raise InputError(f"a checkpoint of another scan (different data, seed or settings) is at {latest}; "
                         "rerun with that scan's data and options to resume it, or drop --resume to start afresh")
    return checkpoint


def _positive_or_zero(name, text):
    """``text`` as a float ≥ 0 (seconds between checkpoints, from the environment variable ``name``)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise InputError(f"{name} must be a number of seconds >= 0, found {text!r}")
    return value


def _output_file(path):
    """Check before any work that ``path`` can be written: its folder exists and is writable, it is no folder."""
    out = pathlib.Path(path)
    if not out.parent.is_dir():
        raise InputError(f"output folder {str(out.parent)!r} does not exist; create it first")
    if out.is_dir():
        raise InputError(f"{str(out)!r} is a directory; name a file in it instead")
    probe_writable(out.parent)
    return out


def _output_dir(path):
    """Check before any work that the folder ``path`` exists or can be created below an existing, writable folder."""
    folder = pathlib.Path(path)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{str(folder)!r} exists and is not a folder; choose another folder")
    parent = folder
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot create {str(folder)!r}: {str(parent)!r} is a file; choose another folder")
    probe_writable(parent)
    return folder


def _write_results(ds, out, figures):
    """Save the Dataset (atomically), the figures if asked, and print the summary and duality table."""
    import linvae

    linvae.save(ds, out)
    paths = []
    if figures is not None:
        figures.mkdir(parents=True, exist_ok=True)
        paths = _plot_module().plot_all(ds, figures)
    print(linvae.analysis.scan_summary(ds))
    print(linvae.report(ds))
    print(f"wrote {out}" + (f" and {len(paths)} figure files in {figures}" if paths else ""))


def _load_analysed(path):
    import linvae

    ds = linvae.load(path)
    if "collapse_threshold" not in ds:
        raise InputError(f"{path!r} holds no trained scan analysis (a theory-only file?); make one with 'linvae scan'")
    return ds


def cmd_report(args):
    import linvae

    path = _output_file(args.csv) if args.csv else None  # checked before any work
    ds = _load_analysed(args.results)
    print(linvae.report(ds))
    if path is not None:
        table = linvae.duality_table(ds)
        columns = list(table.data_vars)
        with written_atomically(path) as tmp, open(tmp, "w") as f:
            f.write(",".join(["rank"] + columns) + "\n")
            for i, rank in enumerate(table["rank"].values):
                f.write(",".join([str(rank)] + [repr(float(table[c].values[i])) for c in columns]) + "\n")
        print(f"wrote {path}")


def _plot_module():
    """:mod:`linvae.plot` with matplotlib's non-interactive Agg backend: the CLI only writes files."""
    import matplotlib

    matplotlib.use("Agg")
    import linvae.plot

    return linvae.plot


def cmd_plot(args):
    ds = _load_analysed(args.results)
    folder = _output_dir(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = _plot_module().plot_all(ds, folder)
    print(f"wrote {len(paths)} figure files in {folder}")


def _worldclim_options(p, *, split):
    g = p.add_argument_group("WorldClim data (--data worldclim:DIR)")
    g.add_argument("--variables", default=None,
                   help="BIO numbers to use, e.g. 1,5,6,7,12 (default: every layer found, plus BIO7 derived)")
    g.add_argument("--no-derive-bio7", dest="derive_bio7", action="store_false",
                   help="do not derive BIO7 = BIO5 - BIO6 when the folder has no BIO7 layer")
    if not split:
        return
    g.add_argument("--block-km", type=float, default=None, help="side of the equal-area split blocks (default 500)")
    g.add_argument("--split-fractions", default=None,
                   help="TRAIN,VAL,TEST proportions of cells (default: the paper's 499,599/153,897/154,027)")
    g.add_argument("--split-seed", type=int, default=None, help="seed of the block sampling (default 0, as the paper)")


def _theory_parser(sub):
    p = sub.add_parser("theory", help="closed-form collapse spectrum of a data set or an eigen-spectrum")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="data file: .npy (N x d), .csv (header + numeric columns) or .nc, or "
                     "worldclim:DIR (GeoTIFF layers)")
    src.add_argument("--eigenvalues", help="comma-separated eigenvalues, e.g. 4,2,1,0.5")
    p.add_argument("--latents", type=int, default=None, help="number of latents K (default: number of features)")
    p.add_argument("--grid", default=DEFAULT_GRID, help=f"TMIN:TMAX:N log-spaced T grid (default {DEFAULT_GRID})")
    p.add_argument("--sigma-dec2", type=float, default=1.0, help="decoder variance convention (default 1)")
    p.add_argument("--no-standardize", dest="standardize", action="store_false",
                   help="keep raw feature units (default: standardise each feature)")
    p.add_argument("--out", required=True, help="output netCDF file")
    _objective_options(p, warmup=False)
    _worldclim_options(p, split=False)
    p.set_defaults(func=cmd_theory, seed=0)


def _training_options(p):
    p.add_argument("--method", choices=["exact", "sgd"], default="exact",
                   help="exact: covariance-form loss (fast, deterministic); sgd: the paper's minibatch protocol")
    p.add_argument("--model", choices=["linear", "mlp"], default="linear",
                   help="linear (default) or mlp: MLP encoder and decoder (sgd, beta objective; docs/nonlinear.md)")
    p.add_argument("--hidden", default="64,64", help="mlp: hidden widths, mirrored by the decoder (default 64,64)")
    p.add_argument("--activation", choices=["gelu", "tanh", "relu", "identity"], default="gelu",
                   help="mlp: hidden-layer activation (default gelu)")
    p.add_argument("--latents", type=int, default=32, help="number of latents K (default 32)")
    p.add_argument("--grid", default=DEFAULT_GRID, help=f"TMIN:TMAX:N log-spaced T grid (default {DEFAULT_GRID})")
    p.add_argument("--steps", type=int, default=None, help="update budget per point (default 500000)")
    p.add_argument("--batch-size", type=int, default=None, help="minibatch size for sgd (default 256)")
    p.add_argument("--learning-rate", type=float, default=None,
                   help="Adam learning rate (default: sgd 3e-4, 1e-3 for --model mlp; exact 0.1 for its warm-up)")
    p.add_argument("--lr", dest="learning_rate", type=float, help=argparse.SUPPRESS)  # the 0.1 spelling
    p.add_argument("--eval-every", type=int, default=None, help="sgd: updates between validations (default 1 epoch)")
    p.add_argument("--patience", type=float, default=0.1,
                   help="sgd: stop after this fraction of the budget without a better validation loss (default 0.1)")
    p.add_argument("--variance-head", choices=["affine", "constant"], default="affine",
                   help="sgd: encoder log-variance affine in x (paper) or constant")
    p.add_argument("--independent-batches", action="store_true",
                   help="sgd: draw minibatch indices per point (default: one stream shared by the grid, faster)")
    p.add_argument("--sigma-dec2", type=float, default=1.0, help="decoder variance convention (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random split (data without their own split), "
                   "initialisation and noise (default 0)")
    p.add_argument("--x64", action="store_true", help="train in float64 (default float32)")


def _bootstrap_option(p):
    p.add_argument("--bootstrap", type=int, default=0, metavar="N",
                   help="add 95%% bootstrap intervals from N replicates (e.g. 200; resampling rows, or WorldClim's "
                   "500 km blocks; default 0: none)")


def _scan_parser(sub):
    p = sub.add_parser("scan", help="train VAEs (linear or MLP) over a whole T-grid in one compiled call")
    p.add_argument("--data", required=True, help="data file (.npy, .csv, .nc), 'worldclim:DIR' (GeoTIFF layers), "
                   "'synthetic' (embedded default) or 'synthetic:manifold' (3 factors through a nonlinear map)")
    _training_options(p)
    p.add_argument("--no-standardize", dest="standardize", action="store_false",
                   help="keep raw feature units (default: standardise with training-split statistics)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint OUT.<digest>.ckpt.npz left by an interrupted run of this scan")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--figures", default=None, help="also write the figures (PNG and PDF) into this folder")
    p.add_argument("--out", required=True, help="output netCDF file")
    p.add_argument("--eval-split", choices=["test", "val", "train"], default="test",
                   help="split the analysis runs on (default test, held out)")
    p.add_argument("--save-split", action="store_true",
                   help="store each sample's split label (and WorldClim cell coordinates) in the results")
    _bootstrap_option(p)
    _objective_options(p, warmup=True)
    _worldclim_options(p, split=True)
    p.set_defaults(func=cmd_scan)


def _file_parsers(sub):
    p = sub.add_parser("report", help="duality table and activity counts of a results file")
    p.add_argument("results", help="results netCDF file written by 'linvae scan' or 'linvae demo'")
    p.add_argument("--csv", default=None, help="also write the per-rank duality table as CSV")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("plot", help="the figures of a results file (PNG and PDF)")
    p.add_argument("results", help="results netCDF file written by 'linvae scan' or 'linvae demo'")
    p.add_argument("--out", required=True, help="output folder for the figures")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("demo", help="the whole job (exact scan, analysis, figures) on the embedded default data")
    p.add_argument("--out", default="demo-results", help="output folder (default demo-results)")
    p.add_argument("--latents", type=int, default=32, help="number of latents K (default 32)")
    p.add_argument("--seed", type=int, default=0, help="seed of the default data and the training (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _bootstrap_option(p)
    p.set_defaults(func=cmd_demo)


def build_parser():
    """The ``linvae`` argument parser: commands theory, scan, report, plot and demo."""
    parser = argparse.ArgumentParser(prog="linvae", description="Posterior collapse in linear Gaussian beta-VAEs as "
                                     "spectral pruning: closed forms, vmapped scans, collapse spectroscopy.")
    sub = parser.add_subparsers(dest="command", required=True)
    _theory_parser(sub)
    _scan_parser(sub)
    _file_parsers(sub)
    for p in sub.choices.values():
        p.add_argument("--no-cache", dest="cache", action="store_false",
                       help="do not keep compiled programs in the user's cache folder (also: LINVAE_NO_CACHE=1; "
                       "folder: LINVAE_CACHE_DIR)")
    return parser


def _interrupted(err):
    """One line for an interrupt and the shell's exit status for its signal: 130 (SIGINT) or 143 (SIGTERM)."""
    checkpoint = getattr(err, "checkpoint", None)
    if checkpoint is not None and pathlib.Path(checkpoint).is_file():
        print(f"linvae: interrupted; checkpoint saved to {checkpoint}; resume with the same command plus --resume",
              file=sys.stderr)
    else:
        print("linvae: interrupted; rerun the same command with --resume to continue from the last checkpoint, "
              "if one was saved", file=sys.stderr)
    return 128 + int(getattr(err, "signum", signal.SIGINT))


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.cache:  # before the first compilation (docs/training.md, "Compilation cache")
            from linvae.train import enable_compilation_cache

            enable_compilation_cache()
        args.func(args)
    except InputError as err:
        print(f"linvae: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:  # linvae.train.Interrupted (SIGINT, SIGTERM in training) or a plain Ctrl-C
        return _interrupted(err)
    except Exception as err:  # XLA's out-of-memory must not reach the user as a traceback
        if "RESOURCE_EXHAUSTED" not in str(err):
            raise
        print(f"linvae: error: out of device memory ({str(err).splitlines()[0][:160]}); "
              "reduce the grid points, --latents or --batch-size", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
