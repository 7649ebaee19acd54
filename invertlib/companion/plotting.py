"""One figure style for every notebook, and the one way figures and tables are saved.

Figures are named after the paper artefact they reproduce (``fig2a_model_rip_ratio``) and written
to figures/ as PNG (for the README and notebooks) and PDF (vector); tables as CSV. Writes are
atomic: a figure or table appears only once it is complete.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ..checks import to_numpy
from ..phase import METHODS, pool_rows
from ..theory import dt_weak_threshold
from .paths import atomic_write, atomic_write_all, figures_dir

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def use_style() -> None:
    """The project's plotting style (seaborn whitegrid, colour-blind palette)."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "image.cmap": "RdBu_r",
            "axes.titlesize": "medium",
        }
    )


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith((".png", ".pdf", ".csv")):
        raise ValueError(
            f"name: expected a file stem such as 'fig2a_model_rip_ratio' "
            f"(letters, digits, _ . -; no extension), got {name!r}"
        )
    return name


def save_figure(fig: plt.Figure, name: str) -> list[Path]:
    """Write `fig` as figures/<name>.png and figures/<name>.pdf, both or neither; returns the two paths."""
    _check_name(name)
    out = figures_dir()
    return atomic_write_all(
        {
            out / f"{name}.{ext}": lambda tmp, ext=ext, meta=meta: fig.savefig(tmp, format=ext, metadata=meta)
            for ext, meta in (("png", {"Software": None}), ("pdf", {"CreationDate": None}))
        }
    )


def save_table(table, name: str, float_format: str = "%.6g") -> None:
    """Write a pandas DataFrame as figures/<name>.csv (without the index). Returns nothing, so a
    notebook cell that ends with it displays no machine path (nbval executes cells without
    history, where a trailing ';' does not silence the value)."""
    _check_name(name)
    atomic_write(figures_dir() / f"{name}.csv", lambda tmp: table.to_csv(tmp, index=False, float_format=float_format))


