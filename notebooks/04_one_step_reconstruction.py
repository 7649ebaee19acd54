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
# # 04 · One-step reconstruction: Theorem 3.3 and Figure 2(c)
#
# **Paper.** *Theorem 3.3:* if $W^T$ satisfies $\mathcal{M}_k^2$-RIP with $\delta_k \le \delta_{2k} < 1$, the one-layer CNN with its tied
# decoder, $\hat x = W^T\mathbb{M}(Wx, k)$, reconstructs $x = W^Tz$, $z\in\mathcal{M}_k$, with
# $\|\hat x - x\| \le \frac{5\delta_{2k}}{1-\delta_k}\sqrt{\frac{1+\delta_{2k}}{1-\delta_{2k}}}\,\|x\|$, "for any valid choice of upsampling
# switches". *Figure 2(c)* (Section 4.2): in the Figure 2 setting ($\ell=5$, $M=32$, $K=96$, $D=32$, $k=10$, nonzeros $U[-1,1]$) with
# $\hat x = W^T\mathbb{M}_\text{fixed}(Wx,k)$ (naive upsampling), the relative error $\|\hat x - x\|/\|x\|$ is concentrated around
# **0.1-0.2** and always **below 0.5**.
#
# **This notebook** runs the paper's literal setting, then sweeps what the paper leaves open (pooling region, known vs
# fixed switches, $k$, value distribution, and whether the plotted error is relative or squared relative) to find which
# setting reproduces Figure 2(c); checks the errors against Theorem 3.3's bound computed from measured $\delta$'s (and, on
# a tiny instance with exactly computed $\delta$'s, asserts it); and, beyond the paper, follows model-IHT for 1, 2, 5 and
# 20 iterations.
#
# **Rerun:** `.venv/bin/papermill -k invertlib notebooks/04_one_step_reconstruction.ipynb /tmp/out.ipynb -p seed 3 -p n_samples 10000`
# Its figures, tables and claims go to `build/runs/04_one_step_reconstruction/` (the imports cell prints where); only
# `make figures` writes `figures/`.

# %% tags=["parameters"]
seed = 0
device = "cpu"  # or "cuda": where the tensors live; random draws stay on the CPU generator (same numbers)
l, M, K, D, stride, k = 5, 32, 96, 32, 1, 10  # the Figure 2 setting
n_samples = 2000  # codes z per setting
# what the paper leaves open
sweep_pools = [28, 7, 2]  # pooling region along the n = 28 shifts (28: all shifts, the theory)
sweep_switches = ["known", "fixed"]
sweep_k = [1, 2, 3, 5, 10]
sweep_values = ["uniform", "gaussian"]
# Theorem 3.3 with measured deltas
bound_k = [1, 2, 3, 5, 10]
n_search_starts = 16
# tiny instance with exact deltas: K filters of M channels, length l, input length D
tiny = dict(K=4, M=64, l=5, D=8, k=[1, 2])
# beyond the paper: model-IHT iterations
iht_iters = [1, 2, 5, 20]
n_iht_samples = 1000

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

import invertlib as il
from invertlib.companion.paper import FIG2C
from invertlib.companion.plotting import fig2c_histogram, save_figure, save_table, use_style
from invertlib.iht import model_iht, one_step_errors
from invertlib.metrics import relative_error
from invertlib.progress import progress
from invertlib.rip import delta_from_ratios, exact_delta, model_rip_ratios, worst_case_delta
from invertlib.sparsity import PoolingModel
from invertlib.theory import fig2c_closest, fig2c_distance, thm33_bound

use_style()
claims = il.Claims("04_one_step_reconstruction", seed, device)
gen = il.torch_generator(seed)

W = il.ConvOperator(il.gaussian_filters(K, M, l, generator=gen, scale="paper", device=device), D, stride)
model_block = PoolingModel(W.out_shape)  # the theory's model: one region of all n shifts per filter


# %% [markdown]
# ## The paper's literal setting: $\mathbb{M}_\text{fixed}$, pooling over all shifts
#
# The theory pools each filter over all its $n$ shifts; "fixed switches" put the pooled value back at a fixed position of
# the block (shift 0). We also run the known switches (the pooled value back where the maximum was).

# %%
# NBVAL_CHECK_OUTPUT
literal = {sw: one_step_errors(W, k, n_samples, generator=gen, switches=sw) for sw in sweep_switches}
for sw, e in literal.items():
    print(
        f"switches {sw:5s}: ||x_hat - x|| / ||x|| median {float(e.median()):.3f}, "
        f"p95 {float(e.quantile(0.95)):.3f}, max {float(e.max()):.3f}"
    )

