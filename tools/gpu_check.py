"""`make gpu-check`: the CUDA path against the CPU, on a machine with a GPU.

1. the device tests (tests/test_device.py; its CUDA tests run only where CUDA is available);
2. notebooks 02, 03, 04, 09 and 11 executed with `-p device cuda` into build/gpu-check/ (figures/ is never
   touched), every claim compared with the committed CPU claims (figures/claims/): verdicts, and
   numbers within the CPU/GPU tolerance below (different summation orders, TF32 off);
3. what-where decoder training and inference throughput on the GPU against the CPU, measured
   in the same run (tools/bench.py's decoder section).

Writes build/gpu-check.json and prints a summary. Exit status 0 when the device tests pass and no
verdict differs; 1 otherwise; 2 when there is no CUDA device (nothing is run).

Usage: .venv/bin/python tools/gpu_check.py [--device cuda] [--notebooks 02,03,04,09,11] [--no-training]
(`--device cpu` runs the same comparison on the CPU: a check of this script, not of CUDA.)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from notebook_run import papermill_command

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "gpu-check"
# CPU vs GPU: same draws (generators live on the CPU), different kernels and summation orders.
TOLERANCE = {"rel": 1e-4, "abs": 1e-7}


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def device_tests() -> dict:
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(ROOT / "tests" / "test_device.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    lines = [ln for ln in run.stdout.splitlines() if ln.strip()]
    return {
        "passed": run.returncode == 0,
        "summary": lines[-1] if lines else "",
        "seconds": time.perf_counter() - start,
    }


def notebook(stem: str, device: str) -> dict:
    """Run one notebook on `device` and compare its claims with the committed CPU ones."""
    regression = _load("claims_regression", ROOT / "tests" / "test_claims_regression.py")
    figures = OUT / "figures"
    env = dict(os.environ, INVERTLIB_FIGURES_DIR=str(figures))
    cmd = papermill_command(stem, OUT / f"{stem}.ipynb", device=device)
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        return {"ran": False, "wall_s": wall, "error": run.stderr[-2000:]}
    cpu = json.loads((ROOT / "figures" / "claims" / f"{stem}.json").read_text(encoding="utf-8"))
    new = json.loads((figures / "claims" / f"{stem}.json").read_text(encoding="utf-8"))
    committed = {c["id"]: c for c in cpu["claims"]}
    verdicts, numbers = [], []
    for c in new["claims"]:
        old = committed.get(c["id"])
        if old is None or old["verdict"] != c["verdict"]:
            verdicts.append(f"{c['id']}: {old and old['verdict']} -> {c['verdict']}")
        elif diff := regression.differences(old["ours"], c["ours"], TOLERANCE, c["id"]):
            numbers += diff
    return {
        "ran": True,
        "wall_s": wall,
        "runtime_s": {"cpu_committed": cpu["runtime_s"], device: new["runtime_s"]},
        "claims": len(new["claims"]),
        "verdicts_differ": verdicts,
        "numbers_beyond_tolerance": numbers,
    }


def training(device: str) -> dict:
    bench = _load("bench", ROOT / "tools" / "bench.py")
    out = {}
    for dev in ("cpu", device):
        out[dev] = bench.bench_decoders(3, False, device=dev)
    out["speedup_training"] = {
        layer: out[device][layer]["training_images_per_s"] / out["cpu"][layer]["training_images_per_s"]
        for layer in ("pool1", "pool2", "pool3", "pool4")
    }
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda", help="the device to check against the CPU (default cuda)")
    p.add_argument(
        "--notebooks", default="02,03,04,09,11", help="comma-separated notebook numbers (default 02,03,04,09,11)"
    )
    p.add_argument("--no-training", action="store_true", help="skip the decoder throughput comparison")
    args = p.parse_args(argv)
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        print("gpu-check: no CUDA device here (torch.cuda.is_available() is False); nothing was run", file=sys.stderr)
        return 2
    stems = {f.stem[:2]: f.stem for f in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    wanted = [n.strip() for n in args.notebooks.split(",") if n.strip()]
    if unknown := [n for n in wanted if n not in stems]:
        p.error(f"--notebooks: no notebook numbered {unknown}; have {sorted(stems)}")
    OUT.mkdir(parents=True, exist_ok=True)
    result = {
        "device": args.device,
        "name": torch.cuda.get_device_name(args.device) if torch.device(args.device).type == "cuda" else "cpu",
        "torch": torch.__version__,
        "device_tests": device_tests(),
        "notebooks": {stems[n]: notebook(stems[n], args.device) for n in wanted},
    }
    if not args.no_training:
        result["decoder_throughput"] = training(args.device)
    (OUT.parent / "gpu-check.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"device {result['name']} (torch {result['torch']})")
    tests = result["device_tests"]
    print(f"device tests: {'passed' if tests['passed'] else 'FAILED'} ({tests['summary']})")
    for stem, r in result["notebooks"].items():
        if not r["ran"]:
            print(f"{stem}: FAILED to run\n{r['error']}")
            continue
        print(
            f"{stem}: {r['claims']} claims; verdicts that differ from the CPU: {len(r['verdicts_differ'])}; "
            f"numbers beyond rel {TOLERANCE['rel']:g}: {len(r['numbers_beyond_tolerance'])}; runtime "
            f"{r['runtime_s'][args.device]:.0f} s ({args.device}) vs {r['runtime_s']['cpu_committed']:.0f} s "
            "(committed CPU run)"
        )
        for line in r["verdicts_differ"] + r["numbers_beyond_tolerance"][:10]:
            print(f"   {line}")
    if "decoder_throughput" in result:
        t = result["decoder_throughput"]
        for layer, s in t["speedup_training"].items():
            print(
                f"decoder training {layer}: {t[args.device][layer]['training_images_per_s']:.1f} images/s on "
                f"{args.device}, {t['cpu'][layer]['training_images_per_s']:.1f} on the CPU ({s:.1f}x)"
            )
    print(f"written {OUT.parent / 'gpu-check.json'}")
    ok = result["device_tests"]["passed"] and all(
        r["ran"] and not r["verdicts_differ"] for r in result["notebooks"].values()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
