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
# # 01 · A CNN layer is a matrix: $W \in \mathbb{R}^{Kn \times MD}$ (Section 2.2, Figure 1)
#
# **Paper.** Section 2.2 and Figure 1 of Gilbert et al. (IJCAI 2017) write one 1-D convolution layer as a
# matrix. The input $x \in \mathbb{R}^{MD}$ has $M$ channels of length $D$; the layer has $K$ filters of size
# $\ell \times M$ (so $\ell M K$ parameters) applied with stride $t$ at $n = (D-\ell)/t + 1$ shifts. Stacking
# the shifted filters as rows gives $W \in \mathbb{R}^{Kn \times MD}$: $K$ row blocks (one per filter, holding its
# $n$ shifts) and $M$ column blocks (one per channel). The layer's pre-activation is $h = Wx$, and the
# tied decoder of the rest of the paper is the transposed convolution $W^T$. The analysis assumes
# $Kn \ge MD$, rows of $W$ that span $\mathbb{R}^{MD}$, and unit-norm rows.
#
# **This notebook** draws $W$ for a small example with its filter and channel blocks marked (our Figure 1),
# shows that the fast torch convolution and its transpose equal $W$ and $W^T$ to machine precision
# (also for strides, padding and the 2-D operator the VGG experiments use), and checks the assumptions
# for the example and for the Figure 2 setting ($\ell=5$, $M=32$, $K=96$, $D=32$).
#
# **Rerun with other parameters:**
# `.venv/bin/papermill -k invertlib notebooks/01_cnn_layer_as_matrix.ipynb /tmp/out.ipynb -p seed 3 -p K 6 -p stride 2 -p D 9`
# Its figures and claims go to `build/runs/01_cnn_layer_as_matrix/` (the imports cell prints where); only
# `make figures` writes `figures/`.

# %% tags=["parameters"]
seed = 0
device = "cpu"  # or "cuda": where the tensors live; random draws stay on the CPU generator (same numbers)
# small example drawn in Figure 1
K, M, l, D, stride = 5, 3, 3, 8, 1
# the Figure 2 setting of the paper (Section 4.2), stride 1, valid convolution
fig2 = dict(K=96, M=32, l=5, D=32, stride=1)
# a 2-D operator as used for VGG16 (3x3 filters, padding 1) and a strided one
conv2d_cases = [dict(K=8, M=4, l=3, D=10, stride=1, padding=1), dict(K=6, M=3, l=3, D=11, stride=2, padding=0)]
n_test_vectors = 16

# %%
import matplotlib.pyplot as plt
import torch

import invertlib as il
from invertlib.companion.plotting import draw_conv_matrix, save_figure, use_style
from invertlib.conv import frame_summary, matrix_mismatch

use_style()
claims = il.Claims("01_cnn_layer_as_matrix", seed, device)
gen = il.torch_generator(seed)

# %% [markdown]
# ## The matrix $W$, entry by entry
#
# Row $(i, j)$ of $W$ holds filter $i$ shifted by $jt$: $W_{(i,j),(m,\,jt+q)} = w_{i,m}[q]$ for $q = 0..\ell-1$.
# Rows are ordered filter-major (row $i\,n + j$), columns channel-major (column $m D + d$).
# `ConvOperator.matrix()` builds it from this definition alone, without torch's convolution routines,
# so it can test them. Filters are drawn Gaussian and normalised to unit norm, which under valid
# convolution makes every row of $W$ unit-norm.

# %%
# NBVAL_CHECK_OUTPUT
w = il.gaussian_filters(K, M, l, generator=gen, scale="unit", device=device)
op = il.ConvOperator(w, D, stride)
W = op.matrix()
print(op)
print(f"n = (D - l)/t + 1 = ({D} - {l})/{stride} + 1 = {op.n};  W is Kn x MD = {W.shape[0]} x {W.shape[1]}")
print(f"distinct nonzero entries of W: {torch.unique(W[W != 0]).numel()} = l*M*K = {l * M * K}")


