"""Phase transitions (invertlib.phase), the per-code k of the projections, the dense operator,
Theorem 3.1 solved for k and Theorem 3.3 solved for delta, and reading a published claim."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import linprog, minimize

import invertlib as il
from invertlib.companion.claims import recorded
from invertlib.conv import dense_operator
from invertlib.phase import (
    METHODS,
    filters_for_delta,
    gaussian_matrix,
    phase_boundaries,
    phase_cells,
    phase_trials,
    pool_rows,
    thm31_boundary,
)
from invertlib.sparsity import PoolingModel
from invertlib.stats import logistic_boundary
from invertlib.theory import dt_weak_threshold, thm31_max_k, thm31_requirement, thm33_bound, thm33_delta_for

# ---------------------------------------------------------------------------------------------
# Donoho-Tanner weak threshold


def test_dt_threshold_is_the_maximum_over_a_dense_grid():
    """The bounded scalar search finds the maximum of the ratio (it is unimodal in z)."""
    from scipy.stats import norm

    z = np.linspace(1e-4, 8, 80001)[:, None]  # the ratio is 0/0 at z = 0
    g = (1 + z**2) * norm.cdf(-z) - z * norm.pdf(z)
    deltas = np.array([0.02, 0.1, 0.3, 0.5, 0.7, 0.95])
    brute = ((1 - 2 * g / deltas) / (1 + z**2 - 2 * g)).max(axis=0)
    np.testing.assert_allclose(dt_weak_threshold(deltas), brute, rtol=0, atol=1e-7)


def test_dt_threshold_shape():
    d = np.linspace(0.01, 1, 100)
    rho = dt_weak_threshold(d)
    assert np.all(np.diff(rho) > 0) and 0 < rho[0] < rho[-1] == 1.0
    assert isinstance(dt_weak_threshold(0.5), float)
    with pytest.raises(ValueError, match="delta"):
        dt_weak_threshold(0.0)
    with pytest.raises(ValueError, match="delta"):
        dt_weak_threshold(1.5)


def test_dt_threshold_matches_basis_pursuit():
    """An independent check of the formula: l1 minimisation (a linear programme) on Gaussian
    matrices at delta = 1/2, N = 160, has its empirical 50 % point near rho_W(1/2)."""
    rng = np.random.default_rng(0)
    N, m = 160, 80
    rhos = np.array([0.25, 0.3, 0.35, 0.4, 0.45, 0.5])
    succ = []
    for rho in rhos:
        k, ok = round(rho * m), 0
        for _ in range(12):
            A = rng.standard_normal((m, N)) / np.sqrt(m)
            x = np.zeros(N)
            x[rng.choice(N, k, replace=False)] = rng.standard_normal(k)
            # min 1^T (u + v) s.t. A (u - v) = A x, u, v >= 0
            res = linprog(np.ones(2 * N), A_eq=np.hstack([A, -A]), b_eq=A @ x, bounds=(0, None), method="highs")
            ok += np.linalg.norm(res.x[:N] - res.x[N:] - x) <= 1e-4 * np.linalg.norm(x)
        succ.append(ok)
    fit = logistic_boundary(rhos, succ, [12] * len(rhos))
    assert abs(fit.rho50 - dt_weak_threshold(0.5)) < 0.05, (fit, succ)


# ---------------------------------------------------------------------------------------------
# Logistic boundary


def test_logistic_boundary_recovers_a_known_transition():
    rng = np.random.default_rng(1)
    rho = np.linspace(0.1, 0.5, 21)
    p = 1 / (1 + np.exp(-(12 - 40 * rho)))  # 50 % at rho = 0.3
    trials = np.full(rho.shape, 400)
    fit = logistic_boundary(rho, rng.binomial(trials, p), trials)
    assert fit.inside and fit.decreasing
    assert abs(fit.rho50 - 0.3) < 3 * fit.se and fit.se < 0.01
    assert abs(fit.slope + 40) < 8


def test_logistic_boundary_is_close_to_maximum_likelihood_without_separation():
    """Firth's penalty shrinks the estimate slightly; with many trials it is the plain MLE."""
    rho = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    trials = np.full(5, 200)
    succ = np.array([190, 150, 101, 45, 8])

    def nll(b):
        eta = b[0] + b[1] * rho
        return -np.sum(succ * eta - trials * np.logaddexp(0, eta))

    mle = minimize(nll, [0.0, 0.0], method="BFGS").x
    fit = logistic_boundary(rho, succ, trials)
    assert abs(fit.rho50 + mle[0] / mle[1]) < 0.2 * fit.se


