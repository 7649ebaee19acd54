"""The generated reproduction reports: the README's summary block and CLAIMS.md.

`make figures` (tools/readme_table.py) rebuilds both from figures/claims/*.json; nothing in them
is typed by hand:

* the README's block between ``README_START`` and ``README_END``: one row per notebook (what it
  reproduces, how many of its claims got each verdict, its runtime), with a link to CLAIMS.md;
* CLAIMS.md, next to the README: one row per claim (the paper's value, ours, the verdict and the
  note that explains any difference).

The two files are written together (atomically), so they never disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..vision.files import atomic_write_all, read_json
from .claims import STABLE, fmt

README_START = "<!-- reproduction-status:start -->"
README_END = "<!-- reproduction-status:end -->"
CLAIMS_FILE = "CLAIMS.md"
# Every verdict a claims file can hold, in the order the tables show them.
VERDICTS = ("matched", "partly", "not matched", "holds", "fails", "recorded")


@dataclass(frozen=True)
class NotebookSummary:
    """One notebook's line of the summary: `counts` maps every verdict of VERDICTS to the number
    of its claims with that verdict; `runtime_s` is the kernel time its claims file records
    (None when the file has none)."""

    notebook: str
    title: str
    counts: Mapping[str, int]
    runtime_s: float | None
    with_interval: int = 0  # comparisons with the paper that record an interval
    stable: int = 0  # comparisons whose verdict every resample (photographs, seeds) repeats at >= STABLE
    unstable: int = 0  # comparisons with a stability below STABLE

    @property
    def claims(self) -> int:
        return sum(self.counts.values())


def _cell(value) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def _records(claims_dir: Path) -> list[dict]:
    """Every claims file of `claims_dir`, in notebook order."""
    folder = Path(claims_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"claims_dir: {folder} is not a folder of claims files")
    return [read_json(f, "claims_dir") for f in sorted(folder.glob("*.json"))]


def notebook_title(nb: Mapping) -> str:
    """The first markdown heading of a notebook (a notebook node or its JSON), without the '# '.

    A cell's source may be one string (nbformat) or a list of lines (the .ipynb file)."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            for line in source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def _title(notebook: str, notebook_dir: Path | None) -> str:
    """What a notebook reproduces: its heading without the 'NN · ' prefix; without the notebook
    file, its name ('01_cnn_layer_as_matrix' -> 'cnn layer as matrix')."""
    path = Path(notebook_dir) / f"{notebook}.ipynb" if notebook_dir is not None else None
    if path is not None and path.is_file():
        title = notebook_title(read_json(path, "notebook_dir"))
        number, sep, rest = title.partition(" · ")
        if sep and number.strip() == notebook[:2]:
            title = rest
        if title:
            return title
    return notebook[3:].replace("_", " ")


def verdict_counts(claims: list[dict]) -> dict[str, int]:
    """{verdict: number of `claims` with it} for every verdict of VERDICTS; an unknown verdict
    is an error (a claims file written by something other than `Claims`)."""
    counts = dict.fromkeys(VERDICTS, 0)
    for c in claims:
        if c["verdict"] not in counts:
            raise ValueError(f"claims: verdict of {c['id']!r} must be one of {VERDICTS}, got {c['verdict']!r}")
        counts[c["verdict"]] += 1
    return counts


def notebook_summaries(claims_dir: Path, *, notebook_dir: Path | None = None) -> list[NotebookSummary]:
    """One NotebookSummary per claims file of `claims_dir`, in notebook order; titles come from
    the notebooks' first headings in `notebook_dir` when given."""
    return [
        NotebookSummary(
            notebook=r["notebook"],
            title=_title(r["notebook"], notebook_dir),
            counts=verdict_counts(r["claims"]),
            runtime_s=r.get("runtime_s"),
            **stability_counts(r["claims"]),
        )
        for r in _records(claims_dir)
    ]


def stability_counts(claims: list[dict]) -> dict[str, int]:
    """Of the comparisons with the paper: how many record an interval, and how many of those with
    a stability are stable (>= STABLE) and unstable."""
    paper = [c for c in claims if c["kind"] == "paper"]
    stability = [c["stability"] for c in paper if "stability" in c]
    return dict(
        with_interval=sum("interval" in c for c in paper),
        stable=sum(s >= STABLE for s in stability),
        unstable=sum(s < STABLE for s in stability),
    )


def shown_ours(c: Mapping) -> str:
    """A claim's value as the tables show it: "ours [low, high]" when it records an interval."""
    interval = c.get("interval")
    return f"{fmt(c['ours'])} [{fmt(interval[0])}, {fmt(interval[1])}]" if interval else fmt(c["ours"])


def shown_verdict(c: Mapping) -> str:
    """A claim's verdict, marked "~" when its stability is below STABLE (a resample changes it)."""
    return c["verdict"] + (" ~" if c.get("stability", 1.0) < STABLE else "")


