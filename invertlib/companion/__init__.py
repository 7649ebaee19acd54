"""The companion layer: what turns the library's results into this paper companion.

* ``claims``   the claims cell of every notebook (invariants, comparisons with the paper, findings)
* ``paper``    the numbers the paper reports (Tables 1-4, Figure 3), kept apart from parameters
* ``plotting`` the figure style and the one way figures and tables are saved
* ``paths``    where results go (figures/, figures/claims/)
* ``readme``   the README's generated summary and CLAIMS.md

It may import the maths (``invertlib``) and the networks-and-data layer (``invertlib.vision``);
neither of them imports it.
"""

from . import claims, paper, paths, plotting, readme  # noqa: E402,F401
