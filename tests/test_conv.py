"""The convolution layer as a matrix (Section 2.2): explicit W = fast operator, adjoint tests,
and clear errors on bad input."""

import math

import numpy as np
import pytest
import torch

from invertlib import ConvOperator, dot_test, gaussian_filters, normalize_filters, torch_generator
from invertlib.conv import frame_summary, matrix_mismatch

# (K, M, l, D, stride, padding, ndim)
SHAPES = [
    (4, 3, 3, 8, 1, 0, 1),
    (96, 32, 5, 32, 1, 0, 1),  # the Figure 2 setting
    (5, 2, 3, 9, 2, 0, 1),
    (3, 2, 3, 7, 2, 1, 1),
    (2, 1, 4, 10, 3, 0, 1),
    (4, 3, 3, 6, 1, 1, 2),  # VGG-style 3x3, padding 1
    (2, 3, 3, 7, 2, 0, 2),
    (3, 2, 2, 8, 2, 0, 2),
    (3, 4, 3, 9, 3, 3, 2),
]


def ids(shape):
    return "K{}-M{}-l{}-D{}-t{}-p{}-{}d".format(*shape)


@pytest.mark.parametrize("shape", SHAPES, ids=[ids(s) for s in SHAPES])
def test_explicit_matrix_equals_fast_operator(shape):
    K, M, l, D, t, p, nd = shape
    g = torch_generator(1)
    op = ConvOperator(gaussian_filters(K, M, l, generator=g, ndim=nd), D, t, p)
    W = op.matrix()
    assert W.shape == op.shape == (K * op.n**nd, M * D**nd)
    x = torch.randn((3,) + op.in_shape, generator=g, dtype=torch.float64)
    h = torch.randn((3,) + op.out_shape, generator=g, dtype=torch.float64)
    torch.testing.assert_close(op(x).reshape(3, -1), x.reshape(3, -1) @ W.T, rtol=0, atol=1e-12)
    torch.testing.assert_close(op.adjoint(h).reshape(3, -1), h.reshape(3, -1) @ W, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=[ids(s) for s in SHAPES])
def test_dot_product_adjoint(shape):
    K, M, l, D, t, p, nd = shape
    g = torch_generator(2)
    op = ConvOperator(gaussian_filters(K, M, l, generator=g, ndim=nd), D, t, p)
    assert dot_test(op, generator=g, batch=8) < 1e-10


def test_matrix_layout_follows_section_2_2():
    """Row (i, j) holds filter i shifted by j t, channel blocks of length D side by side."""
    w = torch.arange(1, 2 * 3 * 2 + 1, dtype=torch.float64).reshape(2, 3, 2)  # K=2, M=3, l=2
    op = ConvOperator(w, input_size=5, stride=3)  # n = 2
    W = op.matrix()
    assert W.shape == (4, 15)
    for i in range(2):
        for j in range(2):
            row = W[i * 2 + j].reshape(3, 5)
            expected = torch.zeros(3, 5, dtype=torch.float64)
            expected[:, j * 3 : j * 3 + 2] = w[i]
            assert torch.equal(row, expected)


def test_batch_dimensions_and_numpy_input():
    g = torch_generator(3)
    op = ConvOperator(gaussian_filters(4, 2, 3, generator=g, ndim=2), 6, padding=1)
    x = torch.randn(2, 5, 2, 6, 6, generator=g, dtype=torch.float64)
    assert op(x).shape == (2, 5, 4, 6, 6)
    assert op(x[0, 0]).shape == (4, 6, 6)
    torch.testing.assert_close(op(x[0, 0].numpy()), op(x[0, 0]))


def test_gaussian_filter_scalings():
    g = torch_generator(4)
    w = gaussian_filters(2000, 32, 5, generator=g)
    assert w.shape == (2000, 32, 5)
    assert abs(float(w.var()) * 32 * 5 - 1) < 0.02  # variance 1/(lM)
    w2 = gaussian_filters(500, 16, 3, generator=g, ndim=2)
    assert abs(float(w2.var()) * 16 * 9 - 1) < 0.03  # variance 1/(l^2 M)
    wu = gaussian_filters(10, 4, 3, generator=g, scale="unit")
    torch.testing.assert_close(wu.flatten(1).norm(dim=1), torch.ones(10, dtype=torch.float64))
    # unit-norm filters give unit-norm rows of W under valid convolution
    W = ConvOperator(wu, 9).matrix()
    torch.testing.assert_close(W.norm(dim=1), torch.ones(W.shape[0], dtype=torch.float64))


def test_same_seed_same_filters():
    a = gaussian_filters(3, 2, 5, generator=torch_generator(7))
    b = gaussian_filters(3, 2, 5, generator=torch_generator(7))
    assert torch.equal(a, b)


def test_errors_name_the_argument():
    g = torch_generator(5)
    w = gaussian_filters(4, 3, 3, generator=g)
    op = ConvOperator(w, 8)
    with pytest.raises(ValueError, match=r"x: expected shape \(\.\.\., 3, 8\).*got \(2, 8\)"):
        op(torch.zeros(2, 8, dtype=torch.float64))  # wrong channel count
    with pytest.raises(ValueError, match=r"h: expected shape \(\.\.\., 4, 6\)"):
        op.adjoint(torch.zeros(4, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"w: expected a filter bank"):
        ConvOperator(torch.zeros(4, 3, dtype=torch.float64), 8)  # wrong rank
    with pytest.raises(ValueError, match=r"stride: t = 2 does not tile.*4\.5 is not an integer"):
        ConvOperator(w, 10, stride=2)
    with pytest.raises(ValueError, match=r"x: expected finite values, got 1 NaN/inf"):
        x = torch.zeros(3, 8, dtype=torch.float64)
        x[1, 2] = math.inf
        op(x)
    with pytest.raises(ValueError, match=r"w: expected finite values"):
        ConvOperator(torch.full((2, 1, 3), math.nan, dtype=torch.float64), 8)
    with pytest.raises(TypeError, match=r"x: expected dtype torch.float64"):
        op(torch.zeros(3, 8))
    with pytest.raises(TypeError, match=r"x: expected a torch.Tensor or numpy.ndarray, got list"):
        op([[0.0] * 8] * 3)
    with pytest.raises(ValueError, match=r"input_size: D = 2"):
        ConvOperator(w, 2)
    with pytest.raises(ValueError, match=r"w: expected square"):
        ConvOperator(torch.zeros(2, 1, 3, 2, dtype=torch.float64), 8)
    with pytest.raises(TypeError, match=r"generator: expected a torch.Generator"):
        gaussian_filters(2, 2, 2, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"filters \[1\] are zero"):
        normalize_filters(torch.stack([torch.ones(2, 3), torch.zeros(2, 3)]))


def test_matrix_mismatch_and_frame_summary():
    g = torch_generator(0)
    op = ConvOperator(gaussian_filters(5, 3, 3, generator=g, scale="unit"), 8)
    assert matrix_mismatch(op, generator=g) < 1e-14
    W = op.matrix()
    W[0, 0] += 1.0  # one wrong entry is seen
    assert matrix_mismatch(op, W, generator=g) > 1e-3
    with pytest.raises(ValueError, match="W: expected the 30 x 24 matrix"):
        matrix_mismatch(op, W[:, :5], generator=g)
    f = frame_summary(op)
    assert (f.Kn, f.MD, f.rank) == (30, 24, 24) and f.row_norm_err < 1e-12
    assert math.isclose(f.mean_sigma2 * f.MD, f.Kn, rel_tol=1e-12)  # trace(W^T W) = Kn for unit rows
    assert f.svals.shape == (24,) and f.sigma_min > 0
