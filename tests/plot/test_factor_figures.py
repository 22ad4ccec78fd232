"""The factor-experiment figure (linvae.plot.plot_factor_experiment) carries the artists its caption promises."""

import matplotlib.pyplot as plt
import numpy as np

import linvae.plot


def test_factor_experiment_plot_has_the_expected_artists(lambda_beta_experiment):
    ds = lambda_beta_experiment[3]
    fig = linvae.plot.plot_factor_experiment(ds)
    try:
        axes = fig.axes
        assert len(axes) == 4 and all(ax.get_xscale() == "log" for ax in axes)
        for n, ax in enumerate(axes):                                    # (0, 0) (0, 1) (1, 0) (1, 1)
            by_gid = lambda gid: [a for a in ax.get_lines() if a.get_gid() == gid]  # noqa: E731, B023
            assert [c.get_label() for c in by_gid("curve")] == ["$\\lambda = 0$", "$\\lambda = 1$", "$\\lambda = 3$"]
            rescaled = n % 2 == 1
            assert len(by_gid("threshold")) == (1 if rescaled else 3)
            assert len(by_gid("threshold_tick")) == (2 if rescaled else 6)   # modes 2, 3 per λ (or once)
            assert len(by_gid("drop")) == (3 if n < 2 else 0)
        top_lines = [a.get_xdata()[0] for a in axes[0].get_lines() if a.get_gid() == "threshold"]
        np.testing.assert_allclose(top_lines, ds["threshold"].values[:, 0], rtol=1e-15)
        rescaled_curve = axes[1].get_lines()[2]
        np.testing.assert_allclose(rescaled_curve.get_xdata(), ds["T_rescaled"].values[1], rtol=1e-15)
        assert len(fig.legends) == 1
    finally:
        plt.close(fig)
