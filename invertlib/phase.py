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
every delta (`stats.logistic_boundary`, the random matrices as clusters) beside the l1 weak
threshold rho_W(delta) of Donoho & Tanner for Gaussian matrices (`theory.dt_weak_threshold`), the
usual reference curve; `thm31_boundary` is Theorem 3.1's prediction of each boundary. Every table
keeps the pooling model asked for in its pool column (<NA>: pool=None, one region per filter);
`pool_rows` selects one model's rows.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
import torch

from .checks import check_choice, check_int, check_values
from .conv import ConvOperator, dense_operator
from .filters import gaussian_filters
from .iht import model_iht, one_step_inverse
from .metrics import relative_error
from .progress import progress
from .rng import check_generator
from .sparsity import VALUES, PoolingModel
from .stats import logistic_boundary
from .theory import dt_weak_threshold, thm31_max_k, thm33_delta_for

METHODS = ("model-IHT", "IHT", "IHT (Gaussian)")
CRITERIA = {"iht": "iht_success", "one_step": "one_step_success"}


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
    trials: pd.DataFrame, *, criterion: str = "iht", success_tol: float = 1e-3, one_step_tol: float = 0.5
) -> pd.DataFrame:
    """`logistic_boundary` of every (pool, method, delta) of a `phase_trials` table, for the success
    criterion "iht" (||z_hat - z|| / ||z|| <= success_tol) or "one_step" (||x_hat - x|| / ||x|| <=
    one_step_tol), with the random matrices (banks) as clusters; one row each with model, K, delta, cells
    (rho values tried), rho_top (the largest) and p_top (the success probability there), rho50, se
    (the larger of the Wald and the cluster-robust standard errors), se_wald, se_cluster,
    bracketed, all_success, the Donoho-Tanner rho_W(delta) (dt_rho) and the criterion.

    rho50 and the standard errors are NaN unless the transition is bracketed: the fitted 50 % point
    lies inside the rho values tried and success falls with rho. all_success marks rows where every
    trial of every cell succeeded (the boundary lies above the largest rho tried, e.g. the model's
    limit)."""
    check_choice(criterion, "criterion", CRITERIA)
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
        if fit.inside and fit.decreasing:
            rows.append(
                dict(row, bracketed=True, **{k: getattr(fit, k) for k in ("rho50", "se", "se_wald", "se_cluster")})
            )
        else:
            rows.append(dict(row, **nan))
    out = pd.DataFrame(rows)
    out["dt_rho"] = dt_weak_threshold(out["delta"].to_numpy())
    out["pool"] = out["pool"].astype("Int64")  # the region side asked for, <NA>: one region per filter
    out["criterion"] = criterion
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
    region side asked for; <NA> for pool=None, one region per filter; `pool_rows` selects either),
    model (its label, "2 shifts" or "one per filter"),
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
    check_choice(values, "values", VALUES)
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
                            pool=pd.array([pool] * len(kvec), dtype="Int64"),
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


# ---------------------------------------------------------------------------------------------
# Selecting a pooling model, and Theorem 3.1's prediction of the boundaries


def pool_rows(table: pd.DataFrame, pool: int | None) -> pd.DataFrame:
    """The rows of a phase table (`phase_trials`, `phase_cells` or `phase_boundaries`) run with the
    pooling model asked for as `pool`: a region side, or None for one region per filter (stored as
    <NA> in the pool column)."""
    if not isinstance(table, pd.DataFrame) or "pool" not in table.columns:
        raise ValueError(f"table: expected a phase table with a pool column, got {type(table).__name__}")
    if pool is None:
        return table[table["pool"].isna().to_numpy(bool)]
    pool = check_int(pool, "pool")
    return table[table["pool"].eq(pool).fillna(False).to_numpy(bool)]


def thm31_boundary(
    bounds: pd.DataFrame,
    *,
    M: int,
    D: int,
    l: int,
    C: float,
    eps: float,
    recovery_delta: float = 0.1,
    one_step_tol: float = 0.5,
) -> np.ndarray:
    """Theorem 3.1's prediction of every boundary of a `phase_boundaries` table (its K and
    criterion columns): the largest rho = k / (MD) at which the theorem, with constant C and
    failure probability eps, guarantees the model-RIP its criterion asks for, for K filters of
    M channels and length l on inputs of length D (n = D - l + 1 shifts). Per row:

    * "iht": model-IHT recovers every z in M_k when W^T has M_k^3-RIP with constant at most
      recovery_delta (Baraniuk et al. 2010); codes of M_k^3 have 3k nonzeros, so
      k = thm31_max_k(delta=recovery_delta) / 3;
    * "one_step": Theorem 3.3 bounds the one-step error by one_step_tol when delta_k <= delta_2k
      <= delta* = thm33_delta_for(one_step_tol); codes of M_k^2 have 2k nonzeros, so
      k = thm31_max_k(delta=delta*) / 2.

    Returns rho (one per row), not rounded: below 1 / (MD) the theorem guarantees not even one
    nonzero."""
    if not isinstance(bounds, pd.DataFrame) or not {"K", "criterion"} <= set(bounds.columns):
        raise ValueError(
            f"bounds: expected a phase_boundaries table (columns K, criterion), got {type(bounds).__name__}"
        )
    unknown = set(bounds["criterion"]) - set(CRITERIA)
    if unknown:
        raise ValueError(f"bounds: expected criterion values in {tuple(CRITERIA)}, got {sorted(unknown)}")
    M, D, l = check_int(M, "M"), check_int(D, "D"), check_int(l, "l")
    if l > D:
        raise ValueError(f"l: expected a filter length at most D = {D}, got {l}")
    check_values(bounds["K"], "bounds['K']", low=1, integer=True)
    recovery_delta = float(check_values(recovery_delta, "recovery_delta", low=0, high=1, low_open=True))
    one_step_tol = _check_tol(one_step_tol, "one_step_tol")
    # (model-RIP constant the criterion needs, nonzeros of its model per nonzero of z)
    need = {"iht": (recovery_delta, 3), "one_step": (thm33_delta_for(one_step_tol), 2)}
    rho = np.empty(len(bounds))
    for criterion, (delta, per_k) in need.items():
        rows = (bounds["criterion"] == criterion).to_numpy()
        if rows.any():
            K = bounds["K"].to_numpy()[rows]
            rho[rows] = thm31_max_k(M=M, l=l, D=D, K=K, n=D - l + 1, delta=delta, eps=eps, C=C) / per_k / (M * D)
    return rho


