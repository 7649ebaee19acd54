"""Trained what-where decoders: shapes, switches, training (smoke, resume, two ranks), shipped weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from invertlib import torch_generator
from invertlib.vision import corpus
from invertlib.vision import train_decoders as T
from invertlib.vision.decoders import (
    DECODER_LAYERS,
    WhatWhereDecoder,
    decoder_manifest,
    fixed_switches,
    load_decoder,
    local_lipschitz,
)
from invertlib.vision.layerwise import layerwise_one_step, learned_one_step

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def net(vgg16):
    return vgg16


def smooth_photos(n: int, size: int, seed: int) -> list[torch.Tensor]:
    """Blurred random colour fields as uint8 (3, size, size): a tiny generated corpus."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, size // 8, size // 8, generator=g)
    up = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
    return list((up.clamp(0, 1) * 255).round().to(torch.uint8))


@pytest.mark.parametrize("layer", DECODER_LAYERS)
@pytest.mark.parametrize("size", [32, 48])
def test_decoder_output_shapes(net, layer, size):
    x = net.preprocess(torch.rand(2, size, size, 3, generator=torch.Generator().manual_seed(size)))
    act = net(x, upto=layer)
    dec = WhatWhereDecoder(layer).reset_parameters(torch_generator(0))
    assert dec(act.pool[layer], act).shape == (2, 3, size, size)
    assert dec(act.pool[layer], act.switches).shape == (2, 3, size, size)


def test_decoder_uses_the_switches(net):
    x = net.preprocess(torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(0)))
    act = net(x, upto="pool2")
    dec = WhatWhereDecoder("pool2").reset_parameters(torch_generator(1))
    code = act.pool["pool2"]
    before = dec(code, act)
    moved = {k: v.clone() for k, v in act.switches.items()}
    c, i, j = (code[0] > 0).nonzero()[0].tolist()  # a nonzero unit: moving its switch matters
    idx = int(moved["pool2"][0, c, i, j])
    w = 2 * code.shape[-1]
    row, col = divmod(idx, w)
    moved["pool2"][0, c, i, j] = row * w + (col ^ 1)  # the other column of its 2 x 2 window
    after = dec(code, moved)
    assert not torch.equal(before, after)
    changed = (before - after).abs().sum(dim=(0, 1)) > 0
    rows, cols = changed.nonzero().T
    # a local change: the receptive field of the decoder (two 3 x 3 convs per block) is 16 pixels wide
    assert int(rows.max() - rows.min()) < 16 and int(cols.max() - cols.min()) < 16


def test_decoder_refuses_wrong_inputs(net):
    dec = WhatWhereDecoder("pool1")
    act = net(net.preprocess(torch.rand(1, 32, 32, 3)), upto="pool2")
    with pytest.raises(ValueError, match="layer"):
        WhatWhereDecoder("pool5")
    with pytest.raises(ValueError, match="code: expected a pool1 code"):
        dec(act.pool["pool2"], act)
    with pytest.raises(ValueError, match="switches: expected"):
        dec(act.pool["pool1"], {})


def test_construction_does_not_touch_global_rng():
    state = torch.get_rng_state()
    dec = WhatWhereDecoder("pool3")
    assert torch.equal(state, torch.get_rng_state())
    assert all(int(torch.count_nonzero(p)) == 0 for p in dec.parameters())
    dec.reset_parameters(torch_generator(0))
    assert torch.equal(state, torch.get_rng_state())


def test_smoke_training_lowers_the_loss(net):
    photos = smooth_photos(6, 64, seed=0)
    holdout = corpus.center_crops(smooth_photos(2, 64, seed=1), 32)
    before = T.holdout_error(WhatWhereDecoder("pool1").reset_parameters(torch_generator(0)), net, holdout)
    _, summary = T.train_layer("pool1", photos, holdout, crop=32, batch=4, steps=5, lr=0.05, net=net, quiet=True)
    assert summary["holdout_error"] < 0.9 * before


