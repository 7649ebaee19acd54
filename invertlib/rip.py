"""Model-restricted isometry (Eq. 1) of Phi = W^T: estimators, each with what it bounds.

Phi = W^T (MD x Kn) has model-RIP with constant delta_k when, for every z in M_k,

    (1 - delta_k) ||z||^2 <= ||W^T z||^2 <= (1 + delta_k) ||z||^2.                       (1)

For one support S of the model, the tightest constant is delta_S = max(lam_max - 1, 1 - lam_min)
with lam the eigenvalues of the Gram matrix Phi_S^T Phi_S (the columns of Phi_S are the atoms
W^T e_j: filter i placed at shift j), and delta_k = max over supports S in the model of delta_S.

* `model_rip_ratios` (a): Monte-Carlo ||W^T z|| / ||z|| for z sampled in M_k (`model_rip_samples`
  keeps the supports too). max |r^2 - 1| over
  the samples is a *lower bound* on delta_k (`delta_from_ratios`), and a loose one: random z
  rarely sit at an extreme eigenvector.
* `worst_case_delta` (b): local search over supports maximising delta_S. Every value it returns
  is delta_S of a valid support, hence a certified *lower bound* on delta_k, and never below
  the Monte-Carlo bound of samples whose supports it starts from.
* `exact_delta` (c): enumerates all C(R, k) P^k supports (n^k C(K, k) for the 1-D block model),
  or all supports of M_k^2: the exact delta_k or delta_2k, for tiny instances.

Results with more than one part are frozen dataclasses (`RipSamples`, `WorstCase`, `RipEstimates`,
`ExactDelta`, `SupportDelta`, `LemmaB1Ratios`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from .checks import as_tensor, check_int, check_nonzero, real_tensor
from .conv import ConvOperator, operator_argument
from .sparsity import PoolingModel

_SPARSE_RATIO = 200


def _check_pair(W: ConvOperator, model: PoolingModel, regions: bool = False) -> None:
    if tuple(W.out_shape) != tuple(model.code_shape):
        raise ValueError(f"model: its code shape {model.code_shape} differs from the output shape {W.out_shape} of W")
    if regions and not model.tiles:
        raise ValueError(
            f"model: {model!r} has overlapping or floor-mode windows; this search needs regions that partition the code"
        )


@dataclass(frozen=True)
class RipSamples:
    """Monte-Carlo model-RIP ratios ||W^T z|| / ||z|| (n_samples,) and the supports of their codes
    z (n_samples, per_region * k), flat code indices."""

    ratios: torch.Tensor
    supports: torch.Tensor


@dataclass(frozen=True)
class SupportDelta:
    """delta_S (B,) of a batch of supports and the extreme Gram eigenvalues eigs (B, 2): (lam_min,
    lam_max)."""

    delta: torch.Tensor
    eigs: torch.Tensor


@dataclass(frozen=True)
class WorstCase:
    """The worst-case search's result: delta (the best delta_S, a certified lower bound on delta_k)
    and its support (s,); per start: deltas (B,), supports (B, s), start_deltas (B,); sweeps run."""

    delta: float
    support: torch.Tensor
    deltas: torch.Tensor
    supports: torch.Tensor
    start_deltas: torch.Tensor
    sweeps: int


@dataclass(frozen=True)
class RipEstimates:
    """Both lower bounds on delta_k: the Monte-Carlo ratios (n_samples,) and the worst-case search."""

    ratios: torch.Tensor
    search: WorstCase


@dataclass(frozen=True)
class ExactDelta:
    """The exact delta_k (or delta_2k), a support attaining it, and how many supports were visited."""

    delta: float
    support: torch.Tensor
    n_supports: int


@dataclass(frozen=True)
class LemmaB1Ratios:
    """Three readings of Figure 2(b)'s ratio for a batch of codes, each (B,): raw ||W W^T z|| / ||z||,
    support ||(W W^T z)_S|| / ||z||, projected ||𝕄(W W^T z, k)|| / ||z||."""

    raw: torch.Tensor
    support: torch.Tensor
    projected: torch.Tensor


@operator_argument("W")
def rip_ratio(W: ConvOperator, z) -> torch.Tensor:
    """The model-RIP ratio ||W^T z|| / ||z|| of every code in a batch: (B, K, n[, n]) -> (B,)."""
    x = W.adjoint(z, name="z")  # checks z: a batch of codes of W's output shape, its dtype, finite
    z = as_tensor(z, "z")
    if z.dim() != len(W.out_shape) + 1:
        raise ValueError(f"z: expected a batch of codes (B, {', '.join(map(str, W.out_shape))}), got {tuple(z.shape)}")
    check_nonzero(norms := z.flatten(1).norm(dim=1), "z", "codes", "the ratio is undefined")
    return x.flatten(1).norm(dim=1) / norms


@operator_argument("W")
def model_rip_samples(
    W: ConvOperator,
    model: PoolingModel,
    k: int,
    n_samples: int,
    *,
    generator: torch.Generator,
    values: str = "uniform",
    per_region: int = 1,
    batch_size: int | None = None,
) -> RipSamples:
    """Estimator (a): ||W^T z|| / ||z|| for n_samples codes z drawn in M_k (M_k^2 if
    per_region=2) with `model.sample_sparse`, with their supports (n_samples, per_region * k)
    (to start `worst_case_delta` from); `model_rip_ratios` returns the ratios alone. Codes with
    few nonzeros (k <= Kn / 200) stay sparse: ||W^T z||^2 is `W.sparse_sq_norms` (k^2 table
    look-ups per code when p = 0, a sum of k shifted filters otherwise); denser codes take one
    transposed convolution. Both routes see the same draws and agree to rounding. batch_size:
    codes drawn at a time (None: 32768 sparse, 2048 dense)."""
    _check_pair(W, model)
    n_samples = check_int(n_samples, "n_samples")
    if batch_size is not None:
        check_int(batch_size, "batch_size")
    # The sparse route costs about k M l^ndim per code (k^2 look-ups when p = 0), the dense one a
    # transposed convolution, K n^ndim M l^ndim: measured, the sparse one wins below k = Kn / 200.
    sparse = per_region * k * _SPARSE_RATIO <= W.shape[0]
    batch_size = (32768 if sparse else 2048) if batch_size is None else batch_size
    ratios, supports = [], []
    for start in range(0, n_samples, batch_size):
        codes = model.sample_sparse(
            k,
            min(batch_size, n_samples - start),
            generator=generator,
            values=values,
            per_region=per_region,
            dtype=W.dtype,
        )
        S, v = codes.support, codes.values
        if sparse:  # ||W^T z||^2 from the nonzeros alone (v^T G_S v when p = 0): no code or signal is built
            ratios.append(W.sparse_sq_norms(S, v).clamp_min(0).sqrt() / v.to(W.device).norm(dim=1))
        else:  # dense codes and one transposed convolution (same draws, equal to rounding)
            ratios.append(rip_ratio(W, model.to_dense(S, v).to(W.device)))
        supports.append(S)
    return RipSamples(ratios=torch.cat(ratios) if len(ratios) > 1 else ratios[0], supports=torch.cat(supports))


@operator_argument("W")
def model_rip_ratios(
    W: ConvOperator,
    model: PoolingModel,
    k: int,
    n_samples: int,
    *,
    generator: torch.Generator,
    values: str = "uniform",
    per_region: int = 1,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Estimator (a): the ratios ||W^T z|| / ||z|| (n_samples,) of `model_rip_samples` (same
    draws, same arguments)."""
    return model_rip_samples(
        W, model, k, n_samples, generator=generator, values=values, per_region=per_region, batch_size=batch_size
    ).ratios