def certified_boundary(
    bounds: pd.DataFrame,
    *,
    M: int,
    D: int,
    l: int,
    n_banks: int,
    generator: torch.Generator,
    recovery_delta: float = 0.1,
    one_step_tol: float = 0.5,
    k_max: int | None = None,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """The *certified* boundary of every row of a `phase_boundaries` table (its K, pool and
    criterion columns): the largest rho = k / (MD) at which the model Babel upper bounds of
    `bounds.delta_upper_bounds` prove the criterion's recovery condition for each of `n_banks`
    Gaussian banks (K, M, l) drawn from `generator` (one set of banks per K, shared by the rows of
    that K; the banks of the trials are not kept, so these are new draws of the same ensemble):

    * "iht": the M_k^3 constant (3k atoms, at most 3 per region) at most recovery_delta
      (Baraniuk et al. 2010), as `thm31_boundary` asks of Theorem 3.1;
    * "one_step": Theorem 3.3's bound with delta_k and delta_2k replaced by their upper bounds at
      most one_step_tol.

    Only k <= k_max are examined (None: every k the model allows; the grid's largest k is enough).
    0 where no k >= 1 is certified for every bank. Unlike Theorem 3.1's prediction this needs no
    constant: it is a proof for the banks drawn, not a statement about the ensemble."""
    from .bounds import delta_upper_bounds
    from .theory import thm33_bound

    if not isinstance(bounds, pd.DataFrame) or not {"K", "criterion", "pool"} <= set(bounds.columns):
        raise ValueError(
            f"bounds: expected a phase_boundaries table (columns K, pool, criterion), got {type(bounds).__name__}"
        )
    unknown = set(bounds["criterion"]) - set(CRITERIA)
    if unknown:
        raise ValueError(f"bounds: expected criterion values in {tuple(CRITERIA)}, got {sorted(unknown)}")
    M, D, l, n_banks = check_int(M, "M"), check_int(D, "D"), check_int(l, "l"), check_int(n_banks, "n_banks")
    if l > D:
        raise ValueError(f"l: expected a filter length at most D = {D}, got {l}")
    check_generator(generator)
    recovery_delta = float(check_values(recovery_delta, "recovery_delta", low=0, high=1, low_open=True))
    one_step_tol = _check_tol(one_step_tol, "one_step_tol")
    k_max = None if k_max is None else check_int(k_max, "k_max")
    pools = [None if pd.isna(p) else int(p) for p in bounds["pool"]]
    largest = {}  # (K, pool, criterion) -> the largest k certified for every bank
    for K in progress(sorted(set(int(K) for K in bounds["K"])), "certified boundary"):
        banks = [ConvOperator(gaussian_filters(K, M, l, generator=generator, device=device), D) for _ in range(n_banks)]
        for pool in dict.fromkeys(p for p, k in zip(pools, bounds["K"], strict=True) if int(k) == K):
            model = PoolingModel(banks[0].out_shape, pool)
            ks = np.arange(1, min(model.n_regions, k_max or model.n_regions) + 1)
            iht_ok = np.ones(len(ks), dtype=bool)
            step_ok = np.ones(len(ks), dtype=bool)
            for W in banks:
                iht_ok &= delta_upper_bounds(W, model, ks, per_region=3).model_babel <= recovery_delta
                b1 = delta_upper_bounds(W, model, ks).model_babel
                b2 = delta_upper_bounds(W, model, ks, per_region=2).model_babel
                step_ok &= np.atleast_1d(thm33_bound(b1, b2)) <= one_step_tol
            for criterion, ok in (("iht", iht_ok), ("one_step", step_ok)):
                # the bounds grow with k, so the certified ks are 1..k*; count the leading run
                largest[(K, pool, criterion)] = int(np.argmin(ok)) if not ok.all() else len(ks)
    keys = zip(bounds["K"].astype(int), pools, bounds["criterion"], strict=True)
    return np.array([largest[key] for key in keys], dtype=float) / (M * D)
