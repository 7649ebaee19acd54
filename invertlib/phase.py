"""Phase transitions of CNN-structured recovery in Donoho-Tanner coordinates (beyond the paper).

Phi = W^T is the MD x Kn matrix of a 1-D layer with K Gaussian filters of M channels and length l
(Theorem 3.1's scaling) on inputs of length D, n = D - l + 1 shifts; codes z lie in M_k of
`PoolingModel((K, n), pool)` (one nonzero per pooling region) and x = W^T z. A compressive-sensing
reader places such a problem in the (delta, rho) plane of Donoho & Tanner:

    delta = MD / (Kn)   (undersampling: rows per column)      rho = k / (MD)   (nonzeros per row)

`phase_trials` runs recovery on a grid of (delta, rho) cells (delta through the number of filters
K, rho through k) for three methods that see the same codes:

* ``"model-IHT"``: Algorithm 1 with the pooling model's projection 𝕄(., k) on W^T;
* ``"IHT"``: plain IHT (keep the k largest entries, no structure) on the same W^T;
* ``"IHT (Gaussian)"``: plain IHT on an unstructured MD x Kn matrix with i.i.d. N(0, 1/(MD))
  entries (columns of unit norm in expectation, like the atoms of W^T).

All use the normalised step of Blumensath & Davies (2010) and a fixed number of iterations;
success is ||z_hat - z|| / ||z|| <= success_tol (1e-3 by default). The one-step reconstruction
of each method, x_hat = Phi 𝕄(Phi^T x, k) (for model-IHT: the CNN layer and its tied decoder of
Theorem 3.3), is scored separately by ||x_hat - x|| / ||x|| <= one_step_tol (0.5).

`phase_cells` counts the successes of every cell; `phase_boundaries` fits the 50 % point in rho at
every delta (`logistic_boundary`, the random matrices as clusters); `dt_weak_threshold` is the l1
weak threshold rho_W(delta) of Donoho & Tanner for Gaussian matrices, the usual reference curve.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from ._checks import check_int, check_values
from .conv import ConvOperator, dense_operator
from .filters import gaussian_filters
from .iht import model_iht, one_step_inverse
from .metrics import relative_error
from .progress import progress
from .rng import check_generator
from .sparsity import VALUES, PoolingModel

METHODS = ("model-IHT", "IHT", "IHT (Gaussian)")
CRITERIA = {"iht": "iht_success", "one_step": "one_step_success"}


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
# Logistic 50 % boundary


def logistic_boundary(rho, successes, trials, *, groups=None, max_iter: int = 100) -> dict:
    """The 50 % point of P(success | rho) = 1 / (1 + exp(-(a + b rho))) at one delta.

    rho, successes, trials: one value per row (C,), a row being a cell or a cell's share of one
    random matrix. The fit is Firth's penalised maximum likelihood (Firth 1993; Heinze & Schemper
    2002 for grouped data): it stays finite when the cells separate perfectly (all successes below
    some rho, all failures above), which plain maximum likelihood does not. Newton iterations on
    the modified score U* = X^T (s - t p + h (1/2 - p)), h the hat values, rho centred and scaled.

    groups: optional labels (C,) of the random matrix each row's trials used. Trials that share a
    matrix are not independent, so the binomial (Wald) standard error understates the uncertainty
    of a boundary drawn from a few matrices; with groups, the cluster-robust (sandwich) covariance
    I^-1 (G/(G-1) sum_g U_g U_g^T) I^-1 over the G groups is computed too.

    Returns {"rho50": -a / b, "se_wald": its standard error from the inverse Fisher information
    (delta method), "se_cluster": the same from the cluster-robust covariance (NaN without
    groups), "se": the larger of the two, "intercept": a, "slope": b, "inside": whether rho50 lies
    inside the range of rho tried (outside, it is an extrapolation: the transition was not
    bracketed), "decreasing": b < 0}.
    """
    rho = check_values(rho, "rho").reshape(-1)
    trials = check_values(trials, "trials", low=1, integer=True).reshape(-1)
    successes = check_values(successes, "successes", low=0, integer=True).reshape(-1)
    for name, a in (("successes", successes), ("trials", trials)):
        if len(a) != len(rho):
            raise ValueError(f"{name}: expected one value per rho ({len(rho)} cells), got {len(a)}")
    if (successes > trials).any():
        raise ValueError(f"successes: expected at most trials per cell, got {successes[successes > trials][0]:g}")
    if len(np.unique(rho)) < 2:
        raise ValueError(f"rho: a logistic fit needs at least two distinct values, got {np.unique(rho).tolist()}")
    if groups is not None:
        groups = np.asarray(groups).reshape(-1)
        if len(groups) != len(rho):
            raise ValueError(f"groups: expected one label per cell ({len(rho)}), got {len(groups)}")
        if len(np.unique(groups)) < 2:
            raise ValueError("groups: a cluster-robust standard error needs at least two groups")
    max_iter = check_int(max_iter, "max_iter")
    centre, scale = rho.mean(), rho.std()
    X = np.stack([np.ones_like(rho), (rho - centre) / scale], axis=1)
    beta = np.zeros(2)
    for _ in range(max_iter):
        p = 1 / (1 + np.exp(-(X @ beta)))
        w = trials * p * (1 - p)
        cov = np.linalg.inv(X.T @ (w[:, None] * X))
        h = w * np.einsum("ij,jk,ik->i", X, cov, X)
        step = cov @ (X.T @ (successes - trials * p + h * (0.5 - p)))
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
    p = 1 / (1 + np.exp(-(X @ beta)))
    cov = np.linalg.inv(X.T @ ((trials * p * (1 - p))[:, None] * X))
    a0, b0 = beta
    grad = np.array([-scale / b0, scale * a0 / b0**2])  # of rho50 = centre - scale a0 / b0
    se_wald = float(np.sqrt(grad @ cov @ grad))
    se_cluster = math.nan
    if groups is not None:
        labels = np.unique(groups)
        score = X * (successes - trials * p)[:, None]
        U = np.stack([score[groups == g].sum(axis=0) for g in labels])
        robust = cov @ (len(labels) / (len(labels) - 1) * U.T @ U) @ cov
        se_cluster = float(np.sqrt(grad @ robust @ grad))
    rho50 = centre - scale * a0 / b0
    return dict(
        rho50=float(rho50),
        se_wald=se_wald,
        se_cluster=se_cluster,
        se=se_wald if math.isnan(se_cluster) else max(se_wald, se_cluster),
        intercept=float(a0 - b0 * centre / scale),
        slope=float(b0 / scale),
        inside=bool(rho.min() <= rho50 <= rho.max()),
        decreasing=bool(b0 < 0),
    )


def _check_tol(tol, name: str) -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < math.inf:
        raise ValueError(f"{name}: expected a positive number, got {tol!r}")
    return float(tol)


_TRIAL_COLUMNS = {
    "pool",
    "model",
    "method",
    "K",
    "n",
    "delta",
    "k",
    "rho",
    "rho_max",
    "bank",
    "iht_error",
    "iht_error_half",
    "one_step_error",
}
_CELL = ["pool", "model", "method", "K", "n", "delta", "k", "rho", "rho_max"]


def phase_cells(
    trials: pd.DataFrame, *, success_tol: float = 1e-3, one_step_tol: float = 0.5, by_bank: bool = False
) -> pd.DataFrame:
    """The cells of a `phase_trials` table: one row per (pool, method, delta, rho) cell (per bank
    too with `by_bank`) with trials; iht_success (||z_hat - z|| / ||z|| <= success_tol after all
    iterations) and iht_success_half (after half of them); lost (trials that had succeeded at half
    the iterations and not at the end); one_step_success (||x_hat - x|| / ||x|| <= one_step_tol);
    the probabilities p_iht, p_one_step; the median errors iht_median_error, one_step_median_error."""
    missing = _TRIAL_COLUMNS - set(trials.columns)
    if missing:
        raise ValueError(f"trials: expected a phase_trials table, missing columns {sorted(missing)}")
    success_tol, one_step_tol = _check_tol(success_tol, "success_tol"), _check_tol(one_step_tol, "one_step_tol")
    t = trials.assign(
        iht_success=trials["iht_error"] <= success_tol,
        iht_success_half=trials["iht_error_half"] <= success_tol,
        one_step_success=trials["one_step_error"] <= one_step_tol,
    )
    t["lost"] = t["iht_success_half"] & ~t["iht_success"]
    keys = _CELL + (["bank"] if by_bank else [])
    cells = t.groupby(keys, sort=False, dropna=False).agg(
        trials=("iht_error", "size"),
        iht_success=("iht_success", "sum"),
        iht_success_half=("iht_success_half", "sum"),
        lost=("lost", "sum"),
        one_step_success=("one_step_success", "sum"),
        iht_median_error=("iht_error", "median"),
        one_step_median_error=("one_step_error", "median"),
    )
    cells = cells.reset_index()
    cells["p_iht"] = cells["iht_success"] / cells["trials"]
    cells["p_one_step"] = cells["one_step_success"] / cells["trials"]
    return cells


def phase_boundaries(
    trials: pd.DataFrame, criterion: str = "iht", *, success_tol: float = 1e-3, one_step_tol: float = 0.5
) -> pd.DataFrame:
    """`logistic_boundary` of every (pool, method, delta) of a `phase_trials` table, for the success
    criterion "iht" (||z_hat - z|| / ||z|| <= success_tol) or "one_step" (||x_hat - x|| / ||x|| <=
    one_step_tol), with the random matrices (banks) as clusters; one row each with model, K, delta, cells
    (rho values tried), rho_top (the largest) and p_top (the success probability there), rho50, se
    (the larger of the Wald and the cluster-robust standard errors), se_wald, se_cluster,
    bracketed, all_success, and the Donoho-Tanner rho_W(delta) (dt_rho).

    rho50 and the standard errors are NaN unless the transition is bracketed: the fitted 50 % point
    lies inside the rho values tried and success falls with rho. all_success marks rows where every
    trial of every cell succeeded (the boundary lies above the largest rho tried, e.g. the model's
    limit)."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion: expected one of {tuple(CRITERIA)}, got {criterion!r}")
    col = CRITERIA[criterion]
    per_bank = phase_cells(trials, success_tol=success_tol, one_step_tol=one_step_tol, by_bank=True)
    rows = []
    for (pool, method, K), g in per_bank.groupby(["pool", "method", "K"], sort=False, dropna=False):
        top = g[g["k"] == g["k"].max()]
        row = dict(
            pool=pool,
            model=g["model"].iloc[0],
            method=method,
            K=K,
            delta=float(g["delta"].iloc[0]),
            cells=g["k"].nunique(),
            rho_top=float(top["rho"].iloc[0]),
            p_top=float(top[col].sum() / top["trials"].sum()),
            all_success=bool(g["trials"].eq(g[col]).all()),
        )
        nan = dict(rho50=math.nan, se=math.nan, se_wald=math.nan, se_cluster=math.nan, bracketed=False)
        if row["cells"] < 2:  # the model allows a single k here: nothing to fit
            rows.append(dict(row, **nan))
            continue
        groups = g["bank"] if g["bank"].nunique() > 1 else None
        fit = logistic_boundary(g["rho"], g[col], g["trials"], groups=groups)
        if fit["inside"] and fit["decreasing"]:
            rows.append(dict(row, bracketed=True, **{k: fit[k] for k in ("rho50", "se", "se_wald", "se_cluster")}))
        else:
            rows.append(dict(row, **nan))
    out = pd.DataFrame(rows)
    out["dt_rho"] = dt_weak_threshold(out["delta"].to_numpy())
    return out