def image_grid(
    rows, *, row_labels=None, col_titles=None, cell_labels=None, title: str | None = None, size: float = 2.4
) -> plt.Figure:
    """A grid of RGB images: rows is a list of rows, each a list of (H, W, 3) arrays in [0, 1];
    row_labels (one per row), col_titles (one per column) and cell_labels (like rows, text under
    each image) are optional. Returns the figure."""
    if not rows or not all(len(r) == len(rows[0]) for r in rows):
        raise ValueError("rows: expected a non-empty list of rows of equal length")
    fig, axes = plt.subplots(
        len(rows), len(rows[0]), figsize=(size * len(rows[0]), size * len(rows)), squeeze=False, layout="constrained"
    )
    for r, row in enumerate(rows):
        for c, im in enumerate(row):
            ax = axes[r, c]
            ax.imshow(to_numpy(im))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if cell_labels is not None and cell_labels[r][c]:
                ax.set_xlabel(cell_labels[r][c], fontsize=8)
        if row_labels is not None:
            axes[r, 0].set_ylabel(row_labels[r], fontsize=8)
    for c, t in enumerate(col_titles or []):
        axes[0, c].set_title(t, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def draw_conv_matrix(ax, op, W, title: str = "") -> None:
    """Figure 1 as a picture: the matrix W (Kn x MD) of `op` with its K filter blocks (rows, solid
    lines) and M channel blocks (columns, dashed lines), on a symmetric colour scale."""
    lim = float(W.abs().max())
    ax.imshow(to_numpy(W), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    for i in range(1, op.K):
        ax.axhline(i * op.n - 0.5, color="k", lw=1.2)
    for m in range(1, op.M):
        ax.axvline(m * op.D - 0.5, color="k", lw=1.2, ls="--")
    ax.set_xticks([m * op.D + op.D / 2 - 0.5 for m in range(op.M)], [f"channel {m + 1}" for m in range(op.M)])
    ax.set_yticks([i * op.n + op.n / 2 - 0.5 for i in range(op.K)], [f"filter {i + 1}" for i in range(op.K)])
    ax.grid(False)
    ax.set_title(title)


def iht_first_step_figure(b, z_cnn, z_iht, *, pool: int, title: str) -> plt.Figure:
    """One CNN layer next to the first model-IHT iterate, for one input of a 1-D paired layer.

    b: (2K, n) the paired responses Psi^T x = [W x; -W x]; z_cnn, z_iht: (2K, n) the codes of the
    CNN (ReLU, max pooling, unpooling) and of the IHT step z_1 = M_+(b). Left and middle: the
    busiest filter w (largest sum of |z_cnn| among the first K channels) and its pair -w, with
    the pooling regions of side `pool` dotted; right: max over channels |z_IHT - z_CNN| per
    shift. Returns the figure.
    """
    b, z_cnn, z_iht = to_numpy(b), to_numpy(z_cnn), to_numpy(z_iht)
    if z_cnn.ndim != 2 or z_cnn.shape[0] % 2 or not b.shape == z_cnn.shape == z_iht.shape:
        raise ValueError(
            f"b, z_cnn, z_iht: expected three (2K, n) arrays of one shape, got {b.shape}, {z_cnn.shape}, {z_iht.shape}"
        )
    K, n = z_cnn.shape[0] // 2, z_cnn.shape[1]
    i = int(np.abs(z_cnn[:K]).sum(1).argmax())
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.4), sharex=True)
    for ax, ch, label in ((axes[0], i, f"filter {i + 1}: w"), (axes[1], i + K, "its pair: -w")):
        ax.plot(b[ch], color="0.6", lw=1, label=r"$b = \Psi^T x$ (conv)")
        on_cnn, on_iht = np.flatnonzero(z_cnn[ch]), np.flatnonzero(z_iht[ch])
        cnn_label = "CNN: ReLU, max-pool, unpool"
        ax.stem(on_cnn, z_cnn[ch][on_cnn], linefmt="C0-", markerfmt="C0o", basefmt=" ", label=cnn_label)
        iht_label = r"IHT: $z_1 = \mathbb{M}_+(b)$"
        ax.plot(on_iht, z_iht[ch][on_iht], "C1x", ms=10, mew=2, ls="none", label=iht_label)
        for edge in range(0, n + 1, pool):
            ax.axvline(edge - 0.5, color="0.5", lw=0.8, ls=":", zorder=0)
        ax.axhline(0, color="k", lw=0.8)
        ax.grid(False)
        ax.set_title(label)
        ax.set_xlabel("shift j")
    axes[0].legend(fontsize=8)
    axes[2].plot(np.abs(z_iht - z_cnn).max(0), "k.")
    axes[2].set_title("max over channels |z_IHT - z_CNN|")
    axes[2].set_xlabel("shift j")
    axes[2].set_ylim(-1e-15, 1e-14)
    fig.suptitle(title, y=1.03)
    return fig


def coherence_figure(table, pairwise, *, layers, n_random_draws: int) -> plt.Figure:
    """Table 4 as a figure. Left: coherence per layer, learned and random, ours against the
    paper's. table: one row per layer with columns layer, learned, paper_learned, random_mean,
    random_std (over `n_random_draws` draws), paper_random, and hed_learned_extra (drawn when
    present). Right: the distributions of pairwise |cos| for `layers`; pairwise maps a layer to
    (learned |cos|, random |cos|), 1-D arrays over pairs of distinct filters. Returns the figure.
    """
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), gridspec_kw=dict(width_ratios=[1.4, 1]))
    xs = np.arange(len(table))
    ax = axes[0]
    ax.plot(xs, table["paper_learned"], "s--", color="C3", alpha=0.6, label="learned, paper (Caffe VGG16)")
    ax.plot(xs, table["learned"], "o-", color="C3", label="learned, ours (ImageNet VGG16, torchvision)")
    if "hed_learned_extra" in table:
        hed_label = "extra: VGG16 fine-tuned for edges (HED)"
        ax.plot(xs, table["hed_learned_extra"], "^:", color="C1", alpha=0.8, label=hed_label)
    ax.plot(xs, table["paper_random"], "s--", color="C0", alpha=0.6, label="random, paper")
    random_label = f"random, ours (mean, std over {n_random_draws} draws)"
    ax.errorbar(xs, table["random_mean"], yerr=table["random_std"], fmt="o-", color="C0", capsize=2, label=random_label)
    ax.set_xticks(xs, [n.replace("conv", "c") for n in table["layer"]], rotation=45)
    ax.set_ylabel("coherence")
    ax.legend(fontsize=7)
    ax.set_title("Table 4")
    ax = axes[1]
    bins = np.linspace(0, 1, 101)
    for i, name in enumerate(layers):
        cos, rand_cos = (to_numpy(c) for c in pairwise[name])
        ax.hist(cos, bins=bins, density=True, histtype="step", lw=1.8, color=f"C{i}", label=f"{name} learned")
        style = dict(bins=bins, density=True, histtype="stepfilled", alpha=0.25, color=f"C{i}")
        ax.hist(rand_cos, **style, label=f"{name} random")
    ax.set_yscale("log")
    ax.set_xlabel("|cos| between two distinct filters")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)
    ax.set_title("the whole distribution, not only its maximum")
    return fig


