"""FISTA lasso and Algorithm 2 on small conv operators."""

import pytest
import torch

from invertlib import ConvOperator, gaussian_filters, torch_generator
from invertlib.sparse_coding import algorithm2, lasso_fista, spectral_norm_sq
from invertlib.sparsity import PoolingModel


def small(seed=0):
    g = torch_generator(seed)
    W = ConvOperator(gaussian_filters(6, 3, 3, generator=g, ndim=2, scale="unit"), 8, padding=1)
    return g, W


def test_spectral_norm_from_below_within_fista_margin():
    g, W = small()
    exact = float(torch.linalg.matrix_norm(W.matrix(), ord=2) ** 2)
    est = spectral_norm_sq(W, generator=g, n_iter=30)
    assert est <= exact * (1 + 1e-12)  # power iteration never overshoots
    assert est * 1.02 >= exact  # FISTA's 2 % margin makes 1/(1.02 est) a valid step


def test_fista_solves_the_lasso():
    g, W = small(1)
    x = torch.randn(3, *W.in_shape, generator=g, dtype=torch.float64)
    L = float(torch.linalg.matrix_norm(W.matrix(), ord=2) ** 2)
    lam = 0.05
    res = lasso_fista(W, x, lam, L=L, n_iter=6000)
    z = res.z
    # optimality (KKT): W (x - W^T z) = lam sign(z) on the support, |.| <= lam off it
    g_ = W.forward(x - W.adjoint(z))
    on = z != 0
    torch.testing.assert_close(g_[on], lam * torch.sign(z[on]), atol=1e-6, rtol=0)
    assert float(g_[~on].abs().max()) <= lam + 1e-6
    assert res.objective.shape == (3, 6000)
    assert bool((res.objective[:, -1] <= res.objective[:, 0]).all())


def test_support_restriction_and_algorithm2_model():
    g, W = small(2)
    x = torch.randn(2, *W.in_shape, generator=g, dtype=torch.float64)
    L = spectral_norm_sq(W, generator=g)
    support = torch.zeros(2, *W.out_shape, dtype=torch.bool)
    support[:, :, ::2, ::2] = True
    res = lasso_fista(W, x, torch.tensor([0.01, 0.02], dtype=torch.float64), L=L, n_iter=50, support=support)
    assert bool((res.z[~support] == 0).all())
    model = PoolingModel(W.out_shape, 2)
    out = algorithm2(W, x, model, 20, 0.01, L=L, n_iter=50)
    assert bool(model.contains(out.z.z, 20).all())
    assert bool(((out.z.z != 0) <= (out.z_model != 0)).all())  # step 3 stays on step 2's support
    with pytest.raises(ValueError, match="L: expected a positive"):
        lasso_fista(W, x, 0.1, L=0.0)
    with pytest.raises(ValueError, match="lam"):
        lasso_fista(W, x, -1.0, L=L)
    with pytest.raises(ValueError, match="model: its code shape"):
        algorithm2(W, x, PoolingModel((6, 4, 4), 2), 3, 0.1, L=L)
