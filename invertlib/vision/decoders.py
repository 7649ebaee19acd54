"""Decoders from activations back to images.

The paper decodes with the pretrained what-where decoders of Zhang, Lee & Lee (ICML 2016), which
cannot be obtained here. We train our own (`WhatWhereDecoder`, `load_decoder`; trained by
`make decoders`, see `invertlib.vision.train_decoders`):

* **what-where decoder** for pool(1) ... pool(4) of VGG16: unpool with the encoder's own max
  pooling switches ("where"), then 3 x 3 convolutions with ReLU mirroring the encoder's block in
  reverse (conv(b, n) -> ... -> conv(b, 1): a conv c_in -> c_out becomes c_out -> c_in), block by
  block down to an RGB image in the encoder's normalised input space; untied weights, no ReLU
  after the last convolution. pool(4): 10 convolutions, 7.6 M parameters.

Two decoders that need no training stay as baselines:

* **tied deconvnet** (`deconvnet`, `vgg_deconvnet`): the decoding path of a what-where
  auto-encoder with tied weights (Zeiler & Fergus's deconvnet): unpool with the encoder's own
  switches, ReLU, transposed convolution with the same filters, layer by layer down to pixels.
  Biases are not used. With paired filters [W; -W] of an orthogonal layer and no pooling it
  inverts the layer exactly (Proposition 1).
* **optimisation-based inversion** (`invert_by_optimization`, in the manner of Mahendran &
  Vedaldi 2015): the image whose activation at a layer best matches a given activation,
  min_x ||phi(x) - a||^2 / ||a||^2 + tv_weight * TV(x) / (H W x_scale^2), by gradient descent with
  backtracking, so the objective never increases.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..checks import as_tensor, check_choice, check_finite, check_int
from ..rng import check_generator
from .files import TRAINED_DIR, sha256
from .networks import ARCHITECTURES, Activations, Conv, FeatureNet, Pool

DECODER_LAYERS = ("pool1", "pool2", "pool3", "pool4")
DECODER_MANIFEST = "decoders.json"


class WhatWhereDecoder(nn.Module):
    """The what-where decoder of one VGG16 pool layer: (code (B, C, h, w), switches) -> image
    (B, 3, H, W) in the encoder's normalised input space.

    layer: "pool1" ... "pool4". switches: the encoder's `Activations` of the original image, or
    its dict {pool name: indices}; every pool at or below `layer` is needed. Parameters are zero
    until `reset_parameters(generator)` (He-normal, seeded) or a state dict is loaded, so
    construction never draws from torch's global generator."""

    def __init__(self, layer: str = "pool4"):
        super().__init__()
        check_choice(layer, "layer", DECODER_LAYERS)
        specs = ARCHITECTURES["vgg16"]
        stop = [s.name for s in specs].index(layer)
        self.layer = layer
        self.steps: list[tuple[str, str]] = []
        convs = {}
        with torch.device("meta"):
            for spec in reversed(specs[: stop + 1]):
                if isinstance(spec, Pool):
                    self.steps.append(("unpool", spec.name))
                else:
                    convs[spec.name] = nn.Conv2d(spec.c_out, spec.c_in, spec.kernel, padding=spec.padding)
                    self.steps.append(("conv", spec.name))
        self.convs = nn.ModuleDict(convs).to_empty(device="cpu")
        self.pools = [name for kind, name in self.steps if kind == "unpool"]
        self.code_channels = next(s.c_out for s in reversed(specs[: stop + 1]) if isinstance(s, Conv))
        with torch.no_grad():
            for p in self.parameters():
                p.zero_()
        self.to(memory_format=torch.channels_last)  # NHWC weights, as the encoder's

    def reset_parameters(self, generator: torch.Generator) -> WhatWhereDecoder:
        """He-normal weights (std sqrt(2 / fan_in)) drawn from `generator`, zero biases."""
        check_generator(generator)
        with torch.no_grad():
            for conv in self.convs.values():
                fan_in = conv.weight[0].numel()
                w = torch.randn(conv.weight.shape, generator=generator, dtype=conv.weight.dtype)
                conv.weight.copy_(w * math.sqrt(2.0 / fan_in))
                conv.bias.zero_()
        return self

    def forward(self, code, switches) -> torch.Tensor:
        h = as_tensor(code, "code")
        switches = switches.switches if isinstance(switches, Activations) else switches
        if h.dim() != 4 or h.shape[1] != self.code_channels:
            raise ValueError(
                f"code: expected a {self.layer} code (B, {self.code_channels}, h, w), got {tuple(h.shape)}"
            )
        if not isinstance(switches, dict) or any(p not in switches for p in self.pools):
            have = sorted(switches) if isinstance(switches, dict) else type(switches).__name__
            raise ValueError(f"switches: expected the encoder's switches of {self.pools}, got {have}")
        check_finite(h, "code")
        h = h.contiguous(memory_format=torch.channels_last)  # as the encoder (FeatureNet): faster convolutions
        last = self.steps[-1][1]
        for kind, name in self.steps:
            if kind == "unpool":
                idx = switches[name]
                if tuple(idx.shape) != tuple(h.shape):
                    raise ValueError(
                        f"switches: {name}'s switches have shape {tuple(idx.shape)}, but the "
                        f"code reaching it has {tuple(h.shape)}"
                    )
                h = F.max_unpool2d(h, idx, 2, stride=2, output_size=(2 * h.shape[-2], 2 * h.shape[-1]))
            else:
                h = self.convs[name](h)
                if name != last:
                    h = F.relu(h)
        return h


