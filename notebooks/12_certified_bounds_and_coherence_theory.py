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
# # 12 · Beyond the paper: certified upper bounds on $\delta_k$ and the coherence theory of CNNs
#
# **Paper.** Theorem 3.1 says Gaussian filters give $W^T$ the model-RIP with constant $\delta_k$, and Theorem 3.3 turns
# $\delta_k \le \delta_{2k} < 1$ into a bound on the one-step error,
# $\|\hat x - x\| \le \frac{5\delta_{2k}}{1-\delta_k}\sqrt{\frac{1+\delta_{2k}}{1-\delta_{2k}}}\,\|x\|$. Notebooks 03 and 04
# measure $\delta_k$ from *below* only (Monte Carlo, a worst-case search): that proves a bound vacuous, never that it
# holds. **This notebook** brackets $\delta_k$ from both sides and asks where the theorem certifies anything.
#
# **Upper bounds** (`invertlib.bounds`). For a support $S$ the eigenvalues of $\Phi_S^T\Phi_S$ lie in Gershgorin's discs,
# so $\delta_S \le \max_{j\in S} (|G_{jj} - 1| + \sum_{i\in S, i\ne j}|G_{ij}|)$ with $G = WW^T$. The **model Babel bound**
# maximises the sum over the supports the pooling model allows (at most one atom per region; two for
# $\mathcal{M}_k^2$): for each atom, the largest $|G_{ij}|$ of every other region, the $k-1$ largest of those. It is
# computed exactly from the sparse rows of $WW^T$, for every atom, so it is a proof. Beside it the plain Babel function
# (no model) and $(k-1)\mu$.
#
# **The other theory.** Papyan, Romano & Elad (JMLR, 2017) read the forward pass of a CNN as layered thresholding in a
# multi-layer convolutional sparse coding model and guarantee it by the mutual coherence $\mu(D_i)$ of each layer's
# convolutional dictionary (its filters at every shift, normalised) and the *stripe* sparsity $\|\Gamma_i\|^s_{0,\infty}$,
# the most nonzeros among the coefficients whose atoms overlap one patch ($K_i (2\ell-1)^2$ of them for $\ell\times\ell$
# filters). We use two conditions in the form the paper states them (`invertlib.csc`; we could not read its text offline,
# so the theorem numbers are not given): **uniqueness** (carried from Papyan, Sulam & Elad, IEEE TSP 2017, to every layer)
# $\|\Gamma_i\|^s_{0,\infty} < \frac12(1 + 1/\mu(D_i))$, and **layered thresholding** without noise (the forward pass finds
# the supports) $\|\Gamma_i\|^s_{0,\infty} < \frac12(1 + \frac{|\Gamma_i^{\min}|}{\mu(D_i)|\Gamma_i^{\max}|})$; the noise
# term, which only makes it stricter, is dropped. Both are evaluated on Gaussian banks and on the learned VGG16 and AlexNet
# layers, against the stripe sparsity of their activations on the 20 ImageNet photographs (none used to train anything).
#
# **Rerun:** `.venv/bin/papermill -k invertlib notebooks/12_certified_bounds_and_coherence_theory.ipynb /tmp/out.ipynb -p seed 3`
# Its figures, tables and claims go to `build/runs/12_certified_bounds_and_coherence_theory/` (the imports cell prints
# where); only `make figures` writes `figures/`.

