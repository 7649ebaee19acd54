"""Property-based tests (hypothesis) of the paper's invariants on random small instances.

Every example is a seed plus sizes; the random draws themselves come from invertlib's explicit
generators. `derandomize=True` makes hypothesis choose the same examples on every run, so CI is
deterministic; the whole module runs in well under a minute.
"""

import itertools

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invertlib import ConvOperator, dot_test, gaussian_filters, orthonormal_filters, torch_generator
from invertlib.cnn import paired_operator
from invertlib.iht import model_iht
from invertlib.metrics import relative_error
from invertlib.rip import delta_from_ratios, exact_delta, rip_estimates
from invertlib.sparsity import PoolingModel

PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=30)
seeds = st.integers(0, 2**31 - 1)


@st.composite
def operators(draw, ndims=(1, 2)):
    """A small ConvOperator: 1-D or 2-D, any stride and padding that give a whole number of shifts."""
    nd = draw(st.sampled_from(ndims))
    K, M, l = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    stride, padding = draw(st.integers(1, 3)), draw(st.integers(0, l - 1))
    n = draw(st.integers(1, 5))
    D = (n - 1) * stride + l - 2 * padding
    if D < 1:
        D, padding = (n - 1) * stride + l, 0
    w = gaussian_filters(K, M, l, generator=torch_generator(draw(seeds)), ndim=nd)
    return ConvOperator(w, D, stride, padding)


@PROPERTY
@given(operators(), seeds)
def test_adjoint_identity(op, seed):
    """<W x, y> = <x, W^T y> for every operator (the dot-product test, float64)."""
    assert dot_test(op, generator=torch_generator(seed), batch=4) < 1e-12


@st.composite
def tiny_models(draw):
    """(K, n) codes with n a multiple of the pool size p, or the whole-block model (p = None)."""
    K, p = draw(st.integers(1, 3)), draw(st.sampled_from([None, 1, 2, 3]))
    n = draw(st.integers(1, 3)) * (p or 1) if p else draw(st.integers(1, 4))
    model = PoolingModel((K, n), p)
    return model, draw(st.integers(1, model.n_regions))


@PROPERTY
@given(tiny_models(), seeds)
def test_projection_is_the_best_model_approximation(model_k, seed):
    """𝕄(z, k) with known switches lies in M_k and is at least as close to z as every code of M_k:
    the best code on a support S is z restricted to S, so brute force runs over all supports."""
    model, k = model_k
    z = torch.randn((1,) + model.code_shape, generator=torch_generator(seed), dtype=torch.float64)
    p = model.project(z, k)
    assert bool(model.contains(p, k).all())
    flat, regions = z.reshape(-1), model.region_index
    best = min(
        float((flat.square().sum() - flat[list(S)].square().sum()).clamp_min(0).sqrt())
        for chosen in itertools.combinations(range(model.n_regions), k)
        for S in itertools.product(*(regions[r].tolist() for r in chosen))
    )
    assert float((p - z).norm()) <= best + 1e-12


@PROPERTY
@given(st.integers(1, 4), st.integers(1, 2), st.integers(2, 3), st.integers(1, 2), seeds)
def test_monte_carlo_below_search_below_exact_delta(K, M, l, k, seed):
    """The three estimators of delta_k are ordered: Monte Carlo <= certified search (started from
    the Monte-Carlo supports, `rip_estimates`) <= exact enumeration."""
    g = torch_generator(seed)
    W = ConvOperator(gaussian_filters(K, M, l, generator=g), l + 2)  # n = 3 shifts per filter
    model = PoolingModel(W.out_shape)
    k = min(k, model.n_regions)
    est = rip_estimates(W, model, k, 64, generator=g, n_starts=4, n_candidates=None)
    exact = exact_delta(W, model, k).delta
    assert delta_from_ratios(est.ratios) <= est.search.delta + 1e-12 <= exact + 2e-12


@PROPERTY
@given(operators(ndims=(1,)), st.integers(1, 3), st.floats(0.05, 0.95), seeds)
def test_iht_residuals_never_increase_below_the_step_bound(op, k, fraction, seed):
    """With a step mu < 1/||W||^2 and the exact model projection, each model-IHT iteration can only
    lower ||x - W^T z|| (Blumensath and Davies' majorisation argument)."""
    model = PoolingModel(op.out_shape)
    k = min(k, model.n_regions)
    x = torch.randn((3,) + op.in_shape, generator=torch_generator(seed), dtype=torch.float64)
    step = fraction / float(torch.linalg.matrix_norm(op.matrix(), ord=2) ** 2)
    res = model_iht(op, x, model.projector(k), n_iter=15, step=step).residuals
    assert bool((res[:, 1:] <= res[:, :-1] + 1e-12).all())


@PROPERTY
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 4), seeds)
def test_proposition_1_paired_orthonormal_layer_is_exactly_invertible(M, l, blocks, seed):
    """Psi ReLU(Psi^T x) = x for an orthonormal conv layer W (stride l) with filters [W; -W]."""
    g = torch_generator(seed)
    W = ConvOperator(orthonormal_filters(M, l, generator=g), l * blocks, stride=l)
    Psi_T = paired_operator(W)
    x = torch.randn((5,) + W.in_shape, generator=g, dtype=torch.float64)
    assert float(relative_error(Psi_T.adjoint(torch.relu(Psi_T.forward(x))), x).max()) < 1e-12
