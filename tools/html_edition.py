"""The HTML edition: every executed notebook rendered by nbconvert (figures embedded as data URIs)
plus an index page with the paper's title, one line per notebook (what it reproduces and its
count of verdicts) and the full table of all claims (the one CLAIMS.md holds).

Usage: .venv/bin/python tools/html_edition.py notebooks figures/claims build/html

Pages are written atomically; the index is written last, so an index always links pages that exist.
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from invertlib.companion.claims import fmt
from invertlib.companion.paths import atomic_write
from invertlib.companion.readme import (
    VERDICTS,
    notebook_title,
    shown_ours,
    shown_verdict,
    stability_counts,
    verdict_counts,
)

PAPER = (
    "Towards Understanding the Invertibility of Convolutional Neural Networks",
    "Anna C. Gilbert, Yi Zhang, Kibok Lee, Yuting Zhang, Honglak Lee. IJCAI 2017.",
)
# Debian's libjs-mathjax renders the equations offline; without it, nbconvert's CDN default.
LOCAL_MATHJAX = Path("/usr/share/javascript/mathjax/MathJax.js")


def render_notebook(path: Path, out: Path) -> Path:
    """nbconvert's lab template; image outputs are already base64 in the notebook, so the page
    embeds them and needs no other file."""
    exporter = HTMLExporter(template_name="lab")
    if LOCAL_MATHJAX.exists():
        exporter.mathjax_url = f"{LOCAL_MATHJAX.as_uri()}?config=TeX-AMS_CHTML-full,Safe"
    body, _ = exporter.from_notebook_node(nbformat.read(path, as_version=4))
    target = out / f"{path.stem}.html"
    atomic_write(target, lambda tmp: tmp.write_text(body, encoding="utf-8"))
    return target


def _claims(claims_dir: Path, stem: str) -> list[dict]:
    f = claims_dir / f"{stem}.json"
    return json.loads(f.read_text(encoding="utf-8"))["claims"] if f.exists() else []


def _mathjax() -> str:
    """Notebook titles carry TeX ($W \\in ...$): typeset them with the same MathJax as the pages."""
    src = (
        f"{LOCAL_MATHJAX.as_uri()}"
        if LOCAL_MATHJAX.exists()
        else "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/MathJax.js"
    )
    return (
        '<script type="text/x-mathjax-config">MathJax.Hub.Config({tex2jax: {inlineMath: [["$", "$"]]}});</script>'
        f'<script src="{src}?config=TeX-AMS_CHTML-full,Safe"></script>'
    )


def index_page(notebooks: list[Path], claims_dir: Path) -> str:
    rows, table = [], []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        claims = _claims(claims_dir, path.stem)
        counts = verdict_counts(claims)
        summary = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]) or "no claims file"
        if (st := stability_counts(claims))["stable"] + st["unstable"]:
            summary += f"; {st['stable']} stable, {st['unstable']} unstable ~"
        rows.append(
            f'<li><a href="{html.escape(path.stem)}.html">{html.escape(path.stem)}</a>: '
            f"{html.escape(notebook_title(nb))} <span class=counts>({html.escape(summary)})</span></li>"
        )
        for c in claims:
            cells = [path.stem[:2], f"<code>{html.escape(c['id'])}</code>", html.escape(c["claim"])]
            cells += [html.escape(fmt(c["paper"])), html.escape(shown_ours(c))]
            title = f' title="stability {c["stability"]:.2f}"' if "stability" in c else ""
            cells.append(f'<b class="v-{c["verdict"].replace(" ", "-")}"{title}>{html.escape(shown_verdict(c))}</b>')
            cells.append(html.escape(c.get("note", "")))
            table.append("<tr>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("notebook", "artefact", "claim", "paper", "ours", "verdict", "note"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(PAPER[0])}: reproduction</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; line-height: 1.4; }}
li {{ margin: 0.3em 0; }} .counts {{ color: #555; }}
table {{ border-collapse: collapse; font-size: 0.85em; }} td, th {{ border: 1px solid #ccc; padding: 2px 6px; }}
.v-matched, .v-holds {{ color: #1a7f37; }} .v-partly {{ color: #9a6700; }}
.v-not-matched, .v-fails {{ color: #cf222e; }} .v-recorded {{ color: #555; }}
</style>{_mathjax()}</head><body>
<h1>{html.escape(PAPER[0])}</h1>
<p>{html.escape(PAPER[1])}<br>A reproducible companion: every notebook below was executed by
<code>make figures</code>; its claims compare our numbers with the paper's.</p>
<h2>Notebooks</h2>
<ol>
{chr(10).join(rows)}
</ol>
<h2>Every claim</h2>
<p>"ours [low, high]": the 95 % bootstrap interval over the photographs, or the range over seeds
(<code>make seeds</code>). A verdict marked ~ is unstable: fewer than 90 % of the resamples repeat it.</p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(table)}
</tbody></table>
</body></html>
"""


def build(notebook_dir: Path, claims_dir: Path, out: Path) -> list[Path]:
    notebooks = sorted(Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"notebook_dir: no numbered notebooks in {notebook_dir}")
    out.mkdir(parents=True, exist_ok=True)
    pages = [render_notebook(p, out) for p in notebooks]
    index = out / "index.html"
    atomic_write(index, lambda tmp: tmp.write_text(index_page(notebooks, Path(claims_dir)), encoding="utf-8"))
    return [index, *pages]


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: html_edition.py NOTEBOOK_DIR CLAIMS_DIR OUT_DIR", file=sys.stderr)
        return 2
    written = build(Path(argv[0]), Path(argv[1]), Path(argv[2]))
    print(f"{argv[2]}: index.html and {len(written) - 1} notebook pages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
