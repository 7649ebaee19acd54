"""Model-based iterative hard thresholding (Algorithm 1) with Phi = W^T, and the one-step inverse.

Algorithm 1 (Blumensath & Davies 2009; Baraniuk et al. 2010), for x = Phi z with z in M_k:

    z_0 = 0, d = x
    repeat:  b = z_{i-1} + mu Phi^T d ;  z_i = 𝕄(b, k) ;  d = x - Phi z_i

The paper uses mu = 1. With Phi = W^T, Phi^T d = W d is the convolution, so the first iteration
is b = Wx (one CNN layer's pre-activation), z_1 = 𝕄(Wx, k) (ReLU + max pooling + unpooling, see
invertlib.cnn) and Phi z_1 = W^T 𝕄(Wx, k): the one-step reconstruction x_hat of Theorem 3.3.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .checks import as_tensor, check_int, check_nonzero
from .conv import ConvOperator, operator_argument
from .metrics import relative_error
from .sparsity import PoolingModel


@dataclass(frozen=True)
class IHTResult:
    """z: final code (B..., K, n[, n]); x_hat = W^T z; residuals: (B..., iterations + 1) relative
    residuals ||x - W^T z_i|| / ||x|| starting at i = 0; snapshots: {iteration: z_i} for the
    iterations asked for in `keep`; n_iter: iterations run."""

    z: torch.Tensor
    x_hat: torch.Tensor
    residuals: torch.Tensor
    n_iter: int
    snapshots: dict = field(default_factory=dict)


def _norm(t: torch.Tensor, ndim: int) -> torch.Tensor:
    return t.flatten(t.dim() - ndim).norm(dim=-1)


@operator_argument("W")
def model_iht(
    W: ConvOperator,
    x,
    project: Callable[[torch.Tensor], torch.Tensor],
    *,
    n_iter: int = 1,
    step: float | str = 1.0,
    tol: float | None = None,
    keep: tuple[int, ...] = (),
) -> IHTResult:
    """Algorithm 1 with Phi = W^T on a batch x: (..., M, D[, D]).

    project: z -> 𝕄(z, k), e.g. ``PoolingModel.projector(k, switches=...)``.
    step: 1.0 (the paper), another fixed mu > 0, or ``"normalized"``: the normalised IHT step of
        Blumensath & Davies (2010), mu = ||g_S||^2 / ||W^T g_S||^2 per sample, g = W d and S the
        support of z_{i-1} (of 𝕄(g) at the first iteration).
    tol: stop early once no sample's relative residual changed by more than tol in an iteration.
    keep: iterations at which to keep a copy of z_i (for error-versus-iterations curves).
    """
    x = W.check_input(x, "x")
    n_iter = check_int(n_iter, "n_iter")
    if not (
        step == "normalized" or (isinstance(step, (int, float)) and not isinstance(step, bool) and 0 < step < math.inf)
    ):
        raise ValueError(f"step: expected a positive finite number or 'normalized', got {step!r}")
    if not callable(project):
        raise TypeError(f"project: expected a function z -> M(z, k) such as PoolingModel.projector(k), got {project!r}")
    if tol is not None and not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol: expected None or a number >= 0, got {tol!r}")
    nd = W.ndim + 1
    x_norm = _norm(x, nd)
    check_nonzero(
        x_norm, "x", "samples", "their relative residuals are undefined (and the code of a zero signal is zero)"
    )
    z = torch.zeros(x.shape[: x.dim() - nd] + W.out_shape, dtype=x.dtype, device=x.device)
    d = x
    residuals = [torch.ones_like(x_norm)]
    snapshots = {}
    it = 0
    # x was checked above; the iterates below are built from it, so the convolutions skip the checks
    for it in range(1, n_iter + 1):
        g = W.forward_unchecked(d)
        if step == "normalized":
            support = (z != 0) if it > 1 else (project(g) != 0)
            g_s = g * support
            num = _norm(g_s, nd) ** 2
            den = _norm(W.adjoint_unchecked(g_s), nd) ** 2
            mu = torch.where(den > 0, num / den.clamp_min(torch.finfo(x.dtype).tiny), torch.ones_like(num))
            mu = mu.reshape(mu.shape + (1,) * nd)
        else:
            mu = float(step)
        z = project(z + mu * g)
        d = x - W.adjoint_unchecked(z)
        residuals.append(_norm(d, nd) / x_norm)
        if it in keep:
            snapshots[it] = z.clone()
        if tol is not None and bool(((residuals[-2] - residuals[-1]).abs() <= tol).all()):
            break
    return IHTResult(z=z, x_hat=x - d, residuals=torch.stack(residuals, dim=-1), n_iter=it, snapshots=snapshots)


@operator_argument("W")
def one_step_inverse(W: ConvOperator, x, project: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """x_hat = W^T 𝕄(W x, k): one CNN layer followed by its tied decoder (Theorem 3.3)."""
    return W.adjoint(project(W.forward(as_tensor(x, "x"))), name="project(W x)")


@operator_argument("W")
def one_step_errors(
    W: ConvOperator,
    k: int,
    n_samples: int,
    *,
    generator: torch.Generator,
    pool: int | None = None,
    switches: str = "known",
    values: str = "uniform",
) -> torch.Tensor:
    """Figure 2(c)'s experiment: draw n_samples codes z in M_k of `PoolingModel(W.out_shape, pool)`
    (nonzeros `values`), form x = W^T z and x_hat = W^T 𝕄(Wx, k) with the given `switches`, and
    return the relative errors ||x_hat - x|| / ||x||, shape (n_samples,)."""
    model = PoolingModel(W.out_shape, pool)
    x = W.adjoint(model.sample(k, n_samples, generator=generator, values=values, dtype=W.dtype).to(W.device))
    return relative_error(one_step_inverse(W, x, model.projector(k, switches=switches)), x)
