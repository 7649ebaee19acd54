"""The claims cell, the README summary and CLAIMS.md, atomic figure saving, notebook cleaning."""

import importlib.util
import json
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from invertlib import Claims  # noqa: E402
from invertlib.companion.claims import fmt  # noqa: E402
from invertlib.companion.plotting import save_figure, save_table  # noqa: E402
from invertlib.companion.readme import (  # noqa: E402
    README_END,
    README_START,
    VERDICTS,
    shown_ours,
    shown_verdict,
    stability_counts,
    update_readme,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def out(tmp_path, monkeypatch):
    monkeypatch.setenv("INVERTLIB_FIGURES_DIR", str(tmp_path))
    return tmp_path


def test_claims_file_schema_and_table(out, capsys):
    c = Claims("01_demo", seed=3)
    c.invariant("fig1.adjoint", "<Wx,y> = <x,W^T y>", ours=3.1e-16, holds=True, tol=1e-10)
    c.paper("fig2a.center", "ratio centres at 1", paper=1.0, ours=0.99812345, verdict="matched")
    c.paper(
        "fig2c.median", "error 0.1-0.2", paper=[0.1, 0.2], ours=0.31, verdict="not matched", note="k is not pinned down"
    )
    c.finish()
    record = json.loads((out / "claims" / "01_demo.json").read_text())
    assert set(record) == {"notebook", "seed", "runtime_s", "peak_rss_mb", "device", "claims"}
    assert 0 < record["peak_rss_mb"] < 1e6 and record["device"] == "cpu"
    assert record["seed"] == 3 and record["runtime_s"] >= 0
    assert [set(x) for x in record["claims"]] == [{"id", "kind", "claim", "paper", "ours", "verdict", "note"}] * 3
    assert record["claims"][0]["verdict"] == "holds"
    assert record["claims"][0]["paper"] == "<= 1e-10"
    printed = capsys.readouterr().out
    assert "<= 1e-10" in printed and "3.1e-16" not in printed  # no machine-precision noise
    assert "0.998" in printed and "0.99812345" not in printed


def test_failing_invariant_is_written_then_raises(out):
    c = Claims("02_demo", seed=0)
    c.invariant("prop1.exact", "exact", ours=0.5, holds=False, tol=1e-12)
    with pytest.raises(AssertionError, match="prop1.exact"):
        c.finish()
    assert json.loads((out / "claims" / "02_demo.json").read_text())["claims"][0]["verdict"] == "fails"


def test_claims_validation(out):
    c = Claims("03_demo", seed=0)
    with pytest.raises(ValueError, match="verdict"):
        c.paper("a", "x", paper=1, ours=1, verdict="ok")
    with pytest.raises(ValueError, match="needs a note"):
        c.paper("a", "x", paper=1, ours=2, verdict="partly")
    c.paper("a", "x", paper=1, ours=1, verdict="matched")
    with pytest.raises(ValueError, match="recorded twice"):
        c.paper("a", "x", paper=1, ours=1, verdict="matched")
    with pytest.raises(ValueError, match="notebook"):
        Claims("demo.ipynb", seed=0)
    with pytest.raises(ValueError, match="no claims"):
        Claims("04_empty", seed=0).finish()


def test_fmt_rounds():
    assert fmt(1.0 / 3) == "0.333"
    assert fmt([0.1234, 2]) == "[0.123, 2]"
    assert fmt(True) == "yes"


def test_readme_summary_between_markers_and_claims_file(out, tmp_path):
    c = Claims("01_demo", seed=0)
    c.paper("x.y", "a | b", paper=0.5, ours=0.25, verdict="partly", note="n")
    c.invariant("x.z", "exact", ours=0.0, holds=True, tol=1e-12)
    c.finish()
    c = Claims("02_other", seed=0)
    c.finding("f.a", "measured", ours=1.5)
    c.finish()
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\nbefore\n{README_START}\nSTALE\n{README_END}\nafter\n")
    assert update_readme(readme, out / "claims") == (readme, tmp_path / "CLAIMS.md")
    text = readme.read_text()
    assert "STALE" not in text and text.startswith("# T\n\nbefore\n") and text.endswith("after\n")
    block = text.split(README_START)[1].split(README_END)[0]
    # one row per notebook (no notebook file here: the title comes from its name) and the totals
    assert "| 01 | demo | 0 | 1 | 0 | 1 | 0 | 0 |" in block and "| 02 | other | 0 | 0 | 0 | 0 | 0 | 1 |" in block
    assert "| **all** | 3 claims | 0 | 1 | 0 | 1 | 0 | 1 |" in block
    assert "[CLAIMS.md](CLAIMS.md)" in block and "`x.y`" not in block  # claims only in the full table
    full = (tmp_path / "CLAIMS.md").read_text()
    assert full.startswith("# ") and "do not edit" in full.lower() and "make figures" in full
    assert "| 01 | `x.y` | a \\| b | 0.5 | 0.25 | **partly** | n |" in full
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    before = readme.read_text()
    with pytest.raises(ValueError, match="markers"):
        (tmp_path / "bad.md").write_text("no markers")
        update_readme(tmp_path / "bad.md", out / "claims", claims_file=tmp_path / "OTHER.md")
    assert readme.read_text() == before and not (tmp_path / "OTHER.md").exists()


def _committed_records():
    return [json.loads(f.read_text()) for f in sorted((ROOT / "figures" / "claims").glob("*.json"))]


def _rows(table: str) -> list[list[str]]:
    """The body rows of a markdown table, split on unescaped |."""
    import re

    lines = [x for x in table.splitlines() if x.startswith("| ")][1:]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", x)[1:-1]] for x in lines]


def test_committed_readme_summary_counts_the_claims_files():
    """The README's generated block agrees with figures/claims: one row per notebook whose
    counts are its claims file's verdicts, then the totals (`make figures` rewrites it)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(README_START)[1].split(README_END)[0]
    rows = _rows(block)
    records = _committed_records()
    assert len(rows) == len(records) + 1
    for row, record in zip(rows, records, strict=False):
        assert row[0].startswith(f"[{record['notebook'][:2]}](notebooks/{record['notebook']}.ipynb)")
        counts = [sum(c["verdict"] == v for c in record["claims"]) for v in VERDICTS]
        stability = stability_counts(record["claims"])
        assert [int(x) for x in row[2:-1]] == counts + [stability[k] for k in ("with_interval", "stable", "unstable")]
        assert float(row[-1]) == pytest.approx(record["runtime_s"], abs=0.05)
    total = [sum(c["verdict"] == v for r in records for c in r["claims"]) for v in VERDICTS]
    total += [sum(stability_counts(r["claims"])[k] for r in records) for k in ("with_interval", "stable", "unstable")]
    assert [int(x) for x in rows[-1][2:-1]] == total


def test_committed_claims_file_has_one_row_per_claim():
    full = (ROOT / "CLAIMS.md").read_text(encoding="utf-8")
    table = full.split("## Every claim", 1)[1]
    rows = _rows(table)
    claims = [(r["notebook"][:2], c) for r in _committed_records() for c in r["claims"]]
    assert len(rows) == len(claims)
    for row, (number, c) in zip(rows, claims, strict=True):
        assert (row[0], row[1], row[5]) == (number, f"`{c['id']}`", f"**{shown_verdict(c)}**")
        assert row[4] == shown_ours(c).replace("|", "\\|")


def test_save_figure_and_table_are_complete_and_named(out):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    paths = save_figure(fig, "fig0_demo")
    plt.close(fig)
    assert [p.name for p in paths] == ["fig0_demo.png", "fig0_demo.pdf"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[1].read_bytes()[:4] == b"%PDF"
    assert save_table(pd.DataFrame({"a": [1.0, 2.0]}), "table0_demo") is None  # no path in notebook outputs
    assert (out / "table0_demo.csv").read_text().splitlines() == ["a", "1", "2"]
    assert not list(out.glob(".*"))  # no temporary files left behind
    with pytest.raises(ValueError, match="name"):
        save_figure(fig, "fig0.png")


def test_clean_notebook_drops_run_metadata(tmp_path):
    spec = importlib.util.spec_from_file_location("clean_notebook", ROOT / "tools" / "clean_notebook.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1")
    cell.metadata.update(
        {"papermill": {"duration": 1.0}, "execution": {"iopub.status.idle": "t"}, "tags": ["parameters"]}
    )
    nb.cells.append(cell)
    nb.metadata["papermill"] = {"duration": 3.0, "parameters": {"seed": 1}, "start_time": "t"}
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output(
            "stream", name="stderr", text="\rsweep:  5%|#   | 1/21 [00:18<06:00]\rsweep: 100%|####| 21/21\n"
        ),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: keep me\n"),
    ]
    mod.clean(nb)
    assert cell.metadata == {"tags": ["parameters"]}
    assert [(o.name, o.text) for o in cell.outputs] == [("stdout", "a\nb\n"), ("stderr", "UserWarning: keep me\n")]
    assert nb.metadata["papermill"] == {"parameters": {"seed": 1}}


def test_findings_are_recorded_without_a_paper_value(out):
    c = Claims("10_alexnet_supplement", seed=0)
    c.finding("alexnet.sparsity.conv5", "% nonzeros of conv5", ours=12.345, note="no paper number")
    c.finish()
    record = json.loads((out / "claims" / "10_alexnet_supplement.json").read_text())
    assert record["claims"][0] == {
        "id": "alexnet.sparsity.conv5",
        "kind": "finding",
        "claim": "% nonzeros of conv5",
        "paper": "",
        "ours": 12.345,
        "verdict": "recorded",
        "note": "no paper number",
    }


def test_compare_applies_the_tolerance_ladder(out):
    from invertlib.companion.claims import verdict_for

    assert [verdict_for(d, 0.05) for d in (0.0, 0.05, 0.1, 0.15, 0.2, float("nan"))] == [
        "matched",
        "matched",
        "partly",
        "partly",
        "not matched",
        "not matched",
    ]
    with pytest.raises(ValueError, match="tol"):
        verdict_for(0.1, 0)
    c = Claims("03_demo", seed=0)
    assert c.compare("t3.a", "close", paper=0.40, ours=0.42, tol=0.05).verdict == "matched"
    far = c.compare("t3.b", "far", paper=0.40, ours=0.60, tol=0.05)
    assert far.verdict == "not matched" and "0.2" in far.note
    assert c.compare("t3.c", "why", paper=0.4, ours=0.5, tol=0.05, note="other decoder").note == "other decoder"
    assert c.compare("t3.d", "kept", paper=0.4, ours=0.41, tol=0.05, note="unused").note == ""


def test_image_grid_layout():
    from invertlib.companion.plotting import image_grid

    ims = [[np.zeros((8, 8, 3)), np.ones((8, 8, 3))]] * 3
    fig = image_grid(ims, row_labels=["a", "b", "c"], col_titles=["x", "y"], cell_labels=[["1", ""]] * 3, title="t")
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "x" and fig.axes[0].get_xlabel() == "1"
    plt.close(fig)
    with pytest.raises(ValueError, match="rows"):
        image_grid([[np.zeros((2, 2, 3))], []])


def test_ladder_pairs_and_judge(out):
    from invertlib.companion.claims import verdict_for

    assert [verdict_for(d, (0.01, 0.05)) for d in (0.01, 0.03, 0.06)] == ["matched", "partly", "not matched"]
    assert [verdict_for(d, (0.05, 0.05)) for d in (0.05, 0.06)] == ["matched", "not matched"]  # no partly rung
    for bad in ((0.1, 0.05), (0.0, 1.0), (0.1,), True, "0.1"):
        with pytest.raises(ValueError, match="tol"):
            verdict_for(0.1, bad)
    c = Claims("06_demo", seed=0)
    assert c.compare("p.a", "profile", paper=1.0, ours=0.7, tol=(0.1, 0.5)).verdict == "partly"
    ok = c.judge("p.b", "ordering", paper="a < b", ours="1 < 2", matched=True, note="unused")
    assert (ok.verdict, ok.note) == ("matched", "")
    hedged = c.compare("p.f", "centre", paper=1.0, ours=1.0, tol=0.05, note="unused", caveat="depends on lambda")
    assert (hedged.verdict, hedged.note) == ("matched", "depends on lambda")
    assert (
        c.judge("p.c", "bound", paper="< 0.05", ours=0.07, matched=False, partly=True, note="wider").verdict == "partly"
    )
    assert (
        c.judge("p.d", "every layer", paper="all", ours="3 of 5", matched=False, note="two layers").verdict
        == "not matched"
    )
    with pytest.raises(ValueError, match="needs a note"):
        c.judge("p.e", "no reason", paper=1, ours=2, matched=False)


def test_draw_conv_matrix_marks_the_blocks():
    from invertlib import ConvOperator, gaussian_filters, torch_generator
    from invertlib.companion.plotting import draw_conv_matrix

    op = ConvOperator(gaussian_filters(4, 3, 3, generator=torch_generator(0)), 6)
    fig, ax = plt.subplots()
    draw_conv_matrix(ax, op, op.matrix(), "W")
    assert len(ax.images) == 1 and ax.images[0].get_array().shape == op.shape
    assert len(ax.lines) == (op.K - 1) + (op.M - 1)  # filter and channel block boundaries
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"filter {i}" for i in range(1, 5)]
    plt.close(fig)


def test_written_files_get_the_mode_of_a_plain_write(out):
    import os

    umask = os.umask(0o022)
    try:
        c = Claims("01_mode", seed=0)
        c.finding("x.y", "a", ours=1.0)
        c.finish()
    finally:
        os.umask(umask)
    assert (out / "claims" / "01_mode.json").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_figure_functions_of_notebooks_02_07_08_draw_their_panels():
    import torch

    from invertlib.companion import plotting
    from invertlib.sparse_coding import Algorithm2Result, LassoResult

    z = torch.zeros(4, 8)
    z[1, 3], z[3, 5] = 2.0, 1.0  # filter 2 is the busiest; its pair is channel 4
    fig = plotting.iht_first_step_figure(z, z, z, pool=4, title="t")
    assert [ax.get_title() for ax in fig.axes][:2] == ["filter 2: w", "its pair: -w"]
    plt.close(fig)
    with pytest.raises(ValueError, match="b, z_cnn, z_iht: expected three"):
        plotting.iht_first_step_figure(z, z[:3], z, pool=4, title="t")
    table = pd.DataFrame(
        dict(layer=["conv1_1", "conv1_2"], learned=[0.9, 0.8], paper_learned=[0.9, 0.7], random_mean=[0.6, 0.1])
    ).assign(random_std=0.01, paper_random=0.5)
    pairs = {"conv1_1": (torch.rand(50), torch.rand(50))}
    fig = plotting.coherence_figure(table, pairs, layers=["conv1_1"], n_random_draws=3)
    assert len(fig.axes) == 2 and len(fig.axes[0].get_legend().get_texts()) == 4  # no HED column, no HED line
    plt.close(fig)
    ratios = {"learned": torch.rand(20) + 0.5, "gaussian": torch.rand(20) + 0.5}
    fig = plotting.model_rip_figure(ratios, {"before": ratios, "after": ratios}, k=5, center_tol=0.05)
    assert fig.axes[0].get_title() == "(a) synthetic z in M_k (20 samples, k = 5)"
    plt.close(fig)
    lasso = LassoResult(z=z, objective=torch.rand(3, 10) + 1, residual=torch.rand(3))
    fig = plotting.algorithm2_convergence_figure({("learned", "after"): Algorithm2Result(lasso, z, lasso)})
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1]
    plt.close(fig)
