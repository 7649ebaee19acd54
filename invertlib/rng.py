"""Explicit random generators. invertlib keeps no global random state: every function that
draws takes a `generator`, and notebooks derive all generators from their `seed` parameter."""

from __future__ import annotations

import numbers

import numpy as np
import torch


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch.Generator on `device` seeded with `seed` (an integer >= 0)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    try:
        gen = torch.Generator(device=device)
    except RuntimeError as exc:
        raise ValueError(f"device: expected a torch device such as 'cpu' or 'cuda', got {device!r}") from exc
    gen.manual_seed(int(seed))
    return gen


def numpy_generator(seed: int) -> np.random.Generator:
    """A numpy Generator (PCG64) seeded with `seed` (an integer >= 0)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    return np.random.default_rng(int(seed))


def check_generator(generator, name: str = "generator") -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{name}: expected a torch.Generator (see invertlib.rng.torch_generator), got {type(generator).__name__}"
        )
    return generator


def spawn_seed(seed: int, *keys: int) -> int:
    """A seed for the draws of item `keys` (an image's index, say) of a run seeded with `seed`:
    numpy's SeedSequence hash of (seed, *keys), so every item has its own independent stream and
    the item's draws do not depend on which process, batch or order handles it."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    if not all(isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 0 for k in keys):
        raise ValueError(f"keys: expected integers >= 0, got {keys!r}")
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1, np.uint64)[0] >> 1)
