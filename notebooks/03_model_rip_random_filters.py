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
# # 03 · Model-RIP of random CNN filters: Theorem 3.1 and Figure 2(a, b)
#
# **Paper.** *Theorem 3.1:* for $MK$ filters of length $\ell$ with i.i.d. $\mathcal{N}(0,1)/\sqrt{M\ell}$ entries, stride $t$ and
# $n = (D-\ell)/t + 1$ shifts, if $\;M\ell^2/D \ge (Ck/\delta_k^2)(\log K + \log n - \log\varepsilon)$, then with probability
# $1-\varepsilon$ the $MD \times Kn$ matrix $W^T$ satisfies model-RIP (Eq. 1) for $\mathcal{M}_k$ with constant $\delta_k$.
# *Figure 2(a, b)* (Section 4.2): with $\ell=5$, $M=32$, $K=96$, $D=32$, $k=10$ and nonzeros $\sim U[-1,1]$, the histograms of
# (a) $\|W^Tz\|/\|z\|$ and (b) $\|WW^Tz\|/\|z\|$ (Lemma B.1's corollary) are "tightly centred around 1".
#
# **This notebook** reproduces (a); shows that (b) taken literally centres near 2, finds the readings that centre at 1
# and says which one the paper must have plotted; bounds $\delta_k$ from below in two ways (Monte Carlo, and a
# certified worst-case search over supports, `invertlib.rip`); and sweeps $M$, $\ell$, $K$, $k$ and $n$ to test
# Theorem 3.1's scaling $\delta_k^2 \propto k(\log K + \log n - \log\varepsilon)\,D/(M\ell^2)$, fitting the constant $C$.
#
# Settings the paper leaves open and our choices: stride 1 and valid convolution ($n = D - \ell + 1$); pooling over all
# $n$ shifts of a filter (the 1-D theory's block model); 10,000 samples for the histograms; $\varepsilon = 0.01$.
#
# **Rerun:** `.venv/bin/papermill -k invertlib notebooks/03_model_rip_random_filters.ipynb /tmp/out.ipynb -p seed 3 -p n_samples 50000`
# Its figures, tables and claims go to `build/runs/03_model_rip_random_filters/` (the imports cell prints where); only
# `make figures` writes `figures/`.

# %% tags=["parameters"]
seed = 0
device = "cpu"  # or "cuda": where the tensors live; random draws stay on the CPU generator (same numbers)
# Figure 2 setting
l, M, K, D, stride, k = 5, 32, 96, 32, 1, 10
values = "uniform"  # nonzeros U[-1, 1] as in the paper ("gaussian" also possible)
n_samples = 10_000  # Monte-Carlo draws for the histograms
n_search_starts = 16  # worst-case search: starts (half from the worst Monte-Carlo supports, half random)
n_candidates = 128  # worst-case search: atoms scored per slot
# Theorem 3.1 sweeps: one parameter at a time around the Figure 2 setting
sweeps = {
    "M": [8, 16, 32, 64, 128],
    "l": [3, 5, 9, 15],
    "K": [24, 48, 96, 192],
    "k": [2, 5, 10, 20],
    "D": [16, 32, 64, 128],
}
n_draws = 3  # filter draws per sweep point
n_samples_sweep = 2000
eps = 0.01  # failure probability in Theorem 3.1's log term

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

import invertlib as il
from invertlib.companion.plotting import save_figure, save_table, use_style
from invertlib.rip import delta_from_ratios, lemma_b1_ratios, rip_estimates, support_delta
from invertlib.sparsity import PoolingModel
from invertlib.theory import fit_thm31_constant, thm31_points, thm31_slopes, thm31_slopes_agree, thm31_sweep

use_style()
claims = il.Claims("03_model_rip_random_filters", seed, device)
gen = il.torch_generator(seed)


