"""Sparsity models and projections (Section 2.3, Eqs. 2-3)."""

import itertools

import pytest
import torch

from invertlib import torch_generator
from invertlib.sparsity import PoolingModel

MODELS = [((4, 3), None), ((3, 6), 2), ((2, 4, 4), 2), ((3, 6, 6), 3)]


@pytest.mark.parametrize("shape,pool", MODELS)
def test_region_views_round_trip(shape, pool):
    m = PoolingModel(shape, pool)
    z = torch.randn((5,) + shape, dtype=torch.float64)
    assert m.to_regions(z).shape == (5, m.n_regions, m.region_size)
    assert torch.equal(m.from_regions(m.to_regions(z)), z)
    assert sorted(m.region_index.flatten().tolist()) == list(range(m.code_size))


def test_2d_regions_are_pooling_windows():
    m = PoolingModel((1, 4, 4), pool=2)
    z = torch.arange(16.0).reshape(1, 4, 4)
    assert m.to_regions(z).tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]


@pytest.mark.parametrize("shape,pool", MODELS)
@pytest.mark.parametrize("per_region", [1, 2])
def test_samples_are_in_the_model(shape, pool, per_region):
    m = PoolingModel(shape, pool)
    if per_region == 2 and m.region_size < 2:
        pytest.skip("regions of one entry")
    k = 2
    z = m.sample(k, 200, generator=torch_generator(0), per_region=per_region)
    assert bool(m.contains(z, k, per_region=per_region).all())
    assert ((z != 0).flatten(1).sum(1) == per_region * k).all()  # distinct positions
    assert z.abs().max() <= 1
    if per_region == 1:
        assert not bool(m.contains(m.sample(k, 200, generator=torch_generator(0), per_region=2), k).all())


def test_supports_are_uniform_over_the_block_model():
    m = PoolingModel((3, 2))  # n^k C(K, k) = 4 * 3 = 12 supports for k = 2
    S = m.sample_supports(2, 12000, generator=torch_generator(1))
    counts = torch.unique(S.sort(dim=1).values, dim=0, return_counts=True)[1]
    assert len(counts) == 12
    assert counts.min() > 850 and counts.max() < 1150  # 1000 expected each


@pytest.mark.parametrize("shape,pool", MODELS)
@pytest.mark.parametrize("switches", ["known", "fixed"])
def test_projection_is_in_model_and_idempotent(shape, pool, switches):
    m = PoolingModel(shape, pool)
    z = torch.randn((50,) + shape, generator=torch_generator(2), dtype=torch.float64)
    for k in (1, 2, m.n_regions):
        p = m.project(z, k, switches=switches)
        assert bool(m.contains(p, k).all())
        assert torch.equal(m.project(p, k, switches=switches), p)


def brute_force_best(m, z, k):
    """Best l2 approximation of z in M_k by enumerating every support."""
    zf = z.reshape(-1)
    best, best_val = None, -1.0
    for regions in itertools.combinations(range(m.n_regions), k):
        for pos in itertools.product(range(m.region_size), repeat=k):
            idx = m.region_index[list(regions), list(pos)]
            val = float((zf[idx] ** 2).sum())
            if val > best_val:
                best_val, best = val, idx
    out = torch.zeros_like(zf)
    out[best] = zf[best]
    return out.reshape(z.shape)


@pytest.mark.parametrize("shape,pool", [((4, 3), None), ((3, 4), 2), ((1, 4, 4), 2)])
def test_known_switch_projection_is_best_model_approximation(shape, pool):
    m = PoolingModel(shape, pool)
    g = torch_generator(3)
    for _ in range(20):
        z = torch.randn(shape, generator=g, dtype=torch.float64)
        for k in (1, 2):
            torch.testing.assert_close(m.project(z, k), brute_force_best(m, z, k), rtol=0, atol=0)


def test_fixed_switches_and_nonnegative():
    m = PoolingModel((1, 4), pool=2)
    z = torch.tensor([[0.5, -2.0, -0.1, -0.3]], dtype=torch.float64)
    assert m.project(z).tolist() == [[0.0, -2.0, 0.0, -0.3]]
    assert m.project(z, switches="fixed").tolist() == [[-2.0, 0.0, -0.3, 0.0]]
    assert m.project(z, 1).tolist() == [[0.0, -2.0, 0.0, 0.0]]
    assert m.project(z, nonnegative=True).tolist() == [[0.5, 0.0, 0.0, 0.0]]


def test_model_errors():
    with pytest.raises(ValueError, match="pool: region side p = 4 does not tile the n = 6"):
        PoolingModel((2, 6), pool=4)
    with pytest.raises(ValueError, match="pool: None"):
        PoolingModel((2, 4, 4))
    m = PoolingModel((2, 4), pool=2)
    with pytest.raises(ValueError, match="k: expected at most the number of regions R = 4, got 5"):
        m.project(torch.zeros(2, 4), 5)
    with pytest.raises(ValueError, match=r"z: expected shape \(\.\.\., 2, 4\)"):
        m.project(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="switches"):
        m.project(torch.zeros(2, 4), 1, switches="random")
    with pytest.raises(ValueError, match="values"):
        m.sample(1, 3, generator=torch_generator(0), values="laplace")


# -- overlapping and floor-mode windows (AlexNet's 3 x 3 / 2 pooling) -------------------------------


