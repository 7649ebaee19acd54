"""The paper's two theorems as functions of their parameters.

Theorem 3.1 (model-RIP of random CNN filters). With MK filters of length l whose entries are
i.i.d. N(0, 1)/sqrt(M l), stride t and n = (D - l)/t + 1 shifts, if

    M l^2 / D >= (C k / delta_k^2) (log K + log n - log eps),

then W^T satisfies model-RIP for M_k with constant delta_k with probability 1 - eps. The constant
C is not given; notebook 03 measures delta_k one parameter at a time (`thm31_sweep`, averaged by
`thm31_points`), fits C (`fit_thm31_constant`) and compares the log-log slopes with the theorem's
(`thm31_slopes`, `thm31_slopes_agree`).

Theorem 3.3 (one-step reconstruction). If W^T satisfies M_k^2-RIP with delta_k <= delta_2k < 1,
then x_hat = W^T 𝕄(W x, k) satisfies

    ||x_hat - x|| <= 5 delta_2k / (1 - delta_k) * sqrt((1 + delta_2k) / (1 - delta_2k)) ||x||.

Beyond the paper, the reference curve of compressive sensing: the Donoho-Tanner l1 weak threshold
rho_W(delta) (`dt_weak_threshold`), against which notebook 11 places CNN-structured recovery; and
how far a measured one-step error distribution lies from Figure 2(c)'s report (`fig2c_distance`,
`fig2c_closest`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from .bounds import delta_upper_bounds
from .checks import check_choice, check_int, check_values
from .conv import ConvOperator
from .filters import gaussian_filters
from .iht import one_step_errors
from .progress import progress
from .rip import delta_from_ratios, rip_estimates
from .rng import check_generator
from .sparsity import VALUES, PoolingModel


def _broadcast(**named) -> None:
    """Refuse arguments whose shapes do not broadcast together, naming the first that does not fit
    the ones before it (numpy's own error names none)."""
    shape: tuple = ()
    for name, value in named.items():
        try:
            shape = np.broadcast_shapes(shape, np.shape(value))
        except ValueError:
            raise ValueError(
                f"{name}: shape {np.shape(value)} does not broadcast against the other arguments' shape {shape}"
            ) from None


def _size(x, name):
    return check_values(x, name, low=1, integer=True)


def _log_term(k, K, n, eps):
    eps = check_values(eps, "eps", low=0, high=1, low_open=True, high_open=True)
    return _size(k, "k") * (np.log(_size(K, "K")) + np.log(_size(n, "n")) - np.log(eps))


def _constant(C):
    return check_values(C, "C", low=0, low_open=True)


def thm31_requirement(*, k, K, n, delta, eps, C=1.0):
    """The right-hand side of Theorem 3.1: C k (log K + log n - log eps) / delta^2, the value
    M l^2 / D must reach. Works elementwise on arrays."""
    _broadcast(k=k, K=K, n=n, delta=delta, eps=eps, C=C)
    delta = check_values(delta, "delta", low=0, high=1, low_open=True, high_open=True)
    return _constant(C) * _log_term(k, K, n, eps) / delta**2


def thm31_delta(*, M, l, D, k, K, n, eps, C=1.0):
    """delta_k predicted by Theorem 3.1 at equality: sqrt(C k (log K + log n - log eps) D / (M l^2))."""
    _broadcast(M=M, l=l, D=D, k=k, K=K, n=n, eps=eps, C=C)
    return np.sqrt(_constant(C) * _log_term(k, K, n, eps) * _size(D, "D") / (_size(M, "M") * _size(l, "l") ** 2))


def thm31_max_k(*, M, l, D, K, n, delta, eps, C=1.0):
    """The largest sparsity k for which Theorem 3.1 guarantees model-RIP constant `delta`:
    k = delta^2 M l^2 / (C D (log K + log n - log eps)), the requirement solved for k (not rounded;
    below 1 the theorem guarantees nothing). Elementwise on arrays."""
    _broadcast(M=M, l=l, D=D, K=K, n=n, delta=delta, eps=eps, C=C)
    delta = check_values(delta, "delta", low=0, high=1, low_open=True)
    eps = check_values(eps, "eps", low=0, high=1, low_open=True, high_open=True)
    logs = np.log(_size(K, "K")) + np.log(_size(n, "n")) - np.log(eps)
    k = delta**2 * _size(M, "M") * _size(l, "l") ** 2 / (_constant(C) * _size(D, "D") * logs)
    return float(k) if np.ndim(k) == 0 else k


def thm33_delta_for(target: float) -> float:
    """The largest delta with thm33_bound(delta, delta) <= target: how small delta_2k (taking
    delta_k = delta_2k, the tightest case) must be for Theorem 3.3 to guarantee a relative
    one-step error of at most `target` (e.g. 0.5, Figure 2(c)'s bound: delta about 0.09)."""
    from scipy.optimize import brentq

    target = float(check_values(target, "target", low=0, low_open=True))
    # the bound rises from 0 at delta = 0 to infinity at delta = 1
    return float(brentq(lambda d: thm33_bound(d, d) - target, 0.0, 1 - 1e-12, xtol=1e-14))


def thm33_bound(delta_k, delta_2k):
    """Theorem 3.3's bound on ||x_hat - x|| / ||x||; inf where delta_2k >= 1 or delta_k >= 1
    (the theorem says nothing there). Elementwise on arrays (delta_k and delta_2k broadcast).

    The true constants satisfy delta_k <= delta_2k (M_k lies inside M_2k). Estimates need not: two
    Monte Carlo estimates, each a lower bound, can come out with delta_2k below delta_k. delta_2k is
    then at least delta_k, so the bound uses max(delta_k, delta_2k) for delta_2k: still a lower
    estimate of the true constant, and inside the theorem's hypothesis."""
    # deltas >= 1 are legitimate measurements (the bound is then infinite); negative ones are not
    _broadcast(delta_2k=delta_2k, delta_k=delta_k)
    dk, d2 = check_values(delta_k, "delta_k", low=0), check_values(delta_2k, "delta_2k", low=0)
    d2 = np.maximum(dk, d2)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = 5 * d2 / (1 - dk) * np.sqrt((1 + d2) / (1 - d2))
    b = np.where((d2 >= 1) | (dk >= 1), math.inf, b)
    return float(b) if b.ndim == 0 else b


# ---------------------------------------------------------------------------------------------
# The Donoho-Tanner weak threshold


def _dmm_ratio(z: float, delta: float) -> float:
    g = (1 + z * z) * norm.cdf(-z) - z * norm.pdf(z)
    return (1 - 2 * g / delta) / (1 + z * z - 2 * g)


def dt_weak_threshold(delta) -> np.ndarray | float:
    """rho_W(delta): the l1 weak phase transition of Donoho & Tanner for Gaussian matrices and
    signed sparse vectors (the cross-polytope). Below it, l1 minimisation recovers most k-sparse
    vectors from delta N Gaussian measurements as N -> infinity; above it, most fail.

    Computed from the closed form of Donoho, Maleki & Montanari (2009, PNAS 106(45), Eq. (5) of
    the signed case), which equals Donoho & Tanner's weak threshold (Donoho, Maleki & Montanari
    2011, IEEE Trans. IT 57(10), "the noise-sensitivity phase transition"):

        rho_W(delta) = max_{z >= 0} [1 - (2/delta) g(z)] / [1 + z^2 - 2 g(z)],
        g(z) = (1 + z^2) Phi(-z) - z phi(z),

    with Phi, phi the standard normal cdf and density; rho_W(1) = 1 (the limit). The maximum is
    found by bounded scalar minimisation (the ratio is unimodal in z; tested against a dense grid).
    Elementwise on arrays; delta in (0, 1].
    """
    d = check_values(delta, "delta", low=0, high=1, low_open=True)
    out = np.ones_like(d)
    for i, di in np.ndenumerate(d):
        if di < 1:
            # the maximiser lies near sqrt(2 log(1/delta)) for small delta; 20 leaves room at delta ~ 1e-80
            res = minimize_scalar(
                lambda z, di=di: -_dmm_ratio(z, di), bounds=(0.0, 20.0), method="bounded", options={"xatol": 1e-10}
            )
            out[i] = -res.fun
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------------------------
# Theorem 3.1 measured: sweeps of the empirical delta_k, the fit of C and the scaling rule

THM31_PARAMETERS = ("M", "l", "K", "k", "D")
_SWEEP_COLUMNS = ("sweep", "value", "predictor")


def _check_sweeps(sweeps) -> dict:
    if not isinstance(sweeps, dict):
        raise TypeError(f"sweeps: expected a dict {{parameter: [values]}}, got {sweeps!r}")
    if not sweeps:
        raise ValueError("sweeps: expected at least one parameter to sweep, got an empty dict")
    out = {}
    for p, vs in sweeps.items():
        if p not in THM31_PARAMETERS:
            raise ValueError(f"sweeps: expected parameters among {THM31_PARAMETERS}, got {p!r}")
        if isinstance(vs, (str, bytes)) or not hasattr(vs, "__len__") or len(vs) == 0:
            raise ValueError(f"sweeps: expected a non-empty list of values for {p}, got {vs!r}")
        out[p] = [int(v) for v in check_values(list(vs), f"sweeps[{p!r}]", low=1, integer=True)]
    return out


def thm31_sweep(
    *,
    sweeps: dict,
    M: int,
    l: int,
    K: int,
    k: int,
    D: int,
    n_draws: int,
    n_samples: int,
    eps: float,
    generator: torch.Generator,
    stride: int = 1,
    values: str = "uniform",
    n_starts: int = 16,
    n_candidates: int | None = 256,
    upper: bool = False,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Empirical delta_k against Theorem 3.1's predictor, one parameter at a time.

    Around the base setting (M, l, K, k, D), every value v of every swept parameter p (`sweeps`:
    {p: [v, ...]}, p among M, l, K, k, D) replaces the base value of p. At each such point,
    `n_draws` filter banks (K, M, l) with Theorem 3.1's i.i.d. N(0, 1)/sqrt(M l) entries give
    W^T (MD x Kn, n = (D - l)/stride + 1 shifts), and `rip.rip_estimates` bounds its delta_k for
    the block model M_k (one region per filter: pooling over all n shifts) from below twice: the
    Monte Carlo max |r^2 - 1| over n_samples codes with `values` nonzeros, and the worst-case
    search (n_starts starts, n_candidates atoms scored per slot).

    Returns one row per (point, draw), in order: sweep (p), value (v), draw, M, l, K, k, D (the
    point), n, std_ratio (std of ||W^T z|| / ||z|| over the codes), delta_mc, delta_search, and
    predictor x = k (log K + log n - log eps) D / (M l^2), so that the theorem at equality reads
    delta_k^2 = C x. Every draw comes from `generator`, in row order. With upper=True, three more
    columns bound the same W's delta_k from above (`bounds.delta_upper_bounds`): delta_upper (the
    model Babel bound), delta_babel and delta_coherence; they draw nothing, so the other columns
    are those of upper=False.
    """
    sweeps = _check_sweeps(sweeps)
    base = {name: check_int(v, name) for name, v in zip(THM31_PARAMETERS, (M, l, K, k, D), strict=True)}
    if base["l"] > base["D"]:
        raise ValueError(f"l: expected a filter length at most D = {base['D']}, got {base['l']}")
    if base["k"] > base["K"]:
        raise ValueError(f"k: expected at most K = {base['K']} nonzeros (one per filter), got {base['k']}")
    n_draws, n_samples = check_int(n_draws, "n_draws"), check_int(n_samples, "n_samples")
    stride = check_int(stride, "stride")
    if (base["D"] - base["l"]) % stride:
        raise ValueError(f"stride: expected a stride dividing D - l = {base['D'] - base['l']}, got {stride}")
    eps = float(check_values(eps, "eps", low=0, high=1, low_open=True, high_open=True))
    check_choice(values, "values", VALUES)
    check_generator(generator)
    points = [(p, v) for p, vs in sweeps.items() for v in vs]
    for p, v in points:
        c = dict(base, **{p: v})
        if c["l"] > c["D"] or c["k"] > c["K"] or (c["D"] - c["l"]) % stride:
            raise ValueError(
                f"sweeps: expected points with l <= D, k <= K and stride {stride} dividing D - l, got {p} = {v} "
                f"(l = {c['l']}, D = {c['D']}, k = {c['k']}, K = {c['K']})"
            )
    rows = []
    for p, v in progress(points, "sweep points"):
        c = dict(base, **{p: v})
        for draw in range(n_draws):
            w = gaussian_filters(c["K"], c["M"], c["l"], generator=generator, device=device)
            W = ConvOperator(w, c["D"], stride)
            model = PoolingModel(W.out_shape)
            est = rip_estimates(
                W,
                model,
                c["k"],
                n_samples,
                generator=generator,
                values=values,
                n_starts=n_starts,
                n_candidates=n_candidates,
            )
            x = thm31_delta(M=c["M"], l=c["l"], D=c["D"], k=c["k"], K=c["K"], n=W.n, eps=eps) ** 2
            rows.append(
                dict(
                    sweep=p,
                    value=v,
                    draw=draw,
                    **c,
                    n=W.n,
                    std_ratio=float(est.ratios.std()),
                    delta_mc=delta_from_ratios(est.ratios),
                    delta_search=est.search.delta,
                    predictor=float(x),
                )
            )
            if upper:
                ub = delta_upper_bounds(W, model, [c["k"]])
                rows[-1].update(
                    delta_upper=float(ub.model_babel[0]),
                    delta_babel=float(ub.babel[0]),
                    delta_coherence=float(ub.coherence[0]),
                )
    return pd.DataFrame(rows)


def _check_sweep_table(table, name: str, columns=_SWEEP_COLUMNS) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas DataFrame from thm31_sweep, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name}: expected a thm31_sweep table, missing columns {missing}")
    if table.empty:
        raise ValueError(f"{name}: expected at least one row, got an empty table")
    return table


def thm31_points(sweep: pd.DataFrame) -> pd.DataFrame:
    """The mean over draws at every point of a `thm31_sweep` table: one row per (sweep, value), in
    the order of the sweep, with the mean of every numeric column."""
    _check_sweep_table(sweep, "sweep")
    return sweep.groupby(["sweep", "value"], sort=False).mean(numeric_only=True).reset_index()


@dataclass(frozen=True)
class Thm31Fit:
    """Theorem 3.1's constant fitted to measured deltas: C in delta^2 = C x, rms_log the root mean
    square of the log-residuals log delta^2 - log(C x), `estimate` the column fitted (e.g.
    "delta_search"), n_points the number of points."""

    C: float
    rms_log: float
    estimate: str
    n_points: int


def fit_thm31_constant(points: pd.DataFrame, *, estimate: str = "delta_search") -> Thm31Fit:
    """Least squares in log space of delta^2 = C x over the rows of `points` (a `thm31_points` or
    `thm31_sweep` table; x its predictor column, delta its `estimate` column):

        log C = argmin_c sum_i (log delta_i^2 - c - log x_i)^2 = mean_i (log delta_i^2 - log x_i),

    so C is the geometric mean of delta_i^2 / x_i. Residuals are taken in log space because the
    theorem is a scaling law: a factor 2 off counts the same at every size."""
    _check_sweep_table(points, "points", ("predictor",))
    if not isinstance(estimate, str) or estimate not in points.columns:
        raise ValueError(f"estimate: expected a column of points such as 'delta_search', got {estimate!r}")
    check_values(points[estimate], f"points[{estimate!r}]", low=0, low_open=True)
    check_values(points["predictor"], "points['predictor']", low=0, low_open=True)
    y = np.log(points[estimate] ** 2)
    C = float(np.exp(np.mean(y - np.log(points["predictor"]))))
    resid = y - np.log(C * points["predictor"])
    return Thm31Fit(C=C, rms_log=float(np.sqrt(np.mean(resid**2))), estimate=estimate, n_points=len(points))


def thm31_slopes(points: pd.DataFrame, *, estimates: tuple[str, ...] = ("delta_search", "delta_mc")) -> pd.DataFrame:
    """Log-log slopes of delta_k^2 against each swept parameter (a `thm31_points` table): one row per
    parameter with `theorem`, the least-squares slope of log x against log v (Theorem 3.1's
    exponent of that parameter; log K and log n enter through the log term, so K's is small and
    D's slightly above 1), and the slope of log delta^2 for every column in `estimates`."""
    _check_sweep_table(points, "points")
    if isinstance(estimates, str) or not estimates or any(e not in points.columns for e in estimates):
        raise ValueError(f"estimates: expected a non-empty tuple of columns of points, got {estimates!r}")
    rows = []
    for p, g in points.groupby("sweep", sort=False):
        if g["value"].nunique() < 2:
            raise ValueError(f"points: a slope needs at least two values of {p}, got {g['value'].tolist()}")
        lx = np.log(g["value"].to_numpy(float))
        row = dict(parameter=p, theorem=np.polyfit(lx, np.log(g["predictor"]), 1)[0])
        for est in estimates:
            row[est] = np.polyfit(lx, np.log(g[est] ** 2), 1)[0]
        rows.append(row)
    return pd.DataFrame(rows)


def thm31_slopes_agree(
    slopes: pd.DataFrame, *, estimate: str = "delta_search", tolerance: float = 0.5, floor: float = 0.5
) -> dict[str, bool]:
    """Whether each measured slope matches the theorem's (a `thm31_slopes` table): |s - s_thm| <=
    tolerance * max(|s_thm|, floor), i.e. within half the theorem's exponent by default, and within
    0.25 where that exponent is near 0 (K's, through log K only), so noise cannot fail a flat
    slope. Returns {parameter: agrees}."""
    if not isinstance(slopes, pd.DataFrame) or not {"parameter", "theorem"} <= set(slopes.columns):
        raise ValueError(
            f"slopes: expected a thm31_slopes table (parameter, theorem, ...), got {type(slopes).__name__}"
        )
    if not isinstance(estimate, str) or estimate not in slopes.columns:
        raise ValueError(f"estimate: expected a column of slopes such as 'delta_search', got {estimate!r}")
    tolerance = float(check_values(tolerance, "tolerance", low=0, low_open=True))
    floor = float(check_values(floor, "floor", low=0))
    return {
        r["parameter"]: bool(abs(r[estimate] - r["theorem"]) <= tolerance * max(abs(r["theorem"]), floor))
        for _, r in slopes.iterrows()
    }


# ---------------------------------------------------------------------------------------------
# Figure 2(c): how far a one-step error distribution lies from the paper's report


def fig2c_distance(median, maximum, *, median_range, max_bound):
    """Distance of an error distribution to Figure 2(c)'s report ("concentrated around a-b",
    "always below max_bound"): |median - clip(median, a, b)| + max(maximum - max_bound, 0), with
    (a, b) = median_range; 0 exactly when the median lies in [a, b] and the maximum is at most
    max_bound (a match). Elementwise on arrays."""
    _broadcast(median=median, maximum=maximum)
    median, maximum = check_values(median, "median", low=0), check_values(maximum, "maximum", low=0)
    ends = check_values(median_range, "median_range", low=0)
    if ends.shape != (2,) or ends[0] > ends[1]:
        raise ValueError(f"median_range: expected a pair (low, high) with low <= high, got {median_range!r}")
    lo, hi = float(ends[0]), float(ends[1])
    max_bound = float(check_values(max_bound, "max_bound", low=0))
    d = np.abs(median - np.clip(median, lo, hi)) + np.maximum(maximum - max_bound, 0)
    return float(d) if d.ndim == 0 else d


def fig2c_closest(table: pd.DataFrame, *, k: int, values: str, pool: int) -> pd.Series:
    """The row of a Figure 2(c) sweep table (columns distance, k, values, pool, metric) nearest the
    paper: the smallest distance (`fig2c_distance`); among equals, the one nearest the paper's
    text: k closest to the paper's k, then the paper's value distribution, then its pooling region,
    then the relative error before the squared one (metric in alphabetical order); then the table's
    order."""
    need = ["distance", "k", "values", "pool", "metric"]
    if not isinstance(table, pd.DataFrame) or any(c not in table.columns for c in need) or table.empty:
        raise ValueError(f"table: expected a non-empty Figure 2(c) sweep table with columns {need}")
    k, pool = check_int(k, "k"), check_int(pool, "pool")
    ranked = table.reset_index(drop=True).assign(
        _k=np.abs(table["k"].to_numpy() - k),
        _v=table["values"].to_numpy() != values,
        _p=table["pool"].to_numpy() != pool,
    )
    best = ranked.sort_values(["distance", "_k", "_v", "_p", "metric"], kind="stable").index[0]
    return table.iloc[best]


# ---------------------------------------------------------------------------------------------
# Theorem 3.3 certified: the one-step bound evaluated with upper bounds on delta_k and delta_2k


def thm33_certified(
    *,
    M: int,
    ls,
    Ks,
    ks,
    D: int,
    n_draws: int,
    n_samples: int,
    generator: torch.Generator,
    values: str = "uniform",
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Theorem 3.3 with certified constants, against the measured one-step error.

    For every filter length l in `ls` and number of filters K in `Ks`, `n_draws` Gaussian banks
    (K, M, l) with Theorem 3.1's N(0, 1)/sqrt(M l) entries give W^T (MD x Kn, stride 1, the block
    model M_k of one region per filter). For every k in `ks`, the model Babel bounds
    (`bounds.delta_upper_bounds`) give delta_k <= dk_upper and delta_2k <= d2k_upper (M_k^2: 2k
    atoms, at most 2 per filter), so Theorem 3.3 *certifies* ||x_hat - x|| / ||x|| <= certified =
    thm33_bound(dk_upper, d2k_upper) for every code of M_k (inf where a constant reaches 1). On the
    same W, `n_samples` codes with `values` nonzeros measure the one-step error of Figure 2(c)
    (known switches): its mean and maximum.

    Returns one row per (l, K, draw, k), in that order: M, l, K, K_over_M, D, n, draw, k, dk_upper,
    d2k_upper, certified, non_vacuous (certified < 1), measured_mean, measured_max. Every draw comes
    from `generator`, in row order."""
    M, D = check_int(M, "M"), check_int(D, "D")
    grids = {}
    for name, vs in (("ls", ls), ("Ks", Ks), ("ks", ks)):
        if isinstance(vs, (str, bytes)) or not hasattr(vs, "__len__") or len(vs) == 0:
            raise ValueError(f"{name}: expected a non-empty list of whole numbers, got {vs!r}")
        grids[name] = [int(v) for v in check_values(list(vs), name, low=1, integer=True)]
    if max(grids["ls"]) > D:
        raise ValueError(f"ls: expected filter lengths at most D = {D}, got {max(grids['ls'])}")
    if max(grids["ks"]) > min(grids["Ks"]):
        raise ValueError(
            f"ks: expected at most min(Ks) = {min(grids['Ks'])} nonzeros (one per filter), got {max(grids['ks'])}"
        )
    n_draws, n_samples = check_int(n_draws, "n_draws"), check_int(n_samples, "n_samples")
    check_choice(values, "values", VALUES)
    check_generator(generator)
    rows = []
    points = [(l, K) for l in grids["ls"] for K in grids["Ks"]]
    for l, K in progress(points, "Theorem 3.3 grid"):
        for draw in range(n_draws):
            W = ConvOperator(gaussian_filters(K, M, l, generator=generator, device=device), D)
            model = PoolingModel(W.out_shape)
            one = delta_upper_bounds(W, model, grids["ks"])
            two = delta_upper_bounds(W, model, grids["ks"], per_region=2)
            certified = np.atleast_1d(thm33_bound(one.model_babel, two.model_babel))
            for i, k in enumerate(grids["ks"]):
                e = one_step_errors(W, k, n_samples, generator=generator, values=values)
                rows.append(
                    dict(
                        M=M,
                        l=l,
                        K=K,
                        K_over_M=K / M,
                        D=D,
                        n=W.n,
                        draw=draw,
                        k=k,
                        dk_upper=float(one.model_babel[i]),
                        d2k_upper=float(two.model_babel[i]),
                        certified=float(certified[i]),
                        non_vacuous=bool(certified[i] < 1),
                        measured_mean=float(e.mean()),
                        measured_max=float(e.max()),
                    )
                )
    return pd.DataFrame(rows)
