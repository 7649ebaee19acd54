"""Small CNN classifiers with frozen Gaussian random filters or fully learned ones (Table 1).

The paper's networks (Section 2.1, Table 1): 1-3 layers of convolution -> ReLU -> batch
normalisation -> 2x2 max pooling, then a classifier. With random filters the convolutions keep
their Gaussian initialisation and "only the last classifier layer" is trained; with learned
filters everything is trained.

Random-filter training is done the cheap, equivalent way: with the convolutions frozen, the
features are a fixed function of the image once batch normalisation's statistics are fixed, so
we estimate those statistics on the training set, compute the features once, and train the linear
classifier on them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..checks import check_int
from ..rng import check_generator


class ConvNet(nn.Module):
    """depth x [conv(ksize x ksize, width, same padding) -> ReLU -> BatchNorm -> 2x2 max pool],
    then a linear classifier. Conv weights are N(0, 1)/sqrt(fan_in) from `generator` (with batch
    normalisation after ReLU their scale does not matter). random_filters freezes them, and
    batch normalisation then has no learned affine part. The network is built on `device`."""

    def __init__(
        self,
        depth: int,
        width: int,
        ksize: int,
        in_channels: int,
        image_size: int,
        n_classes: int,
        *,
        generator: torch.Generator,
        random_filters: bool,
        device: str | torch.device = "cpu",
    ):
        super().__init__()
        depth, width, ksize = check_int(depth, "depth"), check_int(width, "width"), check_int(ksize, "ksize")
        in_channels, image_size = check_int(in_channels, "in_channels"), check_int(image_size, "image_size")
        n_classes = check_int(n_classes, "n_classes")
        if ksize % 2 == 0:
            raise ValueError(f"ksize: expected an odd filter size (same padding), got {ksize}")
        if image_size % 2**depth:
            raise ValueError(f"depth: {depth} poolings do not tile {image_size} x {image_size} images")
        check_generator(generator)
        self.random_filters = random_filters
        # nn.Conv2d and nn.Linear would initialise themselves from torch's global generator: build
        # every module on the meta device, then fill the parameters from `generator` alone.
        blocks, c, fan_in = [], in_channels, []
        with torch.device("meta"):
            for _ in range(depth):
                blocks += [
                    nn.Conv2d(c, width, ksize, padding=ksize // 2, bias=False),
                    nn.ReLU(),
                    nn.BatchNorm2d(width, affine=not random_filters, momentum=None),
                    nn.MaxPool2d(2),
                ]
                fan_in.append(c * ksize * ksize)
                c = width
            self.features = nn.Sequential(*blocks)
            n_feat = width * (image_size // 2**depth) ** 2
            self.classifier = nn.Linear(n_feat, n_classes)
        self.to_empty(device=device)  # the draws below come from `generator` (on its own device)
        with torch.no_grad():
            for conv, fan in zip(self.features[0::4], fan_in, strict=True):
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) / math.sqrt(fan))
                conv.weight.requires_grad_(not random_filters)
            for bn in self.features[2::4]:
                bn.reset_parameters()  # running statistics 0 / 1, affine weight 1 and bias 0: no random draw
            bound = 1 / math.sqrt(n_feat)
            self.classifier.weight.copy_(
                (torch.rand(self.classifier.weight.shape, generator=generator) * 2 - 1) * bound
            )
            self.classifier.bias.zero_()

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


@dataclass(frozen=True)
class FitResult:
    """A trained model, its training loss after every epoch and the training time in seconds."""

    model: ConvNet
    losses: list
    seconds: float = 0.0


@dataclass(frozen=True)
class TrainedConvNet:
    """`train_convnet`'s result: the trained net, the first convolution's filters before training
    (initial_filters, to check that random filters stayed frozen) and the `FitResult`."""

    net: ConvNet
    initial_filters: torch.Tensor
    fit: FitResult


def _batches(n: int, batch_size: int, generator: torch.Generator | None):
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


@torch.no_grad()
def _features(model: ConvNet, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    return torch.cat([model.features(x[idx]).flatten(1) for idx in _batches(len(x), batch_size, None)])


def fit(
    model: ConvNet,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    generator: torch.Generator,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
) -> FitResult:
    """Train with Adam and cross-entropy. Random filters: estimate the batch-norm statistics on x,
    cache the features, train the classifier only. Learned: train every parameter."""
    start = time.perf_counter()
    check_generator(generator)  # None would silently turn shuffling off
    epochs = check_int(epochs, "epochs")
    batch_size = check_int(batch_size, "batch_size")
    for name, value, zero_ok in (("lr", lr, False), ("weight_decay", weight_decay, True)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name}: expected a finite number, got {value!r}")
        if value < 0 or (value == 0 and not zero_ok):
            raise ValueError(f"{name}: expected {name} {'>=' if zero_ok else '>'} 0, got {value!r}")
    _check_labelled(model, x, y)
    losses = []
    if model.random_filters:
        model.train()
        with torch.no_grad():  # cumulative BN statistics over the training set
            for idx in _batches(len(x), batch_size, None):
                model.features(x[idx])
        model.eval()
        feats = _features(model, x, batch_size)
        params, forward, data = model.classifier.parameters(), model.classifier, feats
    else:
        model.train()
        params, forward, data = [p for p in model.parameters() if p.requires_grad], model, x
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        total = 0.0
        for idx in _batches(len(data), batch_size, generator):
            opt.zero_grad()
            loss = F.cross_entropy(forward(data[idx]), y[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(data))
    model.eval()
    return FitResult(model=model, losses=losses, seconds=time.perf_counter() - start)


def train_convnet(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    depth: int,
    ksize: int,
    width: int,
    random_filters: bool,
    generator: torch.Generator,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    n_classes: int = 10,
) -> TrainedConvNet:
    """Build a `ConvNet` for images x (N, C, S, S) from `generator` on x's device and `fit` it on
    (x, y); the result keeps the first convolution's filters before training, so that a caller can
    check that random filters stayed frozen."""
    net = ConvNet(
        depth,
        width,
        ksize,
        x.shape[1],
        x.shape[-1],
        n_classes,
        generator=generator,
        random_filters=random_filters,
        device=x.device,
    )
    init = net.features[0].weight.detach().clone()
    result = fit(net, x, y, generator=generator, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay)
    return TrainedConvNet(net=net, initial_filters=init, fit=result)


def _check_labelled(model: ConvNet, x: torch.Tensor, y: torch.Tensor) -> None:
    if len(x) == 0 or len(x) != len(y):
        raise ValueError(f"y: expected one label per image of x ({len(x)} images, at least one), got {len(y)}")
    n_classes = model.classifier.out_features
    if y.dtype != torch.long or int(y.min()) < 0 or int(y.max()) >= n_classes:
        raise ValueError(
            f"y: expected int64 class labels in 0..{n_classes - 1}, got {y.dtype} in [{y.min()}, {y.max()}]"
        )


@torch.no_grad()
def accuracy(model: ConvNet, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 512) -> float:
    """Fraction of correctly classified images (model in eval mode)."""
    batch_size = check_int(batch_size, "batch_size")
    _check_labelled(model, x, y)
    model.eval()
    correct = sum(int((model(x[idx]).argmax(1) == y[idx]).sum()) for idx in _batches(len(x), batch_size, None))
    return correct / len(x)


def prepare(
    images, *, mean: torch.Tensor | None = None, std: torch.Tensor | None = None, size: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """uint8 images (N, H, W) or (N, H, W, C) -> float (N, C, size, size), zero-padded evenly to
    `size` (28 x 28 Fashion-MNIST -> 32 x 32, so that three 2x2 poolings tile it) and standardised
    per channel with the given (training-set) mean and std, or its own. Returns (x, mean, std)."""
    # a copy: the IDX loader's arrays are read-only views of the file, which torch warns about
    x = images.clone() if isinstance(images, torch.Tensor) else torch.from_numpy(np.array(images))
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"images: expected integer pixel values 0-255 (uint8, as the loaders give), got {x.dtype}")
    if x.numel() and (int(x.min()) < 0 or int(x.max()) > 255):
        raise ValueError(f"images: expected pixel values 0-255, got values in [{int(x.min())}, {int(x.max())}]")
    if x.dim() not in (3, 4) or (x.dim() == 4 and x.shape[-1] not in (1, 3)):
        raise ValueError(
            f"images: expected (N, H, W) or channels-last (N, H, W, C) with C = 1 or 3, got {tuple(x.shape)}"
            + ("; for channels-first (N, C, H, W) pass images.permute(0, 2, 3, 1)" if x.dim() == 4 else "")
        )
    x = x.float() / 255.0
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
    if size is not None and size != x.shape[-1]:
        pad = size - x.shape[-1]
        if pad < 0 or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"size: cannot pad {tuple(x.shape[-2:])} images to {size} x {size}")
        x = F.pad(x, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))
    if mean is None:
        mean, std = x.mean(dim=(0, 2, 3), keepdim=True), x.std(dim=(0, 2, 3), keepdim=True)
        if len(x) == 0 or not bool((std > 0).all()):
            raise ValueError(
                "images: a channel is constant over every image (std 0), so it cannot be standardised; pass "
                "the training set's mean and std"
            )
    elif std is None or not bool((torch.as_tensor(std) > 0).all()):
        raise ValueError(f"std: expected positive per-channel standard deviations with mean, got {std!r}")
    return (x - mean) / std, mean, std
