"""Model-RIP estimators on tiny instances, checked against exact enumeration; coherence; theory."""

import itertools
import math

import pandas as pd
import pytest
import torch

from invertlib import ConvOperator, gaussian_filters, torch_generator
from invertlib.coherence import coherence, coherence_table, pairwise_coherence
from invertlib.rip import (
    delta_from_ratios,
    exact_delta,
    lemma_b1_ratios,
    model_rip_ratios,
    rip_estimates,
    rip_ratio,
    support_delta,
    worst_case_delta,
)
from invertlib.sparsity import PoolingModel
from invertlib.theory import thm31_delta, thm31_requirement, thm33_bound

TINY = [  # (K, M, l, D, pool, k, ndim)
    (6, 2, 3, 6, None, 3, 1),
    (5, 3, 3, 8, 3, 2, 1),
    (2, 2, 3, 4, 2, 3, 2),
]


def tiny(seed, K, M, l, D, pool, k, ndim):
    g = torch_generator(seed)
    W = ConvOperator(gaussian_filters(K, M, l, generator=g, ndim=ndim), D, padding=1 if ndim == 2 else 0)
    return g, W, PoolingModel(W.out_shape, pool)


def test_support_delta_matches_explicit_svd():
    g, W, model = tiny(0, *TINY[0])
    S = model.sample_supports(3, 20, generator=g)
    sd = support_delta(W, S)
    delta, eigs = sd.delta, sd.eigs
    A = W.matrix().T  # Phi = W^T, columns = atoms
    for s, d, e in zip(S, delta, eigs, strict=True):
        sv = torch.linalg.svdvals(A[:, s])
        assert math.isclose(float(e[1]), float(sv[0] ** 2), rel_tol=1e-10)
        assert math.isclose(float(e[0]), float(sv[-1] ** 2), rel_tol=1e-10)
        assert math.isclose(float(d), max(float(sv[0] ** 2) - 1, 1 - float(sv[-1] ** 2)), rel_tol=1e-10)


@pytest.mark.parametrize("case", TINY)
def test_estimators_never_exceed_exact_delta(case):
    *_, k, _ = case
    reached = 0
    seeds = range(8)
    for seed in seeds:
        g, W, model = tiny(seed, *case)
        exact = exact_delta(W, model, k)
        z = model.sample(k, 400, generator=g)
        ratios = rip_ratio(W, z)
        mc = delta_from_ratios(ratios)
        search = worst_case_delta(W, model, k, generator=g, n_starts=16, n_candidates=None)
        assert mc <= exact.delta + 1e-12  # (a) <= (c)
        assert search.delta <= exact.delta + 1e-12  # (b) <= (c)
        reached += search.delta >= exact.delta - 1e-9
        # (b) started from (a)'s supports is never below (a), support by support
        starts = torch.stack([torch.nonzero(row).flatten() for row in z.flatten(1)[:50]])
        from_mc = worst_case_delta(W, model, k, starts=starts, n_candidates=None)
        assert bool((from_mc.deltas >= (ratios[:50] ** 2 - 1).abs() - 1e-12).all())
        assert bool((from_mc.deltas >= from_mc.start_deltas - 1e-12).all())
    assert reached >= 0.75 * len(seeds)  # (b) reaches (c) for most seeds


def test_exact_delta_counts_and_m2k():
    g, W, model = tiny(0, 6, 2, 3, 6, None, 2, 1)  # K = 6 blocks of n = 4
    assert exact_delta(W, model, 2).n_supports == math.comb(6, 2) * 4**2
    d2 = exact_delta(W, model, 2, per_region=2)
    assert d2.n_supports == sum(
        math.comb(6, a) * math.comb(6 - a, 4 - 2 * a) * math.comb(4, 2) ** a * 4 ** (4 - 2 * a) for a in range(3)
    )  # a blocks holding two atoms
    assert d2.delta >= exact_delta(W, model, 2).delta  # delta_k <= delta_2k
    search = worst_case_delta(W, model, 2, generator=g, per_region=2, n_candidates=None)
    assert search.delta <= d2.delta + 1e-12