# %%
op_strided = il.ConvOperator(w, D + 1, stride=2)  # the same filters with stride 2
fig, axes = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw=dict(width_ratios=[op.shape[1], op_strided.shape[1]]))
draw_conv_matrix(axes[0], op, W, f"W: K={K}, M={M}, l={l}, D={D}, t={stride}  ({W.shape[0]} x {W.shape[1]})")
W_strided = op_strided.matrix()
draw_conv_matrix(
    axes[1],
    op_strided,
    W_strided,
    f"same filters, D={D + 1}, t=2  ({W_strided.shape[0]} x {W_strided.shape[1]}"
    + ("" if op_strided.shape[0] >= op_strided.shape[1] else "; Kn < MD: not a frame")
    + ")",
)
fig.suptitle("Figure 1: a 1-D convolution layer as the matrix W (solid: filter blocks, dashed: channel blocks)")
save_figure(fig, "fig1_conv_matrix")
plt.show()


# %% [markdown]
# ## The fast operator equals the matrix
#
# `ConvOperator.forward` is torch's `conv1d` (a cross-correlation, as in the paper's definition of the
# shifts) and `adjoint` is `conv_transpose1d` with the same filters. Both must equal multiplication by
# $W$ and $W^T$; the dot-product test $\langle Wx, y\rangle = \langle x, W^T y\rangle$ checks the adjoint
# without the matrix. The same checks run for the Figure 2 setting and for 2-D operators with padding
# and stride (the VGG16 experiments later use 3x3 filters with padding 1).

# %%
w_fig2 = il.gaussian_filters(fig2["K"], fig2["M"], fig2["l"], generator=gen, scale="unit", device=device)
op_fig2 = il.ConvOperator(w_fig2, fig2["D"], fig2["stride"])
W_fig2 = op_fig2.matrix()

ops_2d = [
    il.ConvOperator(
        il.gaussian_filters(c["K"], c["M"], c["l"], generator=gen, ndim=2, scale="unit", device=device),
        c["D"],
        c["stride"],
        c["padding"],
    )
    for c in conv2d_cases
]
cases = [("example", op, W), ("example, stride 2", op_strided, W_strided), ("Figure 2 setting", op_fig2, W_fig2)]
cases += [(f"2-D, t={o.stride}, p={o.padding}", o, o.matrix()) for o in ops_2d]

rows = []
for name, o, Wo in cases:
    rows.append(
        (
            name,
            o.shape,
            matrix_mismatch(o, Wo, generator=gen, batch=n_test_vectors),
            il.dot_test(o, generator=gen, batch=n_test_vectors),
        )
    )
for name, shape, mism, dot in rows:
    print(f"{name:22s} W {shape[0]:5d} x {shape[1]:5d}   max rel |W x - conv(x)|: {mism:.1e}   dot test: {dot:.1e}")
max_mismatch = max(r[2] for r in rows)
max_dot = max(r[3] for r in rows)
n_params = torch.unique(W_fig2[W_fig2 != 0]).numel()  # distinct nonzero entries of W, Figure 2 setting


# %% [markdown]
# ## The paper's assumptions on $W$
#
# * **Overcomplete:** $Kn \ge MD$.
# * **The rows span $\mathbb{R}^{MD}$:** $W$ has full column rank $MD$, i.e. its smallest singular value is
#   positive. Then $W^T W$ is invertible and $W$ is a frame for $\mathbb{R}^{MD}$.
# * **Unit-norm rows.**
#
# The singular values of $W$ also show how far $W$ is from an isometry: with unit-norm rows,
# $\operatorname{tr}(W^T W) = Kn$, so the mean eigenvalue of $W^T W$ is $Kn/MD$ (printed below), which exceeds 1
# whenever $Kn > MD$, as in the Figure 2 setting. This is why the raw quantity $\|W W^T z\|/\|z\|$ (Figure 2b,
# notebook 03) does not centre at 1.

