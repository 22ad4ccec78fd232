"""Shared style and helpers of every figure: labels, colours, legends, the checks of what a figure needs."""

import pathlib

import jax
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from linvae._errors import InputError
from linvae.results import dataset_objective
from linvae.theory import follows_beta_law, mode_signal

__all__ = ["T_LABEL", "MEASURED", "THEORY", "FIT", "GUIDE", "rank_colors", "rank_colorbar", "style_legend",
           "require", "ranked", "by_mode", "shown_ranks", "beta_law", "collapse_law", "save_figure"]

T_LABEL = r"information price $T = \beta\,\sigma^2_{\mathrm{dec}}/V$ (normalised)"
MEASURED = dict(marker="o", ms=3, lw=0.7)
THEORY = dict(lw=0.8, alpha=0.4)
FIT = dict(ls="--", lw=1.1)
GUIDE = dict(color="k", lw=0.9, ls=":")


def rank_colors(n):
    """One colour per ranked mode, from a perceptually ordered map (docs/how-to/cli.md).

    Args:
      n: number of ranks.

    Returns:
      ``n`` RGBA colours.
    """
    return plt.get_cmap("viridis")(np.linspace(0, 0.92, max(n, 1)))


def rank_colorbar(fig, ax, n, label="ranked mode k"):
    sm = plt.cm.ScalarMappable(cmap=matplotlib.colors.ListedColormap(rank_colors(n)),
                               norm=matplotlib.colors.Normalize(0.5, n + 0.5))
    bar = fig.colorbar(sm, ax=ax, ticks=np.arange(1, n + 1, max(1, n // 10)))
    bar.set_label(label)
    return bar


def style_legend(target, entries, **kwargs):
    """Legend of line styles on an axes or figure (grey proxies), since colour already encodes the rank."""
    handles = [Line2D([], [], **{"color": "0.35", **style}, label=label) for label, style in entries]
    target.legend(handles=handles, **{"frameon": False, "fontsize": "small", **kwargs})


def require(ds, *names):
    """An :class:`linvae.InputError` naming the results variables a figure needs and the Dataset lacks."""
    missing = [name for name in names if name not in ds.variables]
    if missing:
        raise InputError(f"the figure needs results variables {', '.join(names)}; missing {', '.join(missing)}: "
                         "pass a Dataset from linvae.scan (analysed) or linvae.load of one")


def ranked(ds, name):
    """``(T, rank)`` values of a ranked variable, whatever the stored dimension order."""
    return ds[name].transpose("T", "rank").values


def by_mode(ds, name):
    return ds[name].transpose("T", "mode").values


def shown_ranks(ds, min_signal=0.01):
    """Number of leading ranks with ``max_T M_k² > min_signal`` (at least 1): the ranks worth drawing
    (docs/theory.md §7).

    Args:
      ds: a results Dataset of :func:`linvae.scan` (or read back with ``linvae.results.load``), analysed.
      min_signal: the ``M²`` a rank must exceed somewhere along the scan.

    Returns:
      The number of ranks to draw.
    """
    m2 = ranked(ds, "M2_ranked")
    peak = np.where(np.isfinite(m2), m2, -np.inf).max(axis=0)
    signal = np.flatnonzero(peak > min_signal)
    return int(signal[-1]) + 1 if signal.size else 1


def beta_law(ds):
    """Whether ``M² = [1 − T/T_k]_+`` is the scan's collapse law (:func:`linvae.theory.follows_beta_law`)."""
    return follows_beta_law(dataset_objective(ds))


def collapse_law(T, Tk):
    """The β-VAE collapse law ``M² = [1 − T/T_k]_+`` of a mode of threshold ``T_k`` (docs/theory.md §3, §7):
    :func:`linvae.theory.mode_signal` with ``t = T_k``."""
    with jax.enable_x64(True):
        return np.asarray(mode_signal(np.asarray(T, np.float64), np.asarray(Tk, np.float64), 1.0))



def save_figure(fig, stem, formats=("png", "pdf")):
    """Save ``fig`` as ``stem.<fmt>`` for each format, close it; returns the paths (docs/how-to/cli.md).

    Args:
      fig: the matplotlib Figure (closed afterwards).
      stem: path without extension.
      formats: file formats.

    Returns:
      The paths written.
    """
    stem = pathlib.Path(stem)
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, dpi=150)
        paths.append(path)
        # the layout is in figure units and now fixed: later formats reuse it instead of solving it again
        fig.set_layout_engine("none")
    plt.close(fig)
    return paths
