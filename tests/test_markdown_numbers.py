"""Prose from results: every number in a notebook's markdown cells is the paper's (a value of
`invertlib.companion.paper`), a parameter of that notebook, a reference (section, figure, table,
equation, theorem, notebook, year, a layer's name, a LaTeX index), or on the short, commented
allow-list tests/markdown_numbers_allow.txt. A number of ours belongs in a code cell that
builds the text from the results (IPython.display.Markdown), where nbval checks it."""

import ast
import math
import numbers
import re
from pathlib import Path

import nbformat
import pytest

from invertlib.companion import paper

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ALLOW = ROOT / "tests" / "markdown_numbers_allow.txt"

NUMBER = re.compile(  # 1,234.5 (thousands separators) or 12.5, .5, 1e-3
    r"(?<![\w.])[-+−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])[-+−]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
)
# What is not a measured number: references, names and notation. Removed before numbers are read.
NOT_A_VALUE = [
    r"\b(?:Section|Sections|Sec\.|§|Figure|Figures|Fig\.|Table|Tables|Eq\.|Eqs\.|Equation|equation|Theorem|Lemma|"
    r"Proposition|Corollary|Definition|Algorithm|Appendix|Remark|Step|step|notebook|notebooks|issue|"
    r"Issue|Chapter|rung|Supplement)s?\s*\(?\d+(?:\.\d+)*[a-z]?\)?(?:\s*(?:,|and|-|–|or)\s*\(?\d+(?:\.\d+)*[a-z]?\)?)*",
    r"\b(?:19|20)\d\d[a-z]?\b",  # years (citations)
    r"\b(?:conv|pool|fc|relu|block|layer|Layer|Block)s?\s*\(?\d+(?:\s*,\s*\d+)?\)?(?:_\d+)?",  # layer names
    r"\b(?:conv|pool)\d+_\d+\b",
    r"[_^]\{[^}]*\}|[_^]\\?\w+",  # LaTeX indices and exponents: M_k^3, \ell_2, W_{i,j}
    r"\\(?:frac|sqrt)\{[^}]*\}\{[^}]*\}",  # formulas: \frac{1}{2}
    r"\d+-D\b|\b[1-9]\s*[x×]\s*[1-9]\b",  # 1-D, 2-D; 3x3 filters, 2 x 2 pooling
    r"\(\d{1,2}\)",  # enumerations (1), (2)
    r"https?://\S+|`[^`]*`|\[[^\]]*\]\([^)]*\)",  # links, code spans (names, file paths), link targets
    r"\bVGG\d+|AlexNet|ILSVRC-?\d+|CIFAR-?\d+|ImageNet-?\d*|MNIST|IJCAI|\bL\d\b|ResNet-?\d+|float\d+|uint\d+",
]


def _numbers_of(value) -> list[float]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _numbers_of(k) + _numbers_of(v)]
    if isinstance(value, (list, tuple, set)):
        return [x for v in value for x in _numbers_of(v)]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return []
    return [float(value)]


PAPER_VALUES = sorted({x for name in dir(paper) if name.isupper() for x in _numbers_of(getattr(paper, name))})


def _parameters(nb) -> list[float]:
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return []
    return [float(n.value) for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Constant) and _real(n.value)]


def _real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _shown(text: str) -> tuple[float, int]:
    """The value of a number as written and its decimals (the precision it was rounded to)."""
    text = text.replace(",", "").replace("−", "-")
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text.lower() else 0
    return float(text), decimals


def _is_one_of(text: str, values) -> bool:
    """`text` is one of `values` as written, or rounded to two or more significant digits (the
    paper's 49.1 % as "49 %"); a one-digit rounding ("0.4" for 0.423) is too coarse to tell."""
    x, decimals = _shown(text)
    digits = len(text.replace(",", "").replace(".", "").lstrip("+-−0"))
    return any(
        math.isclose(abs(x), abs(v), rel_tol=1e-9, abs_tol=1e-12)
        or (digits >= 2 and math.isclose(abs(x), round(abs(v), decimals), rel_tol=1e-9, abs_tol=1e-12))
        for v in values
    )


def allowed() -> dict[str, set[str]]:
    """The allow-list: `<notebook stem or *>: <number as written>  # why` per line."""
    out: dict[str, set[str]] = {}
    for line in ALLOW.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            stem, number = (s.strip() for s in line.split(":", 1))
            out.setdefault(stem, set()).add(number)
    return out


def stray_numbers(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    params = _parameters(nb)
    allow = allowed()
    ok_text = allow.get(path.stem, set()) | allow.get("*", set())
    stray = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = cell.source
        for pattern in NOT_A_VALUE:
            text = re.sub(pattern, " ", text)
        for match in NUMBER.finditer(text):
            number = match.group().lstrip("+")
            if number.lstrip("-−") in ok_text or number in ok_text:
                continue
            x, _ = _shown(number)
            if float(x).is_integer() and abs(x) < 10:  # small counts in reasoning: "two", "3 layers"
                continue
            if _is_one_of(number, PAPER_VALUES) or _is_one_of(number, params):
                continue
            context = cell.source[max(0, cell.source.find(number) - 40) : cell.source.find(number) + 40]
            stray.append(f"{number!r} in ...{context!r}...")
    return stray


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_states_no_number_of_ours(path):
    stray = stray_numbers(path)
    assert not stray, (
        f"{path.name}: {len(stray)} numbers in markdown are neither the paper's, a parameter, a reference nor "
        "allow-listed; build the sentence from the results in a code cell (IPython.display.Markdown):\n  "
        + "\n  ".join(stray)
    )


def test_the_scan_reads_numbers_and_skips_references(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("seed = 0\nk = 10", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell(
            "Figure 2(c), Section 4.2 and Table 3 (2017): conv(5,1) and pool(4) with $M_k^3$, k = 10, "
            "the paper's 0.423 and 89.3 %; ours 0.517 and 1,234."
        ),
    ]
    path = tmp_path / "99_demo.ipynb"
    nbformat.write(nb, path)
    assert [s.split(" in ")[0] for s in stray_numbers(path)] == ["'0.517'", "'1,234'"]
    assert _is_one_of("0.42", [0.423]) and _is_one_of("49", [49.1]) and not _is_one_of("0.4", [0.423])
