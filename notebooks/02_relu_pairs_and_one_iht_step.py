# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (invertlib)
#     language: python
#     name: invertlib
# ---

# %% [markdown]
# # 02 · ReLU pairs (Proposition 1) and one CNN layer = one step of model-based IHT (Section 3, Algorithm 1)
#
# **Paper.** *Proposition 1:* if $W$ is an orthonormal basis of $\mathbb{R}^{MD}$ and $\Psi = [W^T\; -W^T]$, a one-layer
# CNN with filters $\Psi^T = [W; -W]$ (paired filters, i.e. concatenated ReLU) and no pooling reconstructs every
# input exactly: $\Psi\,\mathrm{ReLU}(\Psi^T x) = W^T\big((Wx)_+ - (Wx)_-\big) = W^T W x = x$. With such pairs the
# paper drops ReLU from the analysis. *Section 3.1 / Algorithm 1:* with $\Phi = W^T$ and $z_0 = 0$, the first
# iteration of model-based IHT computes $b = Wx$ (convolution), $z_1 = \mathbb{M}(b, k)$ (ReLU, max pooling and
# unpooling with the switches) and $\Phi z_1 = W^T\mathbb{M}(Wx, k)$: "exactly one feed-forward CNN layer".
#
# **This notebook** checks Proposition 1 to machine precision on an orthonormal *convolution* layer (stride $t=\ell$,
# $K = M\ell$ orthonormal filters), shows what is lost without the pairs, and checks that
# conv → ReLU → max pooling → unpooling (torch's pooling routines) equals the first IHT iterate with
# $\Phi = \Psi$ and the nonnegative model projection, for 1-D pooling over all shifts (the theory), 1-D pooling
# regions and 2-D 2×2 pooling (the VGG setting). Last, it measures how far the paired CNN step is from the
# signed step $W^T\mathbb{M}(Wx,k)$ the analysis uses once ReLU is dropped.
#
# **Rerun:** `.venv/bin/papermill -k invertlib notebooks/02_relu_pairs_and_one_iht_step.ipynb /tmp/out.ipynb -p seed 3 -p n_inputs 5000`
# Its figures and claims go to `build/runs/02_relu_pairs_and_one_iht_step/` (the imports cell prints where); only
# `make figures` writes `figures/`.

# %% tags=["parameters"]
seed = 0
device = "cpu"  # or "cuda": where the tensors live; random draws stay on the CPU generator (same numbers)
n_inputs = 1000  # random inputs x per check
k = 10  # nonzero blocks of z in the drop-ReLU check (the Figure 2 setting)
# Proposition 1: orthonormal conv layer with M channels, filters of length l, stride l
prop1 = dict(M=4, l=5, D=40)
# CNN layer vs first IHT step: (name, ndim, K, M, l, D, padding, pool); pool None = over all shifts
iht_cases = [
    ("1-D, Figure 2 setting, pool over all n shifts", 1, 96, 32, 5, 32, 0, None),
    ("1-D, Figure 2 setting, pool 4", 1, 96, 32, 5, 32, 0, 4),
    ("2-D, 3x3 filters, padding 1, 2x2 pooling", 2, 32, 16, 3, 16, 1, 2),
]

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import invertlib as il
from invertlib.cnn import cnn_layer, paired_operator
from invertlib.companion.plotting import iht_first_step_figure, save_figure, use_style
from invertlib.iht import model_iht, one_step_inverse
from invertlib.metrics import relative_error
from invertlib.sparsity import PoolingModel

use_style()
claims = il.Claims("02_relu_pairs_and_one_iht_step", seed, device)
gen = il.torch_generator(seed)

# %% [markdown]
# ## Proposition 1: paired filters make ReLU lossless
#
# An orthonormal basis that is also a convolution: $K = M\ell$ orthonormal filters of size $\ell\times M$ applied with
# stride $t = \ell$ tile the input without overlap, so $W$ is square ($Kn = MD$) and orthogonal.

# %%
# NBVAL_CHECK_OUTPUT
w_orth = il.orthonormal_filters(prop1["M"], prop1["l"], generator=gen, device=device)
W_orth = il.ConvOperator(w_orth, prop1["D"], stride=prop1["l"])
A = W_orth.matrix()
orth_err = float((A.T @ A - torch.eye(A.shape[1], dtype=A.dtype, device=A.device)).abs().max())
print(W_orth)
print(f"W is square and orthogonal: {A.shape[0]} x {A.shape[1]}, max |W^T W - I| < 1e-12: {orth_err < 1e-12}")

