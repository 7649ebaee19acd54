"""Claims over seeds: the summary that `make seeds` writes and every notebook's claims file reads.

`make seeds` (tools/seeds.py) reruns the notebooks whose claims depend on random draws with seeds
1..N into build/seeds/seed<k>/; seed 0 is the published run (figures/claims/). `summarise` turns
the claims files of seeds 0..N into one row per claim: the value of every seed, mean, sd, min,
max, the verdict counts and the stability (the share of seeds whose verdict is seed 0's).
`write_summary` writes figures/seeds/summary.csv, summary.json and stability.png.

`attach_seeds`, called by `Claims.finish`, gives every comparison and finding of a notebook whose
value or verdict moves with the seed a ``seeds`` entry (range, verdict counts, stability of this
run's verdict) and, where the notebook gave no interval of its own, the seeds' range as its
``interval``. It reads the published summary (figures/seeds/summary.json), not the scratch
directory of a test run, so every run of a notebook records the same thing.
"""

from __future__ import annotations

import json
import math
import numbers
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from .paths import PROJECT_ROOT, atomic_write, json_safe, read_json

SUMMARY = PROJECT_ROOT / "figures" / "seeds" / "summary.json"
VERDICTS = ("matched", "partly", "not matched", "holds", "fails", "recorded")


def _number(value) -> float:
    if value in ("inf", "-inf"):  # how a claims file writes an infinite number (standard JSON)
        return float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return math.nan
    return float(value)