def delta_from_ratios(ratios) -> float:
    """max |r^2 - 1| over observed ratios r = ||W^T z|| / ||z||: a lower bound on delta_k."""
    ratios = real_tensor(ratios, "ratios")
    if bool((ratios < 0).any()):
        raise ValueError(f"ratios: expected norms ratios >= 0, got a minimum of {float(ratios.min())}")
    return float((ratios**2 - 1).abs().max())


@operator_argument("W")
def lemma_b1_ratios(W: ConvOperator, model: PoolingModel, z, k: int) -> LemmaB1Ratios:
    """Three readings of Figure 2(b)'s "||W W^T z|| / ||z||" for codes z (B, K, n[, n]) in M_k:

    * ``raw``:       ||W W^T z|| / ||z||, literally (about sqrt(Kn/MD)-ish, not 1);
    * ``support``:   ||(W W^T z)_S|| / ||z||, restricted to the support S of z (Lemma B.1's
                     model-RIP corollary compares (W W^T z)_S with z_S);
    * ``projected``: ||𝕄(W W^T z, k)|| / ||z||, after the model projection (known switches).
    """
    x = W.adjoint(z, name="z")  # checks z: a batch of codes of W's output shape, its dtype, finite
    z = as_tensor(z, "z")
    h = W.forward(x)
    check_nonzero(zn := z.flatten(1).norm(dim=1), "z", "codes", "the ratios are undefined")
    return LemmaB1Ratios(
        raw=h.flatten(1).norm(dim=1) / zn,
        support=(h * (z != 0)).flatten(1).norm(dim=1) / zn,
        projected=model.project(h, k).flatten(1).norm(dim=1) / zn,
    )


