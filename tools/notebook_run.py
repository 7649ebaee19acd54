"""The papermill command that the tools run a notebook with (tools/seeds.py, tools/gpu_check.py):
the project's kernel, the notebooks/ working directory, parameters by `-p name value`."""

from __future__ import annotations

import sys
from pathlib import Path


def papermill_command(stem: str, out: Path, **parameters) -> list[str]:
    """papermill notebooks/<stem>.ipynb -> `out`, run from the project root, with `parameters`."""
    cmd = [str(Path(sys.executable).parent / "papermill"), "--no-progress-bar", "-k", "invertlib", "--cwd", "notebooks"]
    cmd += [f"notebooks/{stem}.ipynb", str(out)]
    for name, value in parameters.items():
        cmd += ["-p", name, str(value)]
    return cmd