def test_training_resumes_to_the_same_weights(net, tmp_path, monkeypatch):
    photos = smooth_photos(4, 48, seed=2)
    holdout = corpus.center_crops(photos[:1], 32)
    kw = dict(crop=32, batch=2, steps=4, lr=1e-2, net=net, quiet=True, checkpoint_every=2)
    ref, _ = T.train_layer("pool1", photos, holdout, checkpoint_dir=tmp_path / "a", **kw)
    calls = {"n": 0}
    real = corpus.CropSampler.sample

    def interrupted(self, batch):
        calls["n"] += 1
        if calls["n"] == 4:  # killed during step 4, after the step-2 checkpoint
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(corpus.CropSampler, "sample", interrupted)
    with pytest.raises(KeyboardInterrupt):
        T.train_layer("pool1", photos, holdout, checkpoint_dir=tmp_path / "b", **kw)
    monkeypatch.setattr(corpus.CropSampler, "sample", real)
    resumed, _ = T.train_layer("pool1", photos, holdout, checkpoint_dir=tmp_path / "b", **kw)
    for k, v in ref.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k


def test_written_weights_load_and_corruption_is_refused(tmp_path):
    dec = WhatWhereDecoder("pool1").reset_parameters(torch_generator(0))
    path = T.write_decoder(dec, {"steps": 0}, tmp_path, {})
    loaded = load_decoder("pool1", tmp_path)
    torch.testing.assert_close(loaded.convs["conv1_1"].weight, dec.convs["conv1_1"].weight.half().float())
    assert not any(p.requires_grad for p in loaded.parameters())
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt.*make decoders"):
        load_decoder("pool1", tmp_path)
    path.unlink()
    with pytest.raises(FileNotFoundError, match="missing.*make decoders"):
        load_decoder("pool1", tmp_path)
    with pytest.raises(FileNotFoundError, match="no trained pool2 decoder.*make decoders"):
        load_decoder("pool2", tmp_path)


def test_shipped_decoders_match_their_manifest():
    manifest = decoder_manifest()
    assert sorted(manifest["layers"]) == list(DECODER_LAYERS)
    total = 0
    for layer in DECODER_LAYERS:
        entry = manifest["layers"][layer]
        assert entry["corpus_sha256"] == corpus.manifest_hash(json.loads(corpus.CORPUS_MANIFEST.read_text())["files"])
        total += (corpus.TRAINED_DIR / entry["file"]).stat().st_size
        decoder = load_decoder(layer)  # the shipped float16 weights, loaded as float32
        assert decoder.layer == layer and all(p.dtype == torch.float32 for p in decoder.parameters())
    assert total <= 40e6


def test_shipped_variants_load_and_all_weights_fit_the_budget():
    manifest = decoder_manifest()
    files = {e["file"] for e in manifest["layers"].values()}
    for variant, layers in manifest["variants"].items():
        for layer, entry in layers.items():
            decoder = load_decoder(layer, variant=variant)
            assert decoder.architecture == entry["architecture"], (variant, layer)
            assert entry["corpus_sha256"] == manifest["layers"][layer]["corpus_sha256"]
            files.add(entry["file"])
    assert sum((corpus.TRAINED_DIR / f).stat().st_size for f in files) <= 60e6


def test_fixed_switches_put_every_value_top_left():
    code = torch.arange(1.0, 7.0).view(1, 1, 2, 3)
    up = torch.nn.functional.max_unpool2d(code, fixed_switches(code.shape), 2, stride=2, output_size=(4, 6))
    assert torch.equal(up[0, 0, ::2, ::2], code[0, 0]) and float(up.sum()) == float(code.sum())
    with pytest.raises(ValueError, match="shape"):
        fixed_switches((2, 3))


def test_decoder_without_switches_needs_none_and_rectify_clips(net):
    x = net.preprocess(torch.rand(2, 32, 32, 3, generator=torch.Generator().manual_seed(3)))
    act = net(x, upto="pool2")
    code = act.pool["pool2"] - 0.5  # some negative entries
    plain = WhatWhereDecoder("pool2").reset_parameters(torch_generator(2))
    sae = WhatWhereDecoder("pool2", switches=False)
    sae.load_state_dict(plain.state_dict())
    fixed = {p: fixed_switches(s.shape) for p, s in act.switches.items()}
    torch.testing.assert_close(sae(code), plain(code, fixed))
    assert sae.architecture == {"switches": False, "rectify": False}
    rect = WhatWhereDecoder("pool2", rectify=True)
    rect.load_state_dict(plain.state_dict())
    torch.testing.assert_close(rect(code, act), plain(code.clamp_min(0), act))
    with pytest.raises(TypeError, match="rectify: expected True or False"):
        WhatWhereDecoder("pool1", rectify="yes")


