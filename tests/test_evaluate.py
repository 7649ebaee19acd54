"""The streaming, sharded evaluation (invertlib.vision.evaluate): image source, equality under
torchrun, resuming, memory, the results file and its summary."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from invertlib import torch_generator
from invertlib.rng import spawn_seed
from invertlib.stats import bootstrap_means
from invertlib.vision import evaluate as ev
from invertlib.vision.images import image_source, load_images, read_image_file
from invertlib.vision.layerwise import VGG_GEOMETRIES, layerwise_one_step, one_step_pair

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, TQDM_DISABLE="1")


def write_photos(folder: Path, n: int, side: int = 80, seed: int = 0) -> Path:
    """n smooth random colour photographs as PNG/JPEG in two subfolders (suffixes of mixed case)."""
    g = torch.Generator().manual_seed(seed)
    for i in range(n):
        low = torch.rand(1, 3, side // 8, side // 8, generator=g)
        up = torch.nn.functional.interpolate(low, size=(side, side + 8 * (i % 3)), mode="bicubic", align_corners=False)
        arr = (up[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        suffix = (".png", ".PNG", ".Png")[i % 3]
        Image.fromarray(arr).save(sub / f"im{i:03d}{suffix}", format="PNG")
    return folder


@pytest.fixture(scope="module")
def photos20(tmp_path_factory) -> Path:
    return write_photos(tmp_path_factory.mktemp("photos20"), 20)


def evaluate_cli(*args, torchrun: bool = False, cwd=ROOT) -> subprocess.CompletedProcess:
    head = (
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
        if torchrun
        else [sys.executable]
    )
    cmd = [*head, "-m", "invertlib.vision.evaluate", *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)


def test_image_source_reads_folders_recursively_in_path_order(photos20):
    src = image_source(photos20, recursive=True)
    assert len(src) == 20 and list(src.names) == sorted(src.names)
    assert src.names[0].startswith("a/") and any(n.endswith(".Png") for n in src.names)
    batches = list(src.batches(32, 6))
    assert [len(i) for i, _ in batches] == [6, 6, 6, 2]
    stacked = np.concatenate([b for _, b in batches])
    assert stacked.shape == (20, 32, 32, 3) and stacked.dtype == np.float32
    # load_images reads through the same path and gives the same arrays, with or without workers
    ims, names = load_images(photos20, size=32, recursive=True)
    assert names == list(src.names) and np.array_equal(ims, stacked)
    with_workers = np.concatenate([b for _, b in src.batches(32, 6, workers=2)])
    assert np.array_equal(with_workers, stacked)
    with pytest.raises(ValueError, match="indices"):
        list(src.batches(32, 4, [0, 20]))


def test_cmyk_and_palette_images_are_converted_to_rgb(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=100)
    Image.fromarray(rgb).convert("P").save(tmp_path / "palette.png")
    for name in ("cmyk.jpg", "palette.png"):
        arr = read_image_file(tmp_path / name)
        assert arr.shape == (16, 16, 3)
        assert abs(int(arr[..., 0].mean()) - 200) <= 3 and arr[..., 1:].max() <= 3


def test_spawn_seed_is_a_pure_function_of_seed_and_keys():
    assert spawn_seed(0, 5) == spawn_seed(0, 5)
    assert len({spawn_seed(0, i) for i in range(100)} | {spawn_seed(1, 0)}) == 101
    with pytest.raises(ValueError, match="seed"):
        spawn_seed(-1, 0)


def test_bootstrap_means_resample_the_rows():
    values = np.random.default_rng(0).normal(size=(400, 2)) + [0, 10]
    means = bootstrap_means(values, generator=np.random.default_rng(1), n_resamples=300, chunk=64)
    assert means.shape == (300, 2)
    assert np.allclose(means.mean(axis=0), values.mean(axis=0), atol=0.02)
    # the spread of a resampled mean is the standard error of the mean
    assert np.allclose(means.std(axis=0), values.std(axis=0) / np.sqrt(400), rtol=0.2)


def test_one_step_pair_is_layerwise_one_steps_estimate(vgg16):
    x = torch.rand(2, 64, 64, 3)
    act = vgg16(vgg16.preprocess(x), upto="conv2_1", keep_pre=False)
    res = layerwise_one_step(vgg16, act, ["pool1"], geometries=VGG_GEOMETRIES, generator=torch_generator(0))
    model, k = res.models[("pool1", "2x2/2")]
    est = one_step_pair(res.operators["pool1"], model, k, act.pool["pool1"])
    assert torch.equal(est["learned"], res.reconstructions[("pool1", "2x2/2", "learned")])
    assert torch.equal(est["random"], res.reconstructions[("pool1", "2x2/2", "random")])


@pytest.mark.slow
def test_table3_learned_errors_are_those_of_the_notebooks_path(photos20, tmp_path, vgg16):
    # with every image in the calibration, k is the notebook's (mean sparsity over all images)
    out = tmp_path / "t3.json"
    result = ev.run(
        "table3", image_source(photos20, recursive=True), out, batch=5, shard_size=10, size=64, calibration=20
    )
    ims, _ = load_images(photos20, size=64, recursive=True)
    act = vgg16(vgg16.preprocess(torch.from_numpy(ims)), upto="conv5_1", keep_pre=False)
    pools = {f"pool{i}": f"pool{i}" for i in (1, 2, 3, 4)}
    res = layerwise_one_step(vgg16, act, pools, geometries=VGG_GEOMETRIES, generator=torch_generator(0))
    per = res.per_image("2x2/2")
    for pool in pools:
        ours = np.asarray(result["columns"][f"act.{pool}.2x2/2.learned"])
        theirs = per[(per.layer == pool) & (per.kind == "learned")]["error"].to_numpy()
        assert np.allclose(ours, theirs, rtol=1e-4), pool
        assert result["meta"]["k"][f"{pool}@2x2/2"] == res.models[(pool, "2x2/2")][1]
    # every image has its own error in every column, the image-space ones included
    assert all(len(v) == 20 for v in result["columns"].values())
    assert {"img.faithful.pool1.true", "img.faithful.pool4.randact", "act.pool2.-.randact"} <= set(result["columns"])
    randact = np.asarray(result["columns"]["act.pool1.-.randact"])
    assert np.all(np.abs(randact - np.sqrt(2)) < 0.1)  # a random activation sits near sqrt 2


@pytest.mark.slow
@pytest.mark.parametrize("table", ["table2", "table3"])
def test_two_processes_under_torchrun_equal_one_process(photos20, tmp_path, table):
    common = ["--image-dir", photos20, "--size", 64, "--batch", 5, "--shard-size", 5]
    if table == "table3":
        common += ["--calibration", 20]
    one = evaluate_cli(table, *common, "--out", tmp_path / "one.json")
    assert one.returncode == 0, one.stderr[-3000:]
    two = evaluate_cli(table, *common, "--out", tmp_path / "two.json", torchrun=True)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    assert a["images"] == b["images"] and a["columns"].keys() == b["columns"].keys()
    assert b["meta"]["processes"] == 2 and [r["images"] for r in b["meta"]["ranks"]] == [10, 10]
    for c in a["columns"]:
        if c.startswith("nonzero."):
            assert a["columns"][c] == b["columns"][c], c  # Table 2's counts: exactly equal
        else:
            assert np.allclose(a["columns"][c], b["columns"][c], rtol=1e-5, atol=1e-7), c  # float rounding
    assert not (tmp_path / "two.json.parts").exists()  # the checkpoints go once merged


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_uninterrupted_result(photos20, tmp_path):
    common = ["table2", "--image-dir", photos20, "--size", 32, "--batch", 4, "--shard-size", 8]
    whole = evaluate_cli(*common, "--out", tmp_path / "whole.json")
    assert whole.returncode == 0, whole.stderr[-3000:]
    cut = evaluate_cli(*common, "--out", tmp_path / "cut.json", "--max-shards", 1)
    assert cut.returncode == ev.INCOMPLETE and "1 of 3 shards done" in cut.stderr
    assert not (tmp_path / "cut.json").exists() and (tmp_path / "cut.json.parts" / "shard-000000.json").is_file()
    rest = evaluate_cli(*common, "--out", tmp_path / "cut.json")
    assert rest.returncode == 0, rest.stderr[-3000:]
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("whole.json", "cut.json"))
    assert a["columns"] == b["columns"] and a["images"] == b["images"]
    assert b["meta"]["ranks"][0]["images"] == 12  # the resumed run computed only the two missing shards


def test_checkpoints_of_another_evaluation_are_refused(photos20, tmp_path):
    src = image_source(photos20, recursive=True)
    out = tmp_path / "t2.json"
    assert ev.run("table2", src, out, size=32, shard_size=8, max_shards=1) is None
    with pytest.raises(ValueError, match="another evaluation"):
        ev.run("table2", src, out, size=64, shard_size=8)


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_folder(tmp_path):
    peaks = {}
    for n in (20, 200):
        folder = write_photos(tmp_path / f"p{n}", n, side=40, seed=n)
        run = evaluate_cli("table2", "--image-dir", folder, "--size", 32, "--batch", 8, "--out", tmp_path / f"{n}.json")
        assert run.returncode == 0, run.stderr[-3000:]
        peaks[n] = json.loads((tmp_path / f"{n}.json").read_text())["meta"]["peak_rss_mb"]
    assert peaks[200] <= 1.10 * peaks[20], peaks


def test_full_scale_summary_is_the_per_image_mean_with_an_interval(photos20, tmp_path):
    out = tmp_path / "t2.json"
    ev.run("table2", image_source(photos20, recursive=True), out, size=32, shard_size=20)
    full = ev.full_scale(out, generator=np.random.default_rng(0), n_resamples=200)
    per = ev.per_image(ev.read_results(out))
    assert list(per.columns[:3]) == ["pct.conv1_1", "pct.conv1_2", "pct.pool1"]
    row = full.summary.set_index("column").loc["pct.conv1_1"]
    assert row["mean"] == pytest.approx(per["pct.conv1_1"].mean())
    assert row["low"] <= row["mean"] <= row["high"] and row["n_images"] == 20
    assert full.spreads["pct.pool5"].n_resamples == 200


def test_bad_results_files_and_arguments_are_named(tmp_path, photos20, capsys):
    (tmp_path / "half.json").write_text('{"format": "invertlib.evaluate/1", "tab')
    with pytest.raises(ValueError, match="half.json is not a complete JSON"):
        ev.read_results(tmp_path / "half.json")
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="not a results file"):
        ev.read_results(tmp_path / "other.json")
    with pytest.raises(FileNotFoundError, match="results_file"):
        ev.read_results(tmp_path / "missing.json")
    for args, message in (
        (["table2", "--image-dir", tmp_path / "nowhere"], "--image-dir"),
        (["table2", "--image-dir", photos20, "--batch", "0"], "--batch"),
        (["table2", "--image-dir", photos20, "--device", "tpu"], "--device"),
        (["table2", "--image-dir", photos20, "--robust"], "--robust"),
        (["table3", "--image-dir", photos20, "--size", "48"], "--size"),
        (["alexnet", "--image-dir", photos20, "--size", "32"], "--size"),
    ):
        with pytest.raises(SystemExit) as exc:
            ev.main([str(a) for a in args])
        assert exc.value.code == 2, message
        assert message in capsys.readouterr().err.splitlines()[-1], message


@pytest.mark.slow
def test_notebooks_show_a_full_scale_results_file_apart_from_their_claims(photos20, tmp_path):
    """Notebooks 06, 09 and 10 (smoke parameters) with a results file of each table: the side-by-side
    table is printed, and the full-scale claims go to claims/full_scale/, apart from the notebook's."""
    figures = tmp_path / "figures"
    env = {k: v for k, v in ENV.items() if k != "INVERTLIB_PUBLISH"} | {"INVERTLIB_FIGURES_DIR": str(figures)}
    papermill = Path(sys.executable).parent / "papermill"
    for stem, table, ids in (
        ("06_vgg_sparsity", "table2", {"table2.conv1_1", "table2.pool5"}),
        (
            "09_layerwise_reconstruction",
            "table3",
            {"table3.act.1.learned", "table3.img.4.randact", "table3.img.1.true"},
        ),
        ("10_alexnet_supplement", "alexnet", {"alexnet.sparsity.conv1", "alexnet.table3.pool2.-.randact"}),
    ):
        results = tmp_path / f"{table}.json"
        made = evaluate_cli(table, "--image-dir", photos20, "--max-images", 6, "--size", 64, "--out", results)
        assert made.returncode == 0, made.stderr[-3000:]
        out = tmp_path / f"{stem}.ipynb"
        run = subprocess.run(
            [str(papermill), "--no-progress-bar", "-k", "invertlib", "--cwd", "notebooks", f"notebooks/{stem}.ipynb",
             str(out), "-f", f"notebooks/smoke/{stem}.yaml", "-p", "results_file", str(results),
             "-p", "n_resamples", "200"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        assert "images of " in out.read_text() and "at scale" in out.read_text()
        own = json.loads((figures / "claims" / f"{stem}.json").read_text())
        scaled = json.loads((figures / "claims" / "full_scale" / f"{stem}.json").read_text())
        assert scaled["scope"] == "full_scale" and "scope" not in own
        got = {c["id"] for c in scaled["claims"]}
        assert ids <= got, sorted(got)[:10]
        assert all("interval" in c for c in scaled["claims"])
        assert not got & {c["id"] for c in own["claims"] if c["kind"] == "invariant"}


def fake_results(tmp_path: Path, table: str, columns: dict, units=None) -> Path:
    n = len(next(iter(columns.values())))
    meta = {"network": "VGG16", "n_images": n} | ({"units": units} if units else {})
    record = {"format": ev.FORMAT, "table": table, "meta": meta, "images": [f"im{i}" for i in range(n)]}
    path = tmp_path / f"{table}.json"
    path.write_text(json.dumps(record | {"columns": columns}))
    return path


def test_side_by_side_labels_the_rows_as_the_notebooks_do(tmp_path):
    cols = {
        "act.pool1.2x2/2.learned": [0.8, 0.9, 1.0],
        "act.pool1.-.randact": [1.41, 1.42, 1.40],
        "img.faithful.pool1.true": [0.1, 0.2, 0.3],
        "img.robust.pool1.learned": [0.5, 0.4, 0.6],
    }
    full = ev.full_scale(fake_results(tmp_path, "table3", cols), generator=np.random.default_rng(0), n_resamples=50)
    assert ev.full_scale_labels(full) == {
        "act.1.learned": "act.pool1.2x2/2.learned",
        "act.1.randact": "act.pool1.-.randact",
        "img.1.true": "img.faithful.pool1.true",
        "robust.img.1.learned": "img.robust.pool1.learned",
    }
    table = ev.side_by_side(
        full, {"act.1.learned": 0.85, "img.1.true": 0.2, "act.9.learned": 1.0}, {"act.1.learned": 0.9}
    )
    assert list(table["label"]) == ["act.1.learned", "img.1.true"]  # labels the file lacks are left out
    assert table["full"].tolist() == pytest.approx([0.9, 0.2]) and table["paper"].isna().tolist() == [False, True]
    with pytest.raises(ValueError, match="another table"):
        ev.side_by_side(full, {"sparsity.conv1_1": 50.0})
    two = fake_results(tmp_path, "table2", {"nonzero.conv1_1": [10, 20]}, units={"conv1_1": 40})
    assert ev.per_image(ev.read_results(two))["pct.conv1_1"].tolist() == [25.0, 50.0]
    assert ev.geometry_slug("non-overlapping 2x2/2") == "non-overlapping_2x2s2"


def test_table3_takes_k_from_a_table2_results_file(photos20, tmp_path, capsys):
    src = image_source(photos20, recursive=True, max_images=6)
    t2 = tmp_path / "t2.json"
    ev.run("table2", src, t2, size=64, shard_size=6)
    s = ev.setup("table3", src, size=64, sparsity_file=t2)
    pct = ev.per_image(ev.read_results(t2))
    assert s.sparsity["conv2_1"] == pytest.approx(pct["pct.conv2_1"].mean() / 100)
    assert s.sparsity_from == str(t2)
    model, k = s.models[("pool1", "2x2/2")]
    assert k == model.k_for_sparsity(s.sparsity["conv2_1"])
    other = fake_results(tmp_path, "alexnet", {"nonzero.conv1": [1, 2]}, units={"conv1": 10})
    with pytest.raises(SystemExit):
        ev.main(["table3", "--image-dir", str(photos20), "--sparsity-file", str(other)])
    assert "--sparsity-file: expected a table2 (VGG16)" in capsys.readouterr().err
