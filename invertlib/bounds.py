"""Certified *upper* bounds on the model-RIP constant delta_k of Phi = W^T (Eq. 1), beyond the paper.

`rip` brackets delta_k from below only (Monte Carlo, the worst-case search) or computes it exactly on
tiny instances. An upper bound needs every support at once; the Gershgorin circle theorem gives one.
For a support S with Gram matrix G_S = Phi_S^T Phi_S (G = W W^T, G_jj = ||atom j||^2), every
eigenvalue lies in a disc around some diagonal entry,

    lam(G_S) in U_{j in S} [G_jj - R_j(S), G_jj + R_j(S)],    R_j(S) = sum_{i in S, i != j} |G_ij|,

so delta_S = max(lam_max - 1, 1 - lam_min) <= max_{j in S} (|G_jj - 1| + R_j(S)), and

    delta_k <= max_j ( |G_jj - 1| + max_{S in model, S contains j} R_j(S) ).

* **Model Babel bound.** The inner maximum is exact to compute: a support of M_k^m (a union of m
  supports of M_k, m = `per_region`: at most m atoms in each pooling region, s = m k in all, fewer
  where the regions cannot hold them, `support_size`) that contains j may add at
  most m - 1 other atoms of j's own region and m of every other region, so R_j is maximised by
  the m largest |G_ij| of every other region, the m - 1 largest of j's own, and then the s - 1
  largest of all those (the constraint is a partition matroid, so the greedy choice is optimal).
  m = 2 bounds delta_2k of M_k^2 (Theorem 3.3's constant).
* **Babel bound.** Without the model: the s - 1 largest |G_ij|, i != j, over all atoms (Tropp's
  Babel function mu_1(s - 1) for unnormalised atoms, plus |G_jj - 1|). Never below the model bound.
* **Coherence bound.** max_j |G_jj - 1| + (s - 1) mu, mu = max_{i != j} |G_ij|. Never below Babel.

Every row of W W^T is sparse (only atoms that overlap j are nonzero) and comes from
`ConvOperator.gram_rows`; all three bounds are computed for every k at once from one pass over the
Kn atoms (Kn x Kn look-ups in batches), so they cost about as much as one Monte-Carlo run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .checks import check_int, check_values
from .conv import ConvOperator, operator_argument
from .sparsity import PoolingModel


@dataclass(frozen=True)
class DeltaUpperBounds:
    """Certified upper bounds on delta_k (per_region = 1) or delta_2k of M_k^2 (per_region = 2) for
    every k in `ks` (n_k,): `model_babel`, `babel` and `coherence` (n_k,), model_babel <= babel <=
    coherence; `diagonal` = max_j |G_jj - 1| (the exact delta_1 when per_region = 1) and `mu` =
    max_{i != j} |G_ij|; `atom` (n_k,), an atom j attaining the model bound."""

    ks: np.ndarray
    per_region: int
    model_babel: np.ndarray
    babel: np.ndarray
    coherence: np.ndarray
    diagonal: float
    mu: float
    atom: np.ndarray


def _check_ks(ks, model: PoolingModel, per_region: int) -> np.ndarray:
    ks = np.atleast_1d(check_values(ks, "ks", low=1, integer=True)).astype(int)
    if ks.ndim != 1 or len(ks) == 0:
        raise ValueError(f"ks: expected a non-empty list of sparsities k, got shape {ks.shape}")
    if per_region == 1 and ks.max() > model.n_regions:
        raise ValueError(
            f"ks: a support of M_k holds one atom in each of k regions, and the model has {model.n_regions}; "
            f"got k = {int(ks.max())}"
        )
    return ks


def support_size(k: int, model: PoolingModel, per_region: int) -> int:
    """Atoms in the largest support of M_k^m (m = per_region): a union of m supports of M_k holds
    m k atoms, and at most min(m, P) in each of the R regions, so min(m k, R min(m, P))."""
    return min(per_region * int(k), model.n_regions * min(per_region, model.region_size))


@operator_argument("W")
def delta_upper_bounds(
    W: ConvOperator, model: PoolingModel, ks, *, per_region: int = 1, batch_size: int = 1024
) -> DeltaUpperBounds:
    """The model Babel, Babel and coherence upper bounds on delta_k (per_region = 1) or on the
    constant of M_k^2 (per_region = 2: supports of 2k atoms, at most 2 per region) for every k
    in ks, from every row of W W^T. W: a `ConvOperator` (Kn atoms); model: a `PoolingModel` of
    W's output shape whose regions partition the code; k at most the number of regions when
    per_region = 1 (larger ks of M_k^m bound the supports of `support_size` atoms). Returns
    `DeltaUpperBounds`."""
    if not isinstance(W, ConvOperator):
        raise TypeError(f"W: expected a ConvOperator, got {type(W).__name__}")
    if not isinstance(model, PoolingModel):
        raise TypeError(f"model: expected a PoolingModel, got {type(model).__name__}")
    if tuple(W.out_shape) != tuple(model.code_shape):
        raise ValueError(f"model: its code shape {model.code_shape} differs from the output shape {W.out_shape} of W")
    if not model.tiles:
        raise ValueError(f"model: {model!r} has overlapping or floor-mode windows; the bound needs regions that tile")
    per_region = check_int(per_region, "per_region")
    batch_size = check_int(batch_size, "batch_size")
    ks = _check_ks(ks, model, per_region)
    s_max = support_size(int(ks.max()), model, per_region)
    Kn, R = W.shape[0], model.n_regions
    m = min(per_region, model.region_size)  # atoms a support can hold in one region
    region_index = model.region_index.to(W.device)  # (R, P)
    region_of = model.region_of.to(W.device)
    model_sums, babel_sums, diag_dev = [], [], []
    mu = 0.0
    for start in range(0, Kn, batch_size):
        j = torch.arange(start, min(start + batch_size, Kn), device=W.device)
        rows = W.gram_rows(j).abs()  # (b, Kn) |G_ij|
        b = torch.arange(len(j), device=W.device)
        diag_dev.append((rows[b, j] - 1).abs())
        rows[b, j] = 0  # R_j sums over the other atoms
        mu = max(mu, float(rows.max()))
        top = rows.topk(min(s_max - 1, Kn - 1), dim=1).values if s_max > 1 else rows[:, :0]
        babel_sums.append(top.cumsum(dim=1))
        per = rows[:, region_index].topk(m, dim=2).values  # (b, R, m): the m largest of every region
        own = region_of[j]
        per[b, own, m - 1] = 0  # j's own region holds at most m - 1 atoms besides j
        flat = per.reshape(len(j), R * m)
        top = flat.topk(min(s_max - 1, R * m), dim=1).values if s_max > 1 else flat[:, :0]
        model_sums.append(top.cumsum(dim=1))
    diag = torch.cat(diag_dev)  # (Kn,)
    model_c, babel_c = torch.cat(model_sums), torch.cat(babel_sums)

    def bound(cum: torch.Tensor, s: int) -> tuple[float, int]:
        r = cum[:, s - 2] if s > 1 else torch.zeros_like(diag)
        per_atom = diag + r
        j = int(per_atom.argmax())
        return float(per_atom[j]), j

    model_b, babel_b, coh_b, atoms = [], [], [], []
    d_max = float(diag.max())
    for k in ks:
        s = support_size(int(k), model, per_region)
        value, j = bound(model_c, s)
        model_b.append(value)
        atoms.append(j)
        babel_b.append(bound(babel_c, s)[0])
        coh_b.append(d_max + (s - 1) * mu)
    return DeltaUpperBounds(
        ks=ks,
        per_region=per_region,
        model_babel=np.array(model_b),
        babel=np.array(babel_b),
        coherence=np.array(coh_b),
        diagonal=d_max,
        mu=mu,
        atom=np.array(atoms),
    )
