"""Where results go. Only `make figures` publishes: it sets INVERTLIB_PUBLISH=1, and the figures,
tables (PNG, PDF, CSV) and claims (claims/*.json) go to figures/ at the project root. Every other
run (a notebook's "Rerun:" line, papermill by hand, JupyterLab) writes to build/runs/<notebook>/
and its first cell prints where, so a rerun with other parameters never replaces the published
results. INVERTLIB_FIGURES_DIR names another directory and wins over both (`make test`, `make
smoke` and `make seeds` use it for their scratch runs).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..vision.files import (  # noqa: F401  (the one way files are written and read)
    atomic_write,
    atomic_write_all,
    json_safe,
    read_json,
    write_json,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PUBLISH = "INVERTLIB_PUBLISH"
OVERRIDE = "INVERTLIB_FIGURES_DIR"
_run = {"name": "scratch"}  # the notebook whose results are being written (set by Claims)


def start_run(name: str) -> None:
    """Name the run whose results follow (a notebook's stem; `Claims` calls this in the first
    cell), so that an unpublished run writes to build/runs/<name>/."""
    _run["name"] = str(name)


def _root() -> Path:
    # editable install: the checkout; installed elsewhere: the working directory
    return PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd()


def figures_dir() -> Path:
    """The output directory for figures and tables, created if missing: INVERTLIB_FIGURES_DIR if
    set; figures/ when INVERTLIB_PUBLISH=1 (`make figures`); otherwise build/runs/<notebook>/."""
    override = os.environ.get(OVERRIDE)
    publish = os.environ.get(PUBLISH, "")
    if publish not in ("", "0", "1"):
        raise ValueError(f"{PUBLISH}: expected 1 (publish into figures/) or 0/unset, got {publish!r}")
    if override:
        out = Path(override).expanduser().resolve()
    elif publish == "1":
        out = _root() / "figures"
    else:
        out = _root() / "build" / "runs" / _run["name"]
    out.mkdir(parents=True, exist_ok=True)
    return out


def claims_dir() -> Path:
    out = figures_dir() / "claims"
    out.mkdir(parents=True, exist_ok=True)
    return out


def describe(path: Path) -> str:
    """`path` relative to the project root where it lies inside it, with what it is."""
    path = Path(path)
    shown = path.relative_to(_root()) if path.is_relative_to(_root()) else path
    if os.environ.get(OVERRIDE):
        return f"{shown} (INVERTLIB_FIGURES_DIR)"
    if os.environ.get(PUBLISH) == "1":
        return f"{shown} (published: make figures)"
    return f"{shown} (not published; only make figures writes figures/)"