def _delta(eigs: torch.Tensor) -> torch.Tensor:
    return torch.maximum(eigs[..., -1] - 1, 1 - eigs[..., 0])


@operator_argument("W")
def atom_gram_rows(W: ConvOperator, idx: torch.Tensor) -> torch.Tensor:
    """<W^T e_j, W^T e_c> for every j in idx (any shape) and every code index c: (*idx.shape, Kn).
    The rows of W W^T, from the sparse path `ConvOperator.gram_rows`."""
    return W.gram_rows(idx, name="idx")


def _check_supports(W: ConvOperator, supports, name: str) -> torch.Tensor:
    """A non-empty batch (B, s) of distinct flat code indices in 0..Kn-1, as int64."""
    supports = W.check_index(supports, name)
    if supports.dim() != 2:
        raise ValueError(f"{name}: expected a non-empty batch (B, s) of flat code indices, got {tuple(supports.shape)}")
    if bool((supports.sort(dim=1).values.diff(dim=1) == 0).any()):
        raise ValueError(f"{name}: an index appears twice in one support; a support is a set of distinct atoms")
    return supports


@operator_argument("W")
def support_delta(W: ConvOperator, supports, *, batch_size: int = 512) -> SupportDelta:
    """delta_S and the Gram eigenvalues (lam_min, lam_max) for a batch of supports (B, s) of flat
    code indices."""
    supports = _check_supports(W, supports, "supports")
    deltas, eigs = [], []
    for start in range(0, supports.shape[0], batch_size):
        S = supports[start : start + batch_size]
        lam = torch.linalg.eigvalsh(W.atom_gram(S.to(W.device), name="supports"))  # (b, s, s) Gram matrices
        deltas.append(_delta(lam))
        eigs.append(torch.stack([lam[:, 0], lam[:, -1]], dim=1))
    return SupportDelta(delta=torch.cat(deltas), eigs=torch.cat(eigs))