_FILTER_COLORS = {"learned": "C3", "gaussian": "C0"}


def model_rip_figure(synthetic, real, *, k: int, center_tol: float) -> plt.Figure:
    """Figure 3: histograms of the model-RIP ratio ||W^T z|| / ||z||, one colour per filter bank
    (learned red, Gaussian blue), the band 1 +- center_tol grey. synthetic: {filters: (N,)
    ratios} of random codes in M_k, panel (a); real: {"before": {filters: (B,) ratios},
    "after": {...}} of codes recovered by Algorithm 2 from B images' activations before and after
    ReLU, panels (b) and (c). Returns the figure.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    panels = [(axes[0], synthetic, 40)] + [
        (ax, real[which], np.linspace(0.5, 2.0, 61)) for ax, which in zip(axes[1:], ("before", "after"), strict=True)
    ]
    for ax, ratios, bins in panels:
        for name, r in ratios.items():
            r = to_numpy(r)
            # the unbiased std, as torch's Tensor.std prints it in the notebooks
            label = f"{name}: {float(r.mean()):.3f} +- {float(r.std(ddof=1)):.3f}"
            ax.hist(r, bins=bins, alpha=0.6, color=_FILTER_COLORS.get(name), label=label)
    n_samples, n_images = len(next(iter(synthetic.values()))), len(next(iter(real["after"].values())))
    axes[0].set_title(f"(a) synthetic z in M_k ({n_samples} samples, k = {k})")
    for ax, panel, which in ((axes[1], "b", "before"), (axes[2], "c", "after")):
        ax.set_title(f"({panel}) Algorithm 2 on conv(5,1) {which} ReLU ({n_images} images)")
    for ax in axes:
        ax.axvspan(1 - center_tol, 1 + center_tol, color="0.85", zorder=0)
        ax.axvline(1, color="k", ls="--", lw=1)
        ax.set_xlabel(r"$\|W^T z\|_2/\|z\|_2$")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("count")
    fig.suptitle(
        f"Figure 3: model-RIP ratio of normalised conv(5,2) filters (grey: the paper's centre 1 +- {center_tol})",
        y=1.03,
    )
    return fig


def algorithm2_convergence_figure(results) -> plt.Figure:
    """FISTA's convergence in both lassos of Algorithm 2: (objective - final) / final of the
    batch-mean objective per iteration, log scale. results: {(filters, "before" | "after"):
    Algorithm2Result}; solid lines after ReLU, dashed before. Returns the figure."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for (name, which), res in results.items():
        for ax, stage in ((axes[0], res.z_init), (axes[1], res.z)):
            obj = stage.objective.mean(dim=0)  # objective: (B, iterations), a tensor; the mean over the images
            ax.semilogy(
                to_numpy(((obj - obj[-1]) / obj[-1]).clamp(min=1e-7)),
                color=_FILTER_COLORS.get(name),
                ls="-" if which == "after" else "--",
                label=f"{name}, {which} ReLU",
            )
    axes[0].set_title("step 1: lasso")
    axes[1].set_title("step 3: lasso on the model support")
    for ax in axes:
        ax.set_xlabel("FISTA iteration")
        ax.set_ylabel("(objective - final) / final")
        ax.legend(fontsize=8)
    fig.suptitle("Algorithm 2: convergence (mean over images)", y=1.03)
    return fig


