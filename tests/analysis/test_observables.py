"""Held-out observables (docs/theory.md §7): the streamed pass against numpy, its float64 precision, the rate identity,
and the invariance of signal fractions, ranking and truncation under rescaling a latent."""

import jax
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from linvae.analysis import observables, rank_by_signal, truncated_distortion

from helpers import random_data, random_grid


def numpy_observables(p, x, center):
    xc = x - center
    mu = np.einsum("nd,gkd->gnk", xc, p.encoder_weight) + p.encoder_bias[:, None]
    ls = np.einsum("nd,gkd->gnk", xc, p.log_sigma2_weight) + p.log_sigma2_bias[:, None]
    s2 = np.exp(ls)
    return {"mu2": (mu**2).mean(1), "sigma2": s2.mean(1), "log_sigma2": ls.mean(1),
            "kl": (0.5 * (mu**2 + s2 - ls - 1)).mean(1), "var_sigma2": s2.var(1)}


def test_observables_match_numpy_and_streaming_matches_one_block():
    p, (x, center) = random_grid(), random_data()
    one = observables(p, x, center, block_rows=len(x))
    streamed = observables(p, x, center, block_rows=37)  # 500 = 13 * 37 + 19: a padded last block
    ref = numpy_observables(p, x, center)
    for name, value in ref.items():
        np.testing.assert_allclose(getattr(one, name), value, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(getattr(streamed, name), value, rtol=1e-12, err_msg=name)
    mu2, s2 = ref["mu2"], ref["sigma2"]
    for name, value in {"M2": mu2 / (mu2 + s2), "snr": mu2 / s2, "A2": mu2 + s2,
                        "jensen_gap": np.log(s2) - ref["log_sigma2"]}.items():
        np.testing.assert_allclose(getattr(streamed, name), value, rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(streamed.x_cov, np.cov(x.T, bias=True), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(streamed.x_mean, x.mean(0) - center, rtol=1e-12)
    assert streamed.n_rows == len(x)
    assert np.all(streamed.jensen_gap > 0)  # S ≠ 0 spreads log σ² over the data: Jensen's inequality is strict


def test_observables_are_float64_without_x64():
    """The analysis pass runs in float64 even when training ran in float32 (many small blocks); a constant-variance
    encoder then has a Jensen gap of exactly 0 instead of ±1e-3 float32 noise."""
    p, (x, center) = random_grid(), random_data()
    ref = numpy_observables(p, x, center)
    with jax.enable_x64(False):
        o = observables(p, x, center, block_rows=16)
        const = observables(p._replace(log_sigma2_weight=np.zeros_like(p.log_sigma2_weight)), x, center,
                            block_rows=16)
    for name, value in ref.items():
        np.testing.assert_allclose(getattr(o, name), value, rtol=1e-11, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(const.jensen_gap, 0.0, atol=1e-12)
    assert np.all(const.var_sigma2 == 0) and np.all(const.jensen_gap == 0)  # exact, no pass over the rows
    np.testing.assert_allclose(const.sigma2, np.exp(p.log_sigma2_bias), rtol=1e-15)
    np.testing.assert_allclose(o.x_cov, np.cov(x.T, bias=True), rtol=1e-12, atol=1e-14)  # float64 on the host


def test_rate_identity():
    """``R_k = −½ mean log σ_k² + ½ (A_k² − 1)`` (docs/theory.md §7)."""
    p, (x, center) = random_grid(2), random_data(3)
    o = observables(p, x, center)
    np.testing.assert_allclose(o.kl, -0.5 * o.log_sigma2 + 0.5 * (o.A2 - 1), rtol=1e-12, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(1e-2, 1e2), latent=st.integers(0, 3))
def test_rescaling_a_latent_leaves_signal_fraction_ranking_and_truncation_unchanged(scale, latent):
    """μ_j → sμ_j (A, b → sA, sb), σ_j² → s²σ_j² (s_j += 2 log s), w_j → w_j/s: the model is the same model."""
    p, (x, center) = random_grid(4), random_data(5)
    q = p._replace(
        encoder_weight=p.encoder_weight.copy(), encoder_bias=p.encoder_bias.copy(),
        log_sigma2_bias=p.log_sigma2_bias.copy(), decoder_weight=p.decoder_weight.copy())
    q.encoder_weight[:, latent] *= scale
    q.encoder_bias[:, latent] *= scale
    q.log_sigma2_bias[:, latent] += 2 * np.log(scale)
    q.decoder_weight[:, :, latent] /= scale
    a, b = observables(p, x, center), observables(q, x, center)
    np.testing.assert_allclose(b.mu2[:, latent], scale**2 * a.mu2[:, latent], rtol=1e-10)
    np.testing.assert_allclose(b.M2, a.M2, rtol=1e-10)
    np.testing.assert_allclose(b.snr, a.snr, rtol=1e-10)
    order = rank_by_signal(a.M2)
    np.testing.assert_array_equal(rank_by_signal(b.M2), order)
    np.testing.assert_allclose(
        truncated_distortion(b.x_cov, q.encoder_weight, q.decoder_weight, order),
        truncated_distortion(a.x_cov, p.encoder_weight, p.decoder_weight, order), rtol=1e-9, atol=1e-12)
