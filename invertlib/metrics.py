"""Reconstruction metrics."""

from __future__ import annotations

import torch

from ._checks import as_tensor


def relative_error(estimate, reference) -> torch.Tensor:
    """Per-sample ||estimate - reference||_2 / ||reference||_2 over a batch: (B, ...) -> (B,)."""
    estimate, reference = as_tensor(estimate, "estimate"), as_tensor(reference, "reference")
    if estimate.shape != reference.shape:
        raise ValueError(f"estimate: expected the shape of reference {tuple(reference.shape)}, "
                         f"got {tuple(estimate.shape)}")
    return (estimate - reference).flatten(1).norm(dim=1) / reference.flatten(1).norm(dim=1)
