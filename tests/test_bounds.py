"""Certified upper bounds on delta_k (invertlib.bounds): the sandwich lower (search) <= exact <=
model Babel <= Babel <= coherence on tiny instances, brute force over every support, and the model
Babel bound equal to the Gershgorin maximum over every support of the model."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invertlib import ConvOperator, gaussian_filters, torch_generator
from invertlib.bounds import delta_upper_bounds
from invertlib.rip import exact_delta, worst_case_delta
from invertlib.sparsity import PoolingModel


def _supports(model: PoolingModel, s: int, per_region: int):
    """Every support of s atoms with at most per_region in each region (brute force)."""
    for S in itertools.combinations(range(model.code_size), s):
        counts = np.bincount(model.region_of[list(S)].numpy(), minlength=model.n_regions)
        if (counts <= per_region).all():
            yield list(S)


def _gershgorin_brute(W: ConvOperator, model: PoolingModel, k: int, per_region: int) -> float:
    """max over supports S of the model and j in S of |G_jj - 1| + sum_{i in S, i != j} |G_ij|."""
    A = W.matrix()
    G = (A @ A.T).abs()
    d = ((A * A).sum(dim=1) - 1).abs()
    best = -np.inf
    for S in _supports(model, per_region * k, per_region):
        sub = G[S][:, S]
        best = max(best, float((d[S] + sub.sum(dim=1) - sub.diagonal()).max()))
    return best


CASES = [  # (K, M, l, D, stride, padding, ndim, pool)
    (4, 3, 3, 8, 1, 0, 1, None),
    (3, 2, 3, 8, 1, 0, 1, 2),
    (3, 2, 2, 6, 2, 1, 1, 2),
    (2, 2, 2, 5, 1, 0, 2, 2),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("per_region", [1, 2, 3])
def test_sandwich_and_gershgorin_exactness(case, per_region):
    K, M, l, D, stride, padding, ndim, pool = case
    w = gaussian_filters(K, M, l, generator=torch_generator(3), ndim=ndim, scale="paper").double()
    W = ConvOperator(w, D, stride, padding)
    model = PoolingModel(W.out_shape, pool)
    ks = [k for k in (1, 2) if per_region * k <= model.n_regions * min(per_region, model.region_size)]
    ub = delta_upper_bounds(W, model, ks, per_region=per_region, batch_size=5)  # several batches
    assert list(ub.ks) == ks and ub.per_region == per_region
    for i, k in enumerate(ks):
        if per_region == 3:  # exact_delta enumerates M_k and M_k^2 only: the brute-force Gershgorin check below
            assert ub.model_babel[i] == pytest.approx(_gershgorin_brute(W, model, k, 3), rel=1e-10)
            continue
        exact = exact_delta(W, model, k, per_region=per_region).delta
        lower = worst_case_delta(W, model, k, generator=torch_generator(1), n_starts=4, per_region=per_region).delta
        assert lower <= exact + 1e-12
        assert exact <= ub.model_babel[i] + 1e-12
        assert ub.model_babel[i] <= ub.babel[i] + 1e-12 <= ub.coherence[i] + 2e-12
        # the model bound maximises R_j exactly: it is the Gershgorin bound of the worst support
        assert ub.model_babel[i] == pytest.approx(_gershgorin_brute(W, model, k, per_region), rel=1e-10)


def test_delta_1_is_the_diagonal_and_the_bounds_grow_with_k():
    w = gaussian_filters(6, 4, 3, generator=torch_generator(0), scale="paper").double()
    W = ConvOperator(w, 10)
    model = PoolingModel(W.out_shape)
    ub = delta_upper_bounds(W, model, [1, 2, 3, 6])
    assert ub.model_babel[0] == pytest.approx(exact_delta(W, model, 1).delta, rel=1e-12) == ub.diagonal
    norms = w.flatten(1).pow(2).sum(dim=1)
    assert ub.diagonal == pytest.approx(float((norms - 1).abs().max()), rel=1e-12)
    assert (np.diff(ub.model_babel) >= 0).all() and (np.diff(ub.coherence) > 0).all()
    A = W.matrix()
    G = (A @ A.T).abs().fill_diagonal_(0)
    assert ub.mu == pytest.approx(float(G.max()), rel=1e-12)
    j = int(ub.atom[-1])  # the atom attaining the bound: its own disc gives the value
    assert 0 <= j < W.shape[0]


def test_supports_larger_than_the_regions_can_hold_are_capped():
    """M_k^2 with regions of one entry holds at most R atoms, whatever k: the bound for such k is the
    bound for the largest support (every atom), which is then the Gershgorin bound of the whole G."""
    w = gaussian_filters(2, 3, 2, generator=torch_generator(4), scale="paper").double()
    W = ConvOperator(w, 3)  # n = 2 shifts, regions of 1: R = 4 atoms
    model = PoolingModel(W.out_shape, 1)
    ub = delta_upper_bounds(W, model, [2, 3, 4], per_region=2)
    A = W.matrix()
    G = A @ A.T
    whole = float(((G.diagonal() - 1).abs() + G.abs().sum(dim=1) - G.diagonal().abs()).max())
    assert ub.model_babel[1] == pytest.approx(whole) and ub.model_babel[2] == pytest.approx(whole)
    assert ub.model_babel[0] <= whole + 1e-12


def test_orthonormal_atoms_have_zero_bounds():
    """Filters that never overlap (l = 1, stride 1) and are orthonormal: W W^T = I, delta_k = 0."""
    w = torch.eye(3, dtype=torch.float64).reshape(3, 3, 1)
    W = ConvOperator(w, 4)
    ub = delta_upper_bounds(W, PoolingModel(W.out_shape, 2), [1, 2, 6], per_region=2)
    assert np.allclose(ub.model_babel, 0) and np.allclose(ub.babel, 0) and np.allclose(ub.coherence, 0)


def test_bad_inputs_are_named():
    w = gaussian_filters(3, 2, 3, generator=torch_generator(0))
    W = ConvOperator(w, 8)
    model = PoolingModel(W.out_shape)
    with pytest.raises(
        ValueError, match="ks: a support of M_k holds one atom in each of k regions, and the model has 3"
    ):
        delta_upper_bounds(W, model, [4])
    with pytest.raises(ValueError, match="ks"):
        delta_upper_bounds(W, model, [0])
    with pytest.raises(TypeError, match="W: expected a ConvOperator"):
        delta_upper_bounds(w, model, [1])
    with pytest.raises(TypeError, match="model: expected a PoolingModel"):
        delta_upper_bounds(W, None, [1])
    with pytest.raises(ValueError, match="model: its code shape"):
        delta_upper_bounds(W, PoolingModel((3, 4)), [1])
    with pytest.raises(ValueError, match="model: .* overlapping"):
        delta_upper_bounds(W, PoolingModel(W.out_shape, 3, 2), [1])
    with pytest.raises(ValueError, match="per_region"):
        delta_upper_bounds(W, model, [1], per_region=0)


@settings(derandomize=True, database=None, deadline=None, max_examples=25)
@given(
    K=st.integers(2, 4),
    l=st.integers(1, 3),
    n=st.integers(2, 4),
    pool=st.sampled_from([None, 1, 2]),
    per_region=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_exact_delta_lies_within_the_certified_bounds(K, l, n, pool, per_region, seed):
    """On random tiny banks: exact <= model Babel <= Babel <= coherence, for every k with a support."""
    if pool and n % pool:
        n = pool * max(1, n // pool)
    w = gaussian_filters(K, 2, l, generator=torch_generator(seed), scale="paper").double()
    W = ConvOperator(w, n + l - 1)
    model = PoolingModel(W.out_shape, pool)
    ks = [k for k in (1, 2, 3) if per_region * k <= model.n_regions * min(per_region, model.region_size)]
    ub = delta_upper_bounds(W, model, ks, per_region=per_region)
    for i, k in enumerate(ks):
        exact = exact_delta(W, model, k, per_region=per_region).delta
        assert exact <= ub.model_babel[i] + 1e-10
        assert ub.model_babel[i] <= ub.babel[i] + 1e-10 and ub.babel[i] <= ub.coherence[i] + 1e-10


def test_thm31_sweep_upper_columns_bound_the_lower_ones():
    from invertlib.theory import thm31_sweep

    kw = dict(sweeps={"k": [1, 2]}, M=4, l=3, K=3, k=2, D=8, n_draws=1, n_samples=50, eps=0.01, n_starts=2)
    plain = thm31_sweep(generator=torch_generator(0), **kw)
    both = thm31_sweep(generator=torch_generator(0), upper=True, **kw)
    assert both[plain.columns].equals(plain)  # the upper bounds draw nothing
    assert (both["delta_search"] <= both["delta_upper"] + 1e-6).all()
    assert (both["delta_upper"] <= both["delta_babel"] + 1e-6).all()
    assert (both["delta_babel"] <= both["delta_coherence"] + 1e-6).all()


def test_thm33_certified_bounds_the_measured_error():
    from invertlib.theory import thm33_bound, thm33_certified

    t = thm33_certified(M=64, ls=[5], Ks=[4, 6], ks=[1, 2], D=12, n_draws=2, n_samples=50, generator=torch_generator(0))
    assert len(t) == 2 * 2 * 2 and list(t["k"][:2]) == [1, 2]
    assert np.allclose(t["certified"], thm33_bound(t["dk_upper"].to_numpy(), t["d2k_upper"].to_numpy()))
    assert (t["dk_upper"] <= t["d2k_upper"] + 1e-12).all()
    assert (t["non_vacuous"] == (t["certified"] < 1)).all()
    # a certificate is a proof: the measured one-step error never exceeds it
    assert (t["measured_max"] <= t["certified"]).all()
    with pytest.raises(ValueError, match="ks: expected at most min\\(Ks\\) = 4"):
        thm33_certified(M=8, ls=[3], Ks=[4], ks=[5], D=12, n_draws=1, n_samples=5, generator=torch_generator(0))
    with pytest.raises(ValueError, match="ls: expected filter lengths at most D = 12"):
        thm33_certified(M=8, ls=[13], Ks=[4], ks=[1], D=12, n_draws=1, n_samples=5, generator=torch_generator(0))


def test_certified_boundary_is_a_proof_for_easy_banks_and_zero_for_hard_ones():
    import pandas as pd

    from invertlib.phase import certified_boundary

    table = pd.DataFrame(
        dict(K=[2, 2, 40, 40], pool=pd.array([None] * 4, dtype="Int64"), criterion=["iht", "one_step"] * 2)
    )
    # long filters over many channels: nearly orthonormal atoms, so small k is certified
    rho = certified_boundary(table, M=512, D=24, l=20, n_banks=2, generator=torch_generator(0))
    assert rho[1] * 512 * 24 >= 1  # one step certified for k >= 1 with 2 filters
    assert (rho >= 0).all() and rho[1] >= rho[3]  # more filters certify no more
    hard = certified_boundary(table, M=2, D=8, l=3, n_banks=2, generator=torch_generator(0))
    assert (hard == 0).all()
    with pytest.raises(ValueError, match="bounds: expected criterion values"):
        certified_boundary(table.assign(criterion="x"), M=2, D=8, l=3, n_banks=1, generator=torch_generator(0))