# %% [markdown]
# ## What reproduces Figure 2(c)?
#
# Fixed switches misplace every pooled value: with stride 1 a filter shifted by one position is nearly uncorrelated with
# itself (random 5-tap filters), so we expect the error to stay far from the paper's, less so for small pooling regions
# (with regions of 2 the fixed position is the right one half the time). We sweep the open settings and mark those
# whose median lies in 0.1-0.2 and whose maximum is below 0.5, for the relative error and for its square (a histogram
# of $\|\hat x - x\|^2/\|x\|^2$ would also read "0.1-0.2").

# %%
grid = [(p, sw, kk, v) for p in sweep_pools for sw in sweep_switches for kk in sweep_k for v in sweep_values]
rows = []
for p, sw, kk, v in progress(grid, "Figure 2(c) sweep"):
    e = one_step_errors(W, kk, n_samples, generator=gen, pool=p, switches=sw, values=v)
    for metric, em in (("relative", e), ("squared", e**2)):
        rows.append(
            dict(
                pool=p,
                switches=sw,
                k=kk,
                values=v,
                metric=metric,
                median=float(em.median()),
                p95=float(em.quantile(0.95)),
                max=float(em.max()),
            )
        )
fig2c_sweep = pd.DataFrame(rows)
# distance to Figure 2(c): how far the median lies outside 0.1-0.2 plus how far the max exceeds 0.5 (0 = match)
fig2c_sweep["distance"] = fig2c_distance(
    fig2c_sweep["median"], fig2c_sweep["max"], median_range=FIG2C["median"], max_bound=FIG2C["max"]
)
fig2c_sweep["matches_fig2c"] = fig2c_sweep["distance"] == 0
save_table(fig2c_sweep, "fig2c_sweep")
# %%
# NBVAL_CHECK_OUTPUT
show = (
    fig2c_sweep[fig2c_sweep["switches"] == "known"]
    .pivot_table(index=["metric", "values", "k"], columns="pool", values="median")
    .round(3)
)
print("median error with known switches (columns: pooling region along the shifts)")
print(show.to_string())
fixed = fig2c_sweep[(fig2c_sweep["switches"] == "fixed") & (fig2c_sweep["metric"] == "relative")]
print(f"fixed switches, relative error: medians between {fixed['median'].min():.2f} and {fixed['median'].max():.2f}")
matches = fig2c_sweep[fig2c_sweep["matches_fig2c"]]
closest = fig2c_sweep.sort_values(["distance", "k"], ascending=[True, False], kind="stable").head(6)
print(
    f"\n{len(matches)} of {len(fig2c_sweep)} settings match Figure 2(c) "
    f"(median in {FIG2C['median']}, max < {FIG2C['max']}); the closest:"
)
print(
    closest[["pool", "switches", "k", "values", "metric", "median", "p95", "max", "distance"]]
    .round(3)
    .to_string(index=False)
)

# %%
# NBVAL_CHECK_OUTPUT
fixed_range = fixed.groupby("pool")["median"].agg(low="min", high="max").sort_index(ascending=False)
lo, hi = FIG2C["median"]
display(
    Markdown(
        "**Reading the sweep (this run).** With fixed switches the median relative error is "
        + ", ".join(f"{r.low:.2f}-{r.high:.2f} for regions of {r.Index} shifts" for r in fixed_range.itertuples())
        + " (over $k$ and the value distributions): "
        + (
            f"all above the paper's {lo}-{hi}"
            if fixed_range["low"].min() > hi
            else f"down to {fixed_range['low'].min():.2f} against the paper's {lo}-{hi}"
        )
        + f". {len(matches)} of {len(fig2c_sweep)} swept settings match Figure 2(c), "
        f"{int((matches['switches'] == 'known').sum())} of them with known switches."
    )
)

# %%
# The closest setting (a match if its distance is 0); among equals, the one nearest the paper's text
# (its k, U[-1, 1] values, pooling over all shifts).
best = fig2c_closest(fig2c_sweep, k=k, values="uniform", pool=max(sweep_pools))
e = one_step_errors(
    W,
    int(best["k"]),
    n_samples,
    generator=gen,
    pool=int(best["pool"]),
    switches=best["switches"],
    values=best["values"],
)
best_err = e**2 if best["metric"] == "squared" else e
print(
    f"closest setting: pool {best['pool']}, {best['switches']} switches, k = {best['k']}, {best['values']} values, "
    f"{best['metric']} error (distance {best['distance']:.3f})"
)
closest = f"closest setting: {best['switches']}, k={best['k']}, {best['values']}, {best['metric']} error"
fig = fig2c_histogram(
    {
        r"paper's literal setting: $\mathbb{M}_{fixed}$, k=10": literal["fixed"],
        r"$\mathbb{M}_{known}$, k=10": literal["known"],
        closest: best_err,
    },
    paper_median=FIG2C["median"],
    paper_max=FIG2C["max"],
)
save_figure(fig, "fig2c_one_step_error")
plt.show()