# %% tags=["parameters"]
seed = 0
device = "cpu"  # or "cuda": where the tensors live; random draws stay on the CPU generator (same numbers)
l, M, K, D, k = 5, 32, 96, 32, 10  # Figure 2's setting (stride 1, one pooling region per filter)
fig2_draws = 5  # filter banks at Figure 2's size
n_samples = 2000  # Monte-Carlo codes per bank (lower bound)
n_search_starts = 8  # worst-case search starts (lower bound)
n_candidates = 128  # worst-case search: atoms scored per slot
# notebook 03's sweeps around the Figure 2 setting, one bank per point
sweeps = {
    "M": [8, 16, 32, 64, 128],
    "l": [3, 5, 9, 15],
    "K": [24, 48, 96, 192],
    "k": [2, 5, 10, 20],
    "D": [16, 32, 64, 128],
}
sweep_draws = 1
sweep_samples = 300
eps = 0.01  # Theorem 3.1's failure probability (its predictor column only)
# Theorem 3.3 certified: M channels, input length, filter lengths, numbers of filters (K/M = 1/32-1/8), sparsities
thm33_M, thm33_D = 512, 24
thm33_ls = [5, 9, 15]
thm33_Ks = [16, 32, 64]
thm33_ks = [1, 2, 3, 4, 5]
thm33_draws = 2
thm33_samples = 100  # one-step errors measured per (bank, k)
tiny = dict(K=4, M=3, l=3, D=8, k=2)  # exhaustive delta_k, delta_2k
photos = "imagenet"  # offline photo set: "imagenet" (foolbox's 20) or "skimage"
image_dir = None  # or a folder of JPEG/PNG images (overrides photos)
max_images = 20
input_size = 224
vgg_layers = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
alexnet_layers = ["conv1", "conv2", "conv3", "conv4", "conv5"]
n_resamples = 2000  # bootstrap resamples (filter draws, photographs)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

import invertlib as il
from invertlib.bounds import delta_upper_bounds
from invertlib.coherence import coherence
from invertlib.companion.plotting import (
    csc_figure,
    rip_sandwich_figure,
    save_figure,
    save_table,
    thm33_certified_figure,
    use_style,
)
from invertlib.csc import stripe_size, stripe_sparsity, uniqueness_allowance
from invertlib.rip import exact_delta, worst_case_delta
from invertlib.sparsity import PoolingModel
from invertlib.stats import bootstrap_interval
from invertlib.theory import thm31_sweep, thm33_certified, thm33_delta_for
from invertlib.vision.images import load_images
from invertlib.vision.layerwise import csc_layers
from invertlib.vision.networks import VGG16, AlexNet

use_style()
claims = il.Claims("12_certified_bounds_and_coherence_theory", seed, device)
gen = il.torch_generator(seed)
boot = il.numpy_generator(seed)
torch.set_grad_enabled(False)

# %% [markdown]
# ## The sandwich on a tiny instance
#
# With $K = 4$ filters on $D = 8$ every support can be enumerated (`rip.exact_delta`): the search's lower bound, the exact
# constant and the three upper bounds in order, for $\mathcal{M}_k$ and $\mathcal{M}_k^2$.

# %%
W_tiny = il.ConvOperator(
    il.gaussian_filters(tiny["K"], tiny["M"], tiny["l"], generator=gen, scale="paper", device=device), tiny["D"]
)
model_tiny = PoolingModel(W_tiny.out_shape)
tiny_rows = []
for per_region in (1, 2):
    ub = delta_upper_bounds(W_tiny, model_tiny, [tiny["k"]], per_region=per_region)
    lower = worst_case_delta(W_tiny, model_tiny, tiny["k"], generator=gen, n_starts=8, per_region=per_region).delta
    exact = exact_delta(W_tiny, model_tiny, tiny["k"], per_region=per_region).delta
    tiny_rows.append(
        dict(
            model=f"M_k^{per_region}",
            search=lower,
            exact=exact,
            model_babel=ub.model_babel[0],
            babel=ub.babel[0],
            coherence=ub.coherence[0],
        )
    )
tiny_table = pd.DataFrame(tiny_rows).set_index("model")
tiny_ordered = bool((tiny_table.diff(axis=1).iloc[:, 1:] >= -1e-12).all().all())
print(tiny_table.round(4).to_string())

# %% [markdown]
# ## Figure 2's size: how far apart are the bounds?
#
# $\ell = 5$, $M = 32$, $K = 96$, $D = 32$, $k = 10$, `fig2_draws` filter banks. Lower bounds as in notebook 03
# (Monte Carlo over `n_samples` codes, the worst-case search); upper bounds from every row of $WW^T$.

# %%
fig2 = thm31_sweep(
    sweeps={"k": [k]},
    M=M,
    l=l,
    K=K,
    k=k,
    D=D,
    n_draws=fig2_draws,
    n_samples=n_samples,
    eps=eps,
    generator=gen,
    n_starts=n_search_starts,
    n_candidates=n_candidates,
    upper=True,
    device=device,
)
fig2_cols = ["delta_mc", "delta_search", "delta_upper", "delta_babel", "delta_coherence"]
fig2_iv = {
    c: bootstrap_interval(fig2[c], generator=boot, n_resamples=n_resamples, units="filter banks") for c in fig2_cols
}
fig2_gap = bootstrap_interval(
    fig2["delta_upper"] / fig2["delta_search"], generator=boot, n_resamples=n_resamples, units="filter banks"
)
print(fig2[fig2_cols].describe().loc[["mean", "min", "max"]].round(3).to_string())

