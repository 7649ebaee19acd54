"""Filter-bank coherence (Section 4.4, Table 4): the largest |cos| between two distinct filters,
a computable proxy for how far a learned bank is from the near-orthogonal Gaussian banks of
Theorem 3.1.

* `coherence`: max over i != j of |<w_i, w_j>| / (||w_i|| ||w_j||), filters flattened over
  channels and taps, no shifts (Table 4's definition); with ``shifts=True``, the coherence of the
  columns of W^T away from the border (every filter against every displaced filter).
* `pairwise_coherence`: all K(K-1)/2 values |cos(w_i, w_j)|, i < j (the histograms).
* `coherence_table`: Table 4 for a set of learned banks against Gaussian banks of their shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from .checks import as_tensor, check_int, check_nonzero, real_tensor
from .filters import filter_norms, gaussian_filters
from .rng import check_generator


def _checked_bank(w) -> tuple[torch.Tensor, torch.Tensor]:
    w = real_tensor(w, "w")
    if w.dim() < 2 or w.shape[0] < 2:
        raise ValueError(f"w: expected a filter bank (K, M, ...) with K >= 2, got {tuple(w.shape)}")
    norms = filter_norms(w)
    check_nonzero(norms, "w", "filters", "their cosine is undefined")
    return w, norms


def pairwise_coherence(w) -> torch.Tensor:
    """|cos(w_i, w_j)| for every pair i < j of a filter bank w (K, M, ...): (K(K-1)/2,), in the
    order of `torch.triu_indices(K, K, 1)`; filters flattened over channels and taps."""
    w, norms = _checked_bank(w)
    f = w.flatten(1) / norms[:, None]
    iu = torch.triu_indices(f.shape[0], f.shape[0], offset=1, device=f.device)
    return (f @ f.T)[iu[0], iu[1]].abs()


def coherence(w, *, shifts: bool = False, stride: int = 1) -> float:
    """Filter-bank coherence: max over i != j of |<w_i, w_j>| / (||w_i|| ||w_j||), filters
    flattened over channels and taps, no shifts (Table 4's definition). w: (K, M, ...).

    shifts=True gives instead the coherence of the columns of W^T away from the border: every
    filter against every filter displaced by a multiple of `stride` (its conv stride) by up to
    l - 1 taps in each direction, the pair (i, i) at displacement 0 excluded. Adding shifted
    atoms can only raise the coherence."""
    stride = check_int(stride, "stride")  # checked even where unused: stride=0 is never meaningful
    if not shifts:
        return float(pairwise_coherence(w).max())
    w, norms = _checked_bank(w)
    if w.dim() not in (3, 4):
        raise ValueError(f"w: shifts need a 1-D (K, M, l) or 2-D (K, M, l, l) bank, got {tuple(w.shape)}")
    stride = check_int(stride, "stride")
    u = w / norms.view(-1, *([1] * (w.dim() - 1)))
    l = w.shape[-1]
    conv = torch.nn.functional.conv1d if w.dim() == 3 else torch.nn.functional.conv2d
    xc = conv(u, u, padding=l - 1).abs()  # (K, K, 2l-1[, 2l-1]): all relative displacements
    c = l - 1
    keep = torch.arange(2 * l - 1, device=w.device)
    keep = keep[(keep - c) % stride == 0]
    for dim in range(2, xc.dim()):
        xc = xc.index_select(dim, keep)
    centre = int((keep == c).nonzero().item())
    idx = torch.arange(len(w), device=w.device)
    xc[(idx, idx) + (centre,) * (xc.dim() - 2)] = 0
    return float(xc.max())


@dataclass(frozen=True)
class CoherenceTable:
    """Table 4 for a set of learned banks: `table`, one row per layer (layer, K, dim, learned,
    random_mean, random_std, learned_median_cos, random_median_cos, learned_p999_cos,
    near_duplicates, dead_filters, learned_with_shifts), and `pairwise`, {layer: (learned |cos|,
    |cos| of one Gaussian bank of the same shape)} for the histograms."""

    table: pd.DataFrame
    pairwise: dict


def coherence_table(
    banks: dict,
    *,
    generator: torch.Generator,
    n_random_draws: int = 10,
    duplicate_cos: float = 0.9,
    strides: dict | None = None,
) -> CoherenceTable:
    """Table 4 for a set of learned filter banks {layer: w (K, M, l, l)}.

    Per layer: the learned coherence; the mean and std of the coherence of `n_random_draws`
    Gaussian banks of the same shape; the median and 99.9th percentile of the pairwise |cos|
    (learned and one random bank); the number of near-duplicate pairs (|cos| > duplicate_cos);
    dead filters (norm below 1e-6 of the largest); the coherence with shifted atoms (stride from
    `strides`, default 1)."""
    check_generator(generator)
    n_random_draws = check_int(n_random_draws, "n_random_draws")
    rows, pairwise = [], {}
    for name, w in banks.items():
        w = as_tensor(w, f"banks[{name!r}]").double()
        cos = pairwise_coherence(w)

        def draw(w=w):
            return gaussian_filters(*w.shape[:3], generator=generator, ndim=w.dim() - 2)

        rand = torch.tensor([coherence(draw()) for _ in range(n_random_draws)])
        rand_cos = pairwise_coherence(draw())
        pairwise[name] = (cos, rand_cos)
        norms = w.flatten(1).norm(dim=1)
        rows.append(
            dict(
                layer=name,
                K=w.shape[0],
                dim=w[0].numel(),
                learned=float(cos.max()),
                random_mean=float(rand.mean()),
                random_std=float(rand.std(correction=0)),
                learned_median_cos=float(cos.median()),
                random_median_cos=float(rand_cos.median()),
                learned_p999_cos=float(cos.quantile(0.999)),
                near_duplicates=int((cos > duplicate_cos).sum()),
                dead_filters=int((norms < 1e-6 * norms.max()).sum()),
                learned_with_shifts=coherence(w, shifts=True, stride=(strides or {}).get(name, 1)),
            )
        )
    return CoherenceTable(table=pd.DataFrame(rows), pairwise=pairwise)
