"""The README's generated blocks: the reproduction table of every claims file.

`make figures` (tools/readme_table.py) rebuilds the block between the README's markers from
figures/claims/*.json; nothing in it is typed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..vision.files import atomic_write
from .claims import fmt

README_START = "<!-- reproduction-status:start -->"
README_END = "<!-- reproduction-status:end -->"


def _cell(value) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def reproduction_table(directory: Path) -> str:
    """Markdown table of every claims file in `directory`, in notebook order."""
    files = sorted(Path(directory).glob("*.json"))
    lines = ["| notebook | artefact | claim | paper | ours | verdict |", "|---|---|---|---|---|---|"]
    for f in files:
        record = json.loads(f.read_text(encoding="utf-8"))
        for c in record["claims"]:
            lines.append(
                "| "
                + " | ".join(
                    [
                        record["notebook"][:2],
                        f"`{c['id']}`",
                        _cell(c["claim"]),
                        _cell(c["paper"]),
                        _cell(c["ours"]),
                        f"**{c['verdict']}**",
                    ]
                )
                + " |"
            )
    if not files:
        lines.append("| | | no claims files yet: run `make figures` | | | |")
    return "\n".join(lines)


def update_readme(readme: Path, directory: Path) -> None:
    text = Path(readme).read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise ValueError(f"readme: {readme} has no '{README_START}' ... '{README_END}' markers")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    new = f"{head}{README_START}\n{reproduction_table(directory)}\n{README_END}{tail}"
    atomic_write(Path(readme), lambda tmp: tmp.write_text(new, encoding="utf-8"))
