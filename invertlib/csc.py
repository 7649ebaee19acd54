"""The other theory of CNN invertibility: multi-layer convolutional sparse coding (ML-CSC), beyond the paper.

V. Papyan, Y. Romano and M. Elad, "Convolutional neural networks analyzed via convolutional sparse
coding", JMLR 18 (2017), model a signal as X = D_1 Gamma_1, Gamma_1 = D_2 Gamma_2, ..., where D_i is a
convolutional dictionary whose atoms are the filters of layer i at every shift (D_i = W_i^T), and
read the forward pass Gamma_i = ReLU(D_i^T Gamma_{i-1} + b_i) as layered (soft, nonnegative)
thresholding. Their guarantees are stated in the *stripe* sparsity of the codes and the mutual
coherence mu(D_i) of the dictionary (l2-normalised atoms, every shift):

* a **stripe** of Gamma_i is the set of coefficients whose atoms overlap one atom of the layer:
  all K_i channels at the (2r + 1)^ndim shifts within r = (l - 1) // t of a position (l the filter
  side, t the stride; (2l - 1) shifts at stride 1, the stripe of the paper); ||Gamma_i||^s_{0,inf} is
  the largest number of nonzeros in any stripe (`stripe_sparsity`);
* **uniqueness** (Papyan, Sulam & Elad, "Working locally, thinking globally", IEEE TSP 2017, carried to
  every layer of ML-CSC by the JMLR paper): the representation is the unique sparsest one when
  ||Gamma_i||^s_{0,inf} < (1 + 1 / mu(D_i)) / 2 (`uniqueness_allowance`);
* **layered thresholding** (the forward pass; JMLR paper, noiseless case eps = 0 of its stability
  theorem for layered thresholding): the supports are recovered when
  ||Gamma_i||^s_{0,inf} < (1 + |Gamma_i^min| / (mu(D_i) |Gamma_i^max|)) / 2 - eps_{i-1} / (mu(D_i) |Gamma_i^max|),
  Gamma_i^min, Gamma_i^max the smallest and largest nonzero |entries| of Gamma_i. We evaluate the
  noiseless form (eps_{i-1} = 0), the most generous one (`thresholding_allowance`).

We could not read the paper's text offline; the forms above are the ones its abstract and the
follow-up literature restate, and the companion (notebook 12) says so where it uses them. mu(D_i)
with every shift is `coherence.coherence(w, shifts=True)`, over the atoms away from the border: a
padded layer also has atoms cut by the zero padding, which can be more coherent, so allowances from
it are if anything too generous.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .checks import check_int, check_values, real_tensor


def stripe_size(K: int, l: int, *, ndim: int = 2, stride: int = 1) -> int:
    """Coefficients in one stripe: K (2r + 1)^ndim with r = (l - 1) // stride."""
    K, l, stride = check_int(K, "K"), check_int(l, "l"), check_int(stride, "stride")
    return K * (2 * ((l - 1) // stride) + 1) ** check_int(ndim, "ndim")


def stripe_counts(codes, l: int, *, stride: int = 1) -> torch.Tensor:
    """The number of nonzeros in the stripe centred at every position of a batch of codes
    (B, K, n[, n]) of a dictionary with filters of side l and stride t: (B, n[, n]). Positions near
    the border count the part of their stripe that lies inside the code."""
    z = real_tensor(codes, "codes")
    if z.dim() not in (3, 4):
        raise ValueError(f"codes: expected a batch of codes (B, K, n) or (B, K, n, n), got {tuple(z.shape)}")
    r = (check_int(l, "l") - 1) // check_int(stride, "stride")
    ndim = z.dim() - 2
    # float32 counts are exact below 2^24, and below 2^11 channels even where a GPU sums in TF32
    active = (z != 0).sum(dim=1, keepdim=True, dtype=torch.float32)
    box = torch.ones((1, 1) + (2 * r + 1,) * ndim, dtype=active.dtype, device=active.device)
    conv = F.conv1d if ndim == 1 else F.conv2d
    return conv(active, box, padding=r).squeeze(1).round().long()


def stripe_sparsity(codes, l: int, *, stride: int = 1) -> torch.Tensor:
    """||Gamma||^s_{0,inf} of every code in a batch (B, K, n[, n]): the largest number of nonzeros
    in one stripe (`stripe_counts`), (B,) integers."""
    return stripe_counts(codes, l, stride=stride).flatten(1).max(dim=1).values


def magnitude_ratio(codes) -> torch.Tensor:
    """|Gamma^min| / |Gamma^max| of every code in a batch (B, ...): the smallest over the largest
    nonzero |entry|, (B,); 0 is not a nonzero entry. A code with no nonzero entry is an error."""
    z = real_tensor(codes, "codes")
    if z.dim() < 2 or z.shape[0] == 0:
        raise ValueError(f"codes: expected a non-empty batch (B, ...) of codes, got {tuple(z.shape)}")
    z = z.flatten(1).abs()
    empty = (z == 0).all(dim=1)
    if bool(empty.any()):
        raise ValueError(f"codes: codes {torch.nonzero(empty).flatten().tolist()[:10]} have no nonzero entry")
    smallest = z.masked_fill(z == 0, float("inf")).min(dim=1).values
    return smallest / z.max(dim=1).values


def uniqueness_allowance(mu):
    """(1 + 1 / mu) / 2: the stripe sparsity below which the representation is the unique sparsest
    one (and basis pursuit and OMP find it), for a dictionary of mutual coherence mu in (0, 1]."""
    mu = check_values(mu, "mu", low=0, high=1, low_open=True)
    return _scalar((1 + 1 / mu) / 2)


def thresholding_allowance(mu, ratio):
    """(1 + ratio / mu) / 2: the stripe sparsity below which (noiseless) thresholding recovers the
    support, for mutual coherence mu in (0, 1] and ratio = |Gamma^min| / |Gamma^max| in [0, 1]."""
    mu = check_values(mu, "mu", low=0, high=1, low_open=True)
    ratio = check_values(ratio, "ratio", low=0, high=1)
    return _scalar((1 + ratio / mu) / 2)


def _scalar(a: np.ndarray):
    return float(a) if a.ndim == 0 else a
