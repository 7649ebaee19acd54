"""Verdicts with their uncertainty: resampled intervals and stability in the claims, the seeds
summary of `make seeds`, and where an unpublished run writes."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from invertlib import Claims, numpy_generator  # noqa: E402
from invertlib.companion import paths, seeds  # noqa: E402
from invertlib.companion.claims import Claim  # noqa: E402
from invertlib.stats import bootstrap_indices, bootstrap_interval, percentile_interval  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def out(tmp_path, monkeypatch):
    monkeypatch.setenv("INVERTLIB_FIGURES_DIR", str(tmp_path))
    return tmp_path


def _spread(resamples, estimate=0.0):
    return percentile_interval(estimate, np.asarray(resamples, float), n_units=20, units="photographs")


def test_bootstrap_indices_draw_with_replacement_and_repeat_with_the_generator():
    a = bootstrap_indices(5, generator=numpy_generator(0), n_resamples=4000)
    b = bootstrap_indices(5, generator=numpy_generator(0), n_resamples=4000)
    assert a.shape == (4000, 5) and a.min() == 0 and a.max() == 4 and np.array_equal(a, b)
    # each unit is drawn with probability 1/5 per slot
    assert np.allclose(np.bincount(a.ravel()) / a.size, 0.2, atol=0.01)
    # a resample of 5 units repeats one with probability 1 - 5!/5^5 = 0.9616
    repeats = np.mean([len(set(r)) < 5 for r in a])
    assert abs(repeats - (1 - 120 / 3125)) < 0.01
    with pytest.raises(ValueError, match="n_units"):
        bootstrap_indices(1, generator=numpy_generator(0))
    with pytest.raises(TypeError, match="generator"):
        bootstrap_indices(5, generator=0)


def test_percentile_interval_reads_the_quantiles():
    res = percentile_interval(0.5, np.arange(1001) / 1000, n_units=20, units="photographs")
    assert res.interval == pytest.approx((0.025, 0.975))
    assert res.estimate == 0.5 and res.n_resamples == 1001
    assert res.method == "percentile bootstrap over the 20 photographs, 1001 resamples"
    with pytest.raises(ValueError, match="resamples"):
        percentile_interval(0.0, [1.0, math.nan], n_units=3)


def test_bootstrap_interval_names_its_method():
    res = bootstrap_interval(np.arange(10.0), generator=numpy_generator(0), n_resamples=100, units="photographs")
    assert res.method == "percentile bootstrap over the 10 photographs, 100 resamples"
    few = percentile_interval(0.0, [0.0, 1.0], n_units=6, units="photographs", of="the mean ratio")
    assert few.method == (
        "percentile bootstrap of the mean ratio over the 6 photographs, 2 resamples "
        "(only 6 photographs: the interval is too narrow)"
    )


def test_compare_records_interval_stability_and_tolerance(out):
    c = Claims("01_demo", seed=0)
    # paper 1.0, tol 0.05: 0.97 matched; of the resamples 0.9 (partly: 0.1 <= 0.15) is one in four
    spread = _spread([0.97, 0.99, 1.02, 0.9] * 50, estimate=0.97)
    entry = c.compare("fig.x", "a ratio", paper=1.0, ours=0.97, tol=0.05, spread=spread)
    assert entry.verdict == "matched"
    assert entry.extra["stability"] == pytest.approx(0.75)
    assert entry.extra["tol"] == [0.05, pytest.approx(0.15)]
    c.finding("fig.y", "a spread", ours=0.3, spread=_spread(np.linspace(0.2, 0.4, 41)))
    c.compare("fig.z", "exact", paper=1.0, ours=1.0, tol=0.05)
    c.finish()
    record = json.loads((out / "claims" / "01_demo.json").read_text())
    x, y, z = record["claims"]
    assert x["interval"] == pytest.approx([spread.low, spread.high]) and x["stability"] == 0.75
    assert x["interval_method"].startswith("percentile bootstrap over the 20 photographs")
    assert "stability" not in y and y["interval"] == pytest.approx([0.205, 0.395])
    assert "interval" not in z and z["tol"] == [0.05, pytest.approx(0.15)]


def test_the_table_marks_unstable_verdicts(out, capsys):
    c = Claims("01_demo", seed=0)
    c.compare("a", "stable", paper=1.0, ours=1.0, tol=0.05, spread=_spread([1.0] * 95 + [2.0] * 5, 1.0))
    c.compare("b", "unstable", paper=1.0, ours=1.0, tol=0.05, spread=_spread([1.0] * 80 + [2.0] * 20, 1.0))
    c.finish()
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines() if ln[:2] in ("a ", "b ")}
    assert lines["a"].rstrip().endswith("matched") and lines["b"].rstrip().endswith("matched ~")
    assert "[1, 2]" in lines["b"]


def test_judge_reads_the_resampled_conditions(out):
    c = Claims("01_demo", seed=0)
    m = np.array([True] * 150 + [False] * 50)
    p = np.array([False] * 150 + [True] * 40 + [False] * 10)
    entry = c.judge(
        "j", "ordering", paper="a < b", ours="yes", matched=True, spread=_spread(np.ones(200)), matched_resamples=m,
        partly_resamples=p,
    )  # fmt: skip
    assert entry.extra["stability"] == 0.75
    with pytest.raises(ValueError, match="partly_resamples"):  # a "partly" verdict needs its resampled condition
        c.judge(
            "p", "x", paper="<", ours=1, matched=False, partly=True, spread=_spread(np.ones(200)), matched_resamples=m
        )
    both = c.judge(
        "q", "x", paper="<", ours=1, matched=False, partly=True, note="why", spread=_spread(np.ones(200)),
        matched_resamples=m,
        partly_resamples=np.ones(200, bool),
    )  # fmt: skip
    assert both.verdict == "partly" and both.extra["stability"] == 0.25
    inf = c.compare("r", "x", paper=1.0, ours=1.0, tol=(0.01, float("inf")))
    assert inf.extra["tol"] == [0.01, None]
    with pytest.raises(ValueError, match="verdict_resamples"):
        c.paper("k", "x", paper=1, ours=1, verdict="matched", spread=_spread(np.ones(5)), verdict_resamples=["matched"])
    with pytest.raises(TypeError, match="spread"):
        c.finding("f", "x", ours=1.0, spread=(0.1, 0.2))


def _runs(tmp_path):
    """Seed 0 published, seeds 1-2 in runs/: one stable claim, one whose verdict moves, one constant."""
    published, runs = tmp_path / "published", tmp_path / "runs"
    values = {0: (1.00, 0.10, 5), 1: (1.02, 0.30, 5), 2: (0.99, 0.11, 5)}
    for seed, (a, b, n) in values.items():
        d = published if seed == 0 else runs / f"seed{seed}" / "claims"
        d.mkdir(parents=True, exist_ok=True)
        claims = [
            dict(id="a", kind="paper", ours=a, verdict="matched"),
            dict(id="b", kind="paper", ours=b, verdict="matched" if b < 0.2 else "partly"),
            dict(id="n", kind="finding", ours=n, verdict="recorded"),
        ]
        (d / "02_demo.json").write_text(json.dumps(dict(notebook="02_demo", seed=seed, claims=claims)))
    return published, runs


def test_seeds_summary_counts_verdicts_and_ranges(tmp_path):
    published, runs = _runs(tmp_path)
    table = seeds.summarise(seeds.load_runs(published, runs, [0, 1, 2], ["02_demo"])).set_index("id")
    assert table.loc["a", "min"] == 0.99 and table.loc["a", "max"] == 1.02 and table.loc["a", "stability"] == 1.0
    assert table.loc["a", "sd"] == pytest.approx(np.std([1.0, 1.02, 0.99], ddof=1))
    assert table.loc["b", "matched"] == 2 and table.loc["b", "partly"] == 1
    assert table.loc["b", "stability"] == pytest.approx(2 / 3)
    assert not table.loc["n", "varies"] and table.loc["a", "varies"]
    written = seeds.write_summary(published, runs, [0, 1, 2], ["02_demo"], tmp_path / "summary")
    assert [p.name for p in written] == ["summary.csv", "summary.json", "stability.png"]
    csv = pd.read_csv(written[0])
    assert list(csv["seed1"]) == [1.02, 0.3, 5]
    with pytest.raises(FileNotFoundError, match="seed 3"):
        seeds.load_runs(published, runs, [0, 3], ["02_demo"])


def test_attach_seeds_fills_interval_and_lowest_stability(tmp_path):
    published, runs = _runs(tmp_path)
    path = seeds.write_summary(published, runs, [0, 1, 2], ["02_demo"], tmp_path / "summary")[1]
    a = Claim("a", "paper", "x", 1.0, 1.0, "matched", "")
    b = Claim("b", "paper", "x", 0.1, 0.1, "matched", "")
    b.extra.update(interval=[0.05, 0.15], interval_method="percentile bootstrap", stability=0.95)
    n = Claim("n", "finding", "x", "", 5, "recorded", "")
    assert seeds.attach_seeds("02_demo", [a, b, n], seed=0, summary=path) == (2, [])
    assert a.extra["interval"] == [0.99, 1.02] and a.extra["interval_method"] == "range over seeds 0-2 (make seeds)"
    assert a.extra["stability"] == 1.0 and a.extra["seeds"]["verdicts"] == {"matched": 3}
    assert b.extra["interval"] == [0.05, 0.15]  # its own interval stays; the seeds' is in "seeds"
    assert b.extra["seeds"]["interval"] == [0.1, 0.3] and b.extra["stability"] == pytest.approx(2 / 3)
    assert n.extra == {}  # the same number at every seed: no interval
    assert seeds.attach_seeds("03_other", [a], seed=0, summary=path) == (0, [])


def test_attach_seeds_describes_only_the_runs_it_summarised(tmp_path):
    published, runs = _runs(tmp_path)
    path = seeds.write_summary(published, runs, [0, 1, 2], ["02_demo"], tmp_path / "summary")[1]

    def fresh(ours, verdict="matched"):
        return Claim("a", "paper", "x", 1.0, ours, verdict, "")

    at_seed_1 = fresh(1.02)
    assert seeds.attach_seeds("02_demo", [at_seed_1], seed=1, summary=path) == (1, [])
    assert at_seed_1.extra["seeds"]["interval"] == [0.99, 1.02]
    other_parameters, other_seed = fresh(1.05), fresh(1.0)
    assert seeds.attach_seeds("02_demo", [other_parameters], seed=0, summary=path) == (0, ["a"])
    assert seeds.attach_seeds("02_demo", [other_seed], seed=7, summary=path) == (0, ["a"])
    assert other_parameters.extra == {} and other_seed.extra == {}


def test_unpublished_runs_go_to_build_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("INVERTLIB_FIGURES_DIR", raising=False)
    monkeypatch.delenv("INVERTLIB_PUBLISH", raising=False)
    monkeypatch.setattr(paths, "_root", lambda: tmp_path)
    monkeypatch.setitem(paths._run, "name", "scratch")
    paths.start_run("04_demo")
    assert paths.figures_dir() == tmp_path / "build" / "runs" / "04_demo"
    assert "not published" in paths.describe(paths.figures_dir())
    monkeypatch.setenv("INVERTLIB_PUBLISH", "1")
    assert paths.figures_dir() == tmp_path / "figures"
    monkeypatch.setenv("INVERTLIB_PUBLISH", "yes")
    with pytest.raises(ValueError, match="INVERTLIB_PUBLISH"):
        paths.figures_dir()


def test_committed_seeds_summary_matches_the_published_claims():
    """figures/seeds/summary.json's seed 0 is the published run: a notebook rerun by `make figures`
    without `make seeds` after it would leave the seeds' stability describing another run."""
    if not seeds.SUMMARY.exists():
        pytest.skip("no seeds summary yet (make seeds)")
    record = json.loads(seeds.SUMMARY.read_text())
    assert record["seeds"][0] == 0 and len(record["seeds"]) >= 2
    for stem, entries in record["notebooks"].items():
        published = json.loads((ROOT / "figures" / "claims" / f"{stem}.json").read_text())
        claims = {c["id"]: c for c in published["claims"]}
        assert set(entries) == set(claims), f"{stem}: the seeds summary and the published claims list different claims"
        for cid, e in entries.items():
            ours = claims[cid]["ours"]
            if e["values"][0] is not None:  # an infinite number is written "inf" in both (standard JSON)
                value, ours = seeds._number(e["values"][0]), seeds._number(ours)
                assert value == ours or math.isclose(value, ours, rel_tol=1e-6, abs_tol=1e-9), (stem, cid)
            assert e["verdict"] == claims[cid]["verdict"], (stem, cid)


