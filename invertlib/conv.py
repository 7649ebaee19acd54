"""The convolution layer as a linear operator W and its adjoint W^T (Section 2.2, Figure 1).

A bank of K filters w (shape (K, M, l) in 1-D, (K, M, l, l) in 2-D) applied to an input x of M
channels of length D (or D x D) with stride t and zero padding p gives, per filter, n outputs:

    n = (D + 2p - l) / t + 1           (Section 2.2 has p = 0: n = (D - l)/t + 1)

which must be an integer. As a matrix, W is Kn x MD (2-D: K n^2 x M D^2):

* row (i, j) = filter i at shift j, rows ordered filter-major: row index i * n + j;
* column (m, d) = channel m at position d, channel-major: column index m * D + d;
* W[(i, j), (m, j t - p + q)] = w[i, m, q] for every filter tap q that lands inside the input.

Wx is the layer's pre-activation h (torch's conv1d/conv2d, a cross-correlation), and W^T h is the
transposed convolution with the same (tied) filters, the decoder of Section 1.2.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._checks import (
    as_tensor,
    check_dtype,
    check_finite,
    check_int,
    check_nonempty,
    check_real,
    check_trailing_shape,
)
from .rng import check_generator

_CONV = {1: F.conv1d, 2: F.conv2d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d}


class ConvOperator:
    """W: the Kn x MD matrix of a convolution layer, applied with fast torch convolutions.

    Parameters
    ----------
    w : tensor (K, M, l) or (K, M, l, l)
        The filter bank; its dtype and device are the operator's.
    input_size : int
        D, the length (1-D) or side (2-D, square maps) of each input channel.
    stride : int
        t >= 1.
    padding : int
        p >= 0 zeros on each side (Section 2.2 uses valid convolution, p = 0).

    Attributes
    ----------
    in_shape : (M, D) or (M, D, D);  out_shape : (K, n) or (K, n, n);  shape : (Kn, MD).
    """

    def __init__(self, w, input_size: int, stride: int = 1, padding: int = 0):
        w = as_tensor(w, "w")
        if w.dim() not in (3, 4):
            raise ValueError(
                f"w: expected a filter bank of shape (K, M, l) for 1-D or (K, M, l, l) "
                f"for 2-D convolution, got {tuple(w.shape)}"
            )
        if w.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"w: expected real floating-point filters (float32 or float64), got {w.dtype}")
        check_nonempty(w, "w")
        check_finite(w, "w")
        self.ndim = w.dim() - 2
        if self.ndim == 2 and w.shape[2] != w.shape[3]:
            raise ValueError(f"w: expected square l x l filters, got {tuple(w.shape[2:])}")
        self.w = w
        self.K, self.M, self.l = int(w.shape[0]), int(w.shape[1]), int(w.shape[2])
        self.D = check_int(input_size, "input_size")
        self.stride = check_int(stride, "stride")
        self.padding = check_int(padding, "padding", minimum=0)
        span = self.D + 2 * self.padding - self.l
        if span < 0:
            raise ValueError(
                f"input_size: D = {self.D} with padding {self.padding} is shorter than the filter length l = {self.l}"
            )
        if span % self.stride:
            raise ValueError(
                f"stride: t = {self.stride} does not tile the input: n = (D + 2p - l)/t + 1 = "
                f"({self.D} + 2*{self.padding} - {self.l})/{self.stride} + 1 = "
                f"{span / self.stride + 1:g} is not an integer"
            )
        self.n = span // self.stride + 1
        self.in_shape = (self.M,) + (self.D,) * self.ndim
        self.out_shape = (self.K,) + (self.n,) * self.ndim
        self.shape = (math.prod(self.out_shape), math.prod(self.in_shape))

    @property
    def dtype(self) -> torch.dtype:
        return self.w.dtype

    @property
    def device(self) -> torch.device:
        return self.w.device

    def __repr__(self) -> str:
        return (
            f"ConvOperator({self.ndim}-D: K={self.K}, M={self.M}, l={self.l}, D={self.D}, "
            f"t={self.stride}, p={self.padding}, n={self.n}; W is {self.shape[0]} x {self.shape[1]})"
        )

    def _batched(self, x, name: str, shape: tuple[int, ...], what: str):
        x = check_real(as_tensor(x, name), name)
        check_trailing_shape(x, name, shape, what)
        check_nonempty(x, name)
        check_dtype(x, name, self.dtype, "the filters w")
        check_finite(x, name)
        lead = x.shape[: x.dim() - len(shape)]
        return x.reshape((-1,) + shape), lead

    def check_input(self, x, name: str = "x") -> torch.Tensor:
        """x as a tensor if it is a batch of inputs of W (..., M, D[, D]): real, of W's dtype, not
        empty, finite; otherwise an error naming `name`. Computes nothing."""
        self._batched(x, name, self.in_shape, f"M={self.M} channels of size D={self.D}")
        return as_tensor(x, name)

    def forward(self, x, *, name: str = "x") -> torch.Tensor:
        """h = W x: (..., M, D[, D]) -> (..., K, n[, n]), any leading batch dimensions. `name` is
        the caller's name for x in error messages."""
        xb, lead = self._batched(x, name, self.in_shape, f"M={self.M} channels of size D={self.D}")
        h = _CONV[self.ndim](xb, self.w, stride=self.stride, padding=self.padding)
        return h.reshape(lead + self.out_shape)

    __call__ = forward

    def adjoint(self, h, *, name: str = "h") -> torch.Tensor:
        """x = W^T h (transposed convolution, tied filters): (..., K, n[, n]) -> (..., M, D[, D]).
        `name` is the caller's name for h in error messages (a code z, say)."""
        hb, lead = self._batched(h, name, self.out_shape, f"K={self.K} filters times n={self.n} shifts")
        # n tiles D exactly (checked in __init__), so no output_padding is needed.
        x = _CONV_T[self.ndim](hb, self.w, stride=self.stride, padding=self.padding)
        return x.reshape(lead + self.in_shape)

    def matrix(self) -> torch.Tensor:
        """The explicit Kn x MD matrix W, built entry by entry from its definition (Section 2.2).

        Independent of torch's convolution routines, so it can test them. Dense: meant for the
        small sizes of Figure 1 and the tests (memory Kn * MD entries).
        """
        s, t, p = self.ndim, self.stride, self.padding
        shifts = _grid((self.n,) * s)  # (N, s): shift j of every row block
        taps = _grid((self.l,) * s)  # (P, s): position q inside the filter
        pos = shifts[:, None, :] * t - p + taps[None, :, :]  # (N, P, s) input position
        inside = ((pos >= 0) & (pos < self.D)).all(dim=-1)  # taps that hit the input
        flat = torch.zeros(pos.shape[:2], dtype=torch.long)
        for axis in range(s):  # ravel the s-dim position (s <= 2)
            flat = flat * self.D + pos[..., axis]
        j_idx, q_idx = inside.nonzero(as_tuple=True)
        W = torch.zeros(self.K, shifts.shape[0], self.M, self.D**s, dtype=self.dtype, device=self.device)
        taps_w = self.w.reshape(self.K, self.M, -1)  # (K, M, P)
        # Mixed advanced indexing puts the index dimension first: the target is (L, K, M).
        W[:, j_idx, :, flat[j_idx, q_idx]] = taps_w[:, :, q_idx].permute(2, 0, 1)
        return W.reshape(self.shape)


