"""`make evaluate-rate`: how fast `python -m invertlib.vision.evaluate` runs on this machine.

For each table (table2, table3, alexnet) it evaluates the 20 ImageNet photographs, twice over (40
images, symbolic links under build/evaluate_rate/), at 224 x 224 in batches of 8 and shards of 4:
once in one process (torch's default threads) and once in two processes under torchrun (one
thread each, torchrun's default). From each run's results file it takes every process's rate
after its first shard (the warm-up) and writes build/evaluate_rate.json and the README's
"evaluate-rate" block: images/s per process, in all, and what 50,000 images (the ILSVRC-2012
validation set) would take at that rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench import update_readme  # noqa: E402

from invertlib.companion.paths import atomic_write  # noqa: E402
from invertlib.vision.images import imagenet_photo_files  # noqa: E402

TABLES = ("table2", "table3", "alexnet")
FULL = 50_000  # the ILSVRC-2012 validation images


def photo_folder(folder: Path, copies: int) -> Path:
    for c in range(copies):
        sub = folder / f"copy{c}"
        sub.mkdir(parents=True, exist_ok=True)
        for p in imagenet_photo_files():
            link = sub / p.name
            if not link.exists():
                link.symlink_to(p)
    return folder


def measure(table: str, photos: Path, out: Path, processes: int, device: str) -> dict:
    head = [sys.executable]
    if processes > 1:
        head += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    cmd = [*head, "-m", "invertlib.vision.evaluate", table, "--image-dir", str(photos), "--out", str(out)]
    cmd += ["--batch", "8", "--shard-size", "4", "--device", device]
    shutil.rmtree(out.with_name(out.name + ".parts"), ignore_errors=True)  # never resume a leftover run
    env = dict(os.environ, TQDM_DISABLE="1")
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{table}, {processes} process(es): {run.stderr[-2000:]}")
    meta = json.loads(out.read_text())["meta"]
    rates = [r["steady_images_per_s"] or r["images_per_s"] for r in meta["ranks"]]  # one shard: no steady rate
    return {
        "table": table,
        "processes": processes,
        "threads": torch.get_num_threads() if processes == 1 else 1,
        "device": device,
        "images": meta["n_images"],
        "per_process": rates,
        "total": sum(rates),
        "full_hours": FULL / sum(rates) / 3600,
        "peak_rss_mb": meta["peak_rss_mb"],
    }


def readme_block(results: dict) -> str:
    m = results["meta"]
    lines = [
        f"Measured by `make evaluate-rate` on {m['date']} ({m['machine']}, torch {m['torch']}; "
        f"{m['images']} images at 224 x 224, batches of 8, rates after each process's first shard; "
        "`build/evaluate_rate.json` holds every number).",
        "",
        "| table | processes x threads | device | images/s per process | images/s in all | 50,000 images "
        "| peak memory per process |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        per = " / ".join(f"{v:.2f}" for v in r["per_process"])
        lines.append(
            f"| {r['table']} | {r['processes']} x {r['threads']} | {r['device']} | {per} | {r['total']:.2f} | "
            f"{r['full_hours']:.1f} h | {r['peak_rss_mb']:.0f} MiB |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tables", nargs="+", default=list(TABLES), choices=TABLES)
    p.add_argument("--processes", nargs="+", type=int, default=[1, 2])
    p.add_argument("--device", default="cpu")
    p.add_argument("--copies", type=int, default=2, help="times the 20 photographs are listed")
    p.add_argument("--readme", help="rewrite this README's evaluate-rate block (all tables, 1 and 2 processes)")
    args = p.parse_args(argv)
    work = ROOT / "build" / "evaluate_rate"
    photos = photo_folder(work / "photos", args.copies)
    rows = []
    for table in args.tables:
        for n in args.processes:
            rows.append(measure(table, photos, work / f"{table}.{n}.json", n, args.device))
            r = rows[-1]
            print(
                f"{table}, {n} process(es): {r['per_process']} images/s per process; 50,000 in {r['full_hours']:.1f} h"
            )
    results = {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "torch": torch.__version__,
            "images": 20 * args.copies,
        },
        "rows": rows,
    }
    out = ROOT / "build" / "evaluate_rate.json"
    atomic_write(out, lambda tmp: tmp.write_text(json.dumps(results, indent=1) + "\n"))
    if args.readme:
        update_readme(Path(args.readme), readme_block(results), marker="evaluate-rate")
        print(f"{args.readme}: evaluate-rate block rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
