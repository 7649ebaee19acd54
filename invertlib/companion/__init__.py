"""The companion layer: what turns the library's results into this paper companion.

* ``claims``   the claims cell of every notebook (invariants, comparisons with the paper, findings)
* ``paper``    the numbers the paper reports (Tables 1-4, Figure 3), kept apart from parameters
* ``plotting`` the figure style and the one way figures and tables are saved
* ``paths``    where results go (figures/, figures/claims/)
* ``readme``   the README's generated summary and CLAIMS.md

It may import the maths (``invertlib``) and the networks-and-data layer (``invertlib.vision``);
neither of them imports it.
"""

import importlib

_MODULES = ("claims", "paper", "paths", "plotting", "readme")


def __getattr__(name: str):
    # submodules load on first use: `import invertlib.companion.X` loads X and what it imports, nothing else
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