# %% [markdown]
# ## Figure 2(a): $\|W^Tz\|/\|z\|$ for $z \in \mathcal{M}_k$
#
# Filters with the paper's $1/\sqrt{M\ell}$ scaling; $z$ has $k$ nonzero blocks, one uniformly placed nonzero in each.
# Two lower bounds on $\delta_k$: the Monte-Carlo $\max|r^2 - 1|$ over the samples, and $\delta_S$ of the worst support the
# search finds (the exact constant of that support, from the eigenvalues of its Gram matrix).

# %%
# NBVAL_CHECK_OUTPUT
W = il.ConvOperator(il.gaussian_filters(K, M, l, generator=gen, scale="paper", device=device), D, stride)
model = PoolingModel(W.out_shape)  # pooling over all n shifts: the block model M_k
estimates = rip_estimates(
    W, model, k, n_samples, generator=gen, values=values, n_starts=n_search_starts, n_candidates=n_candidates
)
ratios, search = estimates.ratios, estimates.search
delta_mc = delta_from_ratios(ratios)
lam = support_delta(W, search.support[None]).eigs  # Gram eigenvalues (min, max) of that support
mean_r, std_r = float(ratios.mean()), float(ratios.std())
spread = (
    f"range [{float(ratios.min()):.3f}, {float(ratios.max()):.3f}] over {n_samples} samples; "
    f"Monte-Carlo delta_k >= {delta_mc:.3f}"
)
print(W)
print(f"model: {model}; number of supports n^k C(K,k) = {W.n}^{k} * C({K},{k}) = {model.n_supports(k):.2e}")
print(
    f"||W^T z|| / ||z||: mean {float(ratios.mean()):.3f}, std {float(ratios.std()):.3f}, "
    f"range [{float(ratios.min()):.3f}, {float(ratios.max()):.3f}] over {n_samples} samples"
)
print(
    f"delta_k lower bounds: Monte Carlo {delta_mc:.3f};  worst-case search {search.delta:.3f} "
    f"(Gram eigenvalues of that support in [{float(lam[0, 0]):.3f}, {float(lam[0, 1]):.3f}])"
)

# %%
fig, ax = plt.subplots(figsize=(7, 4))
ax.hist(ratios.cpu().numpy(), bins=60, color="C0", alpha=0.85, label=f"{n_samples} samples z in $M_k$")
ax.axvline(1, color="k", ls="--", lw=1)
for sign in (-1, 1):
    ax.axvline(
        np.sqrt(max(1 + sign * delta_mc, 0)),
        color="C2",
        lw=1.5,
        label=r"$\sqrt{1\pm\delta}$, Monte Carlo $\delta$" if sign < 0 else None,
    )
ax.axvline(np.sqrt(1 + search.delta), color="C3", lw=1.5, label=r"$\sqrt{1+\delta}$, worst support found")
ax.set_xlabel(r"$\|W^T z\|_2 / \|z\|_2$")
ax.set_ylabel("count")
ax.set_title(f"Figure 2(a): l={l}, M={M}, K={K}, D={D}, k={k}")
ax.legend(fontsize=8)
save_figure(fig, "fig2a_model_rip_ratio")
plt.show()

# %% [markdown]
# ## Figure 2(b): what "$\|WW^Tz\|/\|z\|$" must mean
#
# Taken literally the ratio is far from 1: $WW^Tz$ has an entry for every one of the $Kn$ atoms, and the $Kn - k$ atoms off
# the support each pick up a small correlation with $x = W^Tz$; their energy adds up. Lemma B.1's model-RIP corollary (as
# the digest reconstructs it) compares $(WW^Tz)_S$ with $z_S$ on the support $S$ of $z$; after the model projection
# $\mathbb{M}(WW^Tz, k)$ the ratio is also near 1. We plot all three.

# %%
# NBVAL_CHECK_OUTPUT
z_b = model.sample(k, n_samples, generator=gen, values=values).to(device)
b1 = lemma_b1_ratios(W, model, z_b, k)
b1_ratios = {"raw": b1.raw, "support": b1.support, "projected": b1.projected}
off_support = torch.sqrt(b1.raw**2 - b1.support**2)
for name, r in b1_ratios.items():
    print(f"{name:9s} mean {float(r.mean()):.3f}, std {float(r.std()):.3f}")