def decoder_manifest(directory=None) -> dict:
    """The manifest of trained decoders in `directory` (default: the shipped ones): {"layers":
    {layer: {"file", "sha256", "config", "steps", "train_loss", "holdout_error", ...}}}."""
    path = Path(TRAINED_DIR if directory is None else directory) / DECODER_MANIFEST
    if not path.is_file():
        return {"layers": {}}
    return json.loads(path.read_text())


def load_decoder(layer: str, directory=None) -> WhatWhereDecoder:
    """The trained what-where decoder of `layer` ("pool1" ... "pool4"), float32, in eval mode,
    from the shipped weights (or `directory`), after checking the file's sha256 against the
    manifest."""
    check_choice(layer, "layer", DECODER_LAYERS)
    folder = Path(TRAINED_DIR if directory is None else directory)
    entry = decoder_manifest(folder)["layers"].get(layer)
    hint = "run `make decoders` to train the decoders (about 80 minutes on 2 CPU cores)"
    if entry is None:
        raise FileNotFoundError(f"layer: no trained {layer} decoder in {folder / DECODER_MANIFEST}; {hint}")
    path = folder / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(f"layer: the {layer} decoder's weights {path} are missing; {hint}")
    digest = sha256(path)
    if digest != entry["sha256"]:
        raise ValueError(
            f"layer: the {layer} decoder's weights {path} are corrupt (sha256 {digest[:12]}..., "
            f"manifest {entry['sha256'][:12]}...); {hint}"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    decoder = WhatWhereDecoder(layer)
    decoder.load_state_dict({k: v.float() for k, v in state.items()})
    decoder.requires_grad_(False)
    return decoder.eval()


@dataclass
class Unpool:
    """Max unpooling with the encoder's switches: (B, C, h, w) -> (B, C, H, W)."""

    switches: torch.Tensor
    size: tuple[int, int]
    kernel: int = 2


@dataclass
class ConvT:
    """ReLU, then the transposed convolution with the encoder's filters (out, in, l, l):
    (B, out, ...) -> (B, in, ...)."""

    weight: torch.Tensor
    stride: int = 1
    padding: int = 0


def deconvnet(code, steps: list) -> torch.Tensor:
    """Apply a list of `Unpool` / `ConvT` steps to a code, in order (top layer first)."""
    x = as_tensor(code, "code")
    for step in steps:
        if isinstance(step, Unpool):
            x = F.max_unpool2d(x, step.switches, step.kernel, stride=step.kernel, output_size=step.size)
        elif isinstance(step, ConvT):
            conv_t = F.conv_transpose2d if step.weight.dim() == 4 else F.conv_transpose1d
            x = conv_t(torch.relu(x), step.weight.to(x.dtype), stride=step.stride, padding=step.padding)
        else:
            raise TypeError(f"steps: expected Unpool or ConvT items, got {type(step).__name__}")
    return x


def vgg_deconvnet_steps(net: FeatureNet, act: Activations, layer: str) -> list:
    """The tied decoding path of VGG16 from `layer` (a pool or conv name) down to pixels, using
    the switches recorded in `act` (the encoder's forward pass of the original image)."""
    if net.architecture != "vgg16":
        raise ValueError(
            f"net: the tied deconvnet is built for VGG16 (same-size convolutions, non-overlapping "
            f"pooling), got {net.architecture}"
        )
    stop = net.layer_names.index(net.spec(layer, "layer").name)
    steps = []
    for spec in reversed(net.layers[: stop + 1]):
        if isinstance(spec, Conv):
            steps.append(ConvT(net.convs[spec.name].weight, padding=spec.padding))
        else:
            if spec.name not in act.switches:
                raise ValueError(f"act: has no switches for {spec.name}; run the encoder up to {layer}")
            steps.append(Unpool(act.switches[spec.name], tuple(act.post[net.conv_before(spec.name)].shape[-2:])))
    return steps


def vgg_deconvnet(net: FeatureNet, act: Activations, code, layer: str) -> torch.Tensor:
    """Decode `code` (the shape of `layer`'s output) to an image in the network's input space
    (B, 3, H, W)."""
    return deconvnet(code, vgg_deconvnet_steps(net, act, layer))


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Squared-gradient total variation per image: sum of squared horizontal and vertical
    differences, (B, C, H, W) -> (B,)."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).pow(2).flatten(1).sum(1)
    dw = (x[..., :, 1:] - x[..., :, :-1]).pow(2).flatten(1).sum(1)
    return dh + dw


@dataclass(frozen=True)
class InversionResult:
    """image: (B, 3, H, W) images in the network's input space; loss: (iterations + 1,) total objective, from
    the start; match: (B,) final relative activation mismatch ||phi(x) - a|| / ||a||."""

    image: torch.Tensor
    loss: torch.Tensor
    match: torch.Tensor


def invert_by_optimization(
    net: FeatureNet,
    target,
    layer: str,
    image_shape: tuple[int, int],
    *,
    generator: torch.Generator,
    n_iter: int = 50,
    tv_weight: float = 0.05,
    image_scale: float | None = None,
    step: float | None = None,
) -> InversionResult:
    """Find images x with phi_layer(x) close to `target` (B, C, h, w) by minimising

        sum_b ||phi(x_b) - a_b||^2 / ||a_b||^2 + tv_weight * TV(x_b) / (H W image_scale^2)

    from small seeded noise, by gradient descent with a diagonal (RMSprop-style) preconditioner
    and backtracking: a step is taken only if it lowers the objective (Armijo condition), else
    halved; after an accepted step it grows by 1.5. So the objective never increases, at one
    forward and backward pass per trial. image_scale is the typical pixel deviation of an image
    in the network's input space (default: 60 grey levels, `InputConvention.typical_deviation`),
    so tv_weight is scale-free; `step` is the initial step per pixel (default image_scale / 60,
    one grey level).
    """
    check_generator(generator)
    layer = net.spec(layer, "layer").name
    image_scale = net.convention.typical_deviation() if image_scale is None else float(image_scale)
    step = image_scale / 60.0 if step is None else float(step)
    n_iter = check_int(n_iter, "n_iter")
    target = as_tensor(target, "target").detach()
    H, W = image_shape
    norms = target.flatten(1).pow(2).sum(1).clamp_min(1e-12)

    def value_and_grad(x):
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            act = net(x, upto=layer)
            phi = act.output(layer)
            mismatch = (phi - target).flatten(1).pow(2).sum(1) / norms
            loss = (mismatch + tv_weight * total_variation(x) / (H * W * image_scale**2)).sum()
            (grad,) = torch.autograd.grad(loss, x)
        return float(loss.detach()), grad, mismatch.detach().sqrt()

    x = torch.randn(target.shape[0], 3, H, W, generator=generator).to(target.device) * 0.1 * image_scale
    loss, grad, match = value_and_grad(x)
    losses = [loss]
    sq = grad.pow(2)
    for _ in range(n_iter):
        # RMSprop-style diagonal preconditioning: a descent direction, so Armijo still applies
        sq = 0.9 * sq + 0.1 * grad.pow(2)
        direction = grad / (sq.sqrt() + 1e-12 * float(sq.sqrt().max()) + 1e-30)
        slope = float((grad * direction).sum())
        for _ in range(30):  # backtracking line search
            trial = x - step * direction
            t_loss, t_grad, t_match = value_and_grad(trial)
            if t_loss <= loss - 1e-4 * step * slope:
                x, loss, grad, match = trial, t_loss, t_grad, t_match
                step *= 1.5
                break
            step *= 0.5
        losses.append(loss)
    return InversionResult(image=x, loss=torch.tensor(losses), match=match)