@pytest.mark.slow
def test_a_rerun_with_other_parameters_leaves_figures_unchanged(tmp_path):
    """Notebook 01 through papermill with seed 5 in a copy of the checkout: figures/ byte for
    byte as before, the run's results under build/runs/01_cnn_layer_as_matrix/."""
    copy = tmp_path / "checkout"
    listing = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(listing, cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in tracked:
        src, dst = ROOT / rel, copy / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
    before = {p.relative_to(copy): p.read_bytes() for p in (copy / "figures").rglob("*") if p.is_file()}
    env = {k: v for k, v in os.environ.items() if k not in ("INVERTLIB_FIGURES_DIR", "INVERTLIB_PUBLISH")}
    env["PYTHONPATH"] = str(copy)  # the kernel imports the copy's invertlib, whose root is the copy
    papermill = Path(sys.executable).parent / "papermill"
    stem = "01_cnn_layer_as_matrix"
    run = subprocess.run(
        [str(papermill), "--no-progress-bar", "-k", "invertlib", "--cwd", "notebooks", f"notebooks/{stem}.ipynb",
         str(tmp_path / "out.ipynb"), "-p", "seed", "5"],
        cwd=copy, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    after = {p.relative_to(copy): p.read_bytes() for p in (copy / "figures").rglob("*") if p.is_file()}
    assert after == before
    fresh = json.loads((copy / "build" / "runs" / stem / "claims" / f"{stem}.json").read_text())
    assert fresh["seed"] == 5
    assert "build/runs/01_cnn_layer_as_matrix (not published" in (tmp_path / "out.ipynb").read_text()


def test_correlation_rows_matches_numpy():
    from invertlib.stats import correlation_rows

    rng = np.random.default_rng(0)
    rows, target = rng.normal(size=(6, 18)), rng.normal(size=18)
    expected = [np.corrcoef(r, target)[0, 1] for r in rows]
    assert np.allclose(correlation_rows(rows, target), expected)
    assert np.isnan(correlation_rows(np.ones((1, 18)), target)[0])
    with pytest.raises(ValueError, match="rows"):
        correlation_rows(rows, target[:5])


def test_rank_correlation_rows_matches_scipy():
    import scipy.stats

    from invertlib.stats import rank_correlation_rows

    rng = np.random.default_rng(0)
    rows, target = rng.normal(size=(6, 4)), np.array([0.64, 0.58, 0.46, 0.41])
    rows[0] = [0.423, 0.692, 0.326, 0.379]  # the paper's Table 3 learned image errors: rho 0.6
    expected = [scipy.stats.spearmanr(r, target).statistic for r in rows]
    assert np.allclose(rank_correlation_rows(rows, target), expected)
    assert rank_correlation_rows(rows[:1], target)[0] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="rows: expected"):
        rank_correlation_rows(rows[:, :3], target)