# %% [markdown]
# ## Theorem 3.3's bound with measured $\delta$'s
#
# We can only bound $\delta_k$ and $\delta_{2k}$ from below (worst-case search over supports of $\mathcal{M}_k$ and $\mathcal{M}_k^2$,
# notebook 03). The bound increases with $\delta$, so plugging in lower bounds gives a value *below* the true bound: where even
# that value is $\ge 1$ or infinite ($\delta_{2k} \ge 1$), the theorem is vacuous for this $W$.

# %%
bound_rows = []
for kk in progress(bound_k, "deltas"):
    d_k = worst_case_delta(W, model_block, kk, generator=gen, n_starts=n_search_starts).delta
    d_2k = worst_case_delta(W, model_block, kk, generator=gen, n_starts=n_search_starts, per_region=2).delta
    d_2k_mc = delta_from_ratios(model_rip_ratios(W, model_block, kk, n_samples, generator=gen, per_region=2))
    d_k_mc = delta_from_ratios(model_rip_ratios(W, model_block, kk, n_samples, generator=gen))
    e = one_step_errors(W, kk, n_samples, generator=gen)
    bound_rows.append(
        dict(
            k=kk,
            median_error=float(e.median()),
            max_error=float(e.max()),
            delta_k_search=d_k,
            delta_2k_search=d_2k,
            bound_search=thm33_bound(d_k, d_2k),
            delta_k_mc=d_k_mc,
            delta_2k_mc=d_2k_mc,
            bound_mc=thm33_bound(d_k_mc, d_2k_mc),
        )
    )
bounds = pd.DataFrame(bound_rows)
save_table(bounds, "thm33_bound")
# %%
# NBVAL_CHECK_OUTPUT
print(bounds.round(3).to_string(index=False))
vacuous = bool((bounds["bound_search"] >= 1).all())
print(f"\nbound from the worst-case deltas vacuous (>= 1) for every k in {bound_k}: {vacuous}")

# %% [markdown]
# ### The inequality on its own hypotheses: a tiny instance with exact $\delta$'s
#
# With few atoms we can enumerate every support of $\mathcal{M}_k$ and $\mathcal{M}_k^2$ and compute $\delta_k$ and $\delta_{2k}$ exactly
# (`exact_delta`), then check every sample against the bound. Many channels ($M = 64$) keep the atoms incoherent so that
# $\delta_{2k} < 1$. We run known and fixed switches: the paper says the bound holds for any valid switches.

# %%
# NBVAL_CHECK_OUTPUT
W_tiny = il.ConvOperator(
    il.gaussian_filters(tiny["K"], tiny["M"], tiny["l"], generator=gen, scale="unit", device=device), tiny["D"]
)
m_tiny = PoolingModel(W_tiny.out_shape)
tiny_rows = []
for kk in tiny["k"]:
    d_k = exact_delta(W_tiny, m_tiny, kk).delta
    d_2k = exact_delta(W_tiny, m_tiny, kk, per_region=2).delta
    bound = thm33_bound(d_k, d_2k)
    for sw in sweep_switches:
        e = one_step_errors(W_tiny, kk, n_samples, generator=gen, switches=sw)
        tiny_rows.append(
            dict(
                k=kk,
                switches=sw,
                delta_k=d_k,
                delta_2k=d_2k,
                bound=bound,
                max_error=float(e.max()),
                share_above_bound=float((e > bound).float().mean()),
            )
        )
tiny_df = pd.DataFrame(tiny_rows)
print(W_tiny)
print(tiny_df.round(3).to_string(index=False))

# %% [markdown]
# ## Beyond the paper: more iterations of model-IHT
#
# The paper stops after one step. Algorithm 1 with the unit step (and, for comparison, the normalised step of
# Blumensath & Davies 2010), in the Figure 2 setting with $k = 10$, $U[-1,1]$ values and pooling over all shifts.

# %%
z_true = model_block.sample(k, n_iht_samples, generator=gen).to(device)
x_true = W.adjoint(z_true)
iter_rows = []
for step in (1.0, "normalized"):
    for sw in sweep_switches:
        res = model_iht(
            W, x_true, model_block.projector(k, switches=sw), n_iter=max(iht_iters), step=step, keep=tuple(iht_iters)
        )
        for it in iht_iters:
            e = relative_error(W.adjoint(res.snapshots[it]), x_true)
            ez = relative_error(res.snapshots[it], z_true)
            iter_rows.append(
                dict(
                    step=str(step),
                    switches=sw,
                    iteration=it,
                    median_x_error=float(e.median()),
                    max_x_error=float(e.max()),
                    median_z_error=float(ez.median()),
                    exact_recovery=float((e < 1e-6).float().mean()),
                )
            )
