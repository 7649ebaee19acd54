"""Where results go: figures/ at the project root (PNG, PDF, CSV) and figures/claims/ (JSON).

The environment variable INVERTLIB_FIGURES_DIR overrides the location; `make test` uses it so
that nbval's re-execution of the notebooks never touches the committed figures.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


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


def atomic_write(path: Path, write) -> Path:
    """Call write(tmp_path) and move the result onto `path` only if it succeeded, so a crash
    never leaves a half-written file behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    # mkstemp creates the file 0600; give it the mode a plain open() would (0666 less the umask)
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
