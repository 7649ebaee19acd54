"""Decoders from activations back to images.

The paper decodes with the pretrained what-where decoders of Zhang, Lee & Lee (ICML 2016), which
cannot be obtained here. We train our own (`WhatWhereDecoder`, `load_decoder`; trained by
`make decoders`, see `invertlib.vision.train_decoders`):

* **what-where decoder** for pool(1) ... pool(4) of VGG16: unpool with the encoder's own max
  pooling switches ("where"), then 3 x 3 convolutions with ReLU mirroring the encoder's block in
  reverse (conv(b, n) -> ... -> conv(b, 1): a conv c_in -> c_out becomes c_out -> c_in), block by
  block down to an RGB image in the encoder's normalised input space; untied weights, no ReLU
  after the last convolution. pool(4): 10 convolutions, 7.6 M parameters.

Variants of it (the paper's limitation 5 and the decoders' robustness off the manifold of true
activations; trained by `make decoders`, loaded by `load_decoder(layer, variant=...)`):

* ``switches=False``: the same convolutions, but every unpooling puts each value at a fixed
  position (the top-left of its 2 x 2 region, as the stacked auto-encoder of Zhang et al. does),
  so the decoder needs no switches: what the switches carry is the difference;
* ``rectify=True``: the decoder sees max(code, 0) (a true pool activation is never negative).

`local_lipschitz` (and the gains `layerwise.decode_codes` records) measure how much a decoder amplifies
codes off that manifold.

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

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..checks import as_tensor, check_choice, check_finite, check_int, check_nonzero, real_tensor
from ..rng import check_generator
from .files import TRAINED_DIR, read_json, sha256
from .networks import ARCHITECTURES, Activations, Conv, FeatureNet, Pool

DECODER_LAYERS = ("pool1", "pool2", "pool3", "pool4")
DECODER_MANIFEST = "decoders.json"
PAPER_FAITHFUL = "faithful"  # the variant trained on true activations only, as the paper's decoders


def fixed_switches(shape, device=None) -> torch.Tensor:
    """Unpooling indices (B, C, h, w) that put every value at the top-left of its 2 x 2 region of the
    (2h, 2w) output, in `F.max_unpool2d`'s flat per-channel indexing: row 2i, column 2j -> 2i * 2w + 2j."""
    if len(shape) != 4:
        raise ValueError(f"shape: expected (B, C, h, w), got {tuple(shape)}")
    h, w = int(shape[-2]), int(shape[-1])
    rows = torch.arange(h, device=device).mul(2 * 2 * w).view(h, 1)
    cols = torch.arange(w, device=device).mul(2).view(1, w)
    return (rows + cols).expand(*shape).contiguous()


