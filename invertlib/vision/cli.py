"""Argument types of the package's commands (``python -m invertlib.vision.evaluate`` and
``python -m invertlib.vision.train_decoders``).

Each type checks its value when the command line is parsed, before any network, photo or
checkpoint is loaded; argparse turns its complaint into one line that names the option
("argument --steps: expected an integer >= 1, got 0") and exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (a step count, a batch, a shard size)."""
    return _int_at_least(text, 1)


def nonnegative_int(text: str) -> int:
    """An integer >= 0 (a seed, a number of worker processes)."""
    return _int_at_least(text, 0)


def crop_size(text: str) -> int:
    """A training crop side: a multiple of 16 (pool(4)'s maps are crop / 16 wide, and unpooling
    must restore every map exactly)."""
    value = _int_at_least(text, 16)
    if value % 16:
        raise argparse.ArgumentTypeError(f"expected a multiple of 16, got {value}")
    return value


def device(text: str) -> str:
    """ "cpu", "cuda" or "cuda:N", where torch sees that CUDA device."""
    if text == "cpu":
        return text
    if text != "cuda" and not (text.startswith("cuda:") and text[5:].isdigit()):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N, got {text!r}")
    if not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text} asked for, but torch sees no CUDA device on this machine")
    if text.startswith("cuda:") and int(text[5:]) >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"{text} asked for, but torch sees {torch.cuda.device_count()} CUDA device(s)")
    return text


def output_dir(text: str) -> Path:
    """A folder to write into: it may not exist yet, but must not be a file."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} exists and is not a folder")
    return path


def output_file(text: str) -> Path:
    """A file to write: not a folder, and its folder not a file."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    if path.parent.exists() and not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{path.parent} is not a folder")
    return path


def image_dir(text: str) -> Path:
    """An existing folder (of images)."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is not a folder")
    return path
