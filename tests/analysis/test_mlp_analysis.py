"""The analysis of MLP scans (docs/nonlinear.md, "The same observables"): the streamed observables and the decoded
truncated reconstructions against brute-force numpy over the rows, the decoded path against the linear closed form,
and the analysis re-run from a saved file."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from linvae import InputError
from linvae.analysis import decoded_truncated_distortion, observables, rank_by_signal, truncated_distortion
from linvae.data import pca_spectrum
from linvae.model import Dense, MlpParams, Params
from linvae.results import assign_params, dataset_params, load, save, theory_dataset

from helpers import numpy_decode, numpy_forward, random_mlp

dtype_promotion = "standard"


def grid_of(models):
    """A grid (leading axis) of equally shaped parameter pytrees."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *models)


@pytest.fixture(scope="module")
def mlp_grid():
    with jax.enable_x64(True):
        return grid_of([random_mlp("tanh", seed=s) for s in (0, 2, 4)])


def rows():
    return np.random.default_rng(5).standard_normal((900, 6)) * np.linspace(0.5, 2, 6)


def test_observables_equal_numpy_over_the_rows(mlp_grid):
    x = rows()
    obs = observables(mlp_grid, x, np.zeros(6), block_rows=256)  # 4 blocks, the last padded
    for g in range(3):
        p = jax.tree.map(lambda a, g=g: a[g], mlp_grid)
        mu, log_sigma2, _ = numpy_forward(p, x, 0.0)
        s2 = np.exp(log_sigma2)
        np.testing.assert_allclose(obs.mu2[g], np.mean(mu**2, 0), rtol=1e-10)
        np.testing.assert_allclose(obs.sigma2[g], np.mean(s2, 0), rtol=1e-10)
        np.testing.assert_allclose(obs.log_sigma2[g], np.mean(log_sigma2, 0), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(obs.var_mu[g], np.var(mu, 0), rtol=1e-8)
        np.testing.assert_allclose(obs.var_sigma2[g], np.var(s2, 0), rtol=1e-8)
        np.testing.assert_allclose(obs.kl[g], np.mean(0.5 * (mu**2 + s2 - log_sigma2 - 1), 0), rtol=1e-10)
        np.testing.assert_allclose(obs.jensen_gap[g], np.log(np.mean(s2, 0)) - np.mean(log_sigma2, 0), rtol=1e-8)
    np.testing.assert_allclose(obs.x_cov, np.cov(x.T, bias=True), rtol=1e-10)


def test_decoded_truncation_equals_numpy_refit(mlp_grid):
    """Ranked latents below k at the prior mean 0, decoded, output bias refitted: the residuals' covariance trace."""
    x = rows()
    order = np.array([[2, 0, 1], [0, 1, 2], [1, 2, 0]])
    D = decoded_truncated_distortion(mlp_grid, x, order, block_rows=300)
    trace = np.trace(np.cov(x.T, bias=True))
    for g in range(3):
        p = jax.tree.map(lambda a, g=g: a[g], mlp_grid)
        mu, _, _ = numpy_forward(p, x, 0.0)
        for k in range(4):
            kept = np.zeros_like(mu)
            kept[:, order[g, :k]] = mu[:, order[g, :k]]
            r = x - numpy_decode(p, kept)
            np.testing.assert_allclose(D[g, k], np.trace(np.cov(r.T, bias=True)) / trace, rtol=1e-9)
    np.testing.assert_allclose(D[:, 0], 1.0, rtol=1e-12)


def test_decoded_truncation_of_a_linear_model_is_the_closed_form():
    """Two independent routes for the linear model: decoding every row, and the second-moment formula."""
    rng = np.random.default_rng(6)
    G, K, d = 4, 5, 7
    params = Params(rng.standard_normal((G, K, d)), rng.standard_normal((G, K)), np.zeros((G, K, d)),
                    np.zeros((G, K)), rng.standard_normal((G, d, K)), rng.standard_normal((G, d)))
    x = rng.standard_normal((2000, d)) @ rng.standard_normal((d, d))
    x -= x.mean(0)
    order = rank_by_signal(rng.random((G, K)))
    decoded = decoded_truncated_distortion(params, x, order, block_rows=512)
    closed = truncated_distortion(np.cov(x.T, bias=True), params.encoder_weight, params.decoder_weight, order)
    np.testing.assert_allclose(decoded, closed, rtol=1e-9)


def test_parameters_round_trip_through_netcdf(mlp_grid, tmp_path):
    spec = pca_spectrum(rows())
    ds = theory_dataset(spec, [0.01, 0.1, 1.0], n_latents=3).assign_attrs(config_model="mlp", config_activation="tanh")
    stored = assign_params(ds, mlp_grid)
    assert stored["mlp_encoder_weight_2"].dims == ("T", "hidden_2", "hidden_1")
    assert stored["mlp_decoder_weight_2"].dims == ("T", "hidden_2", "latent")
    assert stored["mlp_output_weight"].dims == ("T", "feature", "hidden_1")
    back = dataset_params(load(save(stored, tmp_path / "mlp.nc")))
    assert back.activation == "tanh" and back.hidden == (7, 5)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(mlp_grid)):
        np.testing.assert_array_equal(a, np.asarray(b))


def test_an_mlp_file_without_a_valid_activation_or_a_layer_is_refused(mlp_grid):
    ds = assign_params(theory_dataset(pca_spectrum(rows()), [0.01, 0.1, 1.0], n_latents=3).assign_attrs(
        config_model="mlp", config_activation="tanh"), mlp_grid)
    for attrs, drop, what in (({"config_activation": "swish"}, None, "config_activation"),
                              ({}, "mlp_output_bias", "mlp_output_bias")):
        broken = ds.assign_attrs(**attrs)
        broken = broken.drop_vars(drop) if drop else broken
        with pytest.raises(InputError, match=what):
            dataset_params(broken)
    del ds.attrs["config_model"]  # found by its variables, not by the (missing) attribute
    assert isinstance(dataset_params(ds), MlpParams)


def test_posterior_variance_spread_keeps_its_precision_when_sigma2_is_small():
    """Var σ² of an MLP latent with σ² ≈ 1e-7 (10 % spread): block-centred sums, no cancellation."""
    with jax.enable_x64(True):
        p = random_mlp("identity", hidden=(4,), d=3, K=2)
        p = dataclasses.replace(p, log_sigma2=Dense(jnp.full((2, 4), 0.05), jnp.full((2,), np.log(1e-7))))
        x = np.random.default_rng(7).standard_normal((50_000, 3))
        obs = observables(jax.tree.map(lambda a: a[None], p), x, np.zeros(3), block_rows=4096)
        sigma2 = np.exp(numpy_forward(p, x, 0.0)[1])
    np.testing.assert_allclose(obs.var_sigma2[0], np.var(sigma2, axis=0), rtol=1e-9)
    # mean σ² = 1 + mean expm1(log σ²) (accurate near the prior's 1): absolute error ~1e-16, 3e-9 relative here
    np.testing.assert_allclose(obs.sigma2[0], np.mean(sigma2, axis=0), rtol=1e-8)