def fig2c_histogram(errors: dict, *, paper_median, paper_max: float, bins=None) -> plt.Figure:
    """Figure 2(c): histograms of one-step errors ||x_hat - x|| / ||x||, one per entry of `errors`
    ({legend label: errors (N,)}, drawn in order in C3, C0, C2, ...; those after the second
    lighter), over the paper's report: the band paper_median = (a, b) where it says the errors
    concentrate and the line paper_max below which they always lie. bins: by default 80 on [0, 2].
    Returns the figure."""
    if not isinstance(errors, dict) or not errors:
        raise ValueError(f"errors: expected a non-empty dict {{label: errors}}, got {errors!r}")
    bins = np.linspace(0, 2, 81) if bins is None else bins
    colors = ("C3", "C0", "C2", "C1", "C4")
    fig, ax = plt.subplots(figsize=(8, 4))
    for i, (label, e) in enumerate(errors.items()):
        ax.hist(to_numpy(e), bins=bins, alpha=0.7 if i < 2 else 0.6, color=colors[i % len(colors)], label=label)
    ax.axvspan(
        *paper_median, color="0.85", zorder=0, label=f"paper: concentrated at {paper_median[0]}-{paper_median[1]}"
    )
    ax.axvline(paper_max, color="k", ls="--", lw=1, label=f"paper: always < {paper_max}")
    ax.set_xlabel(r"$\|\hat x - x\|_2 / \|x\|_2$")
    ax.set_ylabel("count")
    ax.legend(fontsize=7)
    ax.set_title("Figure 2(c): one-step reconstruction error")
    return fig


def phase_diagrams(cells, bounds, *, rho_max: float, success_tol: float, one_step_tol: float) -> plt.Figure:
    """The phase diagrams of one pooling model (its rows of `phase_cells` and `phase_boundaries`
    tables, e.g. by `invertlib.phase.pool_rows`): for every method present, the success probability
    of every (delta, rho) cell (top: IHT error <= success_tol, bottom: one-step error <=
    one_step_tol; white: not run, beyond the model's limit), the fitted 50 % boundary with 2
    standard errors and the Donoho-Tanner curve rho_W; rho up to rho_max. Returns the figure."""
    present = [m for m in METHODS if m in set(cells["method"])]
    if not present:
        raise ValueError(f"cells: expected rows of the methods {METHODS}, got none")
    fig, axes = plt.subplots(
        2, len(present), figsize=(4.2 * len(present), 7.6), sharex=True, sharey=True, squeeze=False
    )
    dd = np.linspace(0.05, 1, 100)
    for row, (crit, col) in enumerate((("iht", "p_iht"), ("one_step", "p_one_step"))):
        for ax, method in zip(axes[row], present, strict=True):
            grid = cells[cells["method"] == method].pivot(index="rho", columns="delta", values=col)
            im = ax.pcolormesh(
                grid.columns, grid.index, grid.to_numpy(), vmin=0, vmax=1, cmap="viridis", shading="nearest"
            )
            b = bounds[(bounds["criterion"] == crit) & (bounds["method"] == method)]
            ax.errorbar(b["delta"], b["rho50"], yerr=2 * b["se"], fmt="o-", color="w", ms=3, lw=1.2, label="50 % fit")
            ax.plot(dd, dt_weak_threshold(dd), "r--", lw=1.2, label=r"Donoho-Tanner $\rho_W$")
            ax.grid(False)
            ax.set_title(f"{method}: {'IHT error' if crit == 'iht' else 'one step'}", fontsize=9)
            ax.set_ylim(0, rho_max * 1.02)
            ax.set_xlim(0.05, max(cells["delta"]) + 0.05)
    for ax in axes[-1]:
        ax.set_xlabel(r"$\delta = MD/(Kn)$")
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\rho = k/(MD)$")
    axes[0, 0].legend(loc="upper left", fontsize=7)
    fig.colorbar(im, ax=axes, shrink=0.6, label="success probability")
    fig.suptitle(
        f"Phase diagrams, pooling model: {cells['model'].iloc[0]} (top: IHT error <= {success_tol:g}; "
        f"bottom: one-step error <= {one_step_tol:g})"
    )
    return fig


