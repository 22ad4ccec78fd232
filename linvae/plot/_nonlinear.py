"""The nonlinear comparison (docs/nonlinear.md): an MLP scan against the linear optimum of the same data."""

import jax
import matplotlib.pyplot as plt
import numpy as np

from linvae._errors import InputError
from linvae.plot._style import T_LABEL
from linvae.results import dataset_objective
from linvae.theory import optimum

__all__ = ["plot_model_comparison"]


def plot_model_comparison(ds, reference=None, *, criterion="active_kl"):
    """Two panels comparing a scan with the linear closed form of its data (docs/nonlinear.md, "The comparison"):
    the number of active latents against ``T``, and the distortion–rate curve.

    The closed form (:func:`linvae.theory.optimum` of the stored training spectrum, the linear optimum, on a fine
    grid of ``T``) is drawn as a black line; the scan's active count
    (``criterion``, a 0/1 variable of :func:`linvae.add_activity_criteria`, by default the KL rate above 0.01 nats)
    and its trained ``(rate, distortion)`` points in colour. A second scan (e.g. a linear sgd scan of the same data
    and budget) can be drawn beside it as ``reference``.

    Args:
      ds: an analysed scan Dataset (:func:`linvae.scan`), typically of ``model="mlp"``.
      reference: another analysed scan Dataset of the same data, or ``None``.
      criterion: the activity verdict counted, e.g. ``"active_kl"`` or ``"active_signal_fraction"``.

    Returns:
      A matplotlib Figure.
    """
    for scan in (ds, reference):
        missing = [] if scan is None else [name for name in (criterion, "rate", "distortion") if name not in scan]
        if missing:
            raise InputError(f"the {'reference ' if scan is reference else ''}Dataset lacks {', '.join(missing)}; "
                             "pass an analysed scan (linvae.scan)")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    T = ds["T"].values
    fine = np.geomspace(T.min(), T.max(), 400)
    with jax.enable_x64(True):  # the closed form on a fine grid, so its steps sit at the thresholds
        branch = optimum(fine, ds["pca_eigenvalue"].values, dataset_objective(ds), int(ds.sizes["latent"]),
                         float(ds.attrs["sigma_dec2"]))
    left.plot(fine, np.asarray(branch.n_active), color="k", lw=1.5, label="linear optimum (closed form)")
    right.plot(np.asarray(branch.total_rate), np.asarray(branch.total_distortion), color="k", lw=1.5,
               label="linear optimum (closed form)")
    for scan, color, marker in ((ds, "C3", "o"), (reference, "C0", "s")):
        if scan is None:
            continue
        label = _label(scan)
        count = scan[criterion].sum("latent").values
        left.plot(scan["T"].values, count, marker=marker, color=color, lw=1, label=label)
        right.plot(scan["rate"].values, scan["distortion"].values, marker=marker, color=color, lw=1, label=label)
    threshold = ds[criterion].attrs.get("threshold", "")
    left.set(xscale="log", xlabel=T_LABEL, ylabel=f"active latents ({criterion}, threshold {threshold})",
             title="Active latents")
    left.yaxis.get_major_locator().set_params(integer=True)
    right.set(yscale="log", xlabel="rate R (nats)", ylabel=r"distortion $E\|x-\hat x\|^2 / V$ (training split)",
              title="Distortion–rate")
    for ax in (left, right):
        ax.legend(frameon=False, fontsize="small")
    return fig


def _label(ds):
    """``"MLP 64,64 gelu (sgd)"`` or ``"linear (sgd)"``."""
    model = ds.attrs.get("config_model", "linear")
    name = (f"MLP {ds.attrs.get('config_hidden', '')} {ds.attrs.get('config_activation', '')}" if model == "mlp"
            else "linear")
    return f"{name} ({ds.attrs.get('method', '?')}, measured)"
