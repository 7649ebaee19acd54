"""Theorem 3.1 measured (invertlib.theory): the sweep of the empirical delta_k, the fit of the
constant C and the slope rule that notebook 03 reports (notebook 11 draws Theorem 3.1's boundary
with that C); and the distance to Figure 2(c)'s report with the ranking of notebook 04."""

import numpy as np
import pandas as pd
import pytest

import invertlib as il
from invertlib.theory import (
    THM31_PARAMETERS,
    Thm31Fit,
    fig2c_closest,
    fig2c_distance,
    fit_thm31_constant,
    thm31_delta,
    thm31_points,
    thm31_slopes,
    thm31_slopes_agree,
    thm31_sweep,
)

# ---------------------------------------------------------------------------------------------
# The sweep

TINY = dict(M=4, l=3, K=6, k=2, D=8, n_draws=2, n_samples=40, eps=0.01, n_starts=4, n_candidates=8)
TINY_SWEEPS = {"M": [2, 4], "k": [1, 2, 3]}


def _tiny(seed=0, **kw):
    args = dict(TINY, sweeps=TINY_SWEEPS, generator=il.torch_generator(seed))
    args.update(kw)
    return thm31_sweep(**args)


def test_thm31_sweep_shape_columns_and_values():
    sweep = _tiny()
    columns = ["sweep", "value", "draw", "M", "l", "K", "k", "D", "n", "std_ratio", "delta_mc", "delta_search"]
    assert list(sweep.columns) == columns + ["predictor"]
    assert len(sweep) == (2 + 3) * TINY["n_draws"]
    assert sweep["sweep"].tolist() == ["M"] * 4 + ["k"] * 6
    assert sweep["value"].tolist() == [2, 2, 4, 4, 1, 1, 2, 2, 3, 3]
    assert sweep["draw"].tolist() == [0, 1] * 5
    # each point changes its own parameter only; the others keep the base setting
    for p in THM31_PARAMETERS:
        base = TINY[p]
        assert (sweep.loc[sweep["sweep"] == p, p] == sweep.loc[sweep["sweep"] == p, "value"]).all()
        assert (sweep.loc[sweep["sweep"] != p, p] == base).all()
    assert (sweep["n"] == TINY["D"] - TINY["l"] + 1).all()
    # the search starts from the worst Monte-Carlo supports: never below the Monte-Carlo bound
    assert (sweep["delta_search"] >= sweep["delta_mc"] - 1e-12).all() and (sweep["delta_mc"] > 0).all()
    expected = [
        float(thm31_delta(M=r.M, l=r.l, D=r.D, k=r.k, K=r.K, n=r.n, eps=TINY["eps"]) ** 2) for r in sweep.itertuples()
    ]
    np.testing.assert_array_equal(sweep["predictor"], expected)


def test_thm31_sweep_is_deterministic_and_draws_from_its_generator():
    pd.testing.assert_frame_equal(_tiny(), _tiny())
    assert not np.array_equal(_tiny()["delta_search"], _tiny(seed=1)["delta_search"])


