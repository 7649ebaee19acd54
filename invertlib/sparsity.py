"""Structured sparsity induced by max pooling (Section 2.3) and its projections 𝕄(., k) (Eqs. 2-3).

A hidden code z has the shape of a layer's output: (K, n) in 1-D, (K, n, n) in 2-D (K channels,
one per filter). Max pooling splits every channel into non-overlapping *regions* of p (or p x p)
entries; a code is **model-k-sparse**, z in M_k, when every region holds at most one nonzero and
there are at most k nonzeros in total.

* The 1-D theory pools each filter over all its n shifts: one region per filter, p = n
  (``pool=None``). Then M_k is the block model of Section 2.3, a union of n^k C(K, k) subspaces.
* The 2-D experiments pool 2 x 2 regions of every channel (``pool=2``): "at most one nonzero per
  pooling region per channel".
* M_k^2 (sums of two elements of M_k, needed by Theorem 3.3) has at most two nonzeros per region
  and 2k in total (``per_region=2``).
* **Overlapping pooling** (AlexNet's 3 x 3 windows with stride 2; ``stride < pool``): a window no
  longer owns its entries, and two nonzeros of a pooled-and-unpooled code can share a window (the
  maximum of window A may sit in the overlap with window B, next to B's own maximum). The model
  is then the union of the subspaces spanned by position sets S, |S| <= k, whose positions can be
  given *distinct* windows that contain them (a bipartite matching of S into the windows); two
  windows that chose the same maximum give one nonzero. This is what max pooling + unpooling
  produces, and it is closed under shrinking the support (Algorithm 2's second lasso). Sampling
  picks k windows and one position in each, so a collision gives fewer than k nonzeros. The
  projection is the same max-pool / unpool / keep-k-windows recipe.
* With an explicit ``stride``, windows follow torch's floor-mode pooling: entries that no window
  covers (the last row of a 13 x 13 map under 2 x 2 / 2 pooling) are never nonzero.

Internally a batch of codes is viewed as regions, shape (B, R, P): R = number of regions
(windows), P = entries per region.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse
import torch
from scipy.sparse.csgraph import maximum_bipartite_matching

from .checks import (
    as_tensor,
    check_choice,
    check_finite,
    check_int,
    check_nonempty,
    check_real,
    check_trailing_shape,
    has_values,
)
from .rng import check_generator

SWITCHES = ("known", "fixed")
_MAX_POOL = {1: torch.nn.functional.max_pool1d, 2: torch.nn.functional.max_pool2d}
VALUES = ("uniform", "gaussian")


def sample_subsets(n_samples: int, N: int, k: int, *, generator: torch.Generator) -> torch.Tensor:
    """k distinct integers of 0..N-1 per row, every k-subset equally likely: (n_samples, k).

    Small k: Floyd's algorithm (Bentley & Floyd 1987, "A sample of brilliance"), k uniform draws
    per row, vectorised over the rows; large k: the k smallest of N uniform keys (topk). The order
    within a row carries no meaning."""
    dev = generator.device
    if k > _FLOYD_MAX_K:
        return torch.rand(n_samples, N, generator=generator, device=dev).topk(k, dim=1).indices
    out = torch.empty(n_samples, k, dtype=torch.long, device=dev)
    for i, top in enumerate(range(N - k, N)):
        t = torch.randint(top + 1, (n_samples,), generator=generator, device=dev)
        taken = (out[:, :i] == t[:, None]).any(dim=1)
        out[:, i] = torch.where(taken, top, t)
    return out


def _top(flat: torch.Tensor, k) -> torch.Tensor:
    """Indices of the k largest |entries| of every row of flat (B, N): (B, k). With one k per row
    (a tensor (B,)), rows keep the max k columns, and the extra ones repeat the row's largest
    entry (scattering a repeated index writes the same value twice)."""
    if not isinstance(k, torch.Tensor):
        return flat.abs().topk(k, dim=1, sorted=False).indices
    # without values (the "meta" device) the largest k is unknown: rank all columns, same result
    kmax = int(k.max()) if has_values(k) else flat.shape[1]
    top = flat.abs().topk(kmax, dim=1, sorted=True).indices
    rank = torch.arange(top.shape[1], device=flat.device)
    return torch.where(rank < k[:, None], top, top[:, :1])


_FLOYD_MAX_K = 32  # Floyd costs k^2 / 2 comparisons per row, topk N keys: measured crossover near k = 32 for N = 96


@dataclass(frozen=True)
class SparseCodes:
    """A batch of codes by their nonzeros: support (B, s) flat code indices and values (B, s)."""

    support: torch.Tensor
    values: torch.Tensor


@dataclass(frozen=True)
class OverlapStatistics:
    """Per sample (...): windows with a nonzero maximum, nonzeros of the unpooled code, the
    fraction of nonzero pooled units whose switch another window also chose (shared), and the
    fraction of windows holding more than one nonzero of the unpooled code (crowded)."""

    windows: torch.Tensor
    nonzeros: torch.Tensor
    shared: torch.Tensor
    crowded: torch.Tensor


class PoolingModel:
    """The pooling-induced sparsity model on codes of shape `code_shape`.

    Parameters
    ----------
    code_shape : (K, n) or (K, n, n)
    pool : int or None
        Region side p; must divide n unless `stride` is given. None pools every channel as a
        single region (1-D theory).
    stride : int or None
        Window step s <= p (None: s = p, non-overlapping regions that tile the map). s < p gives
        overlapping windows; any s gives floor-mode windows, (n - p) // s + 1 per side.

    Attributes
    ----------
    n_regions (R), region_size (P), code_size (K n or K n^2), region_index (R, P): the flat code
    index of every region entry; overlapping: s < p; tiles: the regions partition the code
    (s = p dividing n); region_of (K n,): the region of every flat
    code index (-1 where no window covers it; None for overlapping windows).
    """

    def __init__(self, code_shape, pool: int | None = None, stride: int | None = None):
        code_shape = tuple(code_shape) if isinstance(code_shape, (tuple, list, torch.Size)) else code_shape
        if not isinstance(code_shape, tuple) or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in code_shape
        ):
            raise TypeError(f"code_shape: expected a tuple of integers (K, n) or (K, n, n), got {code_shape!r}")
        code_shape = tuple(int(s) for s in code_shape)
        if len(code_shape) not in (2, 3) or min(code_shape) < 1:
            raise ValueError(f"code_shape: expected (K, n) or (K, n, n) with positive sizes, got {code_shape}")
        if len(code_shape) == 3 and code_shape[1] != code_shape[2]:
            raise ValueError(f"code_shape: expected square n x n maps, got {code_shape[1:]}")
        self.code_shape = code_shape
        self.ndim = len(code_shape) - 1
        self.K, self.n = code_shape[0], code_shape[1]
        if pool is None:
            if self.ndim != 1:
                raise ValueError(
                    "pool: None (one region per filter) is the 1-D model; give a region side for 2-D codes"
                )
            pool = self.n
        pool = check_int(pool, "pool")
        if stride is None:
            if self.n % pool:
                raise ValueError(
                    f"pool: region side p = {pool} does not tile the n = {self.n} "
                    f"positions of a channel (n % p = {self.n % pool}); give a stride for "
                    f"floor-mode windows"
                )
            stride = pool
        stride = check_int(stride, "stride")
        if stride > pool:
            raise ValueError(f"stride: expected at most the region side p = {pool}, got {stride}")
        if pool > self.n:
            raise ValueError(f"pool: region side p = {pool} is larger than the n = {self.n} positions of a channel")
        self.pool, self.stride, self.overlapping = pool, stride, stride < pool
        self.tiles = stride == pool and self.n % pool == 0  # regions are a reshape of the code
        self.region_size = pool**self.ndim
        self.n_regions = self.K * ((self.n - pool) // stride + 1) ** self.ndim
        self.code_size = math.prod(code_shape)
        index = torch.arange(self.code_size).reshape(code_shape)
        for dim in range(1, self.ndim + 1):
            index = index.unfold(dim, pool, stride)  # (K, m[, m], p[, p])
        self.region_index = index.reshape(self.n_regions, self.region_size)
        self.region_of, self._incidence = None, None
        if not self.overlapping:
            self.region_of = torch.full((self.code_size,), -1, dtype=torch.long)
            self.region_of[self.region_index.reshape(-1)] = torch.arange(self.n_regions).repeat_interleave(
                self.region_size
            )

    def __repr__(self) -> str:
        stride = f", stride {self.stride}" if self.stride != self.pool or not self.tiles else ""
        return (
            f"PoolingModel(code {self.code_shape}, pool {self.pool}{stride}: {self.n_regions} regions "
            f"of {self.region_size})"
        )

    def n_supports(self, k: int) -> int:
        """|supports of M_k| = C(R, k) P^k: k of the R regions, one of the P entries in each
        (1-D block model: C(K, k) n^k). Defined for regions that partition the code."""
        k = self.check_k(k)
        if not self.tiles:
            raise ValueError(
                f"model: {self!r} has overlapping or floor-mode windows; its supports are not counted by C(R, k) P^k"
            )
        return math.comb(self.n_regions, k) * self.region_size**k

    def k_for_sparsity(self, fraction) -> int:
        """The k of M_k that matches a measured fraction of nonzero code entries (0..1):
        round(fraction * code_size), clipped to 1..R (a model code has at most one nonzero per
        region)."""
        if isinstance(fraction, (str, bytes, bool)) or not isinstance(fraction, numbers.Real):
            raise TypeError(f"fraction: expected a number in [0, 1], got {fraction!r}")
        fraction = float(fraction)
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction: expected the fraction of nonzero entries in [0, 1], got {fraction}")
        return min(max(round(fraction * self.code_size), 1), self.n_regions)

    # -- views ------------------------------------------------------------------------------
    def to_regions(self, z: torch.Tensor) -> torch.Tensor:
        """(..., K, n[, n]) -> (..., R, P): the entries of every window (copies where windows overlap)."""
        lead = z.shape[: z.dim() - len(self.code_shape)]
        if not self.tiles:
            return z.reshape(lead + (self.code_size,))[..., self.region_index]
        p, m = self.pool, self.n // self.pool
        if self.ndim == 1:
            return z.reshape(lead + (self.n_regions, p))
        z = z.reshape(lead + (self.K, m, p, m, p)).transpose(-3, -2)
        return z.reshape(lead + (self.n_regions, self.region_size))

    def from_regions(self, zr: torch.Tensor) -> torch.Tensor:
        """(..., R, P) -> (..., K, n[, n]), for regions that tile the code."""
        if not self.tiles:
            raise ValueError(
                "from_regions: the windows of this model overlap or leave entries uncovered, "
                "so regions do not reshape back to a code"
            )
        lead = zr.shape[:-2]
        p, m = self.pool, self.n // self.pool
        if self.ndim == 1:
            return zr.reshape(lead + self.code_shape)
        z = zr.reshape(lead + (self.K, m, m, p, p)).transpose(-3, -2)
        return z.reshape(lead + self.code_shape)

    def _check_code(self, z, name: str = "z") -> torch.Tensor:
        z = check_real(as_tensor(z, name), name)
        check_trailing_shape(z, name, self.code_shape, f"codes of shape {self.code_shape}")
        check_nonempty(z, name)
        check_finite(z, name)
        return z

    # -- sampling -----------------------------------------------------------------------------
    def sample_supports(
        self, k: int, n_samples: int, *, generator: torch.Generator, per_region: int = 1
    ) -> torch.Tensor:
        """Random supports in the model: (n_samples, per_region * k) distinct flat code indices.

        per_region = 1 (M_k): k distinct regions chosen uniformly and one uniform position in
        each, so each of the C(R, k) P^k supports is equally likely. per_region = 2 (M_k^2): 2k
        (region, copy) slots chosen uniformly among the 2R, so a region holds 0, 1 or 2 of the
        support, at distinct positions.
        """
        k = self.check_k(k)
        n_samples = check_int(n_samples, "n_samples")
        check_generator(generator)
        if per_region not in (1, 2):
            raise ValueError(f"per_region: expected 1 (M_k) or 2 (M_k^2), got {per_region!r}")
        if per_region == 2 and self.overlapping:
            raise ValueError("per_region: 2 (M_k^2) is defined for non-overlapping regions only")
        if per_region == 2 and self.region_size < 2:
            raise ValueError("per_region: 2 nonzeros per region need regions of at least 2 entries")
        R, P = self.n_regions, self.region_size
        slots = sample_subsets(n_samples, R * per_region, per_region * k, generator=generator)
        regions, copy = slots // per_region, slots % per_region
        dev = generator.device
        if per_region == 1:  # a uniform position in each chosen region
            pos = torch.randint(P, regions.shape, generator=generator, device=dev)
        else:  # copy 0 and copy 1 of a region at distinct uniform positions
            first = torch.randint(P, (n_samples, R), generator=generator, device=dev)
            second = (first + 1 + torch.randint(P - 1, (n_samples, R), generator=generator, device=dev)) % P
            pos = torch.where(copy == 1, second.gather(1, regions), first.gather(1, regions))
        return self.region_index.to(generator.device).reshape(-1)[regions * P + pos]

    def sample_sparse(
        self,
        k: int,
        n_samples: int,
        *,
        generator: torch.Generator,
        values: str = "uniform",
        per_region: int = 1,
        dtype: torch.dtype = torch.float64,
    ) -> SparseCodes:
        """Codes z in M_k (or M_k^2) by their nonzeros: `SparseCodes` (support, values), both
        (n_samples, per_region * k), support as in `sample_supports` (flat code indices), values
        i.i.d. U[-1, 1] (the paper's choice) or N(0, 1) (``values="gaussian"``). With overlapping
        windows two chosen windows can pick the same position: the later copy gets value 0, so
        that the code has one value there. `sample` is this followed by a scatter into dense codes
        (same draws); `ConvOperator.sparse_sq_norms` and `sparse_adjoint` take it directly."""
        check_choice(values, "values", VALUES)
        support = self.sample_supports(k, n_samples, generator=generator, per_region=per_region)
        if values == "uniform":
            vals = torch.rand(support.shape, generator=generator, dtype=dtype, device=generator.device) * 2 - 1
        else:
            vals = torch.randn(support.shape, generator=generator, dtype=dtype, device=generator.device)
        if self.overlapping:
            order = support.argsort(dim=1, stable=True)
            ordered = support.gather(1, order)
            repeat = torch.zeros_like(ordered, dtype=torch.bool)
            repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
            vals = vals.masked_fill(torch.zeros_like(repeat).scatter_(1, order, repeat), 0)
        return SparseCodes(support=support, values=vals)

    def sample(
        self,
        k: int,
        n_samples: int,
        *,
        generator: torch.Generator,
        values: str = "uniform",
        per_region: int = 1,
        dtype: torch.dtype = torch.float64,
    ) -> torch.Tensor:
        """Draw n_samples codes z in M_k (or M_k^2): (n_samples, K, n[, n]), the dense form of
        `sample_sparse` (same draws; `to_dense` of its result, which also keeps the supports)."""
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype: expected a real floating dtype (torch.float32, torch.float64), got {dtype}")
        codes = self.sample_sparse(k, n_samples, generator=generator, values=values, per_region=per_region, dtype=dtype)
        return self.to_dense(codes.support, codes.values)

    def to_dense(self, support: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Codes given by their nonzeros, support and values (B, s), as dense codes (B, K, n[, n]).
        A repeated index adds its values (`sample_sparse` gives a repeat the value 0)."""
        support, values = as_tensor(support, "support"), as_tensor(values, "values")
        if support.dim() != 2 or values.shape != support.shape:
            raise ValueError(
                f"values: expected one value per support index, shape {tuple(support.shape)} (B, s), "
                f"got {tuple(values.shape)}"
            )
        if support.dtype != torch.int64:
            raise TypeError(f"support: expected int64 flat code indices, got {support.dtype}")
        if support.numel() and (int(support.min()) < 0 or int(support.max()) >= self.code_size):
            raise ValueError(f"support: expected flat code indices in [0, {self.code_size}), got {int(support.max())}")
        z = torch.zeros(len(support), self.code_size, dtype=values.dtype, device=support.device)
        return z.scatter_add_(1, support, values.to(support.device)).reshape((-1,) + self.code_shape)

    # -- projections (Eqs. 2-3) ---------------------------------------------------------------
    def project(self, z, k=None, *, switches: str = "known", nonnegative: bool = False) -> torch.Tensor:
        """𝕄(z, k): max pooling, unpooling with switches, block-sparsification to k regions.

        1. In every region keep the entry of largest |z| (largest z if `nonnegative`: the ReLU +
           max-pooling of a CNN, negative maxima become 0).
        2. Put it back at its own position (``switches="known"``, 𝕄_known of Eq. 3) or at the
           first position of the region (``"fixed"``, uniform switches: the top-left of a p x p
           region, shift 0 of a 1-D block).
        3. Keep the k regions with the largest |value| (all regions if k is None).

        z: (..., K, n[, n]) -> same shape, in M_k. With known switches and k regions this is the
        best l2 approximation of z in M_k for non-overlapping regions (tested against brute
        force). With overlapping windows two kept windows may share their maximum, which is then
        written once.

        k: an int, None, or (regions that tile the code only) an integer tensor of the batch
        shape (...), one k per code, so that codes of several sparsities are projected in one
        batch (a phase diagram's cells).
        """
        check_choice(switches, "switches", SWITCHES)
        z = self._check_code(z)
        if isinstance(k, torch.Tensor):
            k = self._check_k_per_code(k, z)
        if self.tiles:
            return self._project_tiles(z, k, switches, nonnegative)
        zr = self.to_regions(z)
        score = zr if nonnegative else zr.abs()
        pos = score.argmax(dim=-1, keepdim=True)  # the switches
        value = zr.gather(-1, pos).squeeze(-1)
        if nonnegative:
            value = value.clamp(min=0)
        if switches == "fixed":
            pos = torch.zeros_like(pos)
        lead = zr.shape[:-2]
        target = self.region_index.to(z.device).expand(lead + self.region_index.shape).gather(-1, pos).squeeze(-1)
        if k is not None and self.check_k(k) < self.n_regions:
            # windows not kept write to a spare slot, never over a kept window's shared maximum
            keep = value.abs().topk(k, dim=-1).indices
            kept = torch.zeros_like(value, dtype=torch.bool).scatter_(-1, keep, True)
            target = torch.where(kept, target, self.code_size)
        out = torch.zeros(lead + (self.code_size + 1,), dtype=z.dtype, device=z.device)
        out.scatter_(-1, target, value)
        return out[..., : self.code_size].reshape(lead + self.code_shape)

    def _project_tiles(self, z: torch.Tensor, k, switches: str, nonnegative: bool) -> torch.Tensor:
        """`project` for regions that tile the code, with torch's max pooling (which returns the
        switches) instead of a copy of the code into regions: the same result, faster."""
        zb = z.reshape((-1,) + self.code_shape)
        B = zb.shape[0]
        if self.region_size == 1 and not nonnegative and k is not None:  # plain top-k: no pooling to do
            flat = zb.reshape(B, -1)
            keep = _top(flat, k if isinstance(k, torch.Tensor) else self.check_k(k))
            return torch.zeros_like(flat).scatter_(1, keep, flat.gather(1, keep)).reshape(z.shape)
        score = zb if nonnegative else zb.abs()
        if self.ndim == 1 and self.pool == self.n:  # one region per channel (the 1-D theory)
            pos = score.argmax(dim=-1, keepdim=True)
        else:
            pos = _MAX_POOL[self.ndim](score, self.pool, return_indices=True)[1].flatten(2)
        # pos: (B, K, regions of a channel), the flat index of each region's switch in its channel
        value = zb.flatten(2).gather(2, pos)
        if nonnegative:
            value = value.clamp(min=0)
        if switches == "fixed":  # the first entry of every region: its top-left corner
            corner = torch.arange(0, self.n, self.pool, device=z.device)
            corner = corner if self.ndim == 1 else (corner[:, None] * self.n + corner[None, :]).reshape(-1)
            pos = corner.expand_as(pos)
        if k is not None and (isinstance(k, torch.Tensor) or self.check_k(k) < self.n_regions):
            flat = value.reshape(B, -1)
            keep = _top(flat, k)
            value = (flat * torch.zeros_like(flat, dtype=torch.bool).scatter_(1, keep, True)).reshape(value.shape)
        out = torch.zeros_like(zb).flatten(2).scatter_(2, pos, value)
        return out.reshape(z.shape)

    def projector(self, k=None, *, switches: str = "known", nonnegative: bool = False):
        """The projection z -> 𝕄(z, k) as a function of z alone (for `model_iht`); k as in
        `project` (a tensor: one k per code of the batches it will be given)."""
        check_choice(switches, "switches", SWITCHES)
        if isinstance(k, torch.Tensor):
            self._check_k_values(k)
        elif k is not None:
            self.check_k(k)
        return lambda z: self.project(z, k, switches=switches, nonnegative=nonnegative)

    def overlap_statistics(self, h) -> OverlapStatistics:
        """What max pooling with these windows does to nonnegative activations h (after ReLU),
        per sample: (..., K, n[, n]) -> `OverlapStatistics`, each field (...):

        * ``windows``: windows whose maximum is nonzero (the pooled units that are nonzero);
        * ``nonzeros``: nonzeros of the unpooled code 𝕄_known(h) (distinct switch positions);
        * ``shared``: 1 - nonzeros / windows, the fraction of nonzero pooled units whose switch
          another window also chose (0 for non-overlapping regions);
        * ``crowded``: the fraction of windows holding more than one nonzero of the unpooled code,
          i.e. how often the code breaks the "one nonzero per region" model."""
        h = self._check_code(h, "h")
        if bool((h < 0).any()):
            raise ValueError("h: expected nonnegative activations (after ReLU)")
        lead = h.dim() - len(self.code_shape)
        windows = (self.to_regions(h).amax(-1) > 0).sum(-1)
        code = self.project(h, nonnegative=True)
        nonzeros = (code != 0).flatten(lead).sum(-1)
        crowded = ((self.to_regions(code) != 0).sum(-1) > 1).float().mean(-1)
        shared = 1 - nonzeros / windows.clamp_min(1)
        return OverlapStatistics(windows=windows, nonzeros=nonzeros, shared=shared, crowded=crowded)

    def contains(self, z, k: int, *, per_region: int = 1) -> torch.Tensor:
        """Whether each code is in M_k (per_region=1) or M_k^2 (per_region=2, at most 2k
        nonzeros): a bool tensor of the batch shape. Overlapping windows: at most k nonzeros, and
        the nonzeros can be matched to distinct windows containing them (maximum bipartite
        matching, scipy; one sample at a time, so a check, not a hot path)."""
        z = self._check_code(z)
        k = self.check_k(k)
        if per_region not in (1, 2):
            raise ValueError(f"per_region: expected 1 (M_k) or 2 (M_k^2), got {per_region!r}")
        total = (z != 0).flatten(z.dim() - len(self.code_shape)).sum(dim=-1)
        if self.overlapping:
            if per_region != 1:
                raise ValueError("per_region: 2 (M_k^2) is defined for non-overlapping regions only")
            flat = z.reshape(-1, self.code_size)
            ok = [
                bool(n <= k) and self._matched(torch.nonzero(row).flatten())
                for row, n in zip(flat, total.flatten(), strict=True)
            ]
            return torch.tensor(ok, dtype=torch.bool).reshape(total.shape)
        nnz = (self.to_regions(z) != 0).sum(dim=-1)
        # nnz.sum() < total when a nonzero lies where no floor-mode window reaches
        return (nnz <= per_region).all(dim=-1) & (nnz.sum(dim=-1) == total) & (total <= per_region * k)

    def _matched(self, positions: torch.Tensor) -> bool:
        """Whether every flat code position can be given its own window containing it."""
        if len(positions) == 0:
            return True
        if self._incidence is None:  # positions x windows, built once
            windows = torch.arange(self.n_regions).repeat_interleave(self.region_size)
            self._incidence = scipy.sparse.csr_matrix(
                (np.ones(len(windows), dtype=np.int8), (self.region_index.reshape(-1).numpy(), windows.numpy())),
                shape=(self.code_size, self.n_regions),
            )
        match = maximum_bipartite_matching(self._incidence[positions.cpu().numpy()], perm_type="column")
        return bool((match >= 0).all())

    def _check_k_values(self, k: torch.Tensor) -> torch.Tensor:
        if not self.tiles:
            raise ValueError(
                f"k: one k per code needs regions that tile the code; {self!r} has overlapping or floor-mode windows"
            )
        if k.dtype.is_floating_point or k.dtype.is_complex or k.dtype == torch.bool or k.numel() == 0:
            raise TypeError(
                f"k: expected a non-empty integer tensor (one k per code), got {k.dtype} of {tuple(k.shape)}"
            )
        if has_values(k) and not bool(((k >= 1) & (k <= self.n_regions)).all()):
            bad = k[(k < 1) | (k > self.n_regions)].flatten()[0]
            raise ValueError(f"k: expected every k in 1..R = {self.n_regions}, got {int(bad)}")
        return k

    def _check_k_per_code(self, k: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        k = self._check_k_values(k)
        lead = tuple(z.shape[: z.dim() - len(self.code_shape)])
        if tuple(k.shape) != lead:
            raise ValueError(f"k: expected one k per code, shape {lead} (the batch shape of z), got {tuple(k.shape)}")
        return k.reshape(-1).to(z.device)

    def check_k(self, k) -> int:
        """k as an int in 1..R (the number of regions), or a clear error naming k."""
        k = check_int(k, "k")
        if k > self.n_regions:
            raise ValueError(f"k: expected at most the number of regions R = {self.n_regions}, got {k}")
        return k
