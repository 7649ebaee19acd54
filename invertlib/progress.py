"""Progress bars for loops longer than a few seconds.

Plain tqdm on stderr (no widgets, which would need ipywidgets and store widget state in the
notebook): nbval never compares it, and it updates at most every few seconds so executed
notebooks stay small. TQDM_DISABLE=1 turns every bar off.
"""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress(iterable, desc: str, total: int | None = None, **options):
    """tqdm over `iterable`; `options` go to tqdm (unit="img" shows images/s, disable=True hides it)."""
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        file=sys.stderr,
        mininterval=5.0,
        ascii=True,
        dynamic_ncols=False,
        ncols=80,
        **options,
    )