def test_logistic_boundary_stays_finite_under_separation():
    rho = np.array([0.1, 0.2, 0.3, 0.4])
    fit = logistic_boundary(rho, [10, 10, 0, 0], [10, 10, 10, 10])
    assert 0.2 < fit.rho50 < 0.3 and np.isfinite(fit.se) and fit.decreasing
    everywhere = logistic_boundary(rho, [10, 10, 10, 10], [10, 10, 10, 10])
    assert not everywhere.inside


def test_cluster_robust_error_sees_matrix_to_matrix_variation():
    """Two groups (random matrices) with boundaries 0.25 and 0.35: pooled, the binomial error is
    that of 800 independent trials per cell; the cluster-robust one sees the two groups disagree."""
    rng = np.random.default_rng(3)
    rho = np.tile(np.linspace(0.1, 0.5, 9), 2)
    groups = np.repeat([0, 1], 9)
    centre = np.where(groups == 0, 0.25, 0.35)
    trials = np.full(rho.shape, 400)
    succ = rng.binomial(trials, 1 / (1 + np.exp(40 * (rho - centre))))
    fit = logistic_boundary(rho, succ, trials, groups=groups)
    assert fit.se_cluster > 3 * fit.se_wald and fit.se == fit.se_cluster
    # groups that agree: the two errors are of the same size
    same = rng.binomial(trials, 1 / (1 + np.exp(40 * (rho - 0.3))))
    fit = logistic_boundary(rho, same, trials, groups=groups)
    assert 0.2 < fit.se_cluster / fit.se_wald < 3
    assert np.isnan(logistic_boundary(rho, same, trials).se_cluster)
    with pytest.raises(ValueError, match="groups: expected one label per cell"):
        logistic_boundary(rho, same, trials, groups=[0, 1])
    with pytest.raises(ValueError, match="at least two groups"):
        logistic_boundary(rho, same, trials, groups=np.zeros(18))


def test_logistic_boundary_bad_input():
    with pytest.raises(ValueError, match="successes: expected at most trials"):
        logistic_boundary([0.1, 0.2], [3, 11], [10, 10])
    with pytest.raises(ValueError, match="rho: a logistic fit needs at least two"):
        logistic_boundary([0.1, 0.1], [3, 1], [10, 10])
    with pytest.raises(ValueError, match=r"successes: expected one value per rho \(3 cells\)"):
        logistic_boundary([0.1, 0.2, 0.3], [3, 1], [10, 10])
    with pytest.raises(ValueError, match="trials"):
        logistic_boundary([0.1, 0.2], [0, 0], [0, 10])


# ---------------------------------------------------------------------------------------------
# Trials


def _small(**kw):
    args = dict(M=2, D=8, l=3, pool=2, n_trials=4, n_banks=2, n_iter=30, generator=il.torch_generator(0))
    args.update(kw)
    return phase_trials([0.3, 0.6], [0.0625, 0.25, 0.5], **args)