# %%
# NBVAL_CHECK_OUTPUT
frames = {"example": frame_summary(op, W), "Figure 2 setting": frame_summary(op_fig2, W_fig2)}
for name, f in frames.items():
    print(
        f"{name:17s} Kn = {f.Kn:4d} >= MD = {f.MD:4d}: {f.Kn >= f.MD};  rank {f.rank};  "
        f"sigma_min {f.sigma_min:.3f}, sigma_max {f.sigma_max:.3f};  mean sigma^2 {f.mean_sigma2:.3f} "
        f"(Kn/MD = {f.Kn / f.MD:.3f})"
    )

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for ax, (name, f) in zip(axes, frames.items(), strict=True):
    ax.hist((f.svals**2).cpu().numpy(), bins=40, color="C0")
    ax.axvline(f.Kn / f.MD, color="C3", ls="--", label=f"mean = Kn/MD = {f.Kn / f.MD:.3g}")
    ax.set_xlabel(r"eigenvalues of $W^T W$ ($\sigma_i^2$)")
    ax.set_ylabel("count")
    ax.set_title(f"{name}: W is {f.Kn} x {f.MD}, unit-norm rows")
    ax.legend()
fig.suptitle("The rows of W span R^{MD}: all eigenvalues of W^T W are positive")
save_figure(fig, "fig1b_frame_spectrum")
plt.show()

# %% [markdown]
# ## Claims
#
# Invariants (asserted): the explicit matrix equals the fast operator, the adjoint passes the dot-product
# test, and the example and the Figure 2 setting satisfy the paper's three assumptions on $W$. The paper's
# own statements about the shape and parameter count of $W$ are compared as `paper` claims.

# %%
# NBVAL_CHECK_OUTPUT
f2 = frames["Figure 2 setting"]
claims.invariant(
    "fig1.matrix_equals_conv",
    "explicit W (Section 2.2) equals torch conv/conv_transpose, 1-D and 2-D, with stride and padding "
    "(max relative difference)",
    ours=max_mismatch,
    holds=max_mismatch <= 1e-12,
    tol=1e-12,
)
claims.invariant(
    "fig1.adjoint",
    "dot-product test <Wx, y> = <x, W^T y> in float64 (max relative mismatch)",
    ours=max_dot,
    holds=max_dot <= 1e-10,
    tol=1e-10,
)
for key, f in (("example", frames["example"]), ("fig2_setting", f2)):
    claims.invariant(
        f"fig1.overcomplete.{key}",
        "Kn >= MD",
        paper="Kn >= MD",
        ours=f"{f.Kn} >= {f.MD}",
        holds=f.Kn >= f.MD,
    )
    claims.invariant(
        f"fig1.rows_span.{key}",
        "the rows of W span R^{MD} (rank MD; smallest singular value > 0)",
        paper=f"rank {f.MD}",
        ours=f.rank,
        holds=f.rank == f.MD and f.sigma_min > 1e-8,
        note=f"sigma_min = {f.sigma_min:.3f}",
    )
    claims.invariant(
        f"fig1.unit_rows.{key}",
        "rows of W have unit l2 norm (max | ||row|| - 1 |)",
        ours=f.row_norm_err,
        holds=f.row_norm_err <= 1e-12,
        tol=1e-12,
    )
claims.judge(
    "fig1.shape",
    "W is Kn x MD with n = (D - l)/t + 1, in the Figure 2 setting (l=5, M=32, K=96, D=32, t=1)",
    paper="2688 x 1024",
    ours=f"{op_fig2.shape[0]} x {op_fig2.shape[1]}",
    matched=op_fig2.shape == (2688, 1024),
    note="parameters differ from the paper's Figure 2 setting",
)
claims.judge(
    "fig1.parameters",
    "the layer has l*M*K parameters (distinct nonzero entries of W), Figure 2 setting",
    paper=5 * 32 * 96,
    ours=n_params,
    matched=n_params == 5 * 32 * 96,
    note="parameters differ from the paper's Figure 2 setting",
)
claims.finish()
