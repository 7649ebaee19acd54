"""The paper's two theorems as functions of their parameters.

Theorem 3.1 (model-RIP of random CNN filters). With MK filters of length l whose entries are
i.i.d. N(0, 1)/sqrt(M l), stride t and n = (D - l)/t + 1 shifts, if

    M l^2 / D >= (C k / delta_k^2) (log K + log n - log eps),

then W^T satisfies model-RIP for M_k with constant delta_k with probability 1 - eps. The constant
C is not given; notebook 03 fits it.

Theorem 3.3 (one-step reconstruction). If W^T satisfies M_k^2-RIP with delta_k <= delta_2k < 1,
then x_hat = W^T 𝕄(W x, k) satisfies

    ||x_hat - x|| <= 5 delta_2k / (1 - delta_k) * sqrt((1 + delta_2k) / (1 - delta_2k)) ||x||.

Beyond the paper, the reference curve of compressive sensing: the Donoho-Tanner l1 weak threshold
rho_W(delta) (`dt_weak_threshold`), against which notebook 11 places CNN-structured recovery.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from ._checks import check_values


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
    delta = check_values(delta, "delta", low=0, high=1, low_open=True, high_open=True)
    return _constant(C) * _log_term(k, K, n, eps) / delta**2


def thm31_delta(*, M, l, D, k, K, n, eps, C=1.0):
    """delta_k predicted by Theorem 3.1 at equality: sqrt(C k (log K + log n - log eps) D / (M l^2))."""
    return np.sqrt(_constant(C) * _log_term(k, K, n, eps) * _size(D, "D") / (_size(M, "M") * _size(l, "l") ** 2))


def thm31_max_k(*, M, l, D, K, n, delta, eps, C=1.0):
    """The largest sparsity k for which Theorem 3.1 guarantees model-RIP constant `delta`:
    k = delta^2 M l^2 / (C D (log K + log n - log eps)), the requirement solved for k (not rounded;
    below 1 the theorem guarantees nothing). Elementwise on arrays."""
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
    (the theorem says nothing there). Elementwise on arrays."""
    # deltas >= 1 are legitimate measurements (the bound is then infinite); negative ones are not
    dk, d2 = check_values(delta_k, "delta_k", low=0), check_values(delta_2k, "delta_2k", low=0)
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
