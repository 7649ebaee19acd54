"""The sparse path of W^T (codes given by their nonzeros) against the dense operator, and the
samplers behind the Monte-Carlo estimators."""

import itertools
import math

import numpy as np
import pytest
import torch

from invertlib.conv import ConvOperator, to_pylops
from invertlib.rip import model_rip_ratios, rip_ratio
from invertlib.sparsity import PoolingModel, sample_subsets

# (K, M, l, D, stride, padding): valid and padded, strides 1 and 2, even and odd filters
SIZES = [(5, 3, 3, 9, 1, 0), (4, 2, 3, 9, 2, 1), (6, 3, 5, 12, 1, 2), (3, 2, 4, 10, 2, 0), (7, 2, 5, 5, 1, 0)]


def _case(ndim, size, seed=0, s=4, batch=6):
    g = torch.Generator().manual_seed(seed)
    K, M, l, D, t, p = size
    W = ConvOperator(torch.randn((K, M) + (l,) * ndim, generator=g, dtype=torch.float64), D, t, p)
    idx = torch.stack([torch.randperm(W.shape[0], generator=g)[:s] for _ in range(batch)])
    v = torch.randn(batch, s, generator=g, dtype=torch.float64)
    z = torch.zeros(batch, W.shape[0], dtype=torch.float64).scatter_add_(1, idx, v).reshape((batch,) + W.out_shape)
    return W, idx, v, z


@pytest.mark.parametrize("ndim,size", list(itertools.product([1, 2], SIZES)))
def test_sparse_path_equals_dense_operator(ndim, size):
    W, idx, v, z = _case(ndim, size)
    dense = W.adjoint(z)
    scale = float(dense.abs().max())
    assert float((W.sparse_adjoint(idx, v) - dense).abs().max()) <= 1e-12 * scale
    sq = dense.flatten(1).pow(2).sum(1)
    assert torch.allclose(W.sparse_sq_norms(idx, v), sq, rtol=1e-12, atol=0)
    G = W.matrix() @ W.matrix().T  # the Gram matrix of the atoms, entry by entry
    gmax = float(G.abs().max())
    assert float((W.atom_gram(idx) - G[idx[:, :, None], idx[:, None, :]]).abs().max()) <= 1e-12 * gmax
    assert float((W.gram_rows(idx) - G[idx]).abs().max()) <= 1e-12 * gmax


def test_sparse_adjoint_adds_repeated_indices_and_keeps_batch_shape():
    W, idx, v, _ = _case(1, SIZES[0])
    rep = torch.cat([idx, idx[:, :1]], dim=1).reshape(2, 3, -1)
    vals = torch.cat([v, v[:, :1]], dim=1).reshape(2, 3, -1)
    z = torch.zeros(6, W.shape[0], dtype=torch.float64).scatter_add_(1, rep.reshape(6, -1), vals.reshape(6, -1))
    out = W.sparse_adjoint(rep, vals)
    assert out.shape == (2, 3) + W.in_shape
    assert torch.allclose(out.reshape(6, -1), W.adjoint(z.reshape((6,) + W.out_shape)).reshape(6, -1), atol=1e-12)


def test_sparse_path_refuses_bad_indices_and_values():
    W, idx, v, _ = _case(1, SIZES[0])
    with pytest.raises(TypeError, match="index: expected integer"):
        W.sparse_adjoint(idx.double(), v)
    with pytest.raises(ValueError, match=r"index: expected flat code indices in 0\.\."):
        W.sparse_sq_norms(idx + W.shape[0], v)
    with pytest.raises(ValueError, match="values: expected the shape"):
        W.sparse_adjoint(idx, v[:, :2])
    with pytest.raises(TypeError, match="values: expected dtype torch.float64"):
        W.sparse_sq_norms(idx, v.float())


def test_both_routes_of_the_monte_carlo_estimator_agree():
    """Same generator state: the sparse route (k <= Kn/200) and the dense one give the same ratios."""
    g = torch.Generator().manual_seed(3)
    W = ConvOperator(torch.randn(96, 8, 5, generator=g, dtype=torch.float64) / math.sqrt(40), 32)
    model = PoolingModel(W.out_shape)
    state = g.get_state()
    sparse = model_rip_ratios(W, model, 10, 500, generator=g)
    g.set_state(state)
    z = model.sample(10, 500, generator=g)
    assert torch.allclose(sparse, rip_ratio(W, z), rtol=1e-12, atol=0)


def test_sample_subsets_draws_uniform_subsets():
    g = torch.Generator().manual_seed(1)
    for k, N in ((3, 6), (40, 50)):  # Floyd's algorithm and the topk route
        c = sample_subsets(60000, N, k, generator=g).sort(dim=1).values
        assert bool((c.diff(dim=1) > 0).all()) and int(c.min()) >= 0 and int(c.max()) < N
        freq = torch.bincount(c.flatten(), minlength=N) / (60000 * k / N)
        assert float((freq - 1).abs().max()) < 0.03
    c = sample_subsets(60000, 6, 3, generator=g).sort(dim=1).values
    counts = torch.unique(c[:, 0] * 36 + c[:, 1] * 6 + c[:, 2], return_counts=True)[1].double()
    assert len(counts) == math.comb(6, 3)
    expected = 60000 / math.comb(6, 3)
    assert float(((counts - expected) ** 2 / expected).sum()) < 43.8  # chi-square, 19 df, p = 0.001


def test_pylops_wrapper_is_the_same_operator():
    pytest.importorskip("pylops")
    from pylops.utils import dottest

    W, idx, v, z = _case(2, SIZES[1])
    Phi = to_pylops(W)
    assert Phi.shape == (W.shape[1], W.shape[0])
    assert dottest(Phi, *Phi.shape, rtol=1e-12)
    A = W.matrix().T.numpy()
    Z = z.reshape(len(z), -1).numpy().T
    assert np.allclose(Phi @ Z, A @ Z, rtol=0, atol=1e-12)
    assert np.allclose(Phi @ Z[:, 0], A @ Z[:, 0], rtol=0, atol=1e-12)
    assert np.allclose(Phi.H @ (A @ Z), A.T @ (A @ Z), rtol=0, atol=1e-11)


def test_sparse_path_takes_numpy_indices():
    for ndim, size in ((1, SIZES[1]), (2, SIZES[0])):  # padded (sparse_adjoint route) and valid (table route)
        W, idx, v, _ = _case(ndim, size)
        assert torch.equal(W.atom_gram(idx.numpy()), W.atom_gram(idx))
        assert torch.equal(W.gram_rows(idx.numpy()), W.gram_rows(idx))
        assert torch.equal(W.sparse_sq_norms(idx.numpy(), v.numpy()), W.sparse_sq_norms(idx, v))