def test_phase_trials_and_cells():
    trials = _small()
    assert set(trials["method"]) == set(METHODS)
    assert trials["K"].is_monotonic_decreasing  # one delta after another
    assert (trials["rho"] <= trials["rho_max"]).all() and (trials["iht_error"] >= 0).all()
    K = filters_for_delta(0.3, 2, 8, 3)
    assert np.allclose(trials.loc[trials["K"] == K, "delta"], 16 / (K * 6))
    cells = phase_cells(trials)
    assert len(cells) == len(trials) // 4 and (cells["trials"] == 4).all()
    for col in ("iht_success", "iht_success_half", "one_step_success", "lost"):
        assert cells[col].between(0, cells["trials"]).all()
    assert cells["p_iht"].between(0, 1).all() and cells["p_one_step"].between(0, 1).all()
    # the counts are the thresholded errors
    one = trials[(trials["method"] == "IHT") & (trials["K"] == K) & (trials["k"] == 4)]
    row = cells[(cells["method"] == "IHT") & (cells["K"] == K) & (cells["k"] == 4)].iloc[0]
    assert row["iht_success"] == (one["iht_error"] <= 1e-3).sum()
    assert row["one_step_success"] == (one["one_step_error"] <= 0.5).sum()
    assert row["lost"] == ((one["iht_error_half"] <= 1e-3) & (one["iht_error"] > 1e-3)).sum()
    by_bank = phase_cells(trials, by_bank=True)
    assert len(by_bank) == 2 * len(cells) and (by_bank["trials"] == 2).all()
    looser = phase_cells(trials, success_tol=10.0)
    assert (looser["iht_success"] == looser["trials"]).all()


def test_phase_trials_deterministic_and_methods_see_the_same_draws():
    full = _small()
    pd.testing.assert_frame_equal(full, _small())
    alone = _small(methods=("model-IHT",))
    pd.testing.assert_frame_equal(
        alone.reset_index(drop=True), full[full["method"] == "model-IHT"].reset_index(drop=True)
    )


def test_phase_trials_skips_cells_beyond_the_model():
    trials = _small(pool=None)  # one nonzero per filter: k <= K
    assert (trials["k"] <= trials["K"]).all() and set(trials["model"]) == {"one per filter"}
    assert set(_small()["model"]) == {"2 shifts"}
    assert len(trials) < len(_small())


def test_phase_boundaries():
    trials = _small()
    b = phase_boundaries(trials, criterion="iht")
    assert len(b) == 2 * len(METHODS)
    assert b.loc[~b["bracketed"], "rho50"].isna().all()
    assert np.allclose(b["dt_rho"], dt_weak_threshold(b["delta"].to_numpy()))
    assert (b.loc[b["bracketed"], "se"] >= b.loc[b["bracketed"], "se_wald"]).all()
    with pytest.raises(ValueError, match="criterion"):
        phase_boundaries(trials, criterion="l1")
    with pytest.raises(ValueError, match="missing columns"):
        phase_boundaries(trials.drop(columns="bank"), criterion="iht")
    with pytest.raises(ValueError, match="success_tol"):
        phase_cells(trials, success_tol=0)


def test_the_pool_column_says_what_was_asked():
    """pool holds the requested region side, <NA> for pool=None (one region per filter), through
    trials, cells and boundaries; pool_rows selects either."""
    trials = pd.concat([_small(n_iter=4), _small(pool=None, n_iter=4)], ignore_index=True)
    assert trials["pool"].dtype == "Int64"
    assert trials["pool"].isna().eq(trials["model"] == "one per filter").all()
    assert (trials.loc[trials["model"] == "2 shifts", "pool"] == 2).all()
    cells = phase_cells(trials)
    bounds = phase_boundaries(trials, criterion="one_step")
    assert (bounds["criterion"] == "one_step").all()
    for table in (trials, cells, bounds):
        assert table["pool"].dtype == "Int64"
        per_filter, two = pool_rows(table, None), pool_rows(table, 2)
        assert set(per_filter["model"]) == {"one per filter"} and set(two["model"]) == {"2 shifts"}
        assert len(per_filter) + len(two) == len(table)
        assert pool_rows(table, 3).empty
    # asking for the region side n itself is the same model, and the table says so as asked
    n = 8 - 3 + 1
    as_n = _small(pool=n, n_iter=4, methods=("model-IHT",))
    assert set(as_n["pool"]) == {n} and set(as_n["model"]) == {"one per filter"}
    with pytest.raises(ValueError, match="table: expected a phase table with a pool column"):
        pool_rows(pd.DataFrame({"a": [1]}), 2)
    with pytest.raises(TypeError, match="pool: expected an integer"):
        pool_rows(trials, 2.5)