@operator_argument("W")
def worst_case_delta(
    W: ConvOperator,
    model: PoolingModel,
    k: int,
    *,
    generator: torch.Generator | None = None,
    n_starts: int = 16,
    starts=None,
    per_region: int = 1,
    max_sweeps: int = 20,
    n_candidates: int | None = 256,
) -> WorstCase:
    """Estimator (b): maximise delta_S over supports S of M_k (M_k^2 if per_region=2) by
    coordinate ascent, from `starts` (B, per_region*k) or n_starts random supports.

    One sweep visits every slot of the support and replaces it by the atom that maximises
    delta_S among the `n_candidates` atoms the model allows there that are most correlated with
    the rest of the support (None: all allowed atoms), scored at once by batched
    eigendecompositions of the bordered Gram matrices. Stops when a sweep changes nothing.
    delta_S never decreases, so the result is >= delta_S of the start.

    """
    _check_pair(W, model, regions=True)
    check_int(max_sweeps, "max_sweeps")
    if n_candidates is not None:
        check_int(n_candidates, "n_candidates")
    if starts is None:
        if generator is None:
            raise ValueError("generator: needed to draw random starting supports (or pass starts)")
        starts = model.sample_supports(k, check_int(n_starts, "n_starts"), generator=generator, per_region=per_region)
    S = _check_supports(W, starts, "starts").clone().to(W.device)
    if S.shape[1] != per_region * k:
        raise ValueError(f"starts: expected shape (B, {per_region * k}) (per_region * k indices), got {tuple(S.shape)}")
    crowded = (model.region_of[S.cpu()].sort(dim=1).values.diff(dim=1) == 0).sum(dim=1) if per_region == 1 else None
    if crowded is not None and bool((crowded > 0).any()):
        raise ValueError(
            f"starts: supports {torch.nonzero(crowded > 0).flatten().tolist()[:10]} put two atoms in one region; "
            "a support of M_k has at most one per region"
        )
    B, s = S.shape
    Kn = W.shape[0]
    region_of = model.region_of.to(W.device)
    diag = (
        ConvOperator(W.w**2, W.D, W.stride, W.padding)
        .forward(torch.ones(W.in_shape, dtype=W.dtype, device=W.device))
        .reshape(-1)
    )  # ||atom_c||^2
    rows = atom_gram_rows(W, S)  # (B, s, Kn)
    sq = rows.pow(2)
    total = sq.sum(dim=1)  # (B, Kn): sum over the support of rows^2; kept up to date below
    cur = support_delta(W, S).delta
    start_deltas = cur.clone()
    batch = torch.arange(B, device=W.device)
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):  # noqa: B007 (the count is returned)
        changed = False
        for i in range(s):
            keep = [j for j in range(s) if j != i]
            others = S[:, keep]  # (B, s-1)
            g_oo = rows.gather(2, others.unsqueeze(1).expand(-1, s, -1))[:, keep]  # (B, s-1, s-1)
            used = torch.zeros(B, model.n_regions, dtype=torch.long, device=W.device)
            used.scatter_add_(1, region_of[others], torch.ones_like(others))
            allowed = used.gather(1, region_of.expand(B, -1)) < per_region
            allowed[batch.unsqueeze(1), others] = False  # distinct atoms
            # Candidates: the allowed atoms most correlated with the rest of the support (the
            # border norm bounds how far the new atom can move the Gram spectrum), plus the
            # current atom so that a sweep never loses ground.
            border = (total - sq[:, i]).masked_fill(~allowed, -math.inf)  # sum over the others of rows^2
            border[batch, S[:, i]] = math.inf
            n_cand = min(n_candidates or Kn, Kn)
            cand = border.topk(n_cand, dim=1).indices  # (B, C)
            cand_ok = allowed.gather(1, cand) | (cand == S[:, i : i + 1])
            border_vals = rows.gather(2, cand.unsqueeze(1).expand(-1, s, -1))[:, keep]  # (B, s-1, C)
            gram = torch.empty(B, n_cand, s, s, dtype=W.dtype, device=W.device)
            gram[:, :, : s - 1, : s - 1] = g_oo.unsqueeze(1)
            gram[:, :, : s - 1, s - 1] = border_vals.transpose(1, 2)
            gram[:, :, s - 1, : s - 1] = border_vals.transpose(1, 2)
            gram[:, :, s - 1, s - 1] = diag[cand]
            score = _delta(torch.linalg.eigvalsh(gram)).masked_fill(~cand_ok, -math.inf)
            best, j = score.max(dim=1)
            c = cand.gather(1, j.unsqueeze(1)).squeeze(1)
            better = best > cur + 1e-12
            if bool(better.any()):
                changed = True
                S[better, i] = c[better]
                cur = torch.where(better, best, cur)
                rows[better, i] = atom_gram_rows(W, c[better])
                sq[better, i] = rows[better, i].pow(2)
                total[better] = sq[better].sum(dim=1)
        if not changed:
            break
    top = int(cur.argmax())
    return WorstCase(
        delta=float(cur[top]),
        support=S[top].clone(),
        deltas=cur,
        supports=S,
        start_deltas=start_deltas,
        sweeps=sweeps,
    )


