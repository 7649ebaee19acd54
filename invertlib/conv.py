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

import functools
import inspect
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .checks import (
    as_tensor,
    check_dtype,
    check_finite,
    check_int,
    check_nonempty,
    check_real,
    check_trailing_shape,
    has_values,
)
from .rng import check_generator

_CONV = {1: F.conv1d, 2: F.conv2d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d}
_CHUNK = 4096  # codes per chunk of the sparse quadratic form (measured: larger chunks leave the cache)


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
        return self.forward_unchecked(xb).reshape(lead + self.out_shape)

    def forward_unchecked(self, x: torch.Tensor) -> torch.Tensor:
        """W x without the input checks, for loops whose iterates are already known to be valid
        (model_iht checks x once, not in every iteration: the checks cost 15 % of a small one)."""
        lead = x.shape[: x.dim() - len(self.in_shape)]
        h = _CONV[self.ndim](x.reshape((-1,) + self.in_shape), self.w, stride=self.stride, padding=self.padding)
        return h.reshape(lead + self.out_shape)

    __call__ = forward

    def adjoint(self, h, *, name: str = "h") -> torch.Tensor:
        """x = W^T h (transposed convolution, tied filters): (..., K, n[, n]) -> (..., M, D[, D]).
        `name` is the caller's name for h in error messages (a code z, say)."""
        hb, lead = self._batched(h, name, self.out_shape, f"K={self.K} filters times n={self.n} shifts")
        return self.adjoint_unchecked(hb).reshape(lead + self.in_shape)

    def adjoint_unchecked(self, h: torch.Tensor) -> torch.Tensor:
        """W^T h without the input checks (see `forward_unchecked`)."""
        lead = h.shape[: h.dim() - len(self.out_shape)]
        # n tiles D exactly (checked in __init__), so no output_padding is needed.
        x = _CONV_T[self.ndim](h.reshape((-1,) + self.out_shape), self.w, stride=self.stride, padding=self.padding)
        return x.reshape(lead + self.in_shape)

    # -- the sparse path: codes given by their nonzeros ------------------------------------------
    def atoms(self, index, *, name: str = "index") -> tuple[torch.Tensor, torch.Tensor]:
        """The atom W^T e_c of every flat code index c = i n^s + j (filter-major, s = ndim): its
        filter i (...,) and its shift j as s coordinates (..., s). index: integers in 0..Kn-1."""
        index = self.check_index(index, name)
        N = self.n**self.ndim
        if self.ndim == 1:
            return index // N, (index % N).unsqueeze(-1)
        rest, coords = index % N, []
        for _ in range(self.ndim):  # last axis fastest (row-major)
            coords.append(rest % self.n)
            rest = rest // self.n
        return index // N, torch.stack(coords[::-1], dim=-1)

    def check_index(self, index, name: str = "index") -> torch.Tensor:
        """index as int64 if it holds flat code indices of W's output (any shape, non-empty, in
        0..Kn-1); otherwise an error naming `name`."""
        index = as_tensor(index, name)
        if index.is_floating_point() or index.is_complex() or index.dtype == torch.bool:
            raise TypeError(f"{name}: expected integer flat code indices, got {index.dtype}")
        check_nonempty(index, name)
        if has_values(index) and (int(index.min()) < 0 or int(index.max()) >= self.shape[0]):
            raise ValueError(
                f"{name}: expected flat code indices in 0..{self.shape[0] - 1} (the Kn entries of a code), "
                f"got values in [{int(index.min())}, {int(index.max())}]"
            )
        return index.long()

    def _check_sparse(self, index, values, name: str):
        """(filters, shifts, values) of codes given by their nonzeros, checked."""
        f, shift = self.atoms(index, name=name)
        values = check_real(as_tensor(values, "values"), "values")
        if values.shape != f.shape:
            raise ValueError(f"values: expected the shape {tuple(f.shape)} of {name}, got {tuple(values.shape)}")
        check_dtype(values, "values", self.dtype, "the filters w")
        check_finite(values, "values")
        return f.to(self.device), shift.to(self.device), values.to(self.device)

    def sparse_adjoint(self, index, values, *, name: str = "index") -> torch.Tensor:
        """W^T z for codes z given by their nonzeros: index (..., s) flat code indices and values
        (..., s) -> (..., M, D[, D]), equal to ``adjoint`` of the dense code (a repeated index adds
        its values, like a dense code built with scatter_add).

        W^T z = sum_a v_a W^T e_{c_a} is a sum of s shifted filters: s M l^ndim multiply-adds per
        code instead of the K n M l^ndim of a transposed convolution. The atoms are added into a
        canvas of the padded input (D + 2p), where every atom lies whole, which is then cropped.
        """
        f, shift, values = self._check_sparse(index, values, name)
        lead, s = f.shape[:-1], f.shape[-1]
        f, shift, values = f.reshape(-1, s), shift.reshape(-1, s, self.ndim), values.reshape(-1, s)
        B, Dp = f.shape[0], self.D + 2 * self.padding
        dev = self.device
        strides = torch.tensor([Dp ** (self.ndim - 1 - a) for a in range(self.ndim)], device=dev)
        corner = (shift * self.stride * strides).sum(-1)  # (B, s): the atom's corner in the canvas
        taps = torch.arange(self.M, device=dev)[:, None] * Dp**self.ndim + (
            _grid((self.l,) * self.ndim).to(dev) * strides
        ).sum(-1)
        base = torch.arange(B, device=dev) * (self.M * Dp**self.ndim)
        flat = base[:, None, None] + corner[:, :, None] + taps.reshape(1, 1, -1)  # (B, s, M l^ndim)
        contrib = values[:, :, None] * self.w.reshape(self.K, -1)[f]
        canvas = torch.zeros(B * self.M * Dp**self.ndim, dtype=self.dtype, device=dev)
        canvas.index_add_(0, flat.reshape(-1), contrib.reshape(-1))
        canvas = canvas.reshape((B, self.M) + (Dp,) * self.ndim)
        p = self.padding
        for axis in range(2, 2 + self.ndim):
            canvas = canvas.narrow(axis, p, self.D)
        return canvas.reshape(lead + self.in_shape)

    @property
    def atom_correlations(self) -> torch.Tensor:
        """C[i, i', e + r + 1] = <W^T e_(i, j), W^T e_(i', j + e)> for every shift offset e (per axis)
        with |e| t < l, r = (l - 1) // t, and zeros at e = +-(r + 1): (K, K, 2r + 3[, 2r + 3]).

        With p = 0 every atom lies whole inside the input, so the inner product of two atoms
        depends only on their filters and the offset of their shifts: the whole Gram matrix
        W W^T of the atoms is this table (Kn x Kn entries from K^2 (2r + 1)^ndim numbers).
        It is the cross-correlation of every pair of filters, xc[i, i', (l - 1) + e t]. Computed
        once per operator and kept: an operator's filters are not meant to change after it is built."""
        if getattr(self, "_corr", None) is None:
            l, t = self.l, self.stride
            r = (l - 1) // t
            xc = _CONV[self.ndim](self.w, self.w, padding=l - 1)  # (K, K, 2l - 1[, 2l - 1])
            keep = torch.arange(-r, r + 1, device=self.device) * t + (l - 1)
            for axis in range(2, 2 + self.ndim):
                xc = xc.index_select(axis, keep)
            self._corr = F.pad(xc, (1, 1) * self.ndim)
        return self._corr

    def _offset_table(self) -> tuple[torch.Tensor, int, bool]:
        """The correlation table flattened for look-ups, its width E per axis, and whether it is
        *wide*: indexed by every shift offset -(n-1)..n-1 (so that an index is a sum of one term
        per atom and needs no clamping) when that table is small (at most 2^22 entries), else the
        compact table of `atom_correlations` (offsets clamped to +-(r + 1))."""
        if getattr(self, "_table", None) is None:
            C = self.atom_correlations
            E = C.shape[-1]
            Ew = 2 * self.n - 1
            if self.K**2 * Ew**self.ndim <= 2**22:
                r = min((E - 3) // 2, self.n - 1)  # offsets beyond n - 1 never occur
                wide = torch.zeros((self.K, self.K) + (Ew,) * self.ndim, dtype=self.dtype, device=self.device)
                inner = wide
                for axis in range(2, 2 + self.ndim):
                    inner = inner.narrow(axis, self.n - 1 - r, 2 * r + 1)
                core = C
                for axis in range(2, 2 + self.ndim):
                    core = core.narrow(axis, (E - 1) // 2 - r, 2 * r + 1)
                inner.copy_(core)
                self._table = (wide.reshape(-1), Ew, True)
            else:
                self._table = (C.reshape(-1), E, False)
        return self._table

    def _pair_gram(self, fa, sa, fb, sb) -> torch.Tensor:
        """<W^T e_a, W^T e_b> from the correlation table (p = 0) for broadcastable filters f (...)
        and shifts s (..., ndim) of the atoms a and b."""
        table, E, wide = self._offset_table()
        if wide:  # index = (term of a) + (term of b): one broadcast addition, no clamping
            ia, ib = fa * (self.K * E**self.ndim), fb * E**self.ndim
            for axis in range(self.ndim):
                place = E ** (self.ndim - 1 - axis)
                ia = ia + (self.n - 1 - sa[..., axis]) * place
                ib = ib + sb[..., axis] * place
            idx = ia + ib
            return table.index_select(0, idx.reshape(-1)).reshape(idx.shape)  # measured faster than table[idx]
        r1 = (E - 1) // 2
        flat = fa * self.K + fb
        for axis in range(self.ndim):
            flat = flat * E + (sb[..., axis] - sa[..., axis]).clamp(-r1, r1) + r1
        return table[flat]

    def atom_gram(self, index, *, name: str = "index") -> torch.Tensor:
        """The Gram matrices Phi_S^T Phi_S of supports S (Phi = W^T): index (..., s) flat code
        indices -> (..., s, s), G[a, b] = <W^T e_(S_a), W^T e_(S_b)>. From the correlation table
        when p = 0 (s^2 look-ups), otherwise from the s atoms built by `sparse_adjoint`."""
        index = self.check_index(index, name)
        f, shift = self.atoms(index, name=name)
        if self.padding == 0:
            return self._pair_gram(f[..., :, None], shift[..., :, None, :], f[..., None, :], shift[..., None, :, :])
        s = f.shape[-1]
        eye = torch.eye(s, dtype=self.dtype, device=self.device).expand(f.shape + (s,))
        x = self.sparse_adjoint(index.unsqueeze(-2).expand(f.shape + (s,)), eye, name=name)  # (..., s, M, D[, D])
        x = x.flatten(x.dim() - self.ndim - 1)
        return x @ x.transpose(-1, -2)

    def gram_rows(self, index, *, name: str = "index") -> torch.Tensor:
        """Rows of W W^T: <W^T e_c, W^T e_c'> for every c in index (any shape) and every code
        index c': (*index.shape, Kn). With p = 0 only the (2r + 1)^ndim shifts near c of each
        filter can be nonzero, filled in from the correlation table; otherwise W applied to the
        atom from `sparse_adjoint` (one convolution, no transposed one)."""
        index = self.check_index(index, name)
        flat = index.reshape(-1)
        if self.padding != 0:
            atoms = self.sparse_adjoint(flat[:, None], torch.ones(len(flat), 1, dtype=self.dtype, device=self.device))
            return self.forward(atoms).reshape(index.shape + (self.shape[0],))
        f, shift = self.atoms(flat)
        C = self.atom_correlations  # (K, K, E[, E])
        E = C.shape[-1]
        r1 = (E - 1) // 2
        # a canvas of the code padded by r + 1 on every side holds the whole window of each atom
        npad = self.n + 2 * r1
        rows = torch.zeros((len(flat), self.K) + (npad,) * self.ndim, dtype=self.dtype, device=self.device)
        win = C[f.to(self.device)]  # (b, K, E[, E]): offsets -r-1..r+1 around the atom's shift
        pos = torch.zeros((len(flat), 1), dtype=torch.long, device=self.device)
        offs = _grid((E,) * self.ndim).to(self.device)  # (E^ndim, ndim)
        for axis in range(self.ndim):
            pos = pos * npad + shift[:, axis : axis + 1].to(self.device) + offs[None, :, axis]
        rows.flatten(2).scatter_(2, pos[:, None, :].expand(-1, self.K, -1), win.flatten(2))
        for axis in range(2, 2 + self.ndim):
            rows = rows.narrow(axis, r1, self.n)
        return rows.reshape(index.shape + (self.shape[0],))

    def sparse_sq_norms(self, index, values, *, name: str = "index") -> torch.Tensor:
        """||W^T z||^2 for codes given by their nonzeros, index and values (..., s) -> (...,).
        p = 0: the quadratic form v^T G_S v with G_S from the correlation table (s^2 look-ups per
        code, no signal built); otherwise the squared norm of `sparse_adjoint`."""
        if self.padding != 0:
            x = self.sparse_adjoint(index, values, name=name)
            return x.flatten(x.dim() - self.ndim - 1).pow(2).sum(-1)
        f, shift, values = self._check_sparse(index, values, name)
        lead, k = f.shape[:-1], f.shape[-1]
        f, shift, values = f.reshape(-1, k), shift.reshape(-1, k, self.ndim), values.reshape(-1, k)
        out = []
        for i in range(0, len(f), _CHUNK):  # chunks whose k x k look-ups stay in cache
            fc, sc, v = f[i : i + _CHUNK], shift[i : i + _CHUNK], values[i : i + _CHUNK]
            g = self._pair_gram(fc[:, :, None], sc[:, :, None, :], fc[:, None, :], sc[:, None, :, :])
            out.append(torch.bmm(v.unsqueeze(1), torch.bmm(g, v.unsqueeze(2))).reshape(-1))
        return torch.cat(out).reshape(lead)

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


def dense_operator(Phi) -> ConvOperator:
    """Any m x N matrix Phi as a ConvOperator whose adjoint is Phi: N filters of m channels and
    length 1 on an input of length 1, so W = Phi^T (N x m) and W^T z = Phi z. Inputs are
    (..., m, 1), codes (..., N, 1). Lets the recovery code (`model_iht`, `one_step_inverse`) run
    on an unstructured matrix, e.g. the Gaussian baseline of a phase diagram."""
    Phi = check_real(as_tensor(Phi, "Phi"), "Phi")
    if Phi.dim() != 2:
        raise ValueError(f"Phi: expected a matrix (m, N), got shape {tuple(Phi.shape)}")
    return ConvOperator(Phi.T.contiguous().unsqueeze(-1), 1)


def _grid(sizes: tuple[int, ...]) -> torch.Tensor:
    """All multi-indices of an array of `sizes`, row-major: (prod(sizes), len(sizes))."""
    axes = torch.meshgrid(*[torch.arange(n) for n in sizes], indexing="ij")
    return torch.stack([a.reshape(-1) for a in axes], dim=-1)


def operator_argument(name: str):
    """Decorate a public function whose argument `name` must be a `ConvOperator`: anything else (a
    string, a tensor of filters, a matrix) is refused with a TypeError naming the argument, before
    the function runs, instead of an AttributeError from deep inside it."""

    def wrap(fn):
        signature = inspect.signature(fn)
        position = list(signature.parameters).index(name)

        @functools.wraps(fn)
        def checked(*args, **kwargs):
            missing = position >= len(args) and name not in kwargs
            op = args[position] if position < len(args) else kwargs.get(name)
            if not missing and not isinstance(op, ConvOperator):  # a missing one: Python's own TypeError
                hint = " (build one: ConvOperator(filters, input_size))" if isinstance(op, torch.Tensor) else ""
                raise TypeError(f"{name}: expected a ConvOperator{hint}, got {type(op).__name__}")
            return fn(*args, **kwargs)

        return checked

    return wrap


@operator_argument("op")
def dot_test(op: ConvOperator, *, generator: torch.Generator, batch: int = 4) -> float:
    """The adjoint (dot-product) test of W and W^T: largest relative mismatch over `batch` draws,

        | <W x, y> - <x, W^T y> | / max(|<W x, y>|, |<x, W^T y>|)

    for x ~ N(0, I_MD), y ~ N(0, I_Kn). About 1e-16 in float64 when `adjoint` is exact.
    """
    check_generator(generator)
    batch = check_int(batch, "batch")
    if not bool(op.w.ne(0).any()):
        raise ValueError("op: its filters are all zero; <W x, y> = <x, W^T y> = 0 tests nothing")
    x = torch.randn((batch,) + op.in_shape, generator=generator, dtype=op.dtype).to(op.device)
    y = torch.randn((batch,) + op.out_shape, generator=generator, dtype=op.dtype).to(op.device)
    lhs = (op.forward(x) * y).flatten(1).sum(dim=1)
    rhs = (x * op.adjoint(y)).flatten(1).sum(dim=1)
    return float(((lhs - rhs).abs() / torch.maximum(lhs.abs(), rhs.abs())).max())


@operator_argument("op")
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
    x = torch.randn((batch,) + op.in_shape, generator=generator, dtype=op.dtype).to(op.device)
    h = torch.randn((batch,) + op.out_shape, generator=generator, dtype=op.dtype).to(op.device)
    W = W.to(op.device)
    wx, wth = x.reshape(batch, -1) @ W.T, h.reshape(batch, -1) @ W
    fwd = (op.forward(x).reshape(batch, -1) - wx).abs().max() / wx.abs().max()
    adj = (op.adjoint(h).reshape(batch, -1) - wth).abs().max() / wth.abs().max()
    return max(float(fwd), float(adj))


@dataclass(frozen=True)
class FrameSummary:
    """The frame properties of the rows of W: Kn, MD, rank, sigma_min, sigma_max, mean_sigma2 (the
    mean eigenvalue of W^T W; Kn / MD for unit-norm rows), row_norm_err (max | ||row|| - 1 |),
    svals (min(Kn, MD),)."""

    Kn: int
    MD: int
    rank: int
    sigma_min: float
    sigma_max: float
    mean_sigma2: float
    row_norm_err: float
    svals: torch.Tensor


@operator_argument("op")
def frame_summary(op: ConvOperator, W: torch.Tensor | None = None) -> FrameSummary:
    """Whether the rows of W (default `op.matrix()`) form a frame of R^{MD} (Section 2.2)."""
    W = op.matrix() if W is None else as_tensor(W, "W")
    s = torch.linalg.svdvals(W)
    return FrameSummary(
        Kn=op.shape[0],
        MD=op.shape[1],
        rank=int(torch.linalg.matrix_rank(W)),
        sigma_min=float(s.min()),
        sigma_max=float(s.max()),
        mean_sigma2=float((s**2).mean()),
        row_norm_err=float((W.norm(dim=1) - 1).abs().max()),
        svals=s,
    )


@operator_argument("W")
def to_pylops(W: ConvOperator):
    """Phi = W^T as a PyLops ``LinearOperator`` (MD x Kn) on flat numpy vectors, so that PyLops'
    solvers run on exactly our operator: matvec z -> W^T z, rmatvec x -> W x, and a batch of
    right-hand sides (columns, (Kn, R) -> (MD, R)) in one transposed convolution. Vectors are
    code / input arrays flattened row-major (the orders of `ConvOperator.matrix`). Needs pylops
    (in environment.yml), imported only here."""
    import numpy as np
    import pylops

    class _Phi(pylops.LinearOperator):
        def __init__(self):
            super().__init__(dtype=np.dtype(str(W.dtype).removeprefix("torch.")), shape=(W.shape[1], W.shape[0]))

        def _apply(self, v, fn, shape):
            t = torch.from_numpy(np.ascontiguousarray(v)).to(W.device)
            return fn(t.reshape((-1,) + shape)).reshape(t.shape[0] if t.dim() > 1 else 1, -1).cpu().numpy()

        def _matvec(self, z):
            return self._apply(z, W.adjoint, W.out_shape).reshape(-1)

        def _rmatvec(self, x):
            return self._apply(x, W.forward, W.in_shape).reshape(-1)

        def _matmat(self, Z):
            return self._apply(Z.T, W.adjoint, W.out_shape).T

        def _rmatmat(self, X):
            return self._apply(X.T, W.forward, W.in_shape).T

    return _Phi()