class WhatWhereDecoder(nn.Module):
    """The what-where decoder of one VGG16 pool layer: (code (B, C, h, w), switches) -> image
    (B, 3, H, W) in the encoder's normalised input space.

    layer: "pool1" ... "pool4". switches: the encoder's `Activations` of the original image, or
    its dict {pool name: indices}; every pool at or below `layer` is needed. With
    ``switches=False`` the decoder unpools to fixed positions (`fixed_switches`) and its forward's
    switches may be None (they are ignored); with ``rectify=True`` it decodes max(code, 0).
    Parameters are zero until `reset_parameters(generator)` (He-normal, seeded) or a state dict is
    loaded, so construction never draws from torch's global generator."""

    def __init__(self, layer: str = "pool4", *, switches: bool = True, rectify: bool = False):
        super().__init__()
        check_choice(layer, "layer", DECODER_LAYERS)
        for name, flag in (("switches", switches), ("rectify", rectify)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name}: expected True or False, got {flag!r}")
        self.uses_switches, self.rectify = switches, rectify
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

    @property
    def architecture(self) -> dict:
        """The constructor's flags, as the manifest records them."""
        return dict(switches=self.uses_switches, rectify=self.rectify)

    def forward(self, code, switches=None) -> torch.Tensor:
        h = as_tensor(code, "code")
        switches = switches.switches if isinstance(switches, Activations) else switches
        if h.dim() != 4 or h.shape[1] != self.code_channels:
            raise ValueError(
                f"code: expected a {self.layer} code (B, {self.code_channels}, h, w), got {tuple(h.shape)}"
            )
        if self.uses_switches and (not isinstance(switches, dict) or any(p not in switches for p in self.pools)):
            have = sorted(switches) if isinstance(switches, dict) else type(switches).__name__
            raise ValueError(f"switches: expected the encoder's switches of {self.pools}, got {have}")
        check_finite(h, "code")
        dtype = next(self.parameters()).dtype
        if h.dtype != dtype:
            raise TypeError(
                f"code: expected {dtype} codes (the decoder's dtype), got {h.dtype}; convert with .to({dtype})"
            )
        if self.rectify:
            h = h.clamp_min(0)
        h = h.contiguous(memory_format=torch.channels_last)  # as the encoder (FeatureNet): faster convolutions
        last = self.steps[-1][1]
        for kind, name in self.steps:
            if kind == "unpool":
                idx = switches[name] if self.uses_switches else fixed_switches(h.shape, h.device)
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
    {layer: {"file", "sha256", "config", "steps", "train_loss", "holdout_error", ...}}, "variants":
    {variant: {layer: {..., "architecture": {"switches", "rectify"}}}}}; "layers" holds the
    paper-faithful decoders."""
    path = Path(TRAINED_DIR if directory is None else directory) / DECODER_MANIFEST
    manifest = read_json(path, "directory") if path.is_file() else {}
    manifest.setdefault("layers", {})
    manifest.setdefault("variants", {})
    return manifest


def decoder_entry(layer: str, variant: str = PAPER_FAITHFUL, directory=None) -> dict | None:
    """The manifest entry of one trained decoder, or None if there is none."""
    manifest = decoder_manifest(directory)
    if variant == PAPER_FAITHFUL:
        return manifest["layers"].get(layer)
    return manifest["variants"].get(variant, {}).get(layer)


def load_decoder(layer: str, directory=None, variant: str = PAPER_FAITHFUL) -> WhatWhereDecoder:
    """The trained decoder of `layer` ("pool1" ... "pool4"), float32, in eval mode, from the
    shipped weights (or `directory`), after checking the file's sha256 against the manifest.
    variant: "faithful" (the paper's kind, trained on true activations) or a variant the manifest
    lists (`decoder_manifest()["variants"]`)."""
    check_choice(layer, "layer", DECODER_LAYERS)
    folder = Path(TRAINED_DIR if directory is None else directory)
    known = [PAPER_FAITHFUL, *decoder_manifest(folder)["variants"]]
    if not isinstance(variant, str) or variant not in known:
        raise ValueError(
            f"variant: expected one of {known} (the manifest {folder / DECODER_MANIFEST}), got {variant!r}"
        )
    entry = decoder_entry(layer, variant, folder)
    hint = "run `make decoders` to train the decoders (about two hours on 2 CPU cores, variants included)"
    if entry is None:
        raise FileNotFoundError(
            f"layer: no trained {layer} decoder of variant {variant!r} in {folder / DECODER_MANIFEST}; {hint}"
        )
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
    decoder = WhatWhereDecoder(layer, **entry.get("architecture", {}))
    decoder.load_state_dict({k: v.float() for k, v in state.items()})
    decoder.requires_grad_(False)
    return decoder.eval()


# the variants trained for robustness off the manifold (`train_decoders.VARIANTS`); "noswitch" answers
# another question (what the switches carry)
ROBUST_CANDIDATES = ("continued", "rectified", "decay", "robust", "robustrect")


def holdout_score(entry: dict) -> float:
    """A trained decoder's held-out corpus score: the mean of its relative errors decoding the held-out
    corpus photos' true activations (``holdout_error``) and their one-step IHT estimates
    (``holdout_estimate_error``); both are measured by `make decoders`."""
    missing = [k for k in ("holdout_error", "holdout_estimate_error") if k not in entry]
    if missing:
        raise ValueError(f"entry: the manifest entry has no {missing}; retrain it with `make decoders`")
    return (float(entry["holdout_error"]) + float(entry["holdout_estimate_error"])) / 2


def robust_choice(layer: str, directory=None, candidates=ROBUST_CANDIDATES) -> str:
    """The variant among `candidates` with a `layer` decoder and the lowest `holdout_score`: chosen on
    the decoders' held-out corpus photos, never on the photographs a notebook evaluates."""
    check_choice(layer, "layer", DECODER_LAYERS)
    if isinstance(candidates, str) or not all(isinstance(v, str) for v in candidates) or not candidates:
        raise ValueError(f"candidates: expected a non-empty list of variant names, got {candidates!r}")
    known = [PAPER_FAITHFUL, *decoder_manifest(directory)["variants"], *ROBUST_CANDIDATES]
    unknown = [v for v in candidates if v not in known]
    if unknown:
        raise ValueError(f"candidates: {unknown} are not variants (known: {sorted(set(known))})")
    have = {v: decoder_entry(layer, v, directory) for v in candidates}
    scores = {v: holdout_score(e) for v, e in have.items() if e is not None}
    if not scores:
        raise FileNotFoundError(
            f"layer: none of the variants {list(candidates)} has a trained {layer} decoder; run `make decoders`"
        )
    return min(scores, key=scores.get)


def variant_table(directory=None) -> list[dict]:
    """One row per trained decoder of the manifest (the faithful ones first, then every variant):
    variant, layer, steps, train_loss, holdout_error, holdout_estimate_error (None where not
    recorded), score (`holdout_score`, None likewise), wall_s and, for "decay", the chosen weight
    decay."""
    manifest = decoder_manifest(directory)
    entries = [(PAPER_FAITHFUL, layer, e) for layer, e in manifest["layers"].items()]
    entries += [(v, layer, e) for v, layers in manifest["variants"].items() for layer, e in layers.items()]
    rows = []
    for variant, layer, e in entries:
        estimate = e.get("holdout_estimate_error")
        rows.append(
            dict(
                variant=variant,
                layer=layer,
                steps=e.get("steps"),
                train_loss=e.get("train_loss"),
                holdout_error=e.get("holdout_error"),
                holdout_estimate_error=estimate,
                score=None if estimate is None else holdout_score(e),
                wall_s=e.get("wall_s"),
                weight_decay=e.get("config", {}).get("weight_decay"),
            )
        )
    return rows


def load_variants(layers, directory=None) -> dict:
    """{variant: {label: decoder}} for every variant in the manifest and every layer it has of
    `layers` ({label: "poolN"}, e.g. {1: "pool1"}), each loaded by `load_decoder`."""
    manifest = decoder_manifest(directory)
    return {
        variant: {label: load_decoder(layer, directory, variant) for label, layer in layers.items() if layer in have}
        for variant, have in manifest["variants"].items()
    }


def local_lipschitz(
    decoder: WhatWhereDecoder, code, switches=None, *, generator: torch.Generator, n_iter: int = 20
) -> torch.Tensor:
    """The decoder's relative local Lipschitz constant at each code x, (B,):

        L(x) = ||J(x)||_2 ||x|| / ||D(x)||,

    J(x) the Jacobian of the decoder at x (switches fixed; the decoder is piecewise linear, so J is
    the linear map it applies near x), ||J||_2 estimated by `n_iter` power iterations on J^T J per
    image (J^T J v by two vector-Jacobian products) from a Gaussian start drawn from `generator`
    (on the generator's device, shape of `code`). L bounds how much a small relative change of the code can
    change the image relatively; a lower estimate of it (power iteration converges from below)."""
    check_generator(generator)
    n_iter = check_int(n_iter, "n_iter")
    x = as_tensor(code, "code").detach()
    v = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=generator.device).to(x.device)
    params = [p.requires_grad for p in decoder.parameters()]
    decoder.requires_grad_(False)
    sigma = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    try:
        with torch.enable_grad():
            xg = x.clone().requires_grad_(True)
            y = decoder(xg, switches)
            u = torch.zeros_like(y, requires_grad=True)
            (jt_u,) = torch.autograd.grad(y, xg, u, create_graph=True)  # J^T u, linear in u
            for _ in range(n_iter):
                v = v / v.flatten(1).norm(dim=1).clamp_min(1e-30).view(-1, *[1] * (x.dim() - 1))
                (jv,) = torch.autograd.grad(jt_u, u, v, retain_graph=True)  # J v
                (v,) = torch.autograd.grad(y, xg, jv, retain_graph=True)  # J^T J v
                sigma = jv.flatten(1).norm(dim=1)
            out = y.detach().flatten(1).norm(dim=1)
    finally:
        for p, flag in zip(decoder.parameters(), params, strict=True):
            p.requires_grad_(flag)
    return (sigma * x.flatten(1).norm(dim=1) / out.clamp_min(torch.finfo(out.dtype).tiny)).detach()


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
    x = as_tensor(x, "x")
    if x.dim() != 4:
        raise ValueError(f"x: expected a batch of images (B, C, H, W), got shape {tuple(x.shape)}")
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
    for name, value in (("tv_weight", tv_weight), ("image_scale", image_scale), ("step", step)):
        low = "0 <= " if name == "tv_weight" else "0 < "
        if value is None and name != "tv_weight":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name}: expected a finite number, got {value!r}")
        if value < 0 or (value == 0 and name != "tv_weight"):
            raise ValueError(f"{name}: expected {low}{name}, got {value!r}")
    image_scale = net.convention.typical_deviation() if image_scale is None else float(image_scale)
    step = image_scale / 60.0 if step is None else float(step)
    n_iter = check_int(n_iter, "n_iter")
    target = real_tensor(target, "target").detach()
    if target.dim() != 4:
        raise ValueError(f"target: expected activations (B, C, h, w) of {layer}, got shape {tuple(target.shape)}")
    check_nonzero(target.flatten(1).norm(dim=1), "target", "activations", "a zero target has no relative mismatch")
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 2:
        raise ValueError(f"image_shape: expected (H, W), got {image_shape!r}")
    H, W = (check_int(v, "image_shape") for v in image_shape)
    norms = target.flatten(1).pow(2).sum(1)

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