def test_local_lipschitz_is_the_jacobian_norm(net):
    """Against the explicit Jacobian of a small pool(1) decoder at a true code."""
    x = net.preprocess(torch.rand(2, 8, 8, 3, generator=torch.Generator().manual_seed(4)))
    act = net(x, upto="pool1")
    dec = WhatWhereDecoder("pool1").reset_parameters(torch_generator(3))
    code = act.pool["pool1"]
    est = local_lipschitz(dec, code, act, generator=torch_generator(0), n_iter=60)
    for b in range(2):
        J = torch.autograd.functional.jacobian(
            lambda c, b=b: dec(c, {"pool1": act.switches["pool1"][b : b + 1]}), code[b : b + 1]
        ).reshape(3 * 8 * 8, -1)
        sigma = torch.linalg.matrix_norm(J, ord=2)
        out = dec(code[b : b + 1], {"pool1": act.switches["pool1"][b : b + 1]}).norm()
        torch.testing.assert_close(est[b], sigma * code[b].norm() / out, rtol=1e-3, atol=0)
    assert not any(p.requires_grad is False for p in dec.parameters())  # flags restored


def test_learned_one_step_is_table3s_learned_estimate(net):
    x = net.preprocess(torch.rand(2, 32, 32, 3, generator=torch.Generator().manual_seed(5)))
    act = net(x, upto="conv3_1")
    ref = layerwise_one_step(net, act, ["pool1", "pool2"], geometries={"2x2/2": (2, 2)}, generator=torch_generator(0))
    for pool in ("pool1", "pool2"):
        torch.testing.assert_close(learned_one_step(net, act, pool), ref.reconstructions[(pool, "2x2/2", "learned")])
    with pytest.raises(ValueError, match="did not reach"):
        learned_one_step(net, net(x, upto="pool1"), "pool1")


def test_variants_train_share_and_load(net, tmp_path):
    photos = smooth_photos(6, 64, seed=6)
    holdout = corpus.center_crops(smooth_photos(2, 64, seed=7), 32)
    kw = dict(crop=32, batch=2, steps=2)
    base = WhatWhereDecoder("pool1").reset_parameters(torch_generator(0))
    T.write_decoder(base, {"steps": 0, "corpus_sha256": "x"}, tmp_path, {})
    common = dict(init=base.state_dict(), seed=0, device="cpu", checkpoint_dir=None, checkpoint_every=10, net=net)
    for variant in ("continued", "robust", "decay", "noswitch"):
        dec, summary = T.train_variant(variant, "pool1", photos, holdout, quiet=True, **common, **kw)
        T.write_decoder(dec, summary, tmp_path, {}, variant=variant)
    T._share_variant(tmp_path, "pool1", "continued", "rectified", {"rectify": True}, net, holdout)
    manifest = decoder_manifest(tmp_path)
    assert manifest["variants"]["robust"]["pool1"]["config"]["estimate"] == T.ROBUST_P
    assert sorted(manifest["variants"]["decay"]["pool1"]["grid"]) == sorted(f"{w:g}" for w in T.DECAY_GRID)
    assert manifest["variants"]["rectified"]["pool1"]["file"] == manifest["variants"]["continued"]["pool1"]["file"]
    assert load_decoder("pool1", tmp_path, variant="rectified").rectify
    assert not load_decoder("pool1", tmp_path, variant="noswitch").uses_switches
    assert "estimate" not in manifest["layers"]["pool1"]  # the faithful entry is left as it was
    with pytest.raises(ValueError, match="variant: expected one of"):
        load_decoder("pool1", tmp_path, variant="sturdy")
    with pytest.raises(ValueError, match="estimate: expected a probability"):
        T.train_layer("pool1", photos, holdout, net=net, estimate=2.0, lr=1e-3, quiet=True, **kw)


def test_robust_training_replaces_codes_by_estimates(net, monkeypatch):
    """With estimate=1 every code the decoder sees is the one-step estimate; the crops are the same."""
    photos = smooth_photos(4, 64, seed=8)
    holdout = corpus.center_crops(photos[:1], 32)
    seen = []
    real = WhatWhereDecoder.forward

    def spy(self, code, switches=None):
        seen.append(code.detach().clone())
        return real(self, code, switches)

    monkeypatch.setattr(WhatWhereDecoder, "forward", spy)
    kw = dict(crop=32, batch=2, steps=1, lr=0.0, net=net, quiet=True)
    T.train_layer("pool1", photos, holdout, estimate=1.0, **kw)
    T.train_layer("pool1", photos, holdout, **kw)
    crops = corpus.CropSampler(photos, 32, torch_generator(1)).sample(2)
    act = net(net.preprocess(crops), upto="conv2_1")
    torch.testing.assert_close(seen[0], learned_one_step(net, act, "pool1"))
    n = len(seen) // 2
    torch.testing.assert_close(seen[n], act.pool["pool1"])