def test_thm31_boundary_is_the_theorem_solved_for_rho():
    """rho = k / (MD) with k the largest sparsity for which Theorem 3.1 guarantees the RIP constant
    each criterion needs: M_k^3 (3k nonzeros) with delta <= 0.1 for model-IHT, M_k^2 (2k) with
    Theorem 3.3's delta for the one-step bound."""
    M, D, l, C, eps = 8, 16, 5, 0.317, 0.01
    n = D - l + 1
    bounds = pd.DataFrame(dict(K=[107, 13, 107, 13], criterion=["iht", "iht", "one_step", "one_step"]))
    rho = thm31_boundary(bounds, M=M, D=D, l=l, C=C, eps=eps, recovery_delta=0.1, one_step_tol=0.5)
    d1 = thm33_delta_for(0.5)
    logs = np.log(bounds["K"].to_numpy()) + np.log(n) - np.log(eps)
    k_max = np.array([0.1**2, 0.1**2, d1**2, d1**2]) * M * l**2 / (C * D * logs)  # the requirement solved for k
    np.testing.assert_allclose(rho, k_max / np.array([3, 3, 2, 2]) / (M * D), rtol=1e-12)
    assert rho[0] < rho[1] and rho[2] < rho[3]  # more filters (smaller delta): a larger log K, a lower boundary
    # the boundary scales like 1 / C and like the square of the RIP constant asked for
    half_c = thm31_boundary(bounds, M=M, D=D, l=l, C=C / 2, eps=eps)
    np.testing.assert_allclose(half_c, 2 * rho, rtol=1e-12)
    looser = thm31_boundary(bounds[:2], M=M, D=D, l=l, C=C, eps=eps, recovery_delta=0.2)
    np.testing.assert_allclose(looser, 4 * rho[:2], rtol=1e-12)
    assert thm31_boundary(bounds[:0], M=M, D=D, l=l, C=C, eps=eps).shape == (0,)


def test_thm31_boundary_bad_input():
    bounds = pd.DataFrame(dict(K=[10], criterion=["iht"]))
    kw = dict(M=8, D=16, l=5, C=0.3, eps=0.01)
    with pytest.raises(ValueError, match="bounds: expected a phase_boundaries table"):
        thm31_boundary(bounds.drop(columns="criterion"), **kw)
    with pytest.raises(ValueError, match="bounds: expected criterion values in"):
        thm31_boundary(bounds.assign(criterion="l1"), **kw)
    with pytest.raises(ValueError, match="l: expected a filter length at most D = 16"):
        thm31_boundary(bounds, **dict(kw, l=17))
    with pytest.raises(ValueError, match="C: expected"):
        thm31_boundary(bounds, **dict(kw, C=0))
    with pytest.raises(ValueError, match="eps"):
        thm31_boundary(bounds, **dict(kw, eps=1.0))
    with pytest.raises(ValueError, match="delta"):
        thm31_boundary(bounds, **kw, recovery_delta=1.5)
    with pytest.raises(ValueError, match="one_step_tol"):
        thm31_boundary(bounds, **kw, one_step_tol=0)


def test_phase_trials_bad_input():
    with pytest.raises(ValueError, match="n_trials: expected a multiple of n_banks"):
        _small(n_trials=5)
    with pytest.raises(ValueError, match="deltas"):
        phase_trials(
            [0.0], [0.1], M=2, D=8, l=3, pool=2, n_trials=2, n_banks=1, n_iter=2, generator=il.torch_generator(0)
        )
    with pytest.raises(ValueError, match="methods"):
        _small(methods=("OMP",))
    with pytest.raises(TypeError, match="dtype"):
        _small(dtype=torch.int64)
    with pytest.raises(ValueError, match="l: expected a filter length"):
        _small(l=9)