def summary_table(claims_dir: Path, *, notebook_dir: Path | None = None, base: Path | None = None) -> str:
    """Markdown table, one row per notebook: what it reproduces, its verdict counts and runtime,
    and a last row with the totals. With `base` (the directory of the file the table goes in),
    each notebook's number links to its .ipynb in `notebook_dir`."""
    head = ["notebook", "reproduces", *VERDICTS, "with interval", "stable", "unstable ~", "runtime (s)"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    summaries = notebook_summaries(claims_dir, notebook_dir=notebook_dir)
    for s in summaries:
        number = s.notebook[:2]
        path = Path(notebook_dir) / f"{s.notebook}.ipynb" if notebook_dir is not None else None
        if base is not None and path is not None and path.is_file():
            number = f"[{number}]({Path(os.path.relpath(path, base)).as_posix()})"
        runtime = "" if s.runtime_s is None else f"{s.runtime_s:.1f}"
        cells = [number, _cell(s.title), *(str(s.counts[v]) for v in VERDICTS)]
        cells += [str(s.with_interval), str(s.stable), str(s.unstable), runtime]
        lines.append("| " + " | ".join(cells) + " |")
    if not summaries:
        lines.append("| | no claims files yet: run `make figures` |" + " |" * (len(head) - 2))
        return "\n".join(lines)
    totals = [str(sum(s.counts[v] for s in summaries)) for v in VERDICTS]
    runtime = sum(s.runtime_s for s in summaries if s.runtime_s is not None)
    cells = ["**all**", f"{sum(s.claims for s in summaries)} claims", *totals]
    cells += [str(sum(getattr(s, k) for s in summaries)) for k in ("with_interval", "stable", "unstable")]
    cells += [f"{runtime:.1f}"]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def claims_table(claims_dir: Path) -> str:
    """Markdown table of every claim of every claims file in `claims_dir`, in notebook order:
    one row per claim (notebook, id, what is claimed, the paper's value, ours, verdict, note)."""
    records = _records(claims_dir)
    lines = [
        "| notebook | artefact | claim | paper | ours | verdict | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for record in records:
        for c in record["claims"]:
            cells = [record["notebook"][:2], f"`{c['id']}`", _cell(c["claim"]), _cell(c["paper"])]
            cells += [shown_ours(c).replace("|", "\\|"), f"**{shown_verdict(c)}**", _cell(c.get("note", ""))]
            lines.append("| " + " | ".join(cells) + " |")
    if not records:
        lines.append("| | | no claims files yet: run `make figures` | | | | |")
    return "\n".join(lines)


def claims_document(claims_dir: Path, *, notebook_dir: Path | None = None, base: Path | None = None) -> str:
    """CLAIMS.md: a generated-file header, the per-notebook summary and the full table."""
    return f"""# Claims: every check of every notebook

<!-- Generated by `make figures` (tools/readme_table.py) from figures/claims/*.json. Do not edit: your changes
would be overwritten. -->

Generated by `make figures` from `figures/claims/*.json`; do not edit by hand. Each notebook's last
cell records its claims. Kinds and verdicts:

* an **invariant** must hold (an exact identity, an adjoint test, a theorem's inequality on its own
  hypotheses): **holds** or **fails**, and a failure stops the run;
* a comparison with a number the **paper** reports: **matched**, **partly** or **not matched**, with a
  note explaining any difference;
* a **finding** is a measurement the paper gives no number for: **recorded**.

**Uncertainty.** A number that depends on the photographs shows its 95 % percentile bootstrap
interval over the photographs, "ours [low, high]"; a number that depends only on random draws
shows its range over seeds 0-N (`make seeds`). A verdict marked **~** is unstable: fewer than
{STABLE:.0%} of the resamples (photographs, or seeds) repeat it. The per-notebook table counts the
comparisons with an interval and the stable and unstable verdicts; the claims files hold each
interval's method (`interval_method`), its stability and the seeds' verdict counts.

Numbers are rounded to three significant digits; the claims files hold them in full.

## Per notebook

{summary_table(claims_dir, notebook_dir=notebook_dir, base=base)}

## Every claim

{claims_table(claims_dir)}
"""


def readme_block(
    claims_dir: Path, *, notebook_dir: Path | None = None, base: Path | None = None, claims_file: str = CLAIMS_FILE
) -> str:
    """The README's generated block: the summary table and a link to the full table."""
    count = sum(len(r["claims"]) for r in _records(claims_dir))
    return (
        f"{summary_table(claims_dir, notebook_dir=notebook_dir, base=base)}\n\n"
        f"Every one of the {count} claims, with the paper's value, ours and the note on any difference: "
        f"[{claims_file}]({claims_file}), each with its 95 % interval over the photographs or its range over "
        f"seeds where it depends on them. *Stable* / *unstable ~*: comparisons with the paper whose verdict at least "
        f"{STABLE:.0%} of the resamples (photographs, seeds) repeat, or not. Runtime: the notebook's kernel time in "
        "its last run."
    )


def update_readme(
    readme: Path, claims_dir: Path, *, claims_file: Path | None = None, notebook_dir: Path | None = None
) -> tuple[Path, Path]:
    """Rewrite the README's block between its markers and write the full table to `claims_file`
    (default: CLAIMS.md next to the README), both at once. Notebook titles and links come from
    `notebook_dir` (default: notebooks/ next to the README). Returns (readme, claims_file)."""
    readme = Path(readme)
    base = readme.resolve().parent
    claims_file = Path(claims_file) if claims_file is not None else readme.parent / CLAIMS_FILE
    notebook_dir = Path(notebook_dir) if notebook_dir is not None else readme.parent / "notebooks"
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise ValueError(f"readme: {readme} has no '{README_START}' ... '{README_END}' markers")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    link = Path(os.path.relpath(claims_file.resolve(), base)).as_posix()
    block = readme_block(claims_dir, notebook_dir=notebook_dir.resolve(), base=base, claims_file=link)
    new = f"{head}{README_START}\n{block}\n{README_END}{tail}"
    document = claims_document(claims_dir, notebook_dir=notebook_dir.resolve(), base=claims_file.resolve().parent)
    written = atomic_write_all(
        {
            readme: lambda tmp: tmp.write_text(new, encoding="utf-8"),
            claims_file: lambda tmp: tmp.write_text(document, encoding="utf-8"),
        }
    )
    return written[0], written[1]