Psi_T = paired_operator(W_orth)  # filters [W; -W]
x = torch.randn((n_inputs,) + W_orth.in_shape, generator=gen, dtype=torch.float64).to(device)
x_paired = Psi_T.adjoint(torch.relu(Psi_T.forward(x)))  # Psi ReLU(Psi^T x)
x_unpaired = W_orth.adjoint(torch.relu(W_orth.forward(x)))  # W^T ReLU(W x): no pairs
err_paired = relative_error(x_paired, x)
err_unpaired = relative_error(x_unpaired, x)
# without pairs the loss is exactly the negative part: ||W^T ReLU(Wx) - x|| = ||(Wx)_-||
neg_part = torch.relu(-W_orth.forward(x)).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
print(f"paired filters   : max ||Psi ReLU(Psi^T x) - x|| / ||x|| < 1e-12: {float(err_paired.max()) < 1e-12}")
print(
    "unpaired filters : ||W^T ReLU(Wx) - x|| / ||x|| = "
    f"{float(err_unpaired.mean()):.3f} +- {float(err_unpaired.std()):.3f}"
    f"  (= ||(Wx)_-|| / ||x||; 1/sqrt(2) = {1 / np.sqrt(2):.3f} for symmetric h)"
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
ch = 0
axes[0].plot(x[0, ch].cpu().numpy(), "k-", lw=2, label="x (channel 1)")
axes[0].plot(x_paired[0, ch].cpu().numpy(), "C2--", lw=2, label=r"$\Psi\,$ReLU$(\Psi^T x)$, paired")
axes[0].plot(x_unpaired[0, ch].cpu().numpy(), "C3:", lw=2, label=r"$W^T$ReLU$(Wx)$, unpaired")
axes[0].set_xlabel("position d")
axes[0].legend(fontsize=8)
axes[0].set_title("one input, one channel")
axes[1].hist(err_unpaired.cpu().numpy(), bins=40, color="C3", label="unpaired")
axes[1].axvline(float(err_paired.max()), color="C2", lw=3, label=f"paired (max {float(err_paired.max()):.0e})")
axes[1].set_xlabel("relative reconstruction error")
axes[1].set_ylabel("count")
axes[1].legend()
axes[1].set_title(f"{n_inputs} Gaussian inputs")
fig.suptitle("Proposition 1: an orthonormal conv layer with ReLU pairs (w, -w) is exactly invertible")
save_figure(fig, "prop1_relu_pairs")
plt.show()

# %% [markdown]
# ## One CNN layer is the first iteration of model-based IHT
#
# Two independent computations on the same random input $x$:
#
# * **CNN** (`invertlib.cnn.cnn_layer`): convolution with the paired filters $[W; -W]$, ReLU, max pooling
#   (torch's `max_pool` with its indices = the switches), unpooling with those switches (`max_unpool`).
# * **IHT** (`invertlib.iht.model_iht`, one iteration, unit step, $z_0 = 0$): $b = \Psi^T x$, then
#   $z_1 = \mathbb{M}_+(b)$, the model projection of `PoolingModel` that keeps the largest (nonnegative) entry of each
#   pooling region at its own position; no block-sparsification ($k$ = all regions), as a CNN has none.

# %%
# NBVAL_CHECK_OUTPUT
iht_rows = []
for name, nd, K, M, l, D, pad, pool in iht_cases:
    W = il.ConvOperator(il.gaussian_filters(K, M, l, generator=gen, ndim=nd, device=device), D, padding=pad)
    Psi_T = paired_operator(W)
    xs = torch.randn((n_inputs // 10,) + W.in_shape, generator=gen, dtype=torch.float64).to(device)
    iht = model_iht(Psi_T, xs, PoolingModel(Psi_T.out_shape, pool).projector(None, nonnegative=True), n_iter=1)
    z_cnn = cnn_layer(W, xs, pool)
    iht_rows.append(
        dict(
            name=name,
            W=W,
            pool=pool,
            x=xs,
            z_cnn=z_cnn,
            z_iht=iht.z,
            code_diff=float((iht.z - z_cnn).abs().max()),
            recon_diff=float((iht.x_hat - Psi_T.adjoint(z_cnn)).abs().max()),
        )
    )
    print(
        f"{name:48s} code {tuple(z_cnn.shape[1:])}: max |z_IHT - z_CNN| < 1e-12: {iht_rows[-1]['code_diff'] < 1e-12}, "
        f"max |Psi z_IHT - Psi z_CNN| < 1e-12: {iht_rows[-1]['recon_diff'] < 1e-12}"
    )
max_step_diff = max(max(r["code_diff"], r["recon_diff"]) for r in iht_rows)

# %%
r = iht_rows[1]  # 1-D, pool 4: small enough to see every region
b = paired_operator(r["W"]).forward(r["x"][:1])[0]  # b = Psi^T x of the first input
title = f"One CNN layer = the first model-IHT iterate ({r['name']}; pooling regions dotted)"
fig = iht_first_step_figure(b, r["z_cnn"][0], r["z_iht"][0], pool=r["pool"], title=title)
save_figure(fig, "iht_first_step_equals_cnn")
plt.show()

# %% [markdown]
# ## Dropping ReLU: the paired CNN step versus the signed step $W^T\mathbb{M}(Wx, k)$
#
# The analysis replaces the paired network by the signed step: keep the entry of largest $|h|$ per region of $h = Wx$.
# The paired network keeps *two* entries per region and filter, the largest of $h_+$ and the largest of $h_-$; their
# difference $z_+ - z_-$ lies in $\mathcal{M}^2$, not in $\mathcal{M}$. The two coincide only when a region's entries all have
# one sign. We measure the gap on inputs generated by the model, $x = W^T z$ with $z \in \mathcal{M}_k$ ($k = 10$, the
# Figure 2 setting with pooling over all shifts, no block-sparsification in either step). For scale, the last number
# is the signed step *with* block-sparsification to the true $k$, the $\mathbb{M}(\cdot, k)$ of Theorem 3.3: a plain CNN layer
# has no such step, and without it every one of the $K$ blocks contributes an entry.

# %%
# NBVAL_CHECK_OUTPUT
r = iht_rows[0]
W = r["W"]
model = PoolingModel(W.out_shape, r["pool"])
z = model.sample(k, n_inputs, generator=gen).to(device)
x_model = W.adjoint(z)
z_pair = cnn_layer(W, x_model, r["pool"])
x_pair = paired_operator(W).adjoint(z_pair)  # W^T (z_+ - z_-)
x_signed = one_step_inverse(W, x_model, model.projector(None))  # W^T M(Wx), one entry per region
gap = relative_error(x_pair, x_signed)
err_pair, err_signed = relative_error(x_pair, x_model), relative_error(x_signed, x_model)
print(f"||x_paired - x_signed|| / ||x_signed||: median {float(gap.median()):.3f}, max {float(gap.max()):.3f}")
err_signed_k = relative_error(one_step_inverse(W, x_model, model.projector(k)), x_model)
print(
    f"reconstruction error of x = W^T z (medians): paired CNN {float(err_pair.median()):.3f}, "
    f"signed {float(err_signed.median()):.3f}, "
    f"signed with block-sparsification to k = {k} {float(err_signed_k.median()):.3f}"
)

# %% [markdown]
# ## Claims

# %%
# NBVAL_CHECK_OUTPUT
claims.invariant(
    "prop1.exact",
    "Psi ReLU(Psi^T x) = x for an orthonormal conv layer W with paired filters (max relative error)",
    ours=float(err_paired.max()),
    holds=float(err_paired.max()) <= 1e-12 and orth_err <= 1e-12,
    tol=1e-12,
)
loss_identity = float((err_unpaired - neg_part).abs().max())
claims.invariant(
    "prop1.unpaired_loss",
    "without pairs, ||W^T ReLU(Wx) - x|| = ||(Wx)_-|| (max deviation)",
    ours=loss_identity,
    holds=loss_identity <= 1e-12,
    tol=1e-12,
    note=f"mean relative loss {float(err_unpaired.mean()):.3f} of ||x||",
)
claims.invariant(
    "iht.first_step_equals_cnn",
    "conv -> ReLU -> max pool -> unpool = first model-IHT iterate with Phi = [W^T -W^T] "
    "(max |difference|, 1-D and 2-D)",
    ours=max_step_diff,
    holds=max_step_diff <= 1e-12,
    tol=1e-12,
)
why = (
    "the paired CNN keeps the largest positive and the largest negative entry of every block, so z_+ - z_- lies in "
    "M^2 and not in M; the signed step keeps one. Identical only where a block has one sign; reconstruction errors: "
    f"paired {float(err_pair.median()):.3f}, signed {float(err_signed.median()):.3f} (medians)"
)
claims.compare(
    "prop1.drop_relu",
    "with paired filters ReLU can be dropped: the CNN step acts as W^T M(Wx, k) (median "
    f"relative gap, x = W^T z, k = {k})",
    paper=0.0,
    ours=float(gap.median()),
    tol=(0.01, float("inf")),
    note=why,
    caveat=why,
)
claims.finish()
