"""Rebuild README.md's reproduction summary and CLAIMS.md (every claim) from figures/claims/*.json.

Usage: .venv/bin/python tools/readme_table.py README.md figures/claims

CLAIMS.md is written next to the README; notebook titles come from notebooks/ next to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from invertlib.companion.readme import update_readme


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: readme_table.py README.md CLAIMS_DIR", file=sys.stderr)
        return 2
    readme, claims = Path(argv[0]), Path(argv[1])
    readme, claims_file = update_readme(readme, claims)
    n = len(list(claims.glob("*.json")))
    print(f"{readme}: reproduction summary and {claims_file}: every claim, rebuilt from {n} claims file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
