"""Sparse coding through the decoder W^T: the lasso by FISTA, and Algorithm 2 of the paper.

Algorithm 2 (sparse hidden-activation recovery, Section 4.3), for an activation x and filters W:

    1. z_init  = argmin_z ||x - W^T z||^2 + lambda ||z||_1
    2. z_model = 𝕄_known(z_init, k)                        (one entry per pooling region, k in total)
    3. z       = argmin_z ||x - W^T z||^2 + lambda ||z||_1  with z = 0 off the support of z_model

We solve both lassos with FISTA (Beck & Teboulle 2009) on the torch convolution operators, for
the objective 1/2 ||x - W^T z||^2 + lambda ||z||_1 (the paper's lambda is twice ours; it does
not give its value). Step 1/L with L = ||W||^2 from power iteration. Batched over images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .checks import as_tensor, check_int, check_nonzero, check_trailing_shape
from .conv import ConvOperator, operator_argument
from .rng import check_generator
from .sparsity import PoolingModel


@operator_argument("W")
def spectral_norm_sq(W: ConvOperator, *, generator: torch.Generator, n_iter: int = 30) -> float:
    """||W||_2^2 = the largest eigenvalue of W W^T, by power iteration (from below; FISTA uses
    it with a 2 % margin)."""
    check_generator(generator)
    v = torch.randn(W.out_shape, generator=generator, dtype=W.dtype).to(W.device)
    v = v / v.norm()
    lam = 0.0
    for _ in range(check_int(n_iter, "n_iter")):
        u = W.forward(W.adjoint(v))
        lam = float(u.norm())
        v = u / lam
    return lam


@dataclass(frozen=True)
class LassoResult:
    """z: (B, K, n, n); objective: (B, iterations) 1/2||x - W^T z||^2 + lambda||z||_1 per
    iteration; residual: (B,) ||x - W^T z|| / ||x|| at the end."""

    z: torch.Tensor
    objective: torch.Tensor
    residual: torch.Tensor


@operator_argument("W")
def lasso_fista(W: ConvOperator, x, lam, *, L: float, n_iter: int = 100, support=None) -> LassoResult:
    """min_z 1/2 ||x - W^T z||^2 + lam ||z||_1 (optionally z = 0 off `support`) by FISTA.

    x: (B, M, D, D); lam: a number or a per-image tensor (B,); L: a bound on ||W||^2
    (see `spectral_norm_sq`); support: bool (B, K, n, n) or None.
    """
    x = as_tensor(x, "x")
    # x must be a batch of inputs of W: a 1-channel x would otherwise broadcast against M channels
    check_trailing_shape(x, "x", W.in_shape, "a batch of inputs of W: M channels of size D")
    if x.dim() != len(W.in_shape) + 1:
        raise ValueError(f"x: expected a batch (B, {', '.join(map(str, W.in_shape))}), got {tuple(x.shape)}")
    n_iter = check_int(n_iter, "n_iter")
    if not isinstance(L, (int, float)) or isinstance(L, bool) or not L > 0 or L == float("inf"):
        raise ValueError(f"L: expected a positive bound on ||W||^2, got {L!r}")
    W.check_input(x, "x")
    nd = W.ndim + 1
    lam = torch.as_tensor(lam, dtype=x.dtype, device=x.device)
    if lam.dim() > 1 or (lam.dim() == 1 and len(lam) != len(x)):
        raise ValueError(f"lam: expected a number or one weight per image ({len(x)}), got shape {tuple(lam.shape)}")
    if lam.dim() == 1:
        lam = lam.reshape((-1,) + (1,) * nd)
    if not bool(torch.isfinite(lam).all()) or bool((lam < 0).any()):
        raise ValueError("lam: expected a finite nonnegative regularisation weight")
    x_norms = x.flatten(1).norm(dim=1)
    check_nonzero(x_norms, "x", "images", "the lasso's relative residual ||x - W^T z|| / ||x|| is undefined")
    step = 1.0 / (1.02 * L)
    z = torch.zeros(x.shape[: x.dim() - nd] + W.out_shape, dtype=x.dtype, device=x.device)
    # W^T is linear: W^T y of the extrapolated point y = z_new + beta (z_new - z) is the same
    # combination of W^T z_new and W^T z, which the objective needs anyway. Two convolutions per
    # iteration instead of three.
    Az = torch.zeros_like(x)
    y, Ay, t = z, Az, 1.0
    objective = []
    for _ in range(n_iter):
        g = y - step * W.forward_unchecked(Ay - x)  # x was checked above; divergence is caught below
        z_new = torch.sign(g) * torch.clamp(g.abs() - step * lam, min=0)
        if support is not None:
            z_new = z_new * support
        Az_new = W.adjoint_unchecked(z_new)
        t_new = (1 + (1 + 4 * t * t) ** 0.5) / 2
        beta = (t - 1) / t_new
        y, Ay = z_new + beta * (z_new - z), Az_new + beta * (Az_new - Az)
        z, Az, t = z_new, Az_new, t_new
        objective.append(0.5 * (Az - x).flatten(1).pow(2).sum(1) + (lam * z.abs()).flatten(1).sum(1))
        if not bool(torch.isfinite(objective[-1]).all()):
            break  # diverged (L below ||W||^2): refused below, before the next step overflows
    objective = torch.stack(objective, dim=1)  # (B, iterations run)
    # z = 0 has objective ||x||^2 / 2; iterates far above it (or not finite) mean the step 1 / L was
    # too long. L below ||W||^2 need not diverge (nor does FISTA then converge for sure): only a gross
    # divergence is caught here, so L should come from spectral_norm_sq
    start = 0.5 * x_norms.pow(2)
    if not bool(torch.isfinite(objective).all()) or bool((objective[:, -1] > 10 * start).any()):
        raise ValueError(
            f"L: the iterates diverged with L = {L:g} (objective {float(objective[:, -1].max()):.3g}, against "
            f"{float(start.max()):.3g} at z = 0); L must bound ||W||^2 (see spectral_norm_sq(W))"
        )
    residual = (Az - x).flatten(1).norm(dim=1) / x_norms
    return LassoResult(z=z, objective=objective, residual=residual)


@operator_argument("W")
def lasso_lambda(W: ConvOperator, x, *, fraction: float) -> torch.Tensor:
    """The lasso weight used with Algorithm 2, one per image: lambda = fraction * ||W x||_inf.

    ||W x||_inf is lambda_max, the smallest weight at which z = 0 solves
    min_z 1/2 ||x - W^T z||^2 + lambda ||z||_1: the gradient of the quadratic term at z = 0 is
    -W x, so 0 is optimal exactly when |(W x)_i| <= lambda for every entry. A fraction of it sets
    the sparsity of the code on the scale of each image, whatever the image's contrast (the paper
    does not give its lambda). fraction in (0, 1] (1 gives z = 0); x: (B, M, D[, D]); returns
    (B,), of x's dtype and device.
    """
    if not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or not 0 < fraction <= 1:
        raise ValueError(f"fraction: expected a number in (0, 1] (a fraction of ||W x||_inf), got {fraction!r}")
    x = W.check_input(x, "x")
    if x.dim() != len(W.in_shape) + 1:
        raise ValueError(f"x: expected a batch (B, {', '.join(map(str, W.in_shape))}), got {tuple(x.shape)}")
    return fraction * W.forward(x).flatten(1).abs().max(dim=1).values


@dataclass(frozen=True)
class Algorithm2Result:
    """The three stages of Algorithm 2 for a batch of B images: z_init, the lasso (step 1);
    z_model: (B, K, n, n) its known-switch projection onto M_k (step 2); z, the lasso restricted
    to the support of z_model (step 3), whose code ``z.z`` is the result."""

    z_init: LassoResult
    z_model: torch.Tensor
    z: LassoResult

    def summary(self, model: PoolingModel, k: int) -> dict[str, float | bool]:
        """Batch means of the fit and sparsity of steps 1 and 3: residual_lasso and
        residual_alg2 (||x - W^T z|| / ||x||), nonzero_lasso_pct and nonzero_alg2_pct (percent of
        nonzero code entries); in_model: whether every final code lies in M_k of `model`."""
        return dict(
            residual_lasso=float(self.z_init.residual.mean()),
            residual_alg2=float(self.z.residual.mean()),
            nonzero_lasso_pct=100 * float((self.z_init.z != 0).float().mean()),
            nonzero_alg2_pct=100 * float((self.z.z != 0).float().mean()),
            in_model=bool(model.contains(self.z.z, k).all()),
        )


@operator_argument("W")
def algorithm2(
    W: ConvOperator, x, model: PoolingModel, k: int, lam, *, L: float, n_iter: int = 100
) -> Algorithm2Result:
    """Algorithm 2: lasso, known-switch projection onto M_k, lasso restricted to that support.
    Returns all three stages; the model-sparse code is ``result.z.z``."""
    if tuple(model.code_shape) != tuple(W.out_shape):
        raise ValueError(f"model: its code shape {model.code_shape} differs from the output shape {W.out_shape} of W")
    first = lasso_fista(W, x, lam, L=L, n_iter=n_iter)
    z_model = model.project(first.z, k, switches="known")
    second = lasso_fista(W, x, lam, L=L, n_iter=n_iter, support=z_model != 0)
    return Algorithm2Result(z_init=first, z_model=z_model, z=second)