def test_model_rip_ratios_figure2_setting_concentrates():
    g = torch_generator(5)
    W = ConvOperator(gaussian_filters(96, 32, 5, generator=g), 32)
    model = PoolingModel(W.out_shape)
    r = model_rip_ratios(W, model, 10, 3000, generator=g, batch_size=1000)
    assert r.shape == (3000,)
    assert abs(float(r.mean()) - 1) < 0.02 and 0.02 < float(r.std()) < 0.05
    b1 = lemma_b1_ratios(W, model, model.sample(10, 500, generator=g), 10)
    assert abs(float(b1.support.mean()) - 1) < 0.06
    assert float(b1.raw.mean()) > 1.5  # the literal reading is not 1


def test_coherence_brute_force():
    g = torch_generator(6)
    w = gaussian_filters(7, 3, 3, generator=g, ndim=2)
    f = w.flatten(1)
    brute = max(
        abs(float(f[i] @ f[j]) / float(f[i].norm() * f[j].norm())) for i in range(7) for j in range(7) if i != j
    )
    pairs = pairwise_coherence(w)
    assert math.isclose(coherence(w), brute, rel_tol=1e-12) and pairs.shape == (21,)
    assert float(pairs.max()) == coherence(w)
    with pytest.raises(ValueError, match="filters \\[0, 1, 2\\] are zero"):
        coherence(torch.zeros(3, 2, 2))


def test_theorem_functions():
    # the digest's arithmetic for Theorem 3.3 with delta_k = delta_2k
    assert thm33_bound(0.05, 0.05) == pytest.approx(0.277, abs=1e-3)
    assert thm33_bound(0.1, 0.1) == pytest.approx(0.614, abs=1e-3)
    assert thm33_bound(0.2, 0.2) == pytest.approx(1.53, abs=1e-2)
    assert thm33_bound(0.5, 1.2) == math.inf
    delta = thm31_delta(M=32, l=5, D=32, k=10, K=96, n=28, eps=0.01, C=0.05)  # equality in Theorem 3.1
    assert thm31_requirement(k=10, K=96, n=28, delta=delta, eps=0.01, C=0.05) == pytest.approx(
        32 * 5**2 / 32
    )  # M l^2 / D
    with pytest.raises(ValueError, match="eps"):
        thm31_requirement(k=10, K=96, n=28, delta=0.3, eps=1.5)


def test_estimator_errors():
    g, W, model = tiny(0, *TINY[0])
    with pytest.raises(ValueError, match="model: its code shape"):
        model_rip_ratios(W, PoolingModel((3, 4)), 2, 10, generator=g)
    with pytest.raises(ValueError, match=r"starts: expected shape \(B, 3\)"):
        worst_case_delta(W, model, 3, starts=torch.tensor([[0, 4], [4, 8]]))
    with pytest.raises(ValueError, match="too many"):
        exact_delta(ConvOperator(gaussian_filters(40, 1, 3, generator=g), 30), PoolingModel((40, 28)), 6)


def test_searches_refuse_windows_that_do_not_partition_the_code():
    g = torch_generator(0)
    W = ConvOperator(gaussian_filters(3, 1, 3, generator=g, ndim=2), 7, padding=1)
    with pytest.raises(ValueError, match="partition the code"):
        exact_delta(W, PoolingModel(W.out_shape, 3, stride=2), 1)
    assert model_rip_ratios(W, PoolingModel(W.out_shape, 3, stride=2), 2, 5, generator=g).shape == (5,)


