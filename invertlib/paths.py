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


def _mode() -> int:
    # mkstemp creates files 0600; a finished file gets the mode a plain open() would (0666 less the umask)
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, write) -> Path:
    """Call write(tmp_path) and move the result onto `path` only if it succeeded, so a crash
    never leaves a half-written file behind (the temporary file is removed on any failure)."""
    return atomic_write_all({Path(path): write})[0]


def atomic_write_all(writers: dict) -> list[Path]:
    """{path: write} written together: every write(tmp_path) runs first, and the files are moved
    into place only when all of them succeeded (a figure's PNG and PDF never disagree)."""
    tmps = {}
    try:
        for path, write in writers.items():
            path = Path(path)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
            os.close(fd)
            tmps[path] = Path(tmp)
            write(tmps[path])
            os.chmod(tmps[path], _mode())
        for path, tmp in tmps.items():
            os.replace(tmp, path)
    except BaseException:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
        raise
    return list(tmps)
