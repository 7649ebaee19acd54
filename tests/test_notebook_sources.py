"""Every notebook has its jupytext pair (notebooks/*.py, percent format) with the same cells,
`make smoke` has a parameters file for it that names only the notebook's own parameters, and its
code reads like the paper: no logic defined in it, one step per cell."""

import ast
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(nb):
    return [(c.cell_type, c.source.strip("\n"), sorted(c.metadata.get("tags", []))) for c in nb.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_and_its_pair_have_the_same_cells(path):
    pair = path.with_suffix(".py")
    assert pair.exists(), f"{pair.name} is missing: run `make sync`"
    text = pair.read_text(encoding="utf-8")
    assert text.startswith("# ---\n# jupyter:") and "format_name: percent" in text
    ours, theirs = _cells(nbformat.read(path, as_version=4)), _cells(jupytext.read(pair))
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b]
    assert len(ours) == len(theirs) and not differ, (
        f"{path.name} and {pair.name} differ (cells {differ[:5]}, {len(ours)} vs {len(theirs)} cells): run `make sync`"
    )


def test_every_pair_has_its_notebook():
    pairs = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert [p.stem for p in pairs] == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_smoke_parameters_are_the_notebooks_own(path):
    smoke = ROOT / "notebooks" / "smoke" / f"{path.stem}.yaml"
    assert smoke.exists(), f"make smoke needs {smoke.relative_to(ROOT)}"
    params = yaml.safe_load(smoke.read_text(encoding="utf-8")) or {}
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    names = set()
    for node in ast.parse(cell.source).body:
        for target in getattr(node, "targets", []):
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    assert set(params) <= names, f"{smoke.name} sets parameters the notebook does not have: {set(params) - names}"


MAX_CELL_LINES = 30


def _code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_define_no_logic(path):
    """No function, class or lambda is defined in a notebook: a step that needs one calls invertlib."""
    for i, cell in enumerate(_code_cells(path)):
        tree = ast.parse(cell.source)
        defined = [
            type(n).__name__ for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))
        ]
        assert not defined, f"{path.name}, code cell {i}: defines {defined}; move it into invertlib"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_one_step_each(path):
    """A code cell is a step of the paper: at most MAX_CELL_LINES non-blank lines, except the
    parameters cell and the claims cell (the last code cell)."""
    cells = _code_cells(path)
    long = [
        (i, n)
        for i, c in enumerate(cells[:-1])
        if "parameters" not in c.metadata.get("tags", [])
        and (n := sum(1 for line in c.source.splitlines() if line.strip())) > MAX_CELL_LINES
    ]
    assert not long, f"{path.name}: code cells (index, non-blank lines) over {MAX_CELL_LINES}: {long}"
    assert "claims.finish()" in cells[-1].source, f"{path.name}: the last code cell is not the claims cell"
