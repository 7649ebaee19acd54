"""Gaussian filter banks (Theorem 3.1) and filter normalisation (unit-norm rows of W).

A filter bank is a tensor w of shape (K, M, l) for 1-D convolution or (K, M, l, l) for 2-D:
K filters, each spanning M input channels with spatial size l (or l x l).
"""

from __future__ import annotations

import math

import torch

from .checks import as_tensor, check_choice, check_int, check_nonzero, real_tensor
from .rng import check_generator

SCALES = ("paper", "unit", "none")


def gaussian_filters(
    K: int,
    M: int,
    l: int,
    *,
    generator: torch.Generator,
    ndim: int = 1,
    scale: str = "paper",
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Draw K random filters of M channels and spatial size l (1-D) or l x l (2-D).

    Entries are i.i.d. N(0, 1), then scaled according to `scale`:

    * ``"paper"``: multiplied by 1/sqrt(M l^ndim), the scaling of Theorem 3.1 (1/sqrt(lM) for
      1-D filters; 1/sqrt(l^2 M) for l x l filters), so that E ||w_i||^2 = 1;
    * ``"unit"``: each filter w_i (all M l^ndim entries) divided by its l2 norm. Under valid
      convolution every row of W holds one whole filter, so this gives W unit-norm rows (Sec. 2.2);
    * ``"none"``: raw N(0, 1) entries (Section 2.1's "Gaussian random filters").

    Returns a tensor of shape (K, M, l) or (K, M, l, l).
    """
    K, M, l = check_int(K, "K"), check_int(M, "M"), check_int(l, "l")
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype: expected torch.float32 or torch.float64, got {dtype}")
    if ndim not in (1, 2):
        raise ValueError(f"ndim: expected 1 or 2 spatial dimensions, got {ndim!r}")
    check_choice(scale, "scale", SCALES)
    check_generator(generator)
    shape = (K, M) + (l,) * ndim
    w = torch.randn(shape, generator=generator, dtype=dtype, device=generator.device).to(device)
    if scale == "paper":
        w = w / math.sqrt(M * l**ndim)
    elif scale == "unit":
        w = normalize_filters(w)
    return w


def filter_norms(w) -> torch.Tensor:
    """||w_i|| of every filter (K, ...) -> (K,). Where squaring would overflow (entries near 1e200)
    or underflow (near 1e-200) the filter is first scaled by its largest entry; elsewhere this is
    the plain norm, bit for bit."""
    f = as_tensor(w, "w").flatten(1)
    norms = f.norm(dim=1)
    if not f.is_floating_point():
        return norms
    risky = ~torch.isfinite(norms) | (norms < torch.finfo(f.dtype).tiny ** 0.5)
    if bool(risky.any()):
        peak = f[risky].abs().amax(dim=1)
        scaled = (f[risky] / torch.where(peak > 0, peak, torch.ones_like(peak))[:, None]).norm(dim=1)
        norms = norms.clone()
        norms[risky] = peak * scaled
    return norms


def normalize_filters(w) -> torch.Tensor:
    """Scale every filter w_i (shape (M, l) or (M, l, l)) to unit l2 norm.

    w: (K, M, l) or (K, M, l, l). An all-zero filter (a dead unit of a trained network) cannot
    be normalised and is an error naming its index.
    """
    w = real_tensor(w, "w")
    if w.dim() not in (3, 4):
        raise ValueError(f"w: expected a filter bank of shape (K, M, l) or (K, M, l, l), got {tuple(w.shape)}")
    norms = filter_norms(w)
    check_nonzero(norms, "w", "filters", "they cannot be normalized")
    return w / norms.view(-1, *([1] * (w.dim() - 1)))


def orthonormal_filters(
    M: int,
    l: int,
    *,
    generator: torch.Generator,
    ndim: int = 1,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """K = M l^ndim filters forming an orthonormal basis of R^{M l^ndim} (Q of a Gaussian QR).

    With stride t = l (non-overlapping windows) and D a multiple of l, the layer's W is square
    (Kn = MD) and orthogonal: the setting of Proposition 1. Returns (K, M, l) or (K, M, l, l).
    """
    M, l = check_int(M, "M"), check_int(l, "l")
    if ndim not in (1, 2):
        raise ValueError(f"ndim: expected 1 or 2 spatial dimensions, got {ndim!r}")
    check_generator(generator)
    size = M * l**ndim
    Q, R = torch.linalg.qr(torch.randn(size, size, generator=generator, dtype=dtype))
    Q = Q * torch.sign(torch.diagonal(R))  # the Haar-distributed orthogonal matrix
    return Q.T.reshape((size, M) + (l,) * ndim).to(device)
