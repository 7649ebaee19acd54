"""tools/bench.py in its quick mode: it runs, writes its JSON, and its correctness checks hold
(the sparse route equals the dense one; IHT iterates equal PyLops' in float64)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_quick_run_writes_results_and_checks_equalities(tmp_path):
    pytest.importorskip("pylops")
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "bench.py"),
            "--only",
            "mc_rip,pylops,notebooks",
            "--quick",
            "--repeats",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(out.read_text())
    assert set(r) == {"meta", "mc_rip", "pylops", "notebooks", "targets"}
    for dt in ("float32", "float64"):
        assert r["mc_rip"][dt]["samples_per_s"] > 0
    assert r["mc_rip"]["float64"]["max_rel_diff_vs_dense"] <= 1e-12
    for case in ("top-k float64", "model float64"):
        assert r["pylops"]["cases"][case]["max_rel_diff_iterates"] <= 1e-10
    assert "== targets" in proc.stdout
    names = [t["target"] for t in r["targets"]]
    assert any("PyLops" in n for n in names) and any("Monte-Carlo" in n for n in names)


@pytest.mark.slow
def test_bench_refuses_unknown_sections_and_partial_readme(tmp_path):
    for args in (["--only", "nothing"], ["--only", "notebooks", "--readme", str(tmp_path / "R.md")]):
        proc = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "bench.py"), *args, "--out", str(tmp_path / "b.json")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 2 and ("--only" in proc.stderr or "--readme" in proc.stderr)