@operator_argument("W")
def rip_estimates(
    W: ConvOperator,
    model: PoolingModel,
    k: int,
    n_samples: int,
    *,
    generator: torch.Generator,
    values: str = "uniform",
    n_starts: int = 16,
    n_candidates: int | None = 256,
) -> RipEstimates:
    """Both lower bounds on delta_k in one call: estimator (a), the Monte-Carlo ratios
    ||W^T z|| / ||z|| of n_samples codes z in M_k (n_samples,), and estimator (b), the worst-case
    search started from the n_starts // 2 Monte-Carlo supports with the largest |r^2 - 1| plus
    n_starts - n_starts // 2 random supports (so its delta is >= the Monte-Carlo one).
    """
    n_starts = check_int(n_starts, "n_starts", minimum=2)
    samples = model_rip_samples(W, model, k, n_samples, generator=generator, values=values)
    ratios, supports = samples.ratios, samples.supports
    worst = (ratios**2 - 1).abs().topk(min(n_starts // 2, len(ratios))).indices.to(supports.device)
    starts = torch.cat([supports[worst], model.sample_supports(k, n_starts - len(worst), generator=generator)])
    return RipEstimates(ratios=ratios, search=worst_case_delta(W, model, k, starts=starts, n_candidates=n_candidates))


@operator_argument("W")
def exact_delta(
    W: ConvOperator, model: PoolingModel, k: int, *, per_region: int = 1, batch_size: int = 4096
) -> ExactDelta:
    """Estimator (c): delta_k (per_region=1) or delta_2k of M_k^2 (per_region=2) exactly, by
    enumerating every support of per_region * k atoms with at most per_region per region.

    For tiny instances only (at most 10^6 candidate index sets). Supports smaller than
    per_region * k need no separate visit: by eigenvalue interlacing their delta_S is at most that
    of any support containing them. Returns an `ExactDelta`.
    """
    _check_pair(W, model, regions=True)
    k = model.check_k(k)
    if per_region not in (1, 2):
        raise ValueError(f"per_region: expected 1 (M_k) or 2 (M_k^2), got {per_region!r}")
    s = per_region * k
    Kn = W.shape[0]
    if math.comb(Kn, s) > 1_000_000:
        raise ValueError(
            f"k: enumerating C({Kn}, {s}) = {math.comb(Kn, s)} index sets is too many "
            f"for exact_delta (limit 10^6); use worst_case_delta"
        )
    region_of = model.region_of
    sets = torch.tensor(list(itertools.combinations(range(Kn), s)), dtype=torch.long).reshape(-1, s)
    counts = torch.zeros(sets.shape[0], model.n_regions, dtype=torch.long)
    counts.scatter_add_(1, region_of[sets], torch.ones_like(sets))
    supports = sets[(counts <= per_region).all(dim=1)]
    if supports.shape[0] == 0:
        raise ValueError(
            f"k: no support of the model holds {s} atoms ({model.n_regions} regions of {model.region_size}, "
            f"at most {per_region} atom(s) each); choose a smaller k"
        )
    A = W.matrix()
    G = A @ A.T
    best, best_support = -math.inf, None
    for start in range(0, supports.shape[0], batch_size):
        S = supports[start : start + batch_size]
        d = _delta(torch.linalg.eigvalsh(G[S.unsqueeze(2), S.unsqueeze(1)]))
        j = int(d.argmax())
        if float(d[j]) > best:
            best, best_support = float(d[j]), S[j].clone()
    return ExactDelta(delta=best, support=best_support, n_supports=int(supports.shape[0]))