# %% [markdown]
# ## Along notebook 03's sweeps
#
# One parameter at a time around Figure 2's setting (`theory.thm31_sweep(upper=True)`); the shaded band is where
# $\delta_k$ lies. The gap between the search and the model Babel bound is the ratio upper / lower.

# %%
sweep = thm31_sweep(
    sweeps=sweeps,
    M=M,
    l=l,
    K=K,
    k=k,
    D=D,
    n_draws=sweep_draws,
    n_samples=sweep_samples,
    eps=eps,
    generator=gen,
    n_starts=n_search_starts // 2,  # 4: one bank per point, a lighter search than at Figure 2's size
    n_candidates=n_candidates,
    upper=True,
    device=device,
)
sweep["gap"] = sweep["delta_upper"] / sweep["delta_search"]
save_table(sweep, "bounds_sweeps")
fig = rip_sandwich_figure(sweep)
save_figure(fig, "bounds_sandwich")
plt.show()

# %%
points = sweep.groupby(["sweep", "value"], sort=False).mean(numeric_only=True)
print(points[["delta_mc", "delta_search", "delta_upper", "delta_babel", "gap"]].round(3).to_string())
closest = points["gap"].idxmin()
widest = points["gap"].idxmax()
sweep_ordered = bool(
    (sweep["delta_mc"] <= sweep["delta_search"] + 1e-9).all()
    and (sweep["delta_search"] <= sweep["delta_upper"] + 1e-9).all()
    and (sweep["delta_upper"] <= sweep["delta_babel"] + 1e-9).all()
    and (sweep["delta_babel"] <= sweep["delta_coherence"] + 1e-9).all()
)

# %% [markdown]
# ## Theorem 3.3 with certified constants
#
# Where does the one-step guarantee say anything? Theorem 3.3 needs a small $\delta_{2k}$ for a bound under 1 (the
# threshold is printed below). The diagonal alone, $\max_i |\|w_i\|^2 - 1|$ (the exact $\delta_1$), is of
# order $\sqrt{2/(M\ell)}$ times a few, so only long filters over many channels can qualify: here $M = 512$ channels,
# $D = 24$, filter lengths `thm33_ls`, $K$ = `thm33_Ks` filters, `thm33_draws` banks per point, and on the same banks the
# one-step error measured on `thm33_samples` codes (Figure 2(c)'s experiment, known switches).

# %%
grid = thm33_certified(
    M=thm33_M,
    ls=thm33_ls,
    Ks=thm33_Ks,
    ks=thm33_ks,
    D=thm33_D,
    n_draws=thm33_draws,
    n_samples=thm33_samples,
    generator=gen,
    device=device,
)
fig2_cert = thm33_certified(M=M, ls=[l], Ks=[K], ks=[1, 2, k], D=D, n_draws=1, n_samples=200, generator=gen)
save_table(grid, "thm33_certified")
# a cell is certified when every bank drawn there is
cells = grid.groupby(["l", "K", "k"]).agg(
    certified=("certified", "max"), measured=("measured_max", "max"), non_vacuous=("non_vacuous", "all")
)
print(f"Theorem 3.3 is below 1 when delta_k = delta_2k <= {thm33_delta_for(1.0):.3f}")
print(cells["certified"].unstack("k").round(2).to_string())

# %%
fig = thm33_certified_figure(grid)
save_figure(fig, "thm33_certified")
plt.show()
certified_cells = cells[cells["non_vacuous"]]
largest_k = int(certified_cells.index.get_level_values("k").max()) if len(certified_cells) else 0
looseness = (
    (certified_cells["certified"] / certified_cells["measured"]) if len(certified_cells) else pd.Series([np.nan])
)
proof_holds = bool(
    (grid["measured_max"] <= grid["certified"]).all() and (fig2_cert["measured_max"] <= fig2_cert["certified"]).all()
)
print(fig2_cert[["k", "dk_upper", "d2k_upper", "certified", "measured_max"]].round(3).to_string(index=False))