def test_gaussian_matrix_scaling():
    G = gaussian_matrix(64, 4000, generator=il.torch_generator(0))
    col = G.w[:, :, 0].norm(dim=1) ** 2  # the columns of Phi are the filters of W
    assert abs(float(col.mean()) - 1) < 0.02


# ---------------------------------------------------------------------------------------------
# The pieces it is built on


def test_dense_operator_is_the_matrix():
    g = il.torch_generator(0)
    Phi = torch.randn(5, 9, generator=g, dtype=torch.float64)
    op = dense_operator(Phi)
    z = torch.randn(3, 9, 1, generator=g, dtype=torch.float64)
    torch.testing.assert_close(op.adjoint(z)[..., 0], z[..., 0] @ Phi.T)
    assert il.dot_test(op, generator=g) < 1e-13
    with pytest.raises(ValueError, match="Phi: expected a matrix"):
        dense_operator(torch.zeros(2, 3, 4))


@pytest.mark.parametrize("shape,pool", [((4, 6), 2), ((4, 6), 1), ((4, 6), None), ((3, 4, 4), 2)])
def test_project_with_one_k_per_code(shape, pool):
    model = PoolingModel(shape, pool)
    z = torch.randn((6,) + shape, generator=il.torch_generator(2), dtype=torch.float64)
    k = torch.tensor([1, 2, 3, model.n_regions, 2, 1])
    out = model.project(z, k)
    for i in range(6):
        torch.testing.assert_close(out[i], model.project(z[i], int(k[i])), rtol=0, atol=0)
    torch.testing.assert_close(model.projector(k)(z), out, rtol=0, atol=0)
    assert bool(model.contains(out, int(k.max())).all())


def test_project_with_one_k_per_code_bad_input():
    model = PoolingModel((4, 6), 2)
    z = torch.zeros(3, 4, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"k: expected one k per code, shape \(3,\)"):
        model.project(z, torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="k: expected a non-empty integer tensor"):
        model.project(z, torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="k: expected every k in 1..R = 12"):
        model.projector(torch.tensor([1, 13, 2]))
    with pytest.raises(ValueError, match="overlapping"):
        PoolingModel((2, 7, 7), 3, stride=2).projector(torch.tensor([1]))


def test_thm31_max_k_inverts_the_requirement():
    # the requirement is linear in k: r(3) / 3 per nonzero, and M l^2 / D = 12.5 allows 12.5 / (r(3) / 3)
    r = thm31_requirement(k=3, K=107, n=12, delta=0.3, eps=0.01, C=0.317)
    assert np.isclose(thm31_max_k(M=8, l=5, D=16, K=107, n=12, delta=0.3, eps=0.01, C=0.317), 3 * (8 * 25 / 16) / r)
    ks = thm31_max_k(M=8, l=5, D=16, K=np.array([10, 100]), n=12, delta=0.3, eps=0.01)
    assert ks.shape == (2,) and ks[0] > ks[1]
    with pytest.raises(ValueError, match="eps"):
        thm31_max_k(M=8, l=5, D=16, K=10, n=12, delta=0.3, eps=1.0)


def test_thm33_delta_for():
    d = thm33_delta_for(0.5)
    assert 0.05 < d < 0.1 and np.isclose(thm33_bound(d, d), 0.5)
    assert thm33_delta_for(2.0) > d
    with pytest.raises(ValueError, match="target"):
        thm33_delta_for(0)


def test_recorded_reads_a_published_claim(tmp_path):
    record = {"notebook": "03_x", "claims": [{"id": "thm31.C", "ours": 0.3}]}
    (tmp_path / "03_x.json").write_text(json.dumps(record))
    assert recorded("03_x", "thm31.C", tmp_path) == 0.3
    with pytest.raises(KeyError, match="no claim 'other'"):
        recorded("03_x", "other", tmp_path)
    with pytest.raises(FileNotFoundError, match="run notebook 04_y first"):
        recorded("04_y", "thm31.C", tmp_path)
