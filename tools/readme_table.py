"""Rebuild README.md's "Reproduction status" table from figures/claims/*.json.

Usage: .venv/bin/python tools/readme_table.py README.md figures/claims
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
    update_readme(readme, claims)
    print(f"{readme}: reproduction table rebuilt from {len(list(claims.glob('*.json')))} claims file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