def phase_boundaries_figure(bounds, *, C: float) -> plt.Figure:
    """Every bracketed 50 % boundary of a `phase_boundaries` table (both criteria, with its
    thm31_rho column from `invertlib.phase.thm31_boundary`) in one plot, log scale in rho: marker
    by method, colour by pooling model (the Gaussian matrix in its own), solid for the IHT error,
    dotted for one step; 2 standard errors as error bars; the Donoho-Tanner curve rho_W; and
    Theorem 3.1's boundary with constant C for model-IHT with one region per filter (the theory's
    model), and, where the table has a certified_rho column (`invertlib.phase.certified_boundary`),
    the certified boundary of the same rows where it is above 0. Returns the figure."""
    styles = {"model-IHT": "o", "IHT": "s", "IHT (Gaussian)": "^"}
    colors = {"2 shifts": "C0", "one per filter": "C1"}
    name = {"iht": "IHT", "one_step": "one step"}
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    for (crit, model, method), b in bounds.groupby(["criterion", "model", "method"], sort=False):
        b = b[b["bracketed"]]
        if len(b):
            gaussian = method == "IHT (Gaussian)"
            ax.errorbar(
                b["delta"],
                b["rho50"],
                yerr=2 * b["se"],
                marker=styles[method],
                ms=4,
                lw=1,
                ls="-" if crit == "iht" else ":",
                color="C2" if gaussian else colors.get(model, "C4"),
                label=f"{method}{'' if gaussian else ', ' + model}, {name[crit]}",
            )
    dd = np.linspace(0.05, 1, 100)
    ax.plot(dd, dt_weak_threshold(dd), "r--", lw=1.5, label=r"Donoho-Tanner $\rho_W$ ($\ell_1$, Gaussian)")
    theory = pool_rows(bounds[bounds["method"] == "model-IHT"], None)
    for crit, ls in (("iht", "-"), ("one_step", ":")):
        t = theory[theory["criterion"] == crit]
        ax.plot(t["delta"], t["thm31_rho"], "k", ls=ls, lw=1.5, label=f"Theorem 3.1 (C = {C:.2f}), {name[crit]}")
        if "certified_rho" in t.columns:  # log scale: a certified rho of 0 (nothing proved) cannot be drawn
            c = t[t["certified_rho"] > 0]
            proved = f"{len(c)} of {len(t)} delta" if len(c) else "nothing certified"
            ax.plot(
                c["delta"],
                c["certified_rho"],
                "m",
                ls=ls,
                lw=1.5,
                label=f"certified (model Babel), {name[crit]}: {proved}",
            )
    ax.set_yscale("log")
    ax.set_xlabel(r"$\delta = MD/(Kn)$")
    ax.set_ylabel(r"$\rho_{50} = k/(MD)$")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("50 % success boundaries (error bars: 2 standard errors)")
    return fig