# ---------------------------------------------------------------------------------------------
# Trials over a (delta, rho) grid


def filters_for_delta(delta, M: int, D: int, l: int) -> int:
    """The number of filters K that brings delta = MD / (Kn) nearest to `delta` (n = D - l + 1)."""
    delta = float(check_values(delta, "delta", low=0, high=1, low_open=True))
    n = D - l + 1
    return max(1, round(M * D / (delta * n)))


def gaussian_matrix(
    m: int,
    N: int,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> ConvOperator:
    """An m x N matrix with i.i.d. N(0, 1/m) entries (columns of unit norm in expectation), as a
    ConvOperator (see `conv.dense_operator`), drawn on the generator's device."""
    m, N = check_int(m, "m"), check_int(N, "N")
    check_generator(generator)
    A = torch.randn(m, N, generator=generator, dtype=dtype, device=generator.device) / math.sqrt(m)
    return dense_operator(A.to(device))


def _check_grid(values, name: str) -> np.ndarray:
    a = check_values(values, name, low=0, high=1, low_open=True).reshape(-1)
    if a.size == 0:
        raise ValueError(f"{name}: expected at least one value in (0, 1], got none")
    return a


def phase_trials(
    deltas,
    rhos,
    *,
    M: int,
    D: int,
    l: int,
    pool: int | None,
    n_trials: int,
    n_banks: int,
    n_iter: int,
    generator: torch.Generator,
    values: str = "uniform",
    methods: tuple[str, ...] = METHODS,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Recovery trials on the (delta, rho) grid; one row per trial of every method.

    For every delta the number of filters is K = `filters_for_delta(delta, M, D, l)` (targets that
    give the same K are run once; the row's delta is the exact MD / (Kn)); for every rho,
    k = round(rho MD) (at least 1). Cells whose k exceeds the model's number of regions R (a code in
    M_k has at most one nonzero per region: rho <= R / (MD)) are not run. `n_banks` filter banks
    (and as many Gaussian matrices) are drawn per delta, each recovering n_trials / n_banks codes of
    every cell, all cells and trials of a bank in one batch. Nonzeros are U[-1, 1] (`values`).
    Every method sees the same codes, and the draws do not depend on `methods`.

    Each method runs `n_iter` iterations of IHT with the normalised step. Columns: pool (the
    region side; n for one region per filter), model (its label, "2 shifts" or "one per filter"),
    method, K, n, delta, k, rho, rho_max = R / (MD), bank, iht_error = ||z_hat - z|| / ||z|| after
    n_iter iterations, iht_error_half the same after n_iter // 2, one_step_error = ||x_hat - x|| /
    ||x|| for x_hat = Phi 𝕄(Phi^T x, k).
    `phase_cells` turns them into success counts per cell, `phase_boundaries` into 50 % boundaries.
    """
    deltas, rhos = _check_grid(deltas, "deltas"), _check_grid(rhos, "rhos")
    M, D, l = check_int(M, "M"), check_int(D, "D"), check_int(l, "l")
    if l > D:
        raise ValueError(f"l: expected a filter length at most D = {D}, got {l}")
    n_trials, n_banks = check_int(n_trials, "n_trials"), check_int(n_banks, "n_banks")
    n_iter = check_int(n_iter, "n_iter")
    if n_trials % n_banks:
        raise ValueError(f"n_trials: expected a multiple of n_banks = {n_banks} (trials per bank), got {n_trials}")
    if values not in VALUES:
        raise ValueError(f"values: expected one of {VALUES}, got {values!r}")
    if isinstance(methods, str) or not methods or any(m not in METHODS for m in methods):
        raise ValueError(f"methods: expected a non-empty tuple drawn from {METHODS}, got {methods!r}")
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype: expected torch.float32 or torch.float64, got {dtype}")
    check_generator(generator)
    MD, half, per_bank = M * D, max(n_iter // 2, 1), n_trials // n_banks
    Ks = list(dict.fromkeys(filters_for_delta(d, M, D, l) for d in deltas))
    frames = []
    for K in progress(Ks, "phase diagram (one delta at a time)"):
        model = PoolingModel((K, D - l + 1), pool)
        Kn = model.code_size
        ks = sorted({max(1, round(r * MD)) for r in rhos if round(r * MD) <= model.n_regions})
        if not ks:
            continue
        kvec = torch.tensor(ks, device=device).repeat_interleave(per_bank)
        top_k = {
            "model-IHT": model,
            "IHT": PoolingModel(model.code_shape, 1),
            "IHT (Gaussian)": PoolingModel((Kn, 1), 1),
        }
        for bank in range(n_banks):
            W = ConvOperator(gaussian_filters(K, M, l, generator=generator, dtype=dtype, device=device), D)
            G = gaussian_matrix(MD, Kn, generator=generator, dtype=dtype, device=device)
            z = torch.cat([model.sample(k, per_bank, generator=generator, values=values, dtype=dtype) for k in ks])
            z = z.to(device)
            for method in methods:
                op = G if method == "IHT (Gaussian)" else W
                code = z.reshape(-1, Kn, 1) if op is G else z
                x = op.adjoint(code)
                project = top_k[method].projector(kvec)
                run = model_iht(op, x, project, n_iter=n_iter, step="normalized", keep=(half,))
                frames.append(
                    pd.DataFrame(
                        dict(
                            pool=model.pool,
                            model="one per filter" if model.pool == model.n else f"{model.pool} shifts",
                            method=method,
                            K=K,
                            n=model.n,
                            delta=MD / Kn,
                            k=kvec.cpu().numpy(),
                            rho=kvec.cpu().numpy() / MD,
                            rho_max=model.n_regions / MD,
                            bank=bank,
                            iht_error=relative_error(run.z, code).double().cpu().numpy(),
                            iht_error_half=relative_error(run.snapshots[half], code).double().cpu().numpy(),
                            one_step_error=relative_error(one_step_inverse(op, x, project), x).double().cpu().numpy(),
                        )
                    )
                )
    if not frames:
        raise ValueError(f"rhos: no cell is inside the model (every k = round(rho MD) exceeds its regions), got {rhos}")
    # by delta (K descending), then method, cell and bank: the order of a table read cell by cell
    out = pd.concat(frames, ignore_index=True)
    method_order = out["method"].map({m: i for i, m in enumerate(methods)})
    order = np.lexsort((out["bank"], out["k"], method_order, -out["K"]))
    return out.iloc[order].reset_index(drop=True)