def test_thm31_sweep_with_stride():
    sweep = _tiny(sweeps={"M": [2, 4]}, D=9, stride=2, n_draws=1)
    assert (sweep["n"] == (9 - 3) // 2 + 1).all()


@pytest.mark.parametrize(
    "kw, error, match",
    [
        (dict(sweeps={"N": [1, 2]}), ValueError, "sweeps: expected parameters among"),
        (dict(sweeps={}), ValueError, "sweeps: expected at least one parameter"),
        (dict(sweeps=[("M", [1, 2])]), TypeError, "sweeps: expected a dict"),
        (dict(sweeps={"M": []}), ValueError, "sweeps: expected a non-empty list of values for M"),
        (dict(sweeps={"M": [2.5]}), ValueError, r"sweeps\['M'\]: expected a whole number"),
        (dict(sweeps={"l": [9]}), ValueError, "sweeps: expected points with l <= D"),
        (dict(sweeps={"k": [7]}), ValueError, "sweeps: expected points with l <= D, k <= K"),
        (dict(l=9), ValueError, "l: expected a filter length at most D = 8"),
        (dict(k=7), ValueError, "k: expected at most K = 6 nonzeros"),
        (dict(M=0), ValueError, "M: expected"),
        (dict(stride=4), ValueError, "stride: expected a stride dividing D - l = 5"),
        (dict(n_draws=0), ValueError, "n_draws"),
        (dict(n_samples=2.5), TypeError, "n_samples"),
        (dict(eps=1.0), ValueError, "eps"),
        (dict(values="laplace"), ValueError, "values: expected one of"),
        (dict(generator=None), TypeError, "generator"),
        (dict(n_starts=1), ValueError, "n_starts"),
    ],
)
def test_thm31_sweep_bad_input(kw, error, match):
    with pytest.raises(error, match=match):
        _tiny(**kw)


def test_thm31_sweep_is_keyword_only():
    with pytest.raises(TypeError):
        thm31_sweep(TINY_SWEEPS, **TINY, generator=il.torch_generator(0))


# ---------------------------------------------------------------------------------------------
# The fit of C and the slopes, on data with a known answer


def _synthetic(C=0.3, noise=0.0, draws=1):
    """A sweep table whose deltas obey delta^2 = C x exactly (times exp(+-noise), alternating so the
    log-residuals average to zero over every sweep), x the theorem's predictor."""
    base = dict(M=32, l=5, K=96, k=10, D=32)
    rows = []
    for p, vs in {"M": [8, 16, 32, 64], "l": [3, 5, 9], "K": [24, 96, 384], "k": [2, 5, 10, 20]}.items():
        for i, v in enumerate(vs):
            c = dict(base, **{p: v})
            n = c["D"] - c["l"] + 1
            x = float(thm31_delta(M=c["M"], l=c["l"], D=c["D"], k=c["k"], K=c["K"], n=n, eps=0.01) ** 2)
            for draw in range(draws):
                sign = (-1) ** (i + draw)
                d = np.sqrt(C * x * np.exp(sign * noise))
                rows.append(dict(sweep=p, value=v, draw=draw, **c, n=n, delta_mc=d / 2, delta_search=d, predictor=x))
    return pd.DataFrame(rows)


def test_fit_recovers_a_known_constant():
    fit = fit_thm31_constant(thm31_points(_synthetic(C=0.317)))
    assert isinstance(fit, Thm31Fit) and fit.estimate == "delta_search" and fit.n_points == 14
    assert fit.C == pytest.approx(0.317, rel=1e-12) and fit.rms_log == pytest.approx(0, abs=1e-12)
    # delta_mc = delta_search / 2: C / 4
    assert fit_thm31_constant(_synthetic(C=0.317), estimate="delta_mc").C == pytest.approx(0.317 / 4, rel=1e-12)


def test_fit_with_symmetric_noise_recovers_c_and_the_residual():
    """Log-residuals of +-0.4 around log(C x) (as many of each): C is their geometric centre,
    and the rms log-residual is 0.4."""
    sweep = _synthetic(C=2.0, noise=0.4, draws=2)  # every point: one draw above, one below
    fit = fit_thm31_constant(sweep)
    assert fit.C == pytest.approx(2.0, rel=1e-12) and fit.rms_log == pytest.approx(0.4, rel=1e-12)
    # averaged over draws first, the noise cancels at every point
    assert fit_thm31_constant(thm31_points(sweep)).rms_log < 0.1


def test_fit_is_the_least_squares_solution():
    rng = np.random.default_rng(0)
    sweep = _synthetic()
    sweep["delta_search"] *= np.exp(rng.normal(0, 0.3, len(sweep)))
    fit = fit_thm31_constant(sweep)
    y, lx = np.log(sweep["delta_search"] ** 2), np.log(sweep["predictor"])
    grid = np.linspace(np.log(fit.C) - 0.1, np.log(fit.C) + 0.1, 2001)
    sse = [np.sum((y - c - lx) ** 2) for c in grid]
    assert abs(grid[int(np.argmin(sse))] - np.log(fit.C)) < 2e-4


def test_points_average_the_draws():
    sweep = _synthetic(noise=0.4, draws=2)
    points = thm31_points(sweep)
    assert len(points) == len(sweep) // 2 and list(points["sweep"].unique()) == ["M", "l", "K", "k"]
    first = sweep[(sweep["sweep"] == "M") & (sweep["value"] == 8)]
    assert points.loc[0, "delta_search"] == pytest.approx(first["delta_search"].mean())


def test_slopes_match_the_theorem_on_data_that_obeys_it():
    slopes = thm31_slopes(thm31_points(_synthetic()))
    assert list(slopes.columns) == ["parameter", "theorem", "delta_search", "delta_mc"]
    assert slopes["parameter"].tolist() == ["M", "l", "K", "k"]
    np.testing.assert_allclose(slopes["delta_search"], slopes["theorem"], atol=1e-10)
    theorem = slopes.set_index("parameter")["theorem"]
    assert theorem["M"] == pytest.approx(-1) and theorem["k"] == pytest.approx(1)
    assert -2.05 < theorem["l"] < -2  # l^2, and slightly more through log n, n = D - l + 1
    assert 0 < theorem["K"] < 0.2  # K enters through log K only
    assert all(thm31_slopes_agree(slopes).values())


def test_slope_rule():
    slopes = pd.DataFrame(
        dict(
            parameter=["M", "l", "K", "D", "k"],
            theorem=[-1.0, -2.0, 0.08, 1.0, 1.0],
            delta_search=[-1.5, -0.94, 0.33, 0.02, 1.51],
        )
    )
    # within half the theorem's slope; within 0.25 where the theorem's is near 0
    assert thm31_slopes_agree(slopes) == {"M": True, "l": False, "K": True, "D": False, "k": False}
    assert thm31_slopes_agree(slopes, tolerance=0.6)["k"]
    assert not thm31_slopes_agree(slopes, floor=0.1)["K"]


def test_fit_and_slopes_bad_input():
    sweep = _synthetic()
    with pytest.raises(ValueError, match="estimate: expected a column of points"):
        fit_thm31_constant(sweep, estimate="delta")
    with pytest.raises(ValueError, match="points: expected a thm31_sweep table, missing columns"):
        fit_thm31_constant(sweep.drop(columns="predictor"))
    with pytest.raises(ValueError, match="points: expected at least one row"):
        fit_thm31_constant(sweep.iloc[:0])
    with pytest.raises(TypeError, match="points: expected a pandas DataFrame"):
        fit_thm31_constant(sweep.to_dict())
    with pytest.raises(ValueError, match=r"points\['delta_search'\]: expected a number in \(0"):
        fit_thm31_constant(sweep.assign(delta_search=0.0))
    with pytest.raises(ValueError, match="sweep: expected a thm31_sweep table"):
        thm31_points(sweep.drop(columns="sweep"))
    with pytest.raises(ValueError, match="points: a slope needs at least two values of M"):
        thm31_slopes(sweep[(sweep["sweep"] != "M") | (sweep["value"] == 8)])
    with pytest.raises(ValueError, match="estimates"):
        thm31_slopes(sweep, estimates="delta_search")
    with pytest.raises(ValueError, match="estimate: expected a column of slopes"):
        thm31_slopes_agree(thm31_slopes(sweep), estimate="delta")
    with pytest.raises(ValueError, match="slopes: expected a thm31_slopes table"):
        thm31_slopes_agree(sweep)
    with pytest.raises(ValueError, match="tolerance"):
        thm31_slopes_agree(thm31_slopes(sweep), tolerance=0)


# ---------------------------------------------------------------------------------------------
# Figure 2(c): distance to the report and the closest setting


def test_fig2c_distance():
    median = np.array([0.15, 0.05, 0.3, 0.15, 0.3])
    maximum = np.array([0.4, 0.4, 0.45, 0.7, 0.9])
    d = fig2c_distance(median, maximum, median_range=(0.1, 0.2), max_bound=0.5)
    np.testing.assert_allclose(d, [0, 0.05, 0.1, 0.2, 0.5], atol=1e-15)
    assert fig2c_distance(0.1, 0.5, median_range=(0.1, 0.2), max_bound=0.5) == 0.0  # ends included
    assert isinstance(fig2c_distance(0.1, 0.5, median_range=(0.1, 0.2), max_bound=0.5), float)
    with pytest.raises(ValueError, match="median_range: expected a pair"):
        fig2c_distance(0.1, 0.5, median_range=(0.2, 0.1), max_bound=0.5)
    with pytest.raises(ValueError, match="median_range: expected a pair"):
        fig2c_distance(0.1, 0.5, median_range=(0.1,), max_bound=0.5)
    with pytest.raises(ValueError, match="median: expected"):
        fig2c_distance(-0.1, 0.5, median_range=(0.1, 0.2), max_bound=0.5)
    with pytest.raises(ValueError, match="max_bound"):
        fig2c_distance(0.1, 0.5, median_range=(0.1, 0.2), max_bound=np.nan)


def _settings():
    rows = [
        dict(pool=28, switches="known", k=10, values="uniform", metric="relative", distance=0.3),
        dict(pool=28, switches="known", k=1, values="uniform", metric="squared", distance=0.0),
        dict(pool=2, switches="known", k=3, values="uniform", metric="relative", distance=0.0),
        dict(pool=28, switches="known", k=3, values="gaussian", metric="relative", distance=0.0),
        dict(pool=28, switches="known", k=3, values="uniform", metric="squared", distance=0.0),
        dict(pool=28, switches="known", k=3, values="uniform", metric="relative", distance=0.0),
    ]
    return pd.DataFrame(rows)


def test_fig2c_closest_ranks_by_distance_then_the_papers_text():
    table = _settings()
    best = fig2c_closest(table, k=10, values="uniform", pool=28)
    # distance 0 first; then k nearest 10 (3 before 1); then U[-1, 1] values, pooling over all shifts,
    # and the relative error before the squared one
    pd.testing.assert_series_equal(best, table.iloc[5])
    assert fig2c_closest(table.iloc[:5], k=10, values="uniform", pool=28).equals(table.iloc[4])
    assert fig2c_closest(table.iloc[:4], k=10, values="uniform", pool=28).equals(table.iloc[2])
    assert fig2c_closest(table.iloc[:2], k=10, values="uniform", pool=28).equals(table.iloc[1])
    assert fig2c_closest(table.iloc[:1], k=10, values="uniform", pool=28).equals(table.iloc[0])
    # another index than 0..N-1 changes nothing
    assert fig2c_closest(table.set_index(table.index + 7), k=10, values="uniform", pool=28).equals(best)


def test_fig2c_closest_bad_input():
    with pytest.raises(ValueError, match="table: expected a non-empty Figure 2"):
        fig2c_closest(_settings().drop(columns="metric"), k=10, values="uniform", pool=28)
    with pytest.raises(ValueError, match="table: expected a non-empty Figure 2"):
        fig2c_closest(_settings().iloc[:0], k=10, values="uniform", pool=28)
    with pytest.raises(ValueError, match="k: expected"):
        fig2c_closest(_settings(), k=0, values="uniform", pool=28)
