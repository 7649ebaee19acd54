"""`make html`: one page per executed notebook with its figures embedded, and an index that links
every page, names the paper and counts each notebook's verdicts."""

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("html_edition", ROOT / "tools" / "html_edition.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_index_links_every_notebook_and_pages_embed_their_figures(tmp_path):
    tool = _tool()
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    written = tool.build(ROOT / "notebooks", ROOT / "figures" / "claims", tmp_path)
    assert written[0] == tmp_path / "index.html" and len(written) == len(notebooks) + 1
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Towards Understanding the Invertibility of Convolutional Neural Networks" in index
    assert re.findall(r'<li><a href="([^"]+)\.html">', index) == [p.stem for p in notebooks]
    for path in notebooks:
        page = (tmp_path / f"{path.stem}.html").read_text(encoding="utf-8")
        nb = nbformat.read(path, as_version=4)
        images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert images > 0, f"{path.name} has no figure output"
        assert page.count('src="data:image/png;base64,') >= images, f"{path.stem}.html does not embed its figures"
        claims = json.loads((ROOT / "figures" / "claims" / f"{path.stem}.json").read_text())["claims"]
        line = next(x for x in index.splitlines() if f'href="{path.stem}.html"' in x)
        for verdict in ("matched", "partly", "not matched", "holds", "fails", "recorded"):
            n = sum(c["verdict"] == verdict for c in claims)
            assert (f"({n} {verdict}" in line or f", {n} {verdict}" in line) == (n > 0), (path.stem, verdict)
    assert index.count("<tr><td>") == sum(
        len(json.loads(f.read_text())["claims"]) for f in (ROOT / "figures" / "claims").glob("*.json")
    )


def test_titles_come_from_the_first_heading():
    tool = _tool()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("intro\n# 03 · Figure 2\ntext")]
    assert tool.notebook_title(nb) == "03 · Figure 2"
    # the .ipynb file's JSON (sources as lists of lines) reads the same
    raw = {"cells": [{"cell_type": "markdown", "source": ["intro\n", "# 03 · Figure 2\n", "text"]}]}
    assert tool.notebook_title(raw) == "03 · Figure 2" and tool.notebook_title({"cells": []}) == ""