# %% [markdown]
# ## The coherence theory on the same filters
#
# **Gaussian banks at Figure 2's size.** The dictionary's mutual coherence with every shift, and the stripe sparsity of
# the codes $z \in \mathcal{M}_k$ of Figure 2 (a stripe: all 96 filters at the $2\ell - 1 = 9$ shifts around a position).

# %%
W_fig2 = il.ConvOperator(il.gaussian_filters(K, M, l, generator=gen, scale="paper", device=device), D)
mu_fig2 = coherence(W_fig2.w, shifts=True)
codes = PoolingModel(W_fig2.out_shape).sample(k, n_samples, generator=gen)
stripes_fig2 = stripe_sparsity(codes, l)
print(
    f"mu = {mu_fig2:.3f}: uniqueness allows {uniqueness_allowance(mu_fig2):.2f} nonzeros per stripe of "
    f"{stripe_size(K, l, ndim=1)}; codes of M_{k}: {stripes_fig2.float().mean():.2f} on average, at most "
    f"{int(stripes_fig2.max())}; {100 * float((stripes_fig2 < uniqueness_allowance(mu_fig2)).float().mean()):.1f} % "
    "of the codes within the allowance"
)

# %% [markdown]
# **VGG16 and AlexNet.** Layer $i$'s code is its output after ReLU, its dictionary its filters at every shift (conv1 of
# AlexNet has stride 4: a stripe spans $2\lfloor 10/4\rfloor + 1 = 5$ shifts per axis). Gaussian banks of each layer's
# shape give the coherence a random layer would have. $\mu$ is that of the atoms away from the border; the atoms that the
# zero padding cuts can be more coherent, so these allowances are, if anything, generous to the theory.

# %%
images, names = load_images(image_dir, size=input_size, max_images=max_images, photos=photos)
vgg = VGG16.pretrained().to(device)
alex = AlexNet.pretrained().to(device)
csc = {
    "VGG16": csc_layers(vgg, vgg.preprocess(torch.from_numpy(images).to(device)), vgg_layers, generator=gen),
    "AlexNet": csc_layers(alex, alex.preprocess(torch.from_numpy(images).to(device)), alexnet_layers, generator=gen),
}
print(f"{len(names)} photographs at {input_size} x {input_size}; {vgg.weights_note}; {alex.weights_note}")
summary = pd.concat(
    {
        net: t.layers.set_index("layer").join(
            t.images.groupby("layer")[["stripe", "fill", "nonzero", "ratio", "thresholding"]].median()
        )
        for net, t in csc.items()
    }
)
summary["excess"] = summary["stripe"] / summary["uniqueness"]  # measured / allowed
save_table(summary.reset_index(names=["network", "layer"]), "csc_allowance")
print(
    summary[["K", "stripe_size", "mu", "mu_gaussian", "uniqueness", "thresholding", "stripe", "excess"]]
    .round(3)
    .to_string()
)

# %%
fig = csc_figure(csc)
save_figure(fig, "csc_allowance")
plt.show()
stripe_iv = {
    (net, layer): bootstrap_interval(
        t.images.loc[t.images["layer"] == layer, "stripe"].to_numpy(),
        generator=boot,
        n_resamples=n_resamples,
        units="photographs",
    )
    for net, t in csc.items()
    for layer in t.layers["layer"]
}

# %% [markdown]
# ## Reading
#
# Built from this run's results; the claims below record them.

