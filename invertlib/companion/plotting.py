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
import seaborn as sns

from .._checks import to_numpy
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