def test_overlapping_windows_match_torch_pooling():
    m = PoolingModel((2, 13, 13), pool=3, stride=2)
    assert m.overlapping and not m.tiles and m.n_regions == 2 * 6 * 6 and m.region_of is None
    z = torch.randn(4, 2, 13, 13, generator=torch_generator(0), dtype=torch.float64).relu()
    pooled, idx = torch.nn.functional.max_pool2d(z, 3, stride=2, return_indices=True)
    assert torch.equal(m.to_regions(z).amax(-1), pooled.flatten(1))
    # 𝕄_known with every window kept = torch's max pooling then max unpooling
    unpooled = torch.nn.functional.max_unpool2d(pooled, idx, 3, stride=2, output_size=(13, 13))
    assert torch.equal(m.project(z, nonnegative=True), unpooled)
    assert m.to_regions(torch.arange(338.0).reshape(2, 13, 13))[1].tolist() == [2, 3, 4, 15, 16, 17, 28, 29, 30]


def test_overlapping_projection_keeps_k_windows_and_is_idempotent():
    m = PoolingModel((3, 7, 7), pool=3, stride=2)
    z = torch.randn(200, 3, 7, 7, generator=torch_generator(1), dtype=torch.float64)
    for k in (1, 5, m.n_regions):
        p = m.project(z, k)
        assert bool(m.contains(p, k).all())
        assert ((p != 0).flatten(1).sum(1) <= k).all()
        assert torch.equal(m.project(p), p)
    # a code with two nonzeros in one window can still be in the model (shared overlap)
    c = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    c[0, 0, 0, 0], c[0, 0, 2, 2] = 0.5, 1.0  # window (0,0) holds both; (2,2) can be window (1,1)'s
    one = PoolingModel((1, 5, 5), pool=3, stride=2)
    assert bool(one.contains(c, 2)) and not bool(one.contains(c, 1))
    c[0, 0, 1, 1] = 0.2  # (0,0) and (1,1) lie in window (0,0) only: no matching
    assert not bool(one.contains(c, 3))
    # Algorithm 2's second lasso changes values on a model support: the code stays in the model
    # even where a kept nonzero is no longer its window's maximum
    p = m.project(z, 5)
    shrunk = (
        p
        * torch.rand(p.shape, generator=torch_generator(9), dtype=p.dtype)
        * (torch.rand(p.shape, generator=torch_generator(8)) > 0.3)
    )
    assert bool(m.contains(shrunk, 5).all())


def test_overlapping_samples_give_each_position_one_value():
    m = PoolingModel((1, 5, 5), pool=3, stride=2)  # 4 windows share the centre
    codes = m.sample_sparse(4, 3000, generator=torch_generator(2))
    z, S = m.to_dense(codes.support, codes.values), codes.support
    assert bool(m.contains(z, 4).all())
    nnz = (z != 0).flatten(1).sum(1)
    distinct = torch.tensor([len(set(s.tolist())) for s in S])
    assert torch.equal(nnz, distinct) and int(distinct.min()) < 4 and int(distinct.max()) == 4
    assert z.abs().max() <= 1
    with pytest.raises(ValueError, match="non-overlapping regions only"):
        m.sample(2, 3, generator=torch_generator(0), per_region=2)


def test_floor_mode_windows_leave_the_border_uncovered():
    m = PoolingModel((2, 5, 5), pool=2, stride=2)
    assert m.tiles is False and m.overlapping is False and m.n_regions == 8
    assert int((m.region_of == -1).sum()) == 2 * 9
    z = torch.randn(10, 2, 5, 5, generator=torch_generator(3), dtype=torch.float64)
    p = m.project(z, 3)
    assert bool(m.contains(p, 3).all()) and (p[..., 4, :] == 0).all() and (p[..., :, 4] == 0).all()
    edge = torch.zeros(2, 5, 5, dtype=torch.float64)
    edge[0, 4, 4] = 1.0
    assert not bool(m.contains(edge, 3))
    with pytest.raises(ValueError, match="do not reshape back"):
        m.from_regions(m.to_regions(z))
    with pytest.raises(ValueError, match="stride: expected at most the region side"):
        PoolingModel((2, 6, 6), pool=2, stride=3)
    with pytest.raises(ValueError, match="give a stride for floor-mode"):
        PoolingModel((2, 5, 5), pool=2)


def test_overlap_statistics_on_a_hand_made_map():
    m = PoolingModel((1, 5, 5), pool=3, stride=2)
    h = torch.zeros(1, 1, 5, 5)
    h[0, 0, 2, 2] = 1.0  # the centre: the maximum of all four windows
    s = m.overlap_statistics(h)
    assert s.windows.tolist() == [4] and s.nonzeros.tolist() == [1] and s.shared.tolist() == [0.75]
    assert s.crowded.tolist() == [0.0]
    h[0, 0, 0, 0] = 2.0  # window (0, 0) now picks the corner; the centre stays the max of the others
    s = m.overlap_statistics(h)
    assert s.nonzeros.tolist() == [2] and s.crowded.tolist() == [0.25]
    tiled = PoolingModel((1, 4, 4), pool=2)
    s = tiled.overlap_statistics(torch.rand(3, 1, 4, 4, generator=torch_generator(0)))
    assert (s.shared == 0).all() and (s.crowded == 0).all()
    with pytest.raises(ValueError, match="nonnegative"):
        m.overlap_statistics(-h)
