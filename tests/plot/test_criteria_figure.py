"""The activity-criteria figure (SPEC.md §8, linvae.plot.plot_activity_criteria) of exact stationary weights of
synthetic data, analysed by linvae.analysis.add_activity_criteria."""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

from linvae import InputError
from linvae.analysis import add_activity_criteria
from linvae.data import spectrum_from_eigenvalues, synthetic_data
from linvae.plot import plot_activity_criteria
from linvae.results import PARAMETER_DIMS, theory_dataset
from linvae.theory import price_grid, stationary_weights

LAM = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.0])
K, N = 7, 1000  # one surplus latent; N = n_batches × batch_size, so the entropy rows are all rows in order


@pytest.fixture(scope="module")
def scan():
    x, Q = synthetic_data(LAM, N, seed=5)
    spec = spectrum_from_eigenvalues(LAM, eigenvectors=Q, n_samples=N)
    T = price_grid(1e-3, 1, 9)
    params = jax.vmap(lambda t: stationary_weights(spec.mean, LAM, Q, t, K))(jnp.asarray(T))
    # An affine log-variance head on latent 1 spreads σ² over the data (Var σ² > 0 in both regimes).
    S = np.zeros((T.size, K, LAM.size))
    S[:, 1] = 0.4 * Q[:, 0]
    params = params._replace(log_sigma2_weight=jnp.asarray(S))
    ds = theory_dataset(spec, T, n_latents=K)
    ds = ds.assign(**{name: (dims, np.asarray(getattr(params, name))) for name, dims in PARAMETER_DIMS.items()})
    return x, params, ds, add_activity_criteria(ds, x, n_batches=10)


def test_plot_activity_criteria(scan):
    _, _, _, out = scan
    with pytest.raises(InputError, match="rank_latent"):
        plot_activity_criteria(out)
    # Exact stationary weights put mode k on latent k, so the ranking add_analysis would store is the identity.
    order = np.broadcast_to(np.arange(K), (out.sizes["T"], K))
    fig = plot_activity_criteria(out.assign(rank_latent=(("T", "rank"), order)))
    fig.canvas.draw()                                             # renders every label (mathtext included)
    assert len(fig.axes) == 6
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    plt.close(fig)
