"""Proposition 1, model-IHT (Algorithm 1) and the CNN-layer = first-IHT-step identity."""

import numpy as np
import pytest
import torch

from invertlib import ConvOperator, gaussian_filters, orthonormal_filters, torch_generator
from invertlib.cnn import cnn_layer, paired_operator
from invertlib.iht import model_iht, one_step_errors, one_step_inverse
from invertlib.metrics import rescale_to
from invertlib.sparsity import PoolingModel


@pytest.mark.parametrize(
    "ndim,K,M,l,D,t,pool",
    [
        (1, 6, 4, 5, 20, 1, None),
        (1, 6, 4, 5, 20, 1, 4),
        (1, 5, 3, 3, 11, 2, 5),
        (2, 4, 3, 3, 8, 1, 2),
        (2, 5, 2, 3, 12, 1, 4),
    ],
)
def test_first_iht_step_equals_cnn_layer(ndim, K, M, l, D, t, pool):
    g = torch_generator(0)
    W = ConvOperator(gaussian_filters(K, M, l, generator=g, ndim=ndim), D, t, padding=(l - 1) // 2 if ndim == 2 else 0)
    x = torch.randn((7,) + W.in_shape, generator=g, dtype=torch.float64)
    Psi_T = paired_operator(W)  # Phi = Psi = [W^T  -W^T]
    model = PoolingModel(Psi_T.out_shape, pool)
    iht = model_iht(Psi_T, x, model.projector(None, nonnegative=True), n_iter=1)
    cnn = cnn_layer(W, x, pool)
    torch.testing.assert_close(iht.z, cnn, rtol=0, atol=1e-12)
    torch.testing.assert_close(iht.x_hat, Psi_T.adjoint(cnn), rtol=0, atol=1e-12)


def test_proposition_1_orthonormal_conv_layer():
    g = torch_generator(1)
    w = orthonormal_filters(3, 4, generator=g)  # K = M l = 12 filters
    W = ConvOperator(w, 20, stride=4)  # n = 5, Kn = MD = 60
    A = W.matrix()
    torch.testing.assert_close(A.T @ A, torch.eye(60, dtype=torch.float64), rtol=0, atol=1e-12)
    x = torch.randn(10, 3, 20, generator=g, dtype=torch.float64)
    Psi_T = paired_operator(W)
    x_rec = Psi_T.adjoint(torch.relu(Psi_T.forward(x)))
    torch.testing.assert_close(x_rec, x, rtol=0, atol=1e-12)


def test_one_step_inverse_is_first_iterate():
    g = torch_generator(2)
    W = ConvOperator(gaussian_filters(8, 4, 3, generator=g), 12)
    model = PoolingModel(W.out_shape, 2)
    x = W.adjoint(model.sample(3, 5, generator=g))
    proj = model.projector(3)
    torch.testing.assert_close(one_step_inverse(W, x, proj), model_iht(W, x, proj, n_iter=1).x_hat)


def test_iht_recovers_model_sparse_code_and_records_history():
    g = torch_generator(3)
    W = ConvOperator(gaussian_filters(96, 32, 5, generator=g), 32)
    model = PoolingModel(W.out_shape)
    z = model.sample(3, 20, generator=g)
    x = W.adjoint(z)
    res = model_iht(W, x, model.projector(3), n_iter=30, step="normalized", keep=(1, 5))
    assert res.residuals.shape == (20, 31)
    assert set(res.snapshots) == {1, 5}
    assert float(res.residuals[:, -1].median()) < 1e-6
    assert bool(model.contains(res.z, 3).all())
    res_unit = model_iht(W, x, model.projector(3), n_iter=30, tol=0.0)
    assert res_unit.n_iter <= 30


def test_iht_argument_errors():
    g = torch_generator(4)
    W = ConvOperator(gaussian_filters(4, 2, 3, generator=g), 8)
    x = torch.zeros(2, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="step"):
        model_iht(W, x, lambda z: z, step=-1)
    with pytest.raises(ValueError, match="n_iter"):
        model_iht(W, x, lambda z: z, n_iter=0)


def test_relative_error():
    from invertlib.metrics import relative_error

    ref = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    est = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    torch.testing.assert_close(relative_error(est, ref), torch.tensor([0.8, 1.0]))
    with pytest.raises(ValueError, match="estimate: expected the shape"):
        relative_error(est[:1], ref)


def test_fitted_image_error():
    from invertlib.metrics import fit_to, fitted_image_error

    g = torch_generator(9)
    x = torch.randn(2, 3, 8, 8, generator=g, dtype=torch.float64)
    d = 3.0 * x + 5.0  # right structure, wrong gain and offset
    torch.testing.assert_close(fitted_image_error(d, x), torch.zeros(2, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(fit_to(d, x), x)
    flat = torch.ones_like(x)
    torch.testing.assert_close(fitted_image_error(flat, x), torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="decoded"):
        fitted_image_error(x[:, :2], x)


def test_rescale_to_matches_each_reference_norm():
    g = torch.Generator().manual_seed(0)
    x, est = torch.randn(4, 3, 5, 5, generator=g), torch.randn(4, 3, 5, 5, generator=g)
    out = rescale_to(est, x)
    torch.testing.assert_close(out.flatten(1).norm(dim=1), x.flatten(1).norm(dim=1))
    torch.testing.assert_close(
        out / out.flatten(1).norm(dim=1).view(-1, 1, 1, 1), est / est.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    )  # direction kept
    with pytest.raises(ValueError, match=r"samples \[1\] are zero"):
        rescale_to(torch.cat([est[:1], torch.zeros_like(est[:1])]), x[:2])
    with pytest.raises(ValueError, match="expected the shape of reference"):
        rescale_to(est[:2], x)


def test_psnr_is_ten_log10_of_inverse_mse():
    from invertlib.metrics import psnr

    x = torch.full((2, 4, 4, 3), 0.5, dtype=torch.float64)
    d = x.clone()
    d[0] += 0.1  # MSE 0.01 -> 20 dB
    d[1, 0, 0, 0] += 0.5  # MSE 0.25 / 48
    np.testing.assert_allclose(psnr(d, x), [20.0, 10 * np.log10(48 / 0.25)], rtol=1e-12)
    with pytest.raises(ValueError, match="decoded"):
        psnr(d[:1], x)


def test_one_step_errors_is_figure_2c_experiment():
    W = ConvOperator(gaussian_filters(6, 3, 3, generator=torch_generator(0)), 10)
    e = one_step_errors(W, 2, 50, generator=torch_generator(1), pool=4, switches="known", values="gaussian")
    model = PoolingModel(W.out_shape, 4)
    x = W.adjoint(model.sample(2, 50, generator=torch_generator(1), values="gaussian"))
    expected = (one_step_inverse(W, x, model.projector(2)) - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
    torch.testing.assert_close(e, expected, rtol=0, atol=0)
    assert e.shape == (50,)
    assert bool((one_step_errors(W, 2, 50, generator=torch_generator(1), pool=4, switches="fixed") > 0).all())


def test_image_scores_are_the_three_table3_metrics():
    from invertlib.metrics import fitted_image_error, image_scores, psnr, relative_error

    g = torch_generator(0)
    x, d = torch.rand(3, 3, 8, 8, generator=g), torch.rand(3, 3, 8, 8, generator=g)
    s = image_scores(d, x, d.permute(0, 2, 3, 1), x.permute(0, 2, 3, 1))
    assert all(getattr(s, name).shape == (3,) for name in ("error", "fitted", "psnr"))
    np.testing.assert_allclose(s.error, relative_error(d, x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.fitted, fitted_image_error(d, x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.psnr, psnr(d.permute(0, 2, 3, 1), x.permute(0, 2, 3, 1)))
