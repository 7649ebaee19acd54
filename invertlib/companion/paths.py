"""Where results go: figures/ at the project root (PNG, PDF, CSV) and figures/claims/ (JSON).

The environment variable INVERTLIB_FIGURES_DIR overrides the location; `make test` uses it so
that nbval's re-execution of the notebooks never touches the committed figures.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..vision.files import atomic_write, atomic_write_all  # noqa: F401  (the one way figures are written)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def figures_dir() -> Path:
    """The output directory for figures and tables, created if missing."""
    override = os.environ.get("INVERTLIB_FIGURES_DIR")
    if override:
        out = Path(override).expanduser().resolve()
    elif (PROJECT_ROOT / "pyproject.toml").exists():  # editable install: the checkout's figures/
        out = PROJECT_ROOT / "figures"
    else:
        out = Path.cwd() / "figures"
    out.mkdir(parents=True, exist_ok=True)
    return out


def claims_dir() -> Path:
    out = figures_dir() / "claims"
    out.mkdir(parents=True, exist_ok=True)
    return out
