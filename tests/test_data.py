"""Dataset loaders on small files written in the real formats, including broken ones; the classifier."""

import gzip
import pickle

import numpy as np
import pytest
import torch

from invertlib import torch_generator
from invertlib.vision.classify import ConvNet, accuracy, fit, prepare, train_convnet
from invertlib.vision.data import load_cifar10, load_fashion_mnist, read_idx


def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape) + array.tobytes()


def write_fashion(folder, n=7, gz=True):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    for stem, arr in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        data = idx_bytes(arr)
        if gz:
            with gzip.open(folder / f"{stem}.gz", "wb") as f:
                f.write(data)
        else:
            (folder / stem).write_bytes(data)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_reads_idx(tmp_path, gz):
    images, labels = write_fashion(tmp_path, gz=gz)
    x, y = load_fashion_mnist("train", tmp_path)
    assert np.array_equal(x, images) and np.array_equal(y, labels) and y.dtype == np.int64


def test_fashion_mnist_environment_variable(tmp_path, monkeypatch):
    write_fashion(tmp_path)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    assert load_fashion_mnist("train")[0].shape == (7, 28, 28)


def test_fashion_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist("train", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz not found"):
        load_fashion_mnist("train", tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_fashion_mnist("validation", tmp_path)
    write_fashion(tmp_path, gz=False)
    data = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(data[:-100])  # truncated
    with pytest.raises(ValueError, match="truncated or corrupt IDX data"):
        load_fashion_mnist("train", tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x12\x34" + data[2:])  # corrupt magic
    with pytest.raises(ValueError, match="bad magic"):
        load_fashion_mnist("train", tmp_path)
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="cannot be read as gzip"):
        read_idx(tmp_path / "bad.gz")


def write_cifar(folder, n=4):
    rng = np.random.default_rng(1)
    out = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()  # Python ints, as in the real batches
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels}, f)
        out[name] = (data, labels)
    return out


def test_cifar10_reads_python_batches(tmp_path):
    batches = write_cifar(tmp_path)
    x, y = load_cifar10("train", tmp_path)
    assert x.shape == (20, 32, 32, 3) and y.shape == (20,)
    data, labels = batches["data_batch_1"]
    assert np.array_equal(x[0, :, :, 0].ravel(), data[0, :1024])  # red plane first
    assert list(y[:4]) == [int(v) for v in labels]
    assert load_cifar10("test", tmp_path)[0].shape == (4, 32, 32, 3)


def test_cifar10_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot be downloaded"):
        load_cifar10("train")
    write_cifar(tmp_path)
    raw = (tmp_path / "data_batch_3").read_bytes()
    (tmp_path / "data_batch_3").write_bytes(raw[: len(raw) // 2])  # truncated
    with pytest.raises(ValueError, match="data_batch_3 is truncated"):
        load_cifar10("train", tmp_path)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((3, 100), np.uint8), b"labels": [0, 1, 2]}, f)
    with pytest.raises(ValueError, match=r"expected \(N, 3072\)"):
        load_cifar10("test", tmp_path)
    write_cifar(tmp_path)
    (tmp_path / "data_batch_5").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_5 not found"):
        load_cifar10("train", tmp_path)


def test_random_filter_net_trains_only_the_classifier():
    g = torch_generator(0)
    x, mean, std = prepare(np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8), size=32)
    assert x.shape == (64, 1, 32, 32)
    y = torch.arange(64) % 2
    x = x + 2.0 * y.view(-1, 1, 1, 1)  # a separable toy problem
    net = ConvNet(3, 8, 3, 1, 32, 2, generator=g, random_filters=True)
    conv_before = net.features[0].weight.clone()
    fit(net, x, y, generator=g, epochs=30, batch_size=16, lr=1e-2)
    assert torch.equal(net.features[0].weight, conv_before)
    assert accuracy(net, x, y) > 0.9
    learned = ConvNet(1, 8, 3, 1, 32, 2, generator=g, random_filters=False)
    w0 = learned.features[0].weight.clone()
    fit(learned, x, y, generator=g, epochs=2, batch_size=16)
    assert not torch.equal(learned.features[0].weight, w0)
    with pytest.raises(ValueError, match="depth: 3 poolings do not tile 28"):
        ConvNet(3, 8, 3, 1, 28, 2, generator=g, random_filters=True)


def test_train_convnet_returns_the_initial_filters():
    x = torch.randn(32, 1, 8, 8, generator=torch_generator(0))
    y = torch.arange(32) % 2
    setting = dict(depth=1, ksize=3, width=4, batch_size=8, n_classes=2)
    res = train_convnet(x, y, random_filters=True, generator=torch_generator(1), epochs=2, **setting)
    net, init = res.net, res.initial_filters
    assert torch.equal(net.features[0].weight, init) and init.shape == (4, 1, 3, 3)
    assert res.fit.model is net and len(res.fit.losses) == 2
    ref = ConvNet(1, 4, 3, 1, 8, 2, generator=torch_generator(1), random_filters=True)
    assert torch.equal(ref.features[0].weight, init)  # built from the generator, first draw
    res = train_convnet(x, y, random_filters=False, generator=torch_generator(1), epochs=1, **setting)
    assert not torch.equal(res.net.features[0].weight, res.initial_filters)