def supplement_figure(table2, table4, synthetic, alg2_ratio, *, rip_layer: str, title: str) -> plt.Figure:
    """The AlexNet supplement in one row of four panels: (1) % of nonzero units per layer (table2:
    layer, ours, std_over_images); (2) coherence of the learned filters, with shifted atoms, and of
    Gaussian ones (table4: layer, learned, learned_with_shifts, random_mean, random_std); (3) the
    model-RIP ratio ||W^T z|| / ||z|| of synthetic codes for `rip_layer`'s filters (synthetic:
    {(layer, geometry, filters): ratios}); (4) the same for Algorithm 2 codes (alg2_ratio:
    {(filters, "before" / "after"): ratios})."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.6))
    ax = axes[0]
    xs = np.arange(len(table2))
    ax.bar(xs, table2["ours"], yerr=table2["std_over_images"], color="C0", capsize=2)
    ax.set_xticks(xs, table2["layer"], rotation=45)
    ax.set_ylabel("% nonzero units")
    ax.set_title("sparsity (Table 2 style)")
    ax = axes[1]
    xs = np.arange(len(table4))
    ax.plot(xs, table4["learned"], "o-", color="C3", label="learned")
    ax.plot(xs, table4["learned_with_shifts"], "^:", color="C3", alpha=0.6, label="learned, with shifts")
    ax.errorbar(xs, table4["random_mean"], yerr=table4["random_std"], fmt="o-", color="C0", capsize=2, label="Gaussian")
    ax.set_xticks(xs, table4["layer"])
    ax.set_ylabel("coherence")
    ax.legend(fontsize=7)
    ax.set_title("coherence (Table 4 style)")
    ax = axes[2]
    for (layer, geometry, name), r in synthetic.items():
        if layer == rip_layer:
            ax.hist(
                to_numpy(r),
                bins=40,
                alpha=0.5,
                histtype="stepfilled" if name == "learned" else "step",
                lw=1.5,
                label=f"{name}, {geometry}: {float(r.mean()):.3f} +- {float(r.std()):.3f}",
            )
    ax.axvline(1, color="k", ls="--", lw=1)
    ax.set_xlabel(r"$\|W^T z\|/\|z\|$")
    ax.legend(fontsize=6)
    ax.set_title(f"model-RIP, synthetic z, {rip_layer} filters")
    ax = axes[3]
    for (name, which), r in alg2_ratio.items():
        label = f"{name}, {which} ReLU: {float(r.mean()):.2f}"
        ax.hist(to_numpy(r), bins=np.linspace(0.4, 2.0, 41), alpha=0.5, label=label)
    ax.axvline(1, color="k", ls="--", lw=1)
    ax.set_xlabel(r"$\|W^T z\|/\|z\|$")
    ax.legend(fontsize=6)
    ax.set_title("model-RIP, Algorithm 2 codes (conv5)")
    fig.suptitle(title, y=1.03)
    return fig


def table1_figure(acc, paper: dict, *, depths, dataset: str) -> plt.Figure:
    """Table 1 as two bar charts, ours and the paper's: test accuracy (%) of random and learned
    filters per depth. acc: a DataFrame indexed by (filters, depth) with columns mean and std
    (over seeds); paper: {"random": {depth: %}, "learned": {depth: %}} (no spread given)."""

    def ours(f, d):
        return acc.loc[(f, d), "mean"], acc.loc[(f, d), "std"]

    def theirs(f, d):
        return paper[f][d], 0.0

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=False)
    xs = np.arange(len(depths))
    for ax, (title, get) in zip(axes, ((f"ours ({dataset})", ours), ("paper (CIFAR-10)", theirs)), strict=True):
        for j, (f, c) in enumerate((("random", "C0"), ("learned", "C3"))):
            vals = [get(f, d) for d in depths]
            ax.bar(
                xs + (j - 0.5) * 0.38,
                [v[0] for v in vals],
                width=0.38,
                yerr=[v[1] for v in vals],
                color=c,
                capsize=3,
                label=f"{f} filters",
            )
        ax.set_xticks(xs, [f"{d} layer{'s' if d > 1 else ''}" for d in depths])
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(title)
        ax.legend(fontsize=8)
        lo = min(min(get(f, d)[0] for f in ("random", "learned") for d in depths) - 10, 60)
        ax.set_ylim(lo, 100)
    fig.suptitle("Table 1: random versus learned filters", y=1.02)
    return fig


def seeds_figure(summary, seeds) -> plt.Figure:
    """`make seeds`' figure from `companion.seeds.summarise`'s table: (a) per notebook, the
    comparisons with the paper whose verdict every seed repeats (stability >= 0.9) and those a
    seed changes; (b) per notebook, how far each moving number of a comparison or finding travels
    over the seeds, (max - min) / |mean|."""
    from .claims import STABLE

    use_style()
    paper = summary[summary["kind"] == "paper"]
    notebooks = list(dict.fromkeys(summary["notebook"]))
    short = [n[:2] for n in notebooks]
    stable = [int((paper[paper["notebook"] == n]["stability"] >= STABLE).sum()) for n in notebooks]
    unstable = [int((paper[paper["notebook"] == n]["stability"] < STABLE).sum()) for n in notebooks]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6))
    a.bar(short, stable, color="C2", label=f"stable (>= {STABLE:g} of seeds)")
    a.bar(short, unstable, bottom=stable, color="C3", label="a seed changes the verdict")
    a.set_xlabel("notebook")
    a.set_ylabel("comparisons with the paper")
    a.set_title(f"(a) verdict stability over seeds {seeds[0]}-{seeds[-1]}")
    a.legend(fontsize=8)
    moving = summary[summary["kind"].isin(["paper", "finding"]) & summary["varies"] & summary["mean"].notna()]
    rel = (moving["max"] - moving["min"]) / moving["mean"].abs().clip(lower=1e-12)
    xs = [notebooks.index(n) for n in moving["notebook"]]
    b.scatter(xs, rel.clip(lower=1e-4), c=np.where(moving["stability"] >= STABLE, "C2", "C3"), s=14, alpha=0.8)
    b.set_xticks(range(len(notebooks)), short)
    b.set_yscale("log")
    b.set_xlabel("notebook")
    b.set_ylabel("(max - min) / |mean| over seeds")
    b.set_title("(b) how far each moving number travels (red: verdict moves)")
    fig.tight_layout()
    return fig


def rip_sandwich_figure(sweep) -> plt.Figure:
    """delta_k bracketed along the sweeps of a `theory.thm31_sweep(upper=True)` table: one panel per
    swept parameter, the two lower bounds (Monte Carlo, worst-case search) and the three upper bounds
    (model Babel, Babel, coherence), mean over draws, log scale; the shaded band is where delta_k is."""
    params = list(dict.fromkeys(sweep["sweep"]))
    fig, axes = plt.subplots(1, len(params), figsize=(3.2 * len(params), 3.2), sharey=True, squeeze=False)
    curves = (
        ("delta_mc", "Monte Carlo (lower)", "C0", "o:"),
        ("delta_search", "search (lower)", "C0", "o-"),
        ("delta_upper", "model Babel (upper)", "C3", "s-"),
        ("delta_babel", "Babel (upper)", "C3", "s:"),
        ("delta_coherence", "(s-1) mu (upper)", "C7", "^:"),
    )
    for ax, p in zip(axes[0], params, strict=True):
        m = sweep[sweep["sweep"] == p].groupby("value").mean(numeric_only=True)
        ax.fill_between(m.index, m["delta_search"], m["delta_upper"], color="C1", alpha=0.15, lw=0)
        for col, label, color, style in curves:
            ax.plot(m.index, m[col], style, color=color, ms=4, lw=1.2, label=label)
        ax.axhline(1, color="k", lw=0.6)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(p)
    axes[0, 0].set_ylabel(r"bound on $\delta_k$")
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle(r"$\delta_k$ bracketed: certified lower (search) and upper (model Babel) bounds")
    fig.tight_layout()
    return fig


def thm33_certified_figure(grid) -> plt.Figure:
    """Theorem 3.3 with certified constants (a `theory.thm33_certified` table): the certified bound
    on the one-step error against the measured maximum on the same filters, one marker per (bank, k),
    colour by k, log scale; the line y = x and the vacuous level 1."""
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    finite = grid[np.isfinite(grid["certified"])]
    for i, (k, g) in enumerate(finite.groupby("k")):
        ax.scatter(g["measured_max"], g["certified"], s=18, color=f"C{i}", label=f"k = {k}")
    lo = min(finite["measured_max"].min(), 1e-2)
    hi = max(finite["certified"].max(), 2)
    ax.plot([lo, hi], [lo, hi], "k:", lw=1, label="certified = measured")
    ax.axhline(1, color="r", lw=1, ls="--", label="vacuous above")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"measured max $\|\hat x - x\| / \|x\|$")
    ax.set_ylabel("certified bound (Theorem 3.3, model Babel)")
    ax.legend(fontsize=7)
    ax.set_title("Theorem 3.3 certified vs measured one-step error")
    return fig


def csc_figure(tables: dict) -> plt.Figure:
    """The coherence theory against real codes: per network ({name: `vision.layerwise.CscLayers`}),
    one panel, per conv layer the measured stripe sparsity ||Gamma||^s_{0,inf} (median and range over
    the photographs), the stripe size, and the allowances (uniqueness with the learned filters and
    with Gaussian ones; thresholding, median over the photographs); log scale."""
    fig, axes = plt.subplots(1, len(tables), figsize=(5.2 * len(tables), 3.8), squeeze=False)
    for ax, (name, t) in zip(axes[0], tables.items(), strict=True):
        layers = list(t.layers["layer"])
        xs = np.arange(len(layers))
        g = t.images.groupby("layer", sort=False)
        med, lo, hi = g["stripe"].median(), g["stripe"].min(), g["stripe"].max()
        ax.errorbar(
            xs,
            med[layers],
            yerr=[med[layers] - lo[layers], hi[layers] - med[layers]],
            fmt="o-",
            color="C0",
            capsize=3,
            label="measured stripe sparsity",
        )
        ax.plot(xs, t.layers["stripe_size"], "k--", lw=1, label="stripe size")
        ax.plot(xs, t.layers["uniqueness"], "s-", color="C3", label="allowed: uniqueness (learned mu)")
        ax.plot(xs, t.layers["uniqueness_gaussian"], "s:", color="C2", label="allowed: uniqueness (Gaussian mu)")
        ax.plot(xs, g["thresholding"].median()[layers], "v-", color="C1", label="allowed: thresholding")
        ax.set_xticks(xs, layers, rotation=30)
        ax.set_yscale("log")
        ax.set_ylabel("nonzeros per stripe")
        ax.set_title(name)
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig
