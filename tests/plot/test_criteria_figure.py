"""The activity-criteria figure (docs/theory.md §8, linvae.plot.plot_activity_criteria) of exact stationary weights of
synthetic data, analysed by linvae.analysis.add_activity_criteria (fixture criteria_dataset of tests/conftest.py)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from linvae import InputError
from linvae.plot import plot_activity_criteria

from helpers import CRITERIA_K


def test_plot_activity_criteria(criteria_dataset):
    _, _, _, out = criteria_dataset
    with pytest.raises(InputError, match="rank_latent"):
        plot_activity_criteria(out)
    # Exact stationary weights put mode k on latent k, so the ranking add_analysis would store is the identity.
    order = np.broadcast_to(np.arange(CRITERIA_K), (out.sizes["T"], CRITERIA_K))
    fig = plot_activity_criteria(out.assign(rank_latent=(("T", "rank"), order)))
    fig.canvas.draw()                                             # renders every label (mathtext included)
    assert len(fig.axes) == 8 and not fig.axes[-1].axison   # 7 criteria, the eighth slot empty
    assert all(ax.get_xscale() == "log" for ax in fig.axes[:7])
    plt.close(fig)
