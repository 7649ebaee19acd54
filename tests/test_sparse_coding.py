"""FISTA lasso and Algorithm 2 on small conv operators."""

import pytest
import torch

from invertlib import ConvOperator, gaussian_filters, torch_generator
from invertlib.sparse_coding import algorithm2, lasso_fista, lasso_lambda, spectral_norm_sq
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


def test_lasso_lambda_is_a_fraction_of_lambda_max():
    g, W = small(3)
    x = torch.randn(3, *W.in_shape, generator=g, dtype=torch.float64)
    x[1] *= 10  # the rule follows each image's scale
    lam_max = lasso_lambda(W, x, fraction=1.0)
    assert lam_max.shape == (3,)
    torch.testing.assert_close(lam_max, W.forward(x).flatten(1).abs().max(dim=1).values, rtol=0, atol=0)
    torch.testing.assert_close(lasso_lambda(W, x, fraction=0.25), 0.25 * lam_max, rtol=0, atol=0)
    L = spectral_norm_sq(W, generator=g)
    # lambda_max is the smallest weight with z = 0 as the lasso's solution: zero at it, not below it
    assert bool((lasso_fista(W, x, lam_max, L=L, n_iter=50).z == 0).all())
    below = lasso_fista(W, x, lasso_lambda(W, x, fraction=0.9), L=L, n_iter=50).z
    assert bool((below.flatten(1) != 0).any(dim=1).all())
    for bad in (0.0, 1.5, -0.1, True, "0.1"):
        with pytest.raises(ValueError, match="fraction: expected a number in"):
            lasso_lambda(W, x, fraction=bad)
    with pytest.raises(ValueError, match="x: expected a batch"):
        lasso_lambda(W, x[0], fraction=0.1)


def test_algorithm2_summary_reports_both_lassos():
    g, W = small(4)
    x = torch.randn(2, *W.in_shape, generator=g, dtype=torch.float64)
    model = PoolingModel(W.out_shape, 2)
    out = algorithm2(W, x, model, 20, lasso_lambda(W, x, fraction=0.05), L=spectral_norm_sq(W, generator=g), n_iter=50)
    s = out.summary(model, 20)
    assert list(s) == ["residual_lasso", "residual_alg2", "nonzero_lasso_pct", "nonzero_alg2_pct", "in_model"]
    assert s["residual_lasso"] == float(out.z_init.residual.mean())
    assert 0 < s["residual_lasso"] < 1 and 0 < s["residual_alg2"] < 1
    # step 3 lives on step 2's support, which is part of step 1's
    assert 0 < s["nonzero_alg2_pct"] <= s["nonzero_lasso_pct"] <= 100
    assert s["in_model"] is True
