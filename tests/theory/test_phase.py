"""Phase diagrams of the objective family (docs/theory.md §5): ``phase_diagram`` equals a loop over ``optimum`` and
``thresholds`` per weight, and new objective weights do not recompile a jitted caller (the phase-diagram plot:
tests/plot/test_objective_figures.py)."""

import jax
import jax.numpy as jnp
import numpy as np

from linvae.model import Objective
from linvae.theory import optimum, phase_diagram, thresholds

from helpers import EIGS, SIGMA_DEC2


def test_phase_diagram_equals_a_loop_and_objective_weights_do_not_recompile():
    T = np.geomspace(1e-3, 3.0, 7)
    lams, alphas = [0.0, 0.5, 2.0], [0.0, 0.2, 1.0]
    pd = phase_diagram(T, EIGS, lams, alphas, n_latents=3, sigma_dec2=SIGMA_DEC2)
    closed = jax.jit(optimum, static_argnames="n_latents")
    for i, lam in enumerate(lams):
        ref = closed(T, EIGS, Objective("lambda-beta", lam=lam), n_latents=3, sigma_dec2=SIGMA_DEC2)
        np.testing.assert_allclose(pd.M2_lambda[i], ref.M2, rtol=1e-14, atol=1e-15)
    for i, alpha in enumerate(alphas):   # K = 3 < d: the LR optimum, where latents may read two modes
        ref = optimum(T, EIGS, Objective("lr", alpha=alpha), 3, SIGMA_DEC2)
        np.testing.assert_allclose(pd.M2_alpha[i], ref.M2, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(pd.thresholds_alpha[i],
                                   thresholds(EIGS, Objective("lr", alpha=alpha), SIGMA_DEC2), rtol=1e-15)

    traces = []

    @jax.jit
    def loss(objective):
        traces.append(1)
        return optimum(0.1, EIGS, objective, lr_mixing=False).loss

    for alpha in (0.1, 0.2, 0.3):
        loss(Objective("lr", alpha=jnp.float64(alpha)))
    assert len(traces) == 1
