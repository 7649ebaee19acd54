"""Reconstruction metrics: relative errors in code, signal and image space (Table 3), PSNR.

Tensors may live on any device; the NumPy results are computed from CPU copies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio

from .checks import as_tensor, check_nonzero, real_tensor, to_numpy


def relative_error(estimate, reference) -> torch.Tensor:
    """Per-sample ||estimate - reference||_2 / ||reference||_2 over a batch: (B, ...) -> (B,)."""
    estimate, reference = real_tensor(estimate, "estimate"), real_tensor(reference, "reference")
    if estimate.shape != reference.shape:
        raise ValueError(
            f"estimate: expected the shape of reference {tuple(reference.shape)}, got {tuple(estimate.shape)}"
        )
    check_nonzero(
        norms := reference.flatten(1).norm(dim=1), "reference", "samples", "their relative error is undefined"
    )
    return (estimate - reference).flatten(1).norm(dim=1) / norms


def rescale_to(estimate, reference) -> torch.Tensor:
    """Each estimate scaled to the l2 norm of its reference (Section 4.4, step 3: x_hat is
    rescaled to ||x|| before decoding): (B, ...) -> (B, ...). A zero estimate is an error."""
    estimate, reference = real_tensor(estimate, "estimate"), real_tensor(reference, "reference")
    if estimate.shape != reference.shape:
        raise ValueError(
            f"estimate: expected the shape of reference {tuple(reference.shape)}, got {tuple(estimate.shape)}"
        )
    check_nonzero(norms := estimate.flatten(1).norm(dim=1), "estimate", "samples", "they cannot be rescaled")
    scale = reference.flatten(1).norm(dim=1) / norms
    return estimate * scale.view((-1,) + (1,) * (estimate.dim() - 1))


def fitted_image_error(decoded, original) -> torch.Tensor:
    """Relative error of a decoded image after the best gain and offset per colour channel:

        min_{a_c, b_c} ||a_c d_c + b_c - x_c|| / ||x_c - mean(x_c)||   (norms over all channels)

    decoded, original: (B, C, H, W). Neither offline decoder restores absolute colour and
    brightness (the tied deconvnet has no biases, the inversion starts from grey), so both are
    compared on structure; 0 is perfect, 1 is no better than a flat image.
    """
    fitted = fit_to(decoded, original)  # checks both: (B, C, H, W) of the same shape
    x = as_tensor(original, "original")
    xc = x - x.mean(dim=(2, 3), keepdim=True)
    norms = xc.flatten(1).norm(dim=1)
    check_nonzero(norms, "original", "images", "a constant image has no structure to compare against")
    return (fitted - x).flatten(1).norm(dim=1) / norms


def fit_to(decoded, original) -> torch.Tensor:
    """The decoded image after the per-channel gain and offset of `fitted_image_error`."""
    d, x = as_tensor(decoded, "decoded"), as_tensor(original, "original")
    if d.shape != x.shape or d.dim() != 4:
        raise ValueError(f"decoded: expected the shape of original (B, C, H, W) {tuple(x.shape)}, got {tuple(d.shape)}")
    dc = d - d.mean(dim=(2, 3), keepdim=True)
    xc = x - x.mean(dim=(2, 3), keepdim=True)
    gain = (dc * xc).sum(dim=(2, 3), keepdim=True) / dc.pow(2).sum(dim=(2, 3), keepdim=True).clamp_min(1e-12)
    return gain * dc + x.mean(dim=(2, 3), keepdim=True)


def psnr(decoded, original) -> np.ndarray:
    """Peak signal-to-noise ratio in dB per image (scikit-image), 10 log10(1 / MSE), of RGB
    images in [0, 1]: decoded, original (B, H, W, 3) -> (B,)."""
    # detached: a score, never part of a graph (a decoder under training may hand in its output)
    d, x = real_tensor(decoded, "decoded").detach(), real_tensor(original, "original").detach()
    if d.shape != x.shape or d.dim() != 4:
        raise ValueError(f"decoded: expected the shape of original (B, H, W, 3) {tuple(x.shape)}, got {tuple(d.shape)}")
    if x.shape[-1] not in (1, 3):
        raise ValueError(f"original: expected channels-last RGB (B, H, W, 3) images, got {tuple(x.shape)}")
    for name, t in (("decoded", d), ("original", x)):
        if float(t.min()) < 0 or float(t.max()) > 1:
            raise ValueError(
                f"{name}: expected RGB values in [0, 1] (clip a decoded image first), got [{float(t.min()):.3g}, "
                f"{float(t.max()):.3g}]"
            )
    d, x = _numpy(d), _numpy(x)
    return np.array([peak_signal_noise_ratio(x[j], d[j], data_range=1.0) for j in range(len(x))])


def _numpy(t: torch.Tensor) -> np.ndarray:
    return to_numpy(t.double())  # NumPy sees host memory only: a device tensor is copied first


@dataclass(frozen=True)
class ImageScores:
    """Table 3's three image-space numbers, each (B,): error (relative error in the network's input
    space), fitted (`fitted_image_error`) and psnr (dB, on RGB in [0, 1])."""

    error: np.ndarray
    fitted: np.ndarray
    psnr: np.ndarray


def image_scores(decoded, original, decoded_rgb, original_rgb) -> ImageScores:
    """Table 3's three image-space numbers per image: the relative error and `fitted_image_error`,
    both on decoded, original (B, C, H, W) in the network's input space, and `psnr` on
    decoded_rgb, original_rgb (B, H, W, 3) in [0, 1]."""
    return ImageScores(
        error=_numpy(relative_error(decoded, original)),
        fitted=_numpy(fitted_image_error(decoded, original)),
        psnr=psnr(decoded_rgb, original_rgb),
    )
