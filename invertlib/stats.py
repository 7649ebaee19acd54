"""Statistics the notebooks share: the logistic 50 % boundary of a phase transition and the
percentile bootstrap of a statistic over resampled units (photographs, random draws).

* `logistic_boundary`: Firth-penalised logistic regression of success on rho, with Wald and
  cluster-robust standard errors of its 50 % point (notebook 11's boundaries).
* `bootstrap_interval`: a percentile bootstrap interval of any statistic of per-unit values,
  resampling units (not the values pooled inside a unit) with an explicit generator.
* `bootstrap_indices` and `percentile_interval`: the same, done by hand when several statistics
  must see the same resamples (every row of a table resampled over the same photographs) or the
  statistic is vectorised over resamples: draw the unit indices once, compute each statistic for
  every resample, and read its interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from .checks import check_int, check_values, to_numpy


@dataclass(frozen=True)
class LogisticBoundary:
    """The fitted 50 % point of P(success | rho) = 1 / (1 + exp(-(a + b rho))).

    rho50 = -a / b; se_wald its standard error from the inverse Fisher information (delta method);
    se_cluster the same from the cluster-robust covariance (NaN without groups); se the larger of
    the two; intercept a and slope b in rho's units; inside: rho50 lies inside the range of rho
    tried (outside, it is an extrapolation: the transition was not bracketed); decreasing: b < 0.
    """

    rho50: float
    se_wald: float
    se_cluster: float
    se: float
    intercept: float
    slope: float
    inside: bool
    decreasing: bool


def logistic_boundary(rho, successes, trials, *, groups=None, max_iter: int = 100) -> LogisticBoundary:
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

    Returns a `LogisticBoundary`.
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
        groups = to_numpy(groups).reshape(-1)
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
    if abs(b0) < 1e-12:  # the success rate does not change with rho: no 50 % point anywhere
        flat = math.nan if groups is None else math.inf
        return LogisticBoundary(
            rho50=math.inf,
            se_wald=math.inf,
            se_cluster=flat,
            se=math.inf,
            intercept=float(a0),
            slope=0.0,
            inside=False,
            decreasing=False,
        )
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
    return LogisticBoundary(
        rho50=float(rho50),
        se_wald=se_wald,
        se_cluster=se_cluster,
        se=se_wald if math.isnan(se_cluster) else max(se_wald, se_cluster),
        intercept=float(a0 - b0 * centre / scale),
        slope=float(b0 / scale),
        inside=bool(rho.min() <= rho50 <= rho.max()),
        decreasing=bool(b0 < 0),
    )


@dataclass(frozen=True)
class BootstrapInterval:
    """A percentile bootstrap interval: `estimate` (the statistic on the sample itself), `low` and
    `high` (the (1 - level)/2 and (1 + level)/2 quantiles of the statistic over `n_resamples`
    resamples of the units), and `resamples`, the statistic of every resample (n_resamples,), from
    which the stability of a verdict (the share of resamples that give the same one) is read."""

    estimate: float
    low: float
    high: float
    level: float
    n_resamples: int
    resamples: np.ndarray
    method: str = "percentile bootstrap"

    @property
    def interval(self) -> tuple[float, float]:
        return (self.low, self.high)


def _resampling(values, generator, n_resamples, expected: str) -> tuple[np.ndarray, int]:
    """The checked inputs of a bootstrap: values as floats (at least two finite rows; exactly two
    dimensions when `expected` names an (N, C) array), the generator, n_resamples >= 2."""
    values = to_numpy(values).astype(float)
    if values.ndim == 0 or len(values) < 2 or ("(N, C)" in expected and values.ndim != 2):
        raise ValueError(f"values: expected {expected}, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("values: expected finite numbers, got NaN or inf")
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator: expected a numpy.random.Generator, got {type(generator).__name__}")
    return values, check_int(n_resamples, "n_resamples", minimum=2)


def bootstrap_interval(
    values,
    statistic=np.mean,
    *,
    generator: np.random.Generator,
    n_resamples: int = 2000,
    level: float = 0.95,
    units: str = "units",
) -> BootstrapInterval:
    """Percentile bootstrap of statistic(values) over the units of `values` (N, ...): each resample
    draws N units with replacement (whole rows: the values of one photograph stay together) and
    applies `statistic` to the (N, ...) array of the drawn rows. Resampling is done by
    `scipy.stats.bootstrap` (percentile method) with the given numpy generator, so the same
    generator state gives the same interval.

    statistic: a function of an (N, ...) array returning a number (default the mean over units).
    units: what the rows are, for the `method` text ("photographs").
    """
    values, n_resamples = _resampling(values, generator, n_resamples, "at least two units to resample")
    level = float(check_values(level, "level", low=0, high=1, low_open=True, high_open=True))
    index = np.arange(len(values))

    def stat(idx, axis=-1):  # scipy resamples the unit indices; the statistic sees whole rows
        idx = np.asarray(idx)
        return np.array([statistic(values[i]) for i in idx.reshape(-1, idx.shape[-1])]).reshape(idx.shape[:-1])

    res = scipy.stats.bootstrap(
        (index,),
        stat,
        n_resamples=n_resamples,
        confidence_level=level,
        method="percentile",
        rng=generator,
        vectorized=True,
    )
    return BootstrapInterval(
        estimate=float(statistic(values)),
        low=float(res.confidence_interval.low),
        high=float(res.confidence_interval.high),
        level=level,
        n_resamples=n_resamples,
        resamples=np.asarray(res.bootstrap_distribution, dtype=float),
        method=_method(len(values), units, n_resamples),
    )


FEW_UNITS = 10  # below this many units a percentile interval is too narrow (it undercovers): the text says so


def _method(n_units: int, units: str, n_resamples: int, of: str = "") -> str:
    text = f"percentile bootstrap{f' of {of}' if of else ''} over the {n_units} {units}, {n_resamples} resamples"
    return text + (f" (only {n_units} {units}: the interval is too narrow)" if n_units < FEW_UNITS else "")


def bootstrap_indices(n_units: int, *, generator: np.random.Generator, n_resamples: int = 2000) -> np.ndarray:
    """Unit indices of `n_resamples` bootstrap resamples, (n_resamples, n_units) int: each row
    draws n_units units with replacement. Index per-unit arrays with it (values[idx] is
    (n_resamples, n_units, ...)) to compute a statistic for every resample at once."""
    n_units = check_int(n_units, "n_units", minimum=2)
    n_resamples = check_int(n_resamples, "n_resamples", minimum=2)
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator: expected a numpy.random.Generator, got {type(generator).__name__}")
    return generator.integers(0, n_units, size=(n_resamples, n_units))


def bootstrap_means(values, *, generator: np.random.Generator, n_resamples: int = 2000, chunk: int = 50) -> np.ndarray:
    """The column means of `values` (N, C) on `n_resamples` bootstrap resamples of its N rows,
    (n_resamples, C), for N too large for `bootstrap_indices` (50,000 images x 2000 resamples
    would be 800 MB of indices): each resample is drawn as multinomial counts of the rows (the
    same distribution as N draws with replacement), `chunk` resamples at a time, and its means
    are counts @ values / N."""
    values, n_resamples = _resampling(values, generator, n_resamples, "an (N, C) array with N >= 2 rows to resample")
    chunk = check_int(chunk, "chunk")
    n = len(values)
    out = []
    for start in range(0, n_resamples, chunk):
        counts = generator.multinomial(n, np.full(n, 1.0 / n), size=min(chunk, n_resamples - start))
        out.append(counts @ values / n)
    return np.concatenate(out)


def percentile_interval(
    estimate, resamples, *, n_units: int, units: str = "units", level: float = 0.95, of: str = ""
) -> BootstrapInterval:
    """The percentile interval of a statistic from its value on every resample (`resamples`,
    shape (n_resamples,), e.g. computed with `bootstrap_indices`): the (1 - level)/2 and
    (1 + level)/2 quantiles; `estimate` is the statistic on the sample itself, `n_units` the
    number of units resampled and `of` what the statistic is, when it is not the claim's own number
    (a margin behind an ordering), both for the `method` text."""
    resamples = to_numpy(resamples).astype(float).reshape(-1)
    if len(resamples) < 2 or not np.isfinite(resamples).all():
        raise ValueError(f"resamples: expected at least two finite values, got {resamples[:5]!r}")
    level = float(check_values(level, "level", low=0, high=1, low_open=True, high_open=True))
    low, high = np.quantile(resamples, [(1 - level) / 2, (1 + level) / 2])
    return BootstrapInterval(
        estimate=float(estimate),
        low=float(low),
        high=float(high),
        level=level,
        n_resamples=len(resamples),
        resamples=resamples,
        method=_method(check_int(n_units, "n_units", minimum=2), units, len(resamples), of),
    )


def correlation_rows(rows, target) -> np.ndarray:
    """Pearson correlation of every row of `rows` (R, L) with `target` (L,), shape (R,): the
    correlation of a profile (a table row, e.g. Table 2's 18 layers) on every bootstrap resample at
    once. A constant row has no correlation: NaN."""
    rows, target = to_numpy(rows).astype(float), to_numpy(target).astype(float).reshape(-1)
    if rows.ndim != 2 or rows.shape[1] != len(target) or len(target) < 2:
        raise ValueError(
            f"rows: expected (R, L) with L = len(target) >= 2, got rows {rows.shape} and target {target.shape}"
        )
    centred = rows - rows.mean(axis=1, keepdims=True)
    t = target - target.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        return centred @ t / (np.linalg.norm(centred, axis=1) * np.linalg.norm(t))


def rank_correlation_rows(rows, target) -> np.ndarray:
    """Spearman's rank correlation of every row of `rows` (R, L) with `target` (L,), shape (R,): the
    Pearson correlation (`correlation_rows`) of their ranks (ties get their mean rank)."""
    rows, target = to_numpy(rows).astype(float), to_numpy(target).astype(float).reshape(-1)
    if rows.ndim != 2 or rows.shape[1] != len(target) or len(target) < 2:
        raise ValueError(
            f"rows: expected (R, L) with L = len(target) >= 2, got rows {rows.shape} and target {target.shape}"
        )
    return correlation_rows(scipy.stats.rankdata(rows, axis=1), scipy.stats.rankdata(target))