def load_runs(published: Path, runs: Path, seeds: list[int], stems: list[str]) -> pd.DataFrame:
    """One row per (notebook, claim, seed): kind, ours (the number, NaN if not a number) and
    verdict, from published/<stem>.json for seed 0 and runs/seed<k>/claims/<stem>.json otherwise.
    A missing claims file is an error: the summary is of complete runs only."""
    rows = []
    for seed in seeds:
        for stem in stems:
            path = (
                Path(published) / f"{stem}.json"
                if seed == 0
                else Path(runs) / f"seed{seed}" / "claims" / f"{stem}.json"
            )
            if not path.exists():
                raise FileNotFoundError(f"seeds: no claims file {path} (seed {seed}); run make seeds")
            record = read_json(path, "seeds")
            if record["seed"] != seed:
                raise ValueError(f"seeds: {path} was run with seed {record['seed']}, expected {seed}")
            rows += [
                dict(
                    notebook=stem, id=c["id"], kind=c["kind"], seed=seed, ours=_number(c["ours"]), verdict=c["verdict"]
                )
                for c in record["claims"]
            ]
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per claim over the seeds of `runs` (from `load_runs`): notebook, id, kind, verdict
    (seed 0's), n_seeds, mean, sd (ddof 1), min, max of the numbers, one count column per verdict,
    stability (share of seeds with seed 0's verdict), varies (the number or the verdict moves),
    values (the number of every seed, in seed order) and verdict_per_seed. Claims missing from some seed's run
    (a notebook changed between runs) are an error."""
    seeds = sorted(runs["seed"].unique())
    out = []
    for (stem, cid), g in runs.groupby(["notebook", "id"], sort=False):
        g = g.sort_values("seed")
        if list(g["seed"]) != seeds:
            raise ValueError(f"seeds: claim {stem}/{cid} is in seeds {list(g['seed'])}, not all of {seeds}")
        values = g["ours"].to_numpy(float)
        numeric = bool(np.isfinite(values).all())
        verdict0 = g["verdict"].iloc[0]
        counts = Counter(g["verdict"])
        spread = numeric and bool(np.ptp(values) > 1e-9 * max(1.0, float(np.abs(values).max())))
        out.append(
            dict(
                notebook=stem,
                id=cid,
                kind=g["kind"].iloc[0],
                verdict=verdict0,
                n_seeds=len(seeds),
                mean=float(values.mean()) if numeric else math.nan,
                sd=float(values.std(ddof=1)) if numeric else math.nan,
                min=float(values.min()) if numeric else math.nan,
                max=float(values.max()) if numeric else math.nan,
                **{v: counts.get(v, 0) for v in VERDICTS},
                stability=counts[verdict0] / len(seeds),
                varies=spread or len(counts) > 1,
                values=[None if math.isnan(v) else float(v) for v in values],
                verdict_per_seed=list(g["verdict"]),
            )
        )
    return pd.DataFrame(out)


def write_summary(published: Path, runs: Path, seeds: list[int], stems: list[str], out_dir: Path) -> list[Path]:
    """Summarise seeds `seeds` of notebooks `stems` (see `load_runs`) into out_dir: summary.csv,
    summary.json (read by `attach_seeds`) and stability.png. Returns the paths written: none when
    summary.json would not change (so that `make figures` does not rerun the notebooks)."""
    table = summarise(load_runs(published, runs, seeds, stems))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = table.drop(columns=["values", "verdict_per_seed"]).assign(
        **{f"seed{s}": [v[i] for v in table["values"]] for i, s in enumerate(seeds)}
    )
    record = {
        "seeds": [int(s) for s in seeds],
        "notebooks": {
            stem: {
                r["id"]: {k: _json(r[k]) for k in table.columns if k not in ("notebook", "id")}
                for r in g.to_dict("records")
            }
            for stem, g in table.groupby("notebook", sort=False)
        },
    }
    paths = [out_dir / "summary.csv", out_dir / "summary.json", out_dir / "stability.png"]
    text = json.dumps(json_safe(record), indent=1, allow_nan=False) + "\n"
    if paths[1].exists() and paths[1].read_text(encoding="utf-8") == text and all(p.exists() for p in paths):
        return []  # unchanged: leave the files (and the claims that depend on them) alone
    from .plotting import seeds_figure

    fig = seeds_figure(table, seeds)
    atomic_write(paths[0], lambda tmp: csv.to_csv(tmp, index=False, float_format="%.6g"))
    atomic_write(paths[2], lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
    atomic_write(paths[1], lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return paths


def _json(value):
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.floating,)):
        return None if math.isnan(value) else float(value)
    return value


def seed_entries(notebook: str, summary: Path | None = None) -> tuple[list[int], dict]:
    """The seeds and the per-claim entries of `notebook` in the published summary (empty when the
    summary does not exist or does not cover the notebook)."""
    path = Path(summary or SUMMARY)
    if not path.exists():
        return [], {}
    record = read_json(path, "summary")
    return record["seeds"], record["notebooks"].get(notebook, {})


def attach_seeds(notebook: str, claims: list, *, seed: int, summary: Path | None = None) -> tuple[int, list[str]]:
    """Give each comparison and finding of `claims` (Claim objects) whose number or verdict moves
    with the seed its ``seeds`` entry, and, without an interval of its own, the seeds' range as
    ``interval``; ``stability`` becomes the lowest of the photographs' and the seeds'.

    The summary describes the default parameters at its seeds: a claim gets its entry only when
    this run (`seed`) is one of them and the claim's number and verdict are the summary's at that
    seed (within `claims.rerun_tolerance`), so a run with other parameters or another seed is not
    described by runs it is not one of. Returns (the number of claims given an entry, the ids of
    the moving claims that were not, because the run differs)."""
    from .claims import rerun_tolerance

    seeds, entries = seed_entries(notebook, summary)
    given, skipped = 0, []
    for c in claims:
        e = entries.get(c.id)
        if e is None or c.kind not in ("paper", "finding") or not e["varies"]:
            continue
        if not _same_run(c, e, seeds, seed, rerun_tolerance(notebook, c.id)):
            skipped.append(c.id)
            continue
        span = f"{seeds[0]}-{seeds[-1]}"
        block = {"seeds": span, "verdicts": {v: e[v] for v in VERDICTS if e[v]}}
        if e["min"] is not None:
            block["interval"] = [e["min"], e["max"]]
        if c.kind == "paper":
            block["stability"] = e[c.verdict] / e["n_seeds"]
        c.extra["seeds"] = block
        if "interval" not in c.extra and "interval" in block:
            c.extra["interval"] = block["interval"]
            c.extra["interval_method"] = f"range over seeds {span} (make seeds)"
        if "stability" in block:
            c.extra["stability"] = min(c.extra.get("stability", 1.0), block["stability"])
        given += 1
    return given, skipped


def _same_run(claim, entry: dict, seeds: list[int], seed, tol: dict) -> bool:
    """Whether `claim` is the summary's claim at `seed`: that seed is summarised, the verdict is the
    same and the number (where it is one) within `tol`."""
    if seed not in seeds:
        return False
    i = seeds.index(seed)
    if entry["verdict_per_seed"][i] != claim.verdict:
        return False
    value, ours = entry["values"][i], _number(claim.ours)
    if value is None or math.isnan(ours):
        return value is None and math.isnan(ours)
    value = _number(value)  # the summary writes an infinite number as "inf" (standard JSON)
    if math.isinf(value) or math.isinf(ours):
        return value == ours
    return abs(ours - value) <= tol["abs"] + tol["rel"] * abs(value)