iters = pd.DataFrame(iter_rows)
save_table(iters, "iht_iterations")
# %%
# NBVAL_CHECK_OUTPUT
print(iters.round(3).to_string(index=False))

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for (step, sw), g in iters.groupby(["step", "switches"], sort=False):
    ax.plot(g["iteration"], g["median_x_error"].clip(lower=1e-8), "o-", label=f"step {step}, {sw} switches")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xticks(iht_iters, [str(i) for i in iht_iters])
ax.minorticks_off()
ax.set_xlabel("model-IHT iterations")
ax.set_ylabel(r"median $\|\hat x - x\|/\|x\|$ (clipped at 1e-8)")
ax.set_title("Beyond one step (k = 10, Figure 2 setting)")
ax.legend(fontsize=8)
save_figure(fig, "fig2c_iht_iterations")
plt.show()

# %% [markdown]
# ## Claims

# %%
# NBVAL_CHECK_OUTPUT
lit, known = literal["fixed"], literal["known"]
lo, hi = FIG2C["median"]
# the theorem's hypothesis is delta_2k < 1; known switches must then stay below the bound, fixed ones are tested
tiny_known = tiny_df[tiny_df["switches"] == "known"]
known_ok = bool(((tiny_known["delta_2k"] >= 1) | (tiny_known["max_error"] <= tiny_known["bound"])).all())
fixed_tiny = tiny_df[(tiny_df["switches"] == "fixed") & (tiny_df["delta_2k"] < 1)]
fixed_ok = bool((fixed_tiny["max_error"] <= fixed_tiny["bound"]).all())
claims.judge(
    "fig2c.median",
    f"one-step error ||W^T M_fixed(Wx, k) - x|| / ||x|| concentrates at {lo}-{hi} (median; paper's literal setting)",
    paper=list(FIG2C["median"]),
    ours=float(lit.median()),
    matched=lo <= float(lit.median()) <= hi,
    note="fixed switches misplace every pooled value (error near sqrt 2); with known switches the median is "
    f"{float(known.median()):.3f}",
)
claims.judge(
    "fig2c.max",
    f"the one-step error is always below {FIG2C['max']} (max; paper's literal setting)",
    paper=f"< {FIG2C['max']}",
    ours=float(lit.max()),
    matched=float(lit.max()) < FIG2C["max"],
    note=f"known switches: max {float(known.max()):.3f}",
)
claims.judge(
    "fig2c.best_setting",
    f"the setting that comes closest to Figure 2(c) (median in {lo}-{hi}, max < {FIG2C['max']})",
    paper=f"{lo}-{hi}, < {FIG2C['max']}",
    ours=f"median {best['median']:.3f}, max {best['max']:.3f}",
    matched=False,
    partly=best["distance"] < 0.1,
    note=f"{best['switches']} switches, pooling region {best['pool']}, k = {best['k']}, {best['values']} values, "
    f"{best['metric']} error (distance {best['distance']:.3f}; {len(matches)} of {len(fig2c_sweep)} swept "
    "settings match exactly); no setting with fixed switches comes near, and the paper's k = 10 with "
    f"U[-1, 1] gives a median of {float(known.median()):.2f} with known switches: its reported errors need "
    "fewer nonzeros or a squared error",
)
claims.invariant(
    "thm33.bound",
    "Theorem 3.3 on its own hypotheses: with exact delta_k <= delta_2k < 1 (tiny instance), "
    "every one-step error with known switches is below the bound",
    paper="error <= bound",
    ours=" ".join(f"k={r.k}: {r.max_error:.3f} <= {r.bound:.3f}" for r in tiny_known.itertuples()),
    holds=known_ok,
)
claims.judge(
    "thm33.any_switches",
    "the bound holds for any valid choice of upsampling switches (tiny instance, fixed switches)",
    paper="error <= bound",
    ours=" ".join(f"k={r.k}: {r.max_error:.3f} vs {r.bound:.3f}" for r in fixed_tiny.itertuples()),
    matched=fixed_ok,
    note="with fixed switches the error exceeds the bound computed from the exact deltas: the "
    "bound can only hold for switches that put values where the true code has them (known "
    "switches)",
)
claims.judge(
    "thm33.bound_fig2",
    "Theorem 3.3 explains the Figure 2 errors (bound from measured deltas, k = 10)",
    paper="bound < 1",
    ours=float(bounds.set_index("k").loc[k, "bound_search"]) if k in bound_k else "n/a",
    matched=False,
    partly=not vacuous,
    note="the bound computed from lower bounds on the deltas is already >= 1 (or infinite, delta_2k >= 1) for "
    f"every k in {bound_k}: the theorem is vacuous at the Figure 2 size although the median errors are "
    f"{bounds['median_error'].min():.2f}-{bounds['median_error'].max():.2f}",
)
claims.finish()