def _grid(sizes: tuple[int, ...]) -> torch.Tensor:
    """All multi-indices of an array of `sizes`, row-major: (prod(sizes), len(sizes))."""
    axes = torch.meshgrid(*[torch.arange(n) for n in sizes], indexing="ij")
    return torch.stack([a.reshape(-1) for a in axes], dim=-1)


def dot_test(op: ConvOperator, *, generator: torch.Generator, batch: int = 4) -> float:
    """The adjoint (dot-product) test of W and W^T: largest relative mismatch over `batch` draws,

        | <W x, y> - <x, W^T y> | / max(|<W x, y>|, |<x, W^T y>|)

    for x ~ N(0, I_MD), y ~ N(0, I_Kn). About 1e-16 in float64 when `adjoint` is exact.
    """
    check_generator(generator)
    batch = check_int(batch, "batch")
    x = torch.randn((batch,) + op.in_shape, generator=generator, dtype=op.dtype, device=op.device)
    y = torch.randn((batch,) + op.out_shape, generator=generator, dtype=op.dtype, device=op.device)
    lhs = (op.forward(x) * y).flatten(1).sum(dim=1)
    rhs = (x * op.adjoint(y)).flatten(1).sum(dim=1)
    return float(((lhs - rhs).abs() / torch.maximum(lhs.abs(), rhs.abs())).max())


def matrix_mismatch(
    op: ConvOperator, W: torch.Tensor | None = None, *, generator: torch.Generator, batch: int = 16
) -> float:
    """How far the explicit matrix W (Kn x MD; default `op.matrix()`) is from the fast operator:

        max( max|W x - conv(x)| / max|W x| , max|W^T h - conv_transpose(h)| / max|W^T h| )

    over `batch` Gaussian inputs x (MD) and outputs h (Kn). About 1e-16 in float64."""
    check_generator(generator)
    batch = check_int(batch, "batch")
    W = op.matrix() if W is None else as_tensor(W, "W")
    if tuple(W.shape) != op.shape:
        raise ValueError(f"W: expected the {op.shape[0]} x {op.shape[1]} matrix of op, got {tuple(W.shape)}")
    x = torch.randn((batch,) + op.in_shape, generator=generator, dtype=op.dtype)
    h = torch.randn((batch,) + op.out_shape, generator=generator, dtype=op.dtype)
    wx, wth = x.reshape(batch, -1) @ W.T, h.reshape(batch, -1) @ W
    fwd = (op.forward(x).reshape(batch, -1) - wx).abs().max() / wx.abs().max()
    adj = (op.adjoint(h).reshape(batch, -1) - wth).abs().max() / wth.abs().max()
    return max(float(fwd), float(adj))


def frame_summary(op: ConvOperator, W: torch.Tensor | None = None) -> dict:
    """Whether the rows of W (default `op.matrix()`) form a frame of R^{MD} (Section 2.2):
    {"Kn", "MD", "rank", "sigma_min", "sigma_max", "mean_sigma2" (the mean eigenvalue of W^T W;
    Kn / MD for unit-norm rows), "row_norm_err" (max | ||row|| - 1 |), "svals" (min(Kn, MD),)}."""
    W = op.matrix() if W is None else as_tensor(W, "W")
    s = torch.linalg.svdvals(W)
    return dict(
        Kn=op.shape[0],
        MD=op.shape[1],
        rank=int(torch.linalg.matrix_rank(W)),
        sigma_min=float(s.min()),
        sigma_max=float(s.max()),
        mean_sigma2=float((s**2).mean()),
        row_norm_err=float((W.norm(dim=1) - 1).abs().max()),
        svals=s,
    )