print(f"off-support part ||(W W^T z)_(not S)|| / ||z||: mean {float(off_support.mean()):.3f}")
mean_b1 = {name: float(r.mean()) for name, r in b1_ratios.items()}
readings = (
    f"taken literally the ratio centres at {mean_b1['raw']:.2f} (the Kn - k off-support atoms contribute "
    f"{float(off_support.mean()):.2f}); restricted to the support of z it centres at {mean_b1['support']:.2f} and "
    f"after the projection M(., k) at {mean_b1['projected']:.2f}: the paper must have plotted a support-restricted "
    "(or projected) version, as Lemma B.1 compares (W W^T z)_S with z_S"
)

# %%
fig, ax = plt.subplots(figsize=(8, 4))
labels = {
    "raw": r"raw $\|WW^Tz\|/\|z\|$",
    "support": r"on the support $\|(WW^Tz)_S\|/\|z\|$",
    "projected": r"projected $\|\mathbb{M}(WW^Tz,k)\|/\|z\|$",
}
for i, (name, r) in enumerate(b1_ratios.items()):
    ax.hist(r.cpu().numpy(), bins=60, alpha=0.7, color=f"C{i}", label=f"{labels[name]}: mean {float(r.mean()):.2f}")
ax.axvline(1, color="k", ls="--", lw=1)
ax.set_xlabel("ratio")
ax.set_ylabel("count")
ax.legend(fontsize=8)
ax.set_title("Figure 2(b): Lemma B.1's quantity, three readings")
save_figure(fig, "fig2b_lemma_b1_ratio")
plt.show()

# %% [markdown]
# ## Theorem 3.1's scaling: sweeps of the empirical $\delta_k$
#
# One parameter at a time around the Figure 2 setting, `n_draws` filter draws per point (`thm31_sweep`). For each point:
# the Monte-Carlo lower bound, the worst-case search lower bound, and Theorem 3.1's predictor
# $x = k(\log K + \log n - \log\varepsilon)D/(M\ell^2)$, so that the theorem reads $\delta_k^2 = C\,x$ at equality.

# %%
sweep = thm31_sweep(
    sweeps=sweeps,
    M=M,
    l=l,
    K=K,
    k=k,
    D=D,
    stride=stride,
    n_draws=n_draws,
    n_samples=n_samples_sweep,
    eps=eps,
    generator=gen,
    values=values,
    n_starts=n_search_starts,
    n_candidates=n_candidates,
    device=device,
)

# %%
# NBVAL_CHECK_OUTPUT
# Fit C in delta^2 = C x (least squares in log space, over the means of the draws at every point), and the
# log-log slope of delta^2 in each parameter against the theorem's (log K and log n enter through the log term).
per_point = thm31_points(sweep)
fits = {est: fit_thm31_constant(per_point, estimate=est) for est in ("delta_search", "delta_mc")}
slopes = thm31_slopes(per_point, estimates=("delta_search", "delta_mc"))
# the theorem's slope is matched when ours is within half of it (at least 0.25 in absolute terms)
scaling_ok = thm31_slopes_agree(slopes, estimate="delta_search", tolerance=0.5, floor=0.5)
slopes_text = {
    c: " ".join(f"{r.parameter}:{getattr(r, c):+.2f}" for r in slopes.itertuples()) for c in ("theorem", "delta_search")
}
print("log-log slope of delta_k^2 against each parameter (theorem: the slope of its predictor x)")
print(slopes.round(2).to_string(index=False))
for est, f in fits.items():
    print(f"{est:12s}: C = {f.C:.3f}, rms log-residual {f.rms_log:.2f}")
