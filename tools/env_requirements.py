"""Print the `pip:` section of a conda environment.yml as a pip requirements file.

environment.yml is the project's single list of dependencies. Conda is not available on the
project's machines, so the Makefile builds a virtual environment from the same list; this parser
runs before that environment exists and therefore uses only the standard library. It understands
the subset of YAML that environment files use (mappings, block lists, comments, quoted scalars);
tests/test_environment.py checks that it agrees with a real YAML parser on the project's file.

Usage: python3 tools/env_requirements.py environment.yml > requirements.txt
"""

from __future__ import annotations

import sys
from pathlib import Path


class EnvironmentFileError(ValueError):
    """environment.yml does not have the expected `dependencies: - pip: [...]` structure."""


def _strip_comment(line: str) -> str:
    # A '#' starts a comment at the start of a line or after white space, outside quotes.
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def pip_requirements(text: str) -> list[str]:
    """Return the items of `dependencies: - pip:` in an environment file, in order.

    Raises EnvironmentFileError when there is no top-level `dependencies` list or it holds no
    `pip:` entry.
    """
    lines = [(len(raw) - len(raw.lstrip(" ")), _strip_comment(raw).strip()) for raw in text.splitlines()]
    lines = [(indent, body) for indent, body in lines if body]

    in_deps = False
    pip_indent = None  # indentation of the `- pip:` item once found
    items: list[str] = []
    for indent, body in lines:
        if indent == 0 and not body.startswith("-"):  # a top-level key (lists may sit at 0)
            if pip_indent is not None:
                break
            in_deps = body == "dependencies:"
            continue
        if not in_deps:
            continue
        if pip_indent is None:
            if body.startswith("-") and body[1:].strip() == "pip:":
                pip_indent = indent
            continue
        if indent <= pip_indent:
            break
        if not body.startswith("-"):
            raise EnvironmentFileError(f"expected a list item under `- pip:`, got {body!r}")
        items.append(_unquote(body[1:]))
    if pip_indent is None:
        raise EnvironmentFileError("environment file has no `dependencies:` list with a `- pip:` entry")
    return items


def _resolve_local(item: str, base: Path) -> str:
    """Make `-e .` and other local paths absolute, so pip resolves them from any directory."""
    for prefix in ("-e ", "--editable "):
        if item.startswith(prefix):
            target = item[len(prefix) :].strip()
            if target.startswith("."):
                return f"{prefix}{(base / target).resolve()}"
    return item


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: env_requirements.py ENVIRONMENT_YML", file=sys.stderr)
        return 2
    path = Path(argv[1])
    try:
        items = pip_requirements(path.read_text(encoding="utf-8"))
    except (OSError, EnvironmentFileError) as exc:
        print(f"env_requirements.py: {path}: {exc}", file=sys.stderr)
        return 1
    for item in items:
        print(_resolve_local(item, path.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
