"""The three layers of invertlib: the maths (invertlib/*.py) imports neither the networks-and-data
layer (invertlib.vision) nor the companion (invertlib.companion); the networks-and-data layer
never imports the companion. Checked twice: statically on every import statement (relative ones
included, wherever they stand in a module), and at run time in a fresh interpreter."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "invertlib"
MATHS = sorted(p for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
VISION = sorted((PACKAGE / "vision").glob("*.py"))


def imported_modules(path: Path, root: Path = PACKAGE.parent) -> set[str]:
    """Absolute names of every module an import statement in `path` names (relative imports
    resolved against the file's package, `root` being the folder that holds the package)."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names |= {f"{module}.{a.name}" for a in node.names}  # `from . import vision`
    return names


def forbidden(names: set[str], layers: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names for layer in layers if n == layer or n.startswith(layer + "."))


@pytest.mark.parametrize("path", MATHS, ids=lambda p: p.name)
def test_the_maths_imports_neither_other_layer(path):
    bad = forbidden(imported_modules(path), ("invertlib.vision", "invertlib.companion"))
    assert not bad, f"{path.name} (maths) imports {bad}"


@pytest.mark.parametrize("path", VISION, ids=lambda p: p.name)
def test_networks_and_data_never_import_the_companion(path):
    bad = forbidden(imported_modules(path), ("invertlib.companion",))
    assert not bad, f"vision/{path.name} imports {bad}"


def test_the_check_sees_relative_imports(tmp_path):
    # the static check itself: a maths module that reached the companion or vision is caught
    src = tmp_path / "invertlib" / "rip.py"
    src.parent.mkdir()
    src.write_text("import numpy\nfrom .companion.claims import Claims\n\ndef f():\n    from . import vision\n")
    assert forbidden(imported_modules(src, tmp_path), ("invertlib.vision", "invertlib.companion")) == [
        "invertlib.companion.claims",
        "invertlib.companion.claims.Claims",
        "invertlib.vision",
    ]


@pytest.mark.slow
def test_importing_the_maths_loads_no_other_layer():
    modules = ", ".join(p.stem for p in MATHS)
    code = (
        f"import sys\nfrom invertlib import {modules}\nimport invertlib as il\n"
        "print(sorted(m for m in sys.modules if m.startswith(('invertlib.vision', 'invertlib.companion'))))\n"
        "il.vision, il.Claims\n"  # the outer layers load on first use
        "print('invertlib.companion.claims' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"