# %%
# NBVAL_CHECK_OUTPUT
f2 = fig2[fig2_cols].mean()
display(
    Markdown(
        f"* **At Figure 2's size $\\delta_k$ is bracketed, not pinned.** Over {fig2_draws} banks the worst-case search "
        f"proves $\\delta_{{{k}}} \\ge {f2['delta_search']:.2f}$ and the model Babel bound proves "
        f"$\\delta_{{{k}}} \\le {f2['delta_upper']:.2f}$ (plain Babel {f2['delta_babel']:.2f}, $(k-1)\\mu$ "
        f"{f2['delta_coherence']:.2f}); the Monte-Carlo bound ({f2['delta_mc']:.2f}) is far below both. The upper "
        f"bound is {fig2_gap.estimate:.2f} times the lower one ({fig2_gap.low:.2f}-{fig2_gap.high:.2f}, bootstrap "
        "over the banks). "
        "Both exceed 1, so Theorem 3.3 is vacuous there for certain. The pooling model "
        + (
            "does not lower the plain Babel bound"
            if f2["delta_babel"] - f2["delta_upper"] < 0.005
            else f"lowers the plain Babel bound by only {f2['delta_babel'] - f2['delta_upper']:.2f}"
        )
        + " at this size: the largest correlations of an atom are with other filters, which the model allows.\n"
        f"* **Along the sweeps** the gap is smallest at {closest[0]} = {closest[1]} "
        f"(upper / lower {points.loc[closest, 'gap']:.2f}), widest at {widest[0]} = {widest[1]} "
        f"({points.loc[widest, 'gap']:.2f}). Gershgorin adds $k-1$ worst correlations while the true worst support "
        "cannot align them all, so the upper bound grows about linearly in $k$ and the lower one more slowly."
    )
)

# %%
# NBVAL_CHECK_OUTPUT
n_cells = len(cells)
display(
    Markdown(
        f"* **Theorem 3.3 certifies something only for long filters over many channels, and only for tiny $k$.** With "
        f"$M = {thm33_M}$, {len(certified_cells)} of {n_cells} cells $(\\ell, K, k)$ get a bound below 1 on every bank"
        + (
            f", up to $k = {largest_k}$; there the certified error is {looseness.min():.1f}-{looseness.max():.1f} "
            "times the largest error measured on the same banks"
            if len(certified_cells)
            else ""
        )
        + f". At Figure 2's size even $k = 1$ is not certified (certified bound {fig2_cert['certified'].iloc[0]:.2f}, "
        f"measured at most {fig2_cert['measured_max'].iloc[0]:.3f}): the exact "
        f"$\\delta_1 = \\max_i|\\|w_i\\|^2 - 1|$ of $M\\ell = {M * l}$ Gaussian taps is "
        f"{fig2_cert['dk_upper'].iloc[0]:.2f} already. Every certificate held: the "
        "measured error never exceeded it."
    )
)

# %%
# NBVAL_CHECK_OUTPUT
vgg_s = summary.loc["VGG16"]
display(
    Markdown(
        "* **The coherence theory allows about one nonzero per stripe; the networks have "
        f"{vgg_s['stripe'].min():.0f}-{vgg_s['stripe'].max():.0f}.** For VGG16 the learned coherence with shifts is "
        + ", ".join(f"{vgg_s.loc[n, 'mu']:.2f}" for n in vgg_layers)
        + f" ({', '.join(vgg_layers)}), so uniqueness allows "
        + ", ".join(f"{vgg_s.loc[n, 'uniqueness']:.2f}" for n in vgg_layers)
        + " nonzeros per stripe (Gaussian banks of the same shapes: "
        + ", ".join(f"{vgg_s.loc[n, 'uniqueness_gaussian']:.1f}" for n in vgg_layers)
        + ") and thresholding "
        + ", ".join(f"{vgg_s.loc[n, 'thresholding']:.2f}" for n in vgg_layers)
        + " (median over the photographs). The activations have "
        + ", ".join(f"{vgg_s.loc[n, 'stripe']:.0f}" for n in vgg_layers)
        + " nonzeros in their densest stripe (median over the photographs; stripes of "
        + ", ".join(f"{vgg_s.loc[n, 'stripe_size']:.0f}" for n in vgg_layers)
        + "), "
        + f"{vgg_s['excess'].min():.0f}-{vgg_s['excess'].max():.0f} times the uniqueness allowance. "
        f"Even Figure 2's synthetic codes ($k = {k}$ nonzeros in {K * (D - l + 1)} coefficients) exceed it: "
        f"{100 * float((stripes_fig2 < uniqueness_allowance(mu_fig2)).float().mean()):.0f} % of them have a stripe "
        f"sparsity below {uniqueness_allowance(mu_fig2):.2f}. Worst-case coherence cannot explain what the network "
        "does; the model-RIP view, which averages over supports, is the one that matches the measurements (notebooks "
        "03, 08)."
    )
)

# %% [markdown]
# ## Claims
#
# Beyond the paper, so the comparisons are *findings* (no paper values); the invariants are asserted.

