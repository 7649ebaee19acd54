"""Strip per-run noise from an executed notebook, in place, before it is committed.

papermill and nbclient record start/end times and durations on every cell and on the notebook;
they change on every run and would make each `make figures` a diff of timestamps. Outputs,
execution counts and the parameters papermill injected are kept.

Usage: .venv/bin/python tools/clean_notebook.py NOTEBOOK.ipynb [...]
"""

from __future__ import annotations

import sys

import nbformat

RUN_KEYS = ("papermill", "execution")


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        for key in RUN_KEYS:
            cell.metadata.pop(key, None)
    run = nb.metadata.pop("papermill", None)
    if run and run.get("parameters"):
        nb.metadata["papermill"] = {"parameters": run["parameters"]}
    return nb


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: clean_notebook.py NOTEBOOK.ipynb [...]", file=sys.stderr)
        return 2
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.write(clean(nb), path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