def test_corpus_is_disjoint_from_the_evaluation_photos():
    files = json.loads(corpus.CORPUS_MANIFEST.read_text())["files"]
    assert len(files) >= 50 and all(f["licence"] and f["sha256"] for f in files)
    from invertlib.vision.files import sha256
    from invertlib.vision.images import imagenet_photo_files

    eval_hashes = {sha256(p) for p in imagenet_photo_files()}
    assert not eval_hashes & {f["sha256"] for f in files}


def test_crop_sampler_is_seeded_and_in_range():
    photos = smooth_photos(3, 64, seed=3)
    a = corpus.CropSampler(photos, 32, torch_generator(5)).sample(4)
    b = corpus.CropSampler(photos, 32, torch_generator(5)).sample(4)
    assert a.shape == (4, 32, 32, 3) and torch.equal(a, b)
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    with pytest.raises(ValueError, match="shorter side"):
        corpus.CropSampler(photos, 128, torch_generator(0))


@pytest.mark.slow
def test_two_ranks_end_with_identical_weights(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for i, p in enumerate(smooth_photos(10, 48, seed=4)):
        Image.fromarray(p.permute(1, 2, 0).numpy()).save(images / f"im{i}.png")
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "invertlib.vision.train_decoders",
        "--layers",
        "pool1",
        "--steps",
        "3",
        "--crop",
        "32",
        "--batch",
        "2",
        "--image-dir",
        str(images),
        "--out-dir",
        str(out),
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        "--save-rank-weights",
        "--no-install",
    ]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    r0 = torch.load(out / "pool1.rank0.pt", weights_only=True)
    r1 = torch.load(out / "pool1.rank1.pt", weights_only=True)
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    assert not torch.equal(
        r0["convs.conv1_1.weight"],
        WhatWhereDecoder("pool1").reset_parameters(torch_generator(0)).state_dict()["convs.conv1_1.weight"],
    )
    assert decoder_manifest(out)["layers"]["pool1"]["config"]["world_size"] == 2


def test_missing_corpus_packages_get_a_clear_message(monkeypatch):
    sources = [
        {"file": "/nonexistent/photo.jpg", "source": "debian:some-photos", "licence": "x"},
        {"file": "skimage:astronaut.png", "source": "scikit-image", "licence": "CC0"},
    ]
    assert corpus.missing_packages(sources) == ["some-photos"]
    monkeypatch.setattr(corpus.os, "geteuid", lambda: 1000)
    with pytest.raises(RuntimeError, match=r"sudo apt-get install some-photos.*--image-dir"):
        corpus.install_packages(["some-photos"])
    with pytest.raises(FileNotFoundError, match="1 files are missing"):
        corpus.corpus_manifest(sources)


def test_a_changed_corpus_file_is_refused():
    ref = [{"file": "a.jpg", "sha256": "1"}, {"file": "b.jpg", "sha256": "2"}]
    corpus.check_against([dict(r) for r in ref], ref)
    with pytest.raises(ValueError, match="1 files differ.*--image-dir"):
        corpus.check_against([ref[0], {"file": "b.jpg", "sha256": "3"}], ref)
    assert corpus.manifest_hash(ref) != corpus.manifest_hash(ref[:1])


def test_on_support_gains_and_lipschitz_table(net):
    from invertlib.vision.layerwise import decode_codes, decoder_lipschitz, on_support

    x = net.preprocess(torch.rand(3, 32, 32, 3, generator=torch.Generator().manual_seed(9)))
    act = net(x, upto="pool1")
    true = act.pool["pool1"]
    noise = torch.randn(true.shape, generator=torch.Generator().manual_seed(1))
    codes = {(1, "true"): true, (1, "noise"): noise, (1, "other"): noise.abs()}
    supported = on_support(codes, kinds=["noise"])
    assert list(supported) == [(1, "noise|x>0")]
    restricted = supported[(1, "noise|x>0")]
    assert bool(((restricted != 0) <= (true > 0)).all())
    torch.testing.assert_close(restricted.flatten(1).norm(dim=1), true.flatten(1).norm(dim=1))
    dec = WhatWhereDecoder("pool1").reset_parameters(torch_generator(0))
    out = decode_codes(net, {1: dec}, codes, act, x)
    gains = out.scores.set_index(["kind", "image"])["gain"]
    assert (gains["true"] == 1).all()
    expected = dec(noise, act).flatten(1).norm(dim=1) / dec(true, act).flatten(1).norm(dim=1)
    assert torch.allclose(torch.tensor(gains["noise"].to_numpy()), expected.double(), rtol=1e-5)
    table = decoder_lipschitz({1: dec}, codes, act, generator=torch_generator(0), n_images=2, n_iter=5)
    assert list(table.columns) == ["layer", "image", "lipschitz"] and len(table) == 2
    assert (table["lipschitz"] > 0).all()
    with pytest.raises(ValueError, match="'true' code"):
        on_support({(1, "noise"): noise})
    with pytest.raises(ValueError, match="kinds: expected a list"):
        on_support(codes, kinds="noise")


