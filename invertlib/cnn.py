"""One feed-forward CNN layer with paired filters, computed the way a CNN computes it.

Proposition 1 handles ReLU with paired filters (w, -w) (concatenated ReLU, Shang et al. 2016):
ReLU([W; -W] x) = [(Wx)_+; (Wx)_-], so nothing is lost, and the next linear step recombines the
two halves, Psi [h_+; h_-] = W^T (h_+ - h_-) with Psi = [W^T  -W^T].

`cnn_layer` is conv -> ReLU -> max pooling -> unpooling with the pooling switches, written with
torch's pooling routines (max_pool with indices, max_unpool). It is deliberately independent of
`PoolingModel.project`, so that the identity "one CNN layer = the first step of model-based IHT"
(Section 3.1, Algorithm 1) is a test and not a tautology.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .checks import check_int
from .conv import ConvOperator, operator_argument

_POOL = {1: F.max_pool1d, 2: F.max_pool2d}
_UNPOOL = {1: F.max_unpool1d, 2: F.max_unpool2d}


def paired_filters(w: torch.Tensor) -> torch.Tensor:
    """[w; -w]: (K, M, ...) -> (2K, M, ...), the filters of Psi^T = [W; -W]."""
    return torch.cat([w, -w], dim=0)


@operator_argument("W")
def paired_operator(W: ConvOperator) -> ConvOperator:
    """Psi^T = [W; -W] as a ConvOperator with 2K filters (same input size, stride, padding)."""
    return ConvOperator(paired_filters(W.w), W.D, W.stride, W.padding)


@operator_argument("W")
def cnn_layer(W: ConvOperator, x, pool: int | None = None) -> torch.Tensor:
    """conv with [W; -W] -> ReLU -> max pooling -> unpooling with the switches.

    x: (..., M, D[, D]). pool: region side p (None: each filter over all n shifts, the 1-D theory).
    Returns the unpooled code of the paired layer, (..., 2K, n[, n]): in every pooling region of
    every channel, the ReLU output's maximum at its own position, zeros elsewhere.
    """
    Psi_T = paired_operator(W)
    h = torch.relu(Psi_T.forward(x))
    lead = h.shape[: h.dim() - W.ndim - 1]
    h = h.reshape((-1,) + h.shape[h.dim() - W.ndim - 1 :])
    p = W.n if pool is None else check_int(pool, "pool")
    if W.n % p:
        raise ValueError(f"pool: region side p = {p} does not tile the n = {W.n} shifts")
    pooled, switches = _POOL[W.ndim](h, p, stride=p, return_indices=True)
    z = _UNPOOL[W.ndim](pooled, switches, p, stride=p, output_size=h.shape[2:])
    return z.reshape(lead + z.shape[1:])
