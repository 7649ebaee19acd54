"""`make seeds`: the notebooks whose claims depend on random draws, rerun with seeds 1..N.

Each run goes to build/seeds/seed<k>/ (the executed notebook, its log, its figures and its claims
file, INVERTLIB_FIGURES_DIR pointing there), so figures/ is never touched. A run whose claims file
exists is not repeated: an interrupted `make seeds` resumes where it stopped. Seed 0 is the
published run (figures/claims/). Then the summary of every claim over seeds 0..N
(`invertlib.companion.seeds`) is written to figures/seeds/ (summary.csv, summary.json, stability.png).

A run is redone when the notebook's code differs from the code it executed (`--fresh`: every run).
The summary files are rewritten only when their content changes, so a `make seeds` that reran
nothing leaves `make figures` with nothing to do.

Usage: .venv/bin/python tools/seeds.py [--seeds 4] [--notebooks 02,03,...] [--summary-only] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from notebook_run import papermill_command

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The notebooks whose claims depend on random draws (filters, codes, initialisations).
SEED_NOTEBOOKS = (
    "02_relu_pairs_and_one_iht_step",
    "03_model_rip_random_filters",
    "04_one_step_reconstruction",
    "05_random_filter_classification",
    "07_filter_coherence",
    "08_vgg_model_rip",
    "09_layerwise_reconstruction",
    "10_alexnet_supplement",
    "11_phase_transitions",
)


def _code(path: Path) -> list[str]:
    """A notebook's code cells, without the cell papermill injects: what a run executed."""
    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    return [
        c.source for c in cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])
    ]


def is_current(stem: str, run_dir: Path) -> bool:
    """Whether the run of `stem` in `run_dir` is complete and executed the notebook's current code
    (its executed copy has the same code cells as notebooks/<stem>.ipynb). A change of the library
    alone is not seen: after one that moves numbers, `make seeds SEEDS_FRESH=1` reruns everything."""
    claims, executed = run_dir / "claims" / f"{stem}.json", run_dir / f"{stem}.ipynb"
    return claims.exists() and executed.exists() and _code(executed) == _code(ROOT / "notebooks" / f"{stem}.ipynb")


def run_one(stem: str, seed: int, out: Path) -> float | None:
    """Execute notebook `stem` with `seed` into out/seed<seed>/; None when a current run is there."""
    run_dir = out / f"seed{seed}"
    claims = run_dir / "claims" / f"{stem}.json"
    if is_current(stem, run_dir):
        return None
    claims.unlink(missing_ok=True)  # a stale or partial run: its claims must not outlive it
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, INVERTLIB_FIGURES_DIR=str(run_dir))
    cmd = papermill_command(stem, run_dir / f"{stem}.ipynb", seed=seed)
    start = time.perf_counter()
    with open(run_dir / f"{stem}.log", "w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env).returncode
    wall = time.perf_counter() - start
    if rc != 0 or not claims.exists():
        raise SystemExit(f"make seeds: notebook {stem} with seed {seed} FAILED; see {run_dir / (stem + '.log')}")
    return wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="rerun seeds 1..N (default 4)")
    parser.add_argument("--notebooks", default=",".join(SEED_NOTEBOOKS), help="comma-separated stems or prefixes")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "seeds")
    parser.add_argument("--published", type=Path, default=ROOT / "figures" / "claims")
    parser.add_argument("--summary", type=Path, default=ROOT / "figures" / "seeds")
    parser.add_argument("--summary-only", action="store_true", help="summarise the runs already in --out")
    parser.add_argument("--fresh", action="store_true", help="rerun every seed even where a current run is there")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds: expected N >= 1 (seeds 1..N are rerun), got {args.seeds}")
    wanted = [s.strip() for s in args.notebooks.split(",") if s.strip()]
    stems = [s for s in SEED_NOTEBOOKS if any(s.startswith(w) for w in wanted)]
    if not stems:
        parser.error(f"--notebooks: none of {wanted} names a notebook of {SEED_NOTEBOOKS}")
    seeds = list(range(1, args.seeds + 1))
    total = time.perf_counter()
    if args.fresh and not args.summary_only:
        for seed in seeds:
            for stem in stems:
                (args.out / f"seed{seed}" / "claims" / f"{stem}.json").unlink(missing_ok=True)
    if not args.summary_only:
        for seed in seeds:
            for stem in stems:
                wall = run_one(stem, seed, args.out)
                print(f"seed {seed} {stem}: " + ("done before" if wall is None else f"{wall:.0f} s"), flush=True)
    from invertlib.companion import seeds as seed_summary

    # the summary always covers every seed notebook (--notebooks only chooses what to run), so that a
    # partial run never drops the others' entries
    missing = [f"{s} seed {k}" for k in seeds for s in SEED_NOTEBOOKS if not is_current(s, args.out / f"seed{k}")]
    if missing:
        print(f"make seeds: runs missing or stale, summary not written: {', '.join(missing)}")
        return 1
    written = seed_summary.write_summary(args.published, args.out, [0, *seeds], list(SEED_NOTEBOOKS), args.summary)
    print(f"make seeds: {len(stems)} notebooks x seeds 0..{args.seeds} in {time.perf_counter() - total:.0f} s;")
    if not written:
        print("  the summary in figures/seeds/ is unchanged")
    for path in written:
        print(f"  wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