def test_robust_choice_uses_the_held_out_corpus_score(tmp_path):
    from invertlib.vision.decoders import holdout_score, load_variants, robust_choice

    dec = WhatWhereDecoder("pool1").reset_parameters(torch_generator(0))
    T.write_decoder(dec, {"holdout_error": 0.2}, tmp_path, {})
    T.write_decoder(dec, {"holdout_error": 0.3, "holdout_estimate_error": 0.5}, tmp_path, {}, variant="robust")
    T.write_decoder(dec, {"holdout_error": 0.1, "holdout_estimate_error": 0.9}, tmp_path, {}, variant="continued")
    assert holdout_score(decoder_manifest(tmp_path)["variants"]["robust"]["pool1"]) == pytest.approx(0.4)
    assert robust_choice("pool1", tmp_path) == "robust"
    assert sorted(load_variants({1: "pool1", 2: "pool2"}, tmp_path)) == ["continued", "robust"]
    assert list(load_variants({1: "pool1", 2: "pool2"}, tmp_path)["robust"]) == [1]
    with pytest.raises(FileNotFoundError, match="none of the variants"):
        robust_choice("pool2", tmp_path)
    with pytest.raises(ValueError, match="holdout_estimate_error"):
        holdout_score({"holdout_error": 0.1})


def test_variant_and_estimate_inputs_are_named(net, tmp_path):
    from invertlib.vision.decoders import robust_choice

    act = net(net.preprocess(torch.rand(1, 32, 32, 3)), upto="conv3_1")
    with pytest.raises(ValueError, match="pool: expected a pool layer"):
        learned_one_step(net, act, "pool5")
    with pytest.raises(ValueError, match="window: expected"):
        learned_one_step(net, act, "pool1", window=2)
    with pytest.raises(ValueError, match="variant: expected one of the trained variants"):
        T.train_variant(
            "rectified",
            "pool1",
            [],
            None,
            init={},
            seed=0,
            device="cpu",
            checkpoint_dir=None,
            checkpoint_every=1,
            net=net,
        )
    with pytest.raises(ValueError, match="candidates: expected a non-empty list"):
        robust_choice("pool1", tmp_path, candidates="robust")
    with pytest.raises(ValueError, match="candidates: .*sturdy"):
        robust_choice("pool1", tmp_path, candidates=["sturdy"])
    with pytest.raises(ValueError, match="weight_decay: expected"):
        T.train_layer("pool1", [], None, crop=32, batch=1, steps=1, lr=1e-3, net=net, weight_decay=-1.0)


def test_a_checkpoint_from_other_starting_weights_is_not_resumed(net, tmp_path, capsys):
    photos = smooth_photos(4, 48, seed=2)
    holdout = corpus.center_crops(photos[:1], 32)
    kw = dict(crop=32, batch=2, steps=2, lr=1e-2, net=net, checkpoint_every=1, checkpoint_dir=tmp_path)
    a = WhatWhereDecoder("pool1").reset_parameters(torch_generator(1)).state_dict()
    b = WhatWhereDecoder("pool1").reset_parameters(torch_generator(2)).state_dict()
    first, _ = T.train_layer("pool1", photos, holdout, init=a, **kw)
    again, _ = T.train_layer("pool1", photos, holdout, init=a, **kw)  # resumed: the same weights
    other, _ = T.train_layer("pool1", photos, holdout, init=b, **kw)  # other start: trained afresh
    assert "other settings; starting afresh" in capsys.readouterr().err
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in first.state_dict().items())
    assert not torch.equal(first.convs["conv1_1"].weight, other.convs["conv1_1"].weight)