# %%
# NBVAL_CHECK_OUTPUT
claims.invariant(
    "bounds.tiny_sandwich",
    "tiny instance, every support enumerated: search <= exact <= model Babel <= Babel <= coherence, M_k and M_k^2",
    ours=f"delta_k {tiny_table.loc['M_k^1', 'exact']:.3f} in [{tiny_table.loc['M_k^1', 'search']:.3f}, "
    f"{tiny_table.loc['M_k^1', 'model_babel']:.3f}]",
    holds=tiny_ordered,
)
claims.invariant(
    "bounds.sweep_sandwich",
    "on every bank of the sweeps and at Figure 2's size: Monte Carlo <= search <= model Babel <= Babel <= coherence",
    ours=f"{len(sweep) + len(fig2)} banks",
    holds=sweep_ordered and bool((fig2["delta_search"] <= fig2["delta_upper"] + 1e-9).all()),
)
claims.invariant(
    "thm33.certificates_hold",
    "wherever Theorem 3.3 with the certified constants bounds the one-step error, the measured errors stay below it",
    ours=f"{len(grid) + len(fig2_cert)} (bank, k) pairs",
    holds=proof_holds,
)
claims.invariant(
    "csc.stripes_within_size",
    "every measured stripe sparsity is at most the stripe's size",
    ours=f"{sum(len(t.images) for t in csc.values())} (layer, photograph) pairs",
    holds=all(bool((t.images["fill"] <= 1).all()) for t in csc.values()),
)
claims.finding(
    "bounds.fig2.lower",
    f"delta_{k} at Figure 2's size, worst-case search (a certified lower bound)",
    ours=round(fig2_iv["delta_search"].estimate, 3),
    spread=fig2_iv["delta_search"],
)
claims.finding(
    "bounds.fig2.upper",
    f"delta_{k} at Figure 2's size, model Babel (a certified upper bound)",
    ours=round(fig2_iv["delta_upper"].estimate, 3),
    spread=fig2_iv["delta_upper"],
)
claims.finding(
    "bounds.fig2.babel",
    f"delta_{k} at Figure 2's size, plain Babel bound",
    ours=round(fig2_iv["delta_babel"].estimate, 3),
    spread=fig2_iv["delta_babel"],
)
claims.finding(
    "bounds.fig2.gap", "model Babel / search at Figure 2's size", ours=round(fig2_gap.estimate, 2), spread=fig2_gap
)
claims.finding(
    "bounds.sweep.closest",
    "sweep point where upper / lower is smallest",
    ours=f"{closest[0]} = {closest[1]}: {points.loc[closest, 'gap']:.2f}",
)
claims.finding(
    "thm33.non_vacuous_cells",
    f"cells (l, K, k) with M = {thm33_M} whose certified Theorem 3.3 bound is below 1 on every bank",
    ours=f"{len(certified_cells)} of {n_cells}",
)
claims.finding("thm33.largest_k", f"largest k certified (bound < 1) with M = {thm33_M}", ours=largest_k)
claims.finding(
    "thm33.fig2.k1",
    "certified Theorem 3.3 bound at Figure 2's size, k = 1",
    ours=round(float(fig2_cert["certified"].iloc[0]), 3),
)
claims.finding(
    "csc.fig2.uniqueness",
    "uniqueness allowance (1 + 1/mu)/2 of a Figure 2 Gaussian bank (every shift)",
    ours=round(uniqueness_allowance(mu_fig2), 3),
)
claims.finding(
    "csc.fig2.within",
    "share of Figure 2's codes of M_k within that allowance",
    ours=round(float((stripes_fig2 < uniqueness_allowance(mu_fig2)).float().mean()), 3),
)
for (net, layer), iv in stripe_iv.items():
    row = summary.loc[(net, layer)]
    claims.finding(
        f"csc.{net.lower()}.{layer}.stripe",
        f"{net} {layer}: stripe sparsity of the activations (mean over photographs)",
        ours=round(iv.estimate, 1),
        spread=iv,
    )
    claims.finding(
        f"csc.{net.lower()}.{layer}.uniqueness",
        f"{net} {layer}: nonzeros per stripe the uniqueness condition allows",
        ours=round(float(row["uniqueness"]), 3),
    )
claims.finish()
