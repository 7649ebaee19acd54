"""Image classification datasets that can be used offline: Fashion-MNIST (IDX files) and CIFAR-10
(the python batches, for users who have them).

Fashion-MNIST is read by default from Debian's ``dataset-fashion-mnist`` package
(/usr/share/datasets/fashion-mnist/, installed by ``make data``); the environment variable
FASHION_MNIST_DIR or the ``directory`` argument points elsewhere. CIFAR-10 cannot be downloaded
here; ``load_cifar10`` reads a local copy of ``cifar-10-batches-py`` (directory argument or the
environment variable CIFAR10_DIR).

Every loader returns (images uint8 (N, H, W) or (N, H, W, 3), labels int64 (N,)) and says what is
wrong with a missing, truncated or corrupt file.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
from pathlib import Path

import numpy as np

from .files import RestrictedUnpickler

FASHION_MNIST_DEFAULT = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_HINT = (
    "install Debian's package with `make data` (or `sudo apt-get install dataset-fashion-mnist`), "
    "or point FASHION_MNIST_DIR (or the directory argument) at a folder with the four IDX files"
)
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}

_IDX_TYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed): magic 0x0000 TT DD, DD big-endian sizes, data."""
    path = Path(path)
    try:
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise ValueError(
            f"path: {path} cannot be read as {'gzip ' if path.suffix == '.gz' else ''}IDX data ({exc})"
        ) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes for {ndim} dimensions)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = math.prod(shape) * dtype.itemsize  # Python integers: a forged header cannot overflow
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: truncated or corrupt IDX data: shape {shape} needs {expected} bytes, "
            f"the file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (directory / name).exists():
            return directory / name
    raise FileNotFoundError(f"Fashion-MNIST: {directory / (stem + '.gz')} not found; {FASHION_HINT}")


def load_fashion_mnist(split: str = "train", directory: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images (N, 28, 28) uint8 and labels (N,) int64; split "train" (60,000) or "test" (10,000)."""
    if split not in FASHION_FILES:
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    directory = Path(directory or os.environ.get("FASHION_MNIST_DIR") or FASHION_MNIST_DEFAULT)
    if not directory.is_dir():
        raise FileNotFoundError(f"directory: Fashion-MNIST folder {directory} does not exist; {FASHION_HINT}")
    img_stem, lab_stem = FASHION_FILES[split]
    images, labels = read_idx(_find(directory, img_stem)), read_idx(_find(directory, lab_stem))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"Fashion-MNIST {split}: images {images.shape} and labels {labels.shape} do not match")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"Fashion-MNIST {split}: labels outside 0-9")
    return images, labels.astype(np.int64)


def load_cifar10(split: str = "train", directory: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images (N, 32, 32, 3) uint8 and labels (N,) int64 from the python batches
    (``cifar-10-batches-py``: data_batch_1..5, test_batch)."""
    if split not in CIFAR10_FILES:
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    directory = directory or os.environ.get("CIFAR10_DIR")
    if directory is None:
        raise FileNotFoundError(
            "directory: no CIFAR-10 folder given; CIFAR-10 cannot be downloaded here: pass the folder "
            "holding cifar-10-batches-py's files as `directory` or set CIFAR10_DIR"
        )
    directory = Path(directory)
    images, labels = [], []
    for name in CIFAR10_FILES[split]:
        path = directory / name
        if not path.exists():
            raise FileNotFoundError(f"CIFAR-10: {path} not found (expected the python version's batch files)")
        try:
            with open(path, "rb") as f:  # a restricted unpickler: a hostile batch file cannot run code
                batch = RestrictedUnpickler(f, encoding="bytes").load()
            data, labs = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
        except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"CIFAR-10: {path} is truncated or not a CIFAR-10 python batch ({exc!r})") from exc
        # values are checked before the cast: 300 must not wrap to 44
        if data.dtype.kind not in "iu" or (data.size and (data.min() < 0 or data.max() > 255)):
            raise ValueError(f"CIFAR-10: {path} holds pixel values outside the integers 0-255 (dtype {data.dtype})")
        if labs.dtype.kind not in "iu" or (labs.size and (labs.min() < 0 or labs.max() > 9)):
            raise ValueError(f"CIFAR-10: {path} holds labels outside the integers 0-9")
        data = data.astype(np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072 or labs.ndim != 1 or len(data) != len(labs):
            raise ValueError(
                f"CIFAR-10: {path} holds data of shape {data.shape} and {len(labs)} labels; "
                "expected (N, 3072) with N labels"
            )
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(labs, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)