save_table(sweep, "thm31_sweeps")
# %%
fig, axes = plt.subplots(1, len(sweeps), figsize=(3.2 * len(sweeps), 3.4), sharey=True)
for ax, (p, g) in zip(axes, per_point.groupby("sweep", sort=False), strict=True):
    xs = g["value"].to_numpy(float)
    ax.plot(xs, g["delta_search"], "o-", color="C3", label="worst-case search")
    ax.plot(xs, g["delta_mc"], "s-", color="C0", label="Monte Carlo")
    ax.plot(xs, np.sqrt(fits["delta_search"].C * g["predictor"]), "k--", label=r"Thm 3.1, $\sqrt{C x}$ (C fit)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(p)
    ax.set_xticks(xs, [str(int(v)) for v in xs])
    ax.minorticks_off()
axes[0].set_ylabel(r"empirical $\delta_k$ (lower bounds)")
axes[0].legend(fontsize=7)
fig.suptitle("Theorem 3.1: empirical delta_k against the theorem's scaling, one parameter at a time", y=1.03)
save_figure(fig, "thm31_sweeps")
plt.show()

fig, ax = plt.subplots(figsize=(5.5, 4.5))
for i, (p, g) in enumerate(per_point.groupby("sweep", sort=False)):
    ax.loglog(g["predictor"], g["delta_search"] ** 2, "o", color=f"C{i}", label=f"vary {p}")
xs = np.geomspace(per_point["predictor"].min(), per_point["predictor"].max(), 50)
ax.loglog(xs, fits["delta_search"].C * xs, "k--", label=f"C x, C = {fits['delta_search'].C:.2f}")
ax.set_xlabel(r"Theorem 3.1 predictor $x = k(\log K+\log n-\log\varepsilon)D/(M\ell^2)$")
ax.set_ylabel(r"$\delta_k^2$ (worst-case search)")
ax.legend(fontsize=8)
ax.set_title("measured against predicted")
save_figure(fig, "thm31_scaling")
plt.show()

# %% [markdown]
# ### Where the scaling holds
#
# The log-log slopes of the worst-case $\delta_k^2$ against the theorem's, parameter by parameter, and what the
# Monte-Carlo bound does instead (this run's numbers).

# %%
# NBVAL_CHECK_OUTPUT
ours_slope, thm_slope, mc_slope = (slopes.set_index("parameter")[c] for c in ("delta_search", "theorem", "delta_mc"))
display(
    Markdown(
        f"* **$M$ and $k$:** slopes {ours_slope['M']:+.2f} in $M$ and {ours_slope['k']:+.2f} in $k$ against the "
        f"theorem's {thm_slope['M']:+.2f} and {thm_slope['k']:+.2f}: "
        + (
            "the worst-case $\\delta_k^2$ falls like $1/M$ and grows like $k$, as the theorem says.\n"
            if scaling_ok["M"] and scaling_ok["k"]
            else "not both within half the theorem's slope.\n"
        )
        + f"* **$\\ell$:** slope {ours_slope['l']:+.2f} against the theorem's {thm_slope['l']:+.2f} ($1/\\ell^2$). "
        "With the $1/\\sqrt{M\\ell}$ scaling two atoms are correlated by about $1/\\sqrt{M\\ell}$, so $1/(M\\ell)$ "
        "is what one expects for $\\delta^2$; the theorem's extra $1/\\ell$ (together with $D$) "
        f"{'shows' if scaling_ok['l'] else 'does not show'}.\n"
        f"* **$D$ (and with it $n$):** slope {ours_slope['D']:+.2f} where the theorem predicts "
        f"{thm_slope['D']:+.2f} ($\\delta_k^2 \\propto D$); only the union over $n^k$ placements should matter, "
        "through $\\log n$."
    )
)

# %%
# NBVAL_CHECK_OUTPUT
display(
    Markdown(
        f"* **$K$:** slope {ours_slope['K']:+.2f} against the theorem's {thm_slope['K']:+.2f} (through $\\log K$)"
        + (
            ": faster growth, as the search's maximum over more filters grows like an extreme value.\n"
            if ours_slope["K"] > thm_slope["K"]
            else ".\n"
        )
        + f"* The **Monte-Carlo** bound has slope {mc_slope['k']:+.2f} in $k$"
        + (
            ": it *falls* with $k$ because a random $z$ with more nonzeros averages its atoms' correlations"
            if mc_slope["k"] < 0
            else ""
        )
        + "; it measures typical behaviour, which is what Figure 2(a) shows, not $\\delta_k$."
    )
)

# %%
# NBVAL_CHECK_OUTPUT
display(
    Markdown(
        f"The fitted $C = {fits['delta_search'].C:.2f}$ is "
        + (
            "consistent with one constant over this range of sizes. "
            if all(scaling_ok.values())
            else "therefore only a summary of this range of sizes, not a constant of the theorem. "
        )
        + f"In the Figure 2 setting the best support found has $\\delta_S = {search.delta:.2f}$"
        + (
            ": model-RIP with $\\delta_k < 1$ does not hold in the worst case at this size, even though the "
            "histogram is tight."
            if search.delta >= 1
            else ", below 1."
        )
    )
)

# %% [markdown]
# ## Claims

# %%
# NBVAL_CHECK_OUTPUT
claims.compare(
    "fig2a.center",
    "||W^T z|| / ||z|| is centred at 1 (mean over samples)",
    paper=1.0,
    ours=mean_r,
    tol=(0.02, 0.02),
)
claims.judge(
    "fig2a.spread",
    "the histogram of ||W^T z|| / ||z|| is tight (standard deviation)",
    paper="tight (histogram)",
    ours=std_r,
    matched=std_r < 0.05,
    partly=True,
    note=spread,
    caveat=spread,
)
claims.judge(
    "fig2a.delta_k",
    "model-RIP holds for this W: delta_k < 1 (Eq. 1)",
    paper="< 1",
    ours=search.delta,
    matched=search.delta < 1,
    note=f"the worst-case search finds a support S in M_k with delta_S = {search.delta:.2f} (Gram "
    f"eigenvalues up to {float(lam[0, 1]):.2f}), a certified lower bound on delta_k: the histogram shows "
    "typical z, not the worst case; random z rarely align with the extreme eigenvectors of their support",
)
claims.invariant(
    "fig2a.search_ge_mc",
    "the worst-case search started from the Monte-Carlo supports is never below the Monte-Carlo bound",
    paper=">= Monte Carlo",
    ours=f"{search.delta:.3f} >= {delta_mc:.3f}",
    holds=search.delta >= delta_mc - 1e-12,
)
claims.compare(
    "fig2b.center",
    "||W W^T z|| / ||z|| (Lemma B.1 corollary) is centred at 1; ours: restricted to the support of z",
    paper=1.0,
    ours=mean_b1["support"],
    tol=(0.05, float("inf")),
    note=readings,
    caveat=readings,
)
claims.judge(
    "thm31.scaling",
    "delta_k^2 proportional to k (log K + log n - log eps) D / (M l^2) (log-log slopes of the worst-case delta_k^2)",
    paper=slopes_text["theorem"],
    ours=slopes_text["delta_search"],
    matched=all(scaling_ok.values()),
    partly=any(scaling_ok.values()),
    note=f"the slope agrees within half the theorem's for {[p for p, ok in scaling_ok.items() if ok]} and "
    f"not for {[p for p, ok in scaling_ok.items() if not ok]}; fitted C = {fits['delta_search'].C:.3f} "
    f"(rms log-residual {fits['delta_search'].rms_log:.2f}); the Monte-Carlo bound falls as k grows "
    "(averaging over more nonzeros), unlike the worst case",
)
claims.finding(
    "thm31.C",
    "Theorem 3.1's constant C fitted to the worst-case delta_k^2 = C k (log K + log n - log eps) D / (M l^2)",
    ours=fits["delta_search"].C,
    note=f"geometric-mean fit over the sweeps, eps = {eps}; notebook 11 draws Theorem 3.1's recovery boundary with it",
)
claims.finish()
