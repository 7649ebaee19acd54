"""Strip per-run noise from an executed notebook, in place, before it is committed.

papermill and nbclient record start/end times and durations on every cell and on the notebook;
they change on every run and would make each `make figures` a diff of timestamps. Likewise the
progress bars on stderr (their rates and ETAs), and the way a cell's printed text happens to be
split into stream messages. So: timing metadata is dropped, consecutive stream outputs are merged,
and progress-bar lines are removed from stderr. Everything else (outputs, execution counts, the
parameters papermill injected) is kept.

Usage: .venv/bin/python tools/clean_notebook.py NOTEBOOK.ipynb [...]
"""

from __future__ import annotations

import re
import sys

import nbformat

RUN_KEYS = ("papermill", "execution")
PROGRESS_BAR = re.compile(r"\d+%\|.*\|")


def _strip_progress(text: str) -> str:
    kept = []
    for line in text.split("\n"):
        shown = [seg for seg in line.split("\r") if seg][-1:]  # what a terminal would show
        if shown and not PROGRESS_BAR.search(shown[0]):
            kept.append(shown[0])
        elif not shown:
            kept.append("")
    return "\n".join(kept).strip("\n") + ("\n" if text.endswith("\n") and kept else "")


def clean_outputs(outputs: list) -> list:
    merged = []
    for out in outputs:
        if (
            out.output_type == "stream"
            and merged
            and merged[-1].output_type == "stream"
            and merged[-1].name == out.name
        ):
            merged[-1].text += out.text
        else:
            merged.append(out)
    for out in merged:
        if out.output_type == "stream" and out.name == "stderr":
            out.text = _strip_progress(out.text)
    return [o for o in merged if not (o.output_type == "stream" and not o.text.strip())]


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        for key in RUN_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = clean_outputs(cell.outputs)
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