@pytest.mark.parametrize("ndim,stride", [(1, 1), (1, 2), (2, 1), (2, 3)])
def test_coherence_with_shifts_is_that_of_interior_atoms_of_W_transpose(ndim, stride):
    g = torch_generator(5)
    w = gaussian_filters(4, 2, 4, generator=g, ndim=ndim)
    l = 4
    D = l + stride * 2 * (l - 1)  # room for interior atoms at every displacement
    W = ConvOperator(w, D, stride=stride)
    cols = W.matrix().T  # (MD, Kn): the atoms, columns of W^T
    atoms = cols.T.reshape((w.shape[0],) + (W.n,) * ndim + (-1,))
    # atoms of the same filter bank placed at positions far from the border, all pairs
    centre = W.n // 2
    span = range(centre - (l - 1) // stride, centre + (l - 1) // stride + 1)
    ref = [atoms[(i,) + (centre,) * ndim] for i in range(w.shape[0])]
    best = 0.0
    for i in range(w.shape[0]):
        for pos in itertools.product(span, repeat=ndim):
            for j in range(w.shape[0]):
                if i == j and all(p == centre for p in pos):
                    continue
                a, b = ref[j], atoms[(i,) + pos]
                best = max(best, float((a @ b).abs() / (a.norm() * b.norm())))
    assert math.isclose(coherence(w, shifts=True, stride=stride), best, rel_tol=1e-12)
    assert coherence(w, shifts=True, stride=stride) >= coherence(w)


def test_coherence_table_rows():
    g = torch_generator(6)
    banks = {"a": gaussian_filters(8, 3, 3, generator=g, ndim=2), "b": gaussian_filters(6, 8, 3, generator=g, ndim=2)}
    res = coherence_table(banks, generator=torch_generator(0), n_random_draws=3)
    rows = res.table
    assert rows["layer"].tolist() == ["a", "b"] and rows["dim"].iloc[1] == 72
    assert rows["learned"].iloc[0] == coherence(banks["a"]) and res.pairwise["b"][0].shape == (15,)
    assert (rows["learned_with_shifts"] >= rows["learned"]).all()
    again = coherence_table(banks, generator=torch_generator(0), n_random_draws=3)
    pd.testing.assert_frame_equal(again.table, rows)


def test_rip_ratio_matches_the_explicit_matrix():
    g = torch_generator(7)
    W = ConvOperator(gaussian_filters(3, 2, 3, generator=g), 8)
    z = torch.randn((5,) + W.out_shape, generator=g, dtype=torch.float64)
    explicit = (W.matrix().T @ z.reshape(5, -1).T).norm(dim=0) / z.reshape(5, -1).norm(dim=1)
    torch.testing.assert_close(rip_ratio(W, z), explicit, rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match=r"z: codes \[0\] are zero"):
        rip_ratio(W, torch.zeros_like(z[:1]))


def test_rip_estimates_bracket_between_monte_carlo_and_exact():
    *_, k, _ = TINY[1]
    runs = []
    for _ in range(2):  # the same seed gives the same draws and search
        g, W, model = tiny(3, *TINY[1])
        runs.append(rip_estimates(W, model, k, 300, generator=g, n_starts=8, n_candidates=None))
    (ratios, search), (ratios2, search2) = ((r.ratios, r.search) for r in runs)
    exact = exact_delta(W, model, k).delta
    assert ratios.shape == (300,) and search.supports.shape == (8, k)
    assert delta_from_ratios(ratios) <= search.delta + 1e-12 <= exact + 2e-12
    assert torch.equal(ratios, ratios2) and torch.equal(search.supports, search2.supports)
    with pytest.raises(ValueError, match="n_starts"):
        rip_estimates(W, model, k, 10, generator=g, n_starts=1)


def test_model_counts_supports_and_sets_k_from_sparsity():
    g, W, model = tiny(0, 6, 2, 3, 6, None, 2, 1)  # K = 6 blocks of n = 4
    assert model.n_supports(2) == exact_delta(W, model, 2).n_supports == math.comb(6, 2) * 4**2
    m2 = PoolingModel((3, 4, 4), 2)  # 12 regions of 4
    assert m2.n_supports(3) == math.comb(12, 3) * 4**3
    assert [m2.k_for_sparsity(f) for f in (0.0, 0.1, 0.5, 1.0)] == [1, 5, 12, 12]  # clipped to 1..R
    with pytest.raises(ValueError, match="fraction"):
        m2.k_for_sparsity(12.0)  # a percentage, not a fraction
    with pytest.raises(ValueError, match="overlapping"):
        PoolingModel((3, 5, 5), 3, stride=2).n_supports(2)
