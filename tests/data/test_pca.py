"""PCA spectrum against numpy.linalg on the same data."""

import numpy as np
import pytest

import linvae
from linvae.data import default_spectrum, pca_spectrum, synthetic_data


def test_eigenvalues_match_numpy_eigvalsh():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5000, 7)) @ rng.normal(size=(7, 7)) + rng.normal(size=7)
    spec = pca_spectrum(x, block_rows=333)  # many blocks, one ragged
    cov = np.cov(x, rowvar=False, bias=True)
    np.testing.assert_allclose(spec.eigenvalues, np.linalg.eigvalsh(cov)[::-1], rtol=1e-10)
    np.testing.assert_allclose(spec.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(spec.covariance, cov, rtol=1e-10, atol=1e-12)
    assert spec.total_variance == pytest.approx(np.trace(cov), rel=1e-12)
    np.testing.assert_allclose(spec.fraction, spec.eigenvalues / np.trace(cov))
    np.testing.assert_allclose(spec.truncated_distortion, 1 - np.cumsum(spec.eigenvalues) / np.trace(cov), atol=1e-12)
    assert spec.truncated_distortion[-1] == 0.0
    U = spec.eigenvectors
    np.testing.assert_allclose(U.T @ U, np.eye(7), atol=1e-12)
    assert np.all(U[np.abs(U).argmax(0), np.arange(7)] > 0)


def test_far_from_origin_data_keep_precision():
    rng = np.random.default_rng(2)
    x = 1e6 + rng.normal(size=(20000, 3)) * np.array([1.0, 0.1, 0.01])
    spec = pca_spectrum(x, block_rows=4096)
    np.testing.assert_allclose(spec.eigenvalues, np.linalg.eigvalsh(np.cov(x - x.mean(0), rowvar=False,
                                                                            bias=True))[::-1], rtol=1e-8)


def test_memory_mapped_npy_and_float32_rows(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10000, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    spec = pca_spectrum(mapped, block_rows=1000)
    np.testing.assert_allclose(spec.eigenvalues,
                               np.linalg.eigvalsh(np.cov(x.astype(np.float64), rowvar=False, bias=True))[::-1],
                               rtol=1e-10)


def test_exactly_collinear_feature_gives_zero_mode():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3000, 3))
    x = np.column_stack([x, x[:, 0] - x[:, 1]])  # like BIO7 = BIO5 - BIO6
    spec = pca_spectrum(x)
    assert abs(spec.eigenvalues[-1]) < 1e-12 * spec.eigenvalues[0]
    b = linvae.optimum(np.geomspace(1e-9, 1, 20), spec.eigenvalues)
    assert not np.any(np.asarray(b.active)[:, -1])
    assert all(np.all(np.isfinite(np.asarray(f))) for f in (b.M2, b.rate, b.loss, b.log_sigma2))


def test_bad_data_raise_input_error():
    with pytest.raises(linvae.InputError, match="at least 2 rows"):
        pca_spectrum(np.ones((1, 3)))
    x = np.ones((10, 3))
    x[4, 2] = np.nan
    with pytest.raises(linvae.InputError, match="row 4, column 2"):
        pca_spectrum(x)


def test_synthetic_data_has_requested_spectrum():
    lam = np.array([4.0, 1.0, 0.25, 0.0])
    x, Q = synthetic_data(lam, 200_000, seed=5)
    np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(pca_spectrum(x).eigenvalues, lam, rtol=0.02, atol=1e-12)
    x2, _ = synthetic_data(lam, 10, seed=5)
    np.testing.assert_array_equal(x2, synthetic_data(lam, 10, seed=5)[0])


def test_default_spectrum_provenance():
    lam, info = default_spectrum()
    assert lam.size == len(info["variables"]) == 11 and info["n_cells"] == 808053
    assert np.all(np.diff(lam) <= 0) and lam.sum() == pytest.approx(11.0, rel=1e-9)  # standardised: V = d
    assert abs(lam[-1]) < 1e-12  # BIO7 = BIO5 - BIO6
