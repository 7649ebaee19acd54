"""Input validation shared by the library: every error names the argument, what was expected
and what came (scikit-learn style)."""

from __future__ import annotations

import numbers

import numpy as np
import torch


def to_numpy(x) -> np.ndarray:
    """A tensor on any device (or an array) as a NumPy array: detached and copied to the host first,
    because NumPy cannot read device memory."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def as_tensor(x, name: str) -> torch.Tensor:
    """Accept a torch tensor or a numpy array; anything else is an error naming `name`."""
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    raise TypeError(f"{name}: expected a torch.Tensor or numpy.ndarray, got {type(x).__name__}")


def check_real(x: torch.Tensor, name: str) -> torch.Tensor:
    """float32 or float64 only: complex, integer, boolean and half-precision values are refused,
    because every routine here would silently misread or truncate them."""
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name}: expected real floating-point values (float32 or float64), got {x.dtype}")
    return x


def check_nonempty(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.numel() == 0:
        raise ValueError(f"{name}: expected at least one value, got an empty tensor of shape {tuple(x.shape)}")
    return x


def real_tensor(x, name: str, *, finite: bool = True) -> torch.Tensor:
    """The common checks of an array argument: a tensor (or numpy array) of float32/float64,
    not empty, and (by default) finite."""
    x = check_nonempty(check_real(as_tensor(x, name), name), name)
    if finite:
        check_finite(x, name)
    return x


def has_values(x: torch.Tensor) -> bool:
    """False on the "meta" device, where tensors have shapes but no values: checks of values are
    skipped there, so that shape propagation (and device-agnostic code paths) can be tested."""
    return x.device.type != "meta"


def check_nonzero(norms: torch.Tensor, name: str, what: str, consequence: str) -> None:
    """The one error for zero samples: norms (...) of the `what` (samples, codes, filters) of `name`;
    any zero is refused, naming the first ten indices and `consequence` (why zero is undefined)."""
    zero = norms.reshape(-1) == 0
    if has_values(norms) and bool(zero.any()):
        raise ValueError(f"{name}: {what} {torch.nonzero(zero).flatten().tolist()[:10]} are zero; {consequence}")


def check_choice(value, name: str, choices):
    """`value` if it is one of `choices`, else the one error naming them all."""
    choices = tuple(choices)
    if not any(value is c or (type(value) is type(c) and value == c) for c in choices):
        raise ValueError(f"{name}: expected one of {choices}, got {value!r}")
    return value


def check_finite(x: torch.Tensor, name: str) -> None:
    if x.is_floating_point() and has_values(x) and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf entries")


def check_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def check_trailing_shape(x: torch.Tensor, name: str, expected: tuple[int, ...], what: str) -> None:
    """x must end in `expected`; any leading (batch) dimensions are allowed."""
    k = len(expected)
    if x.dim() < k or tuple(x.shape[x.dim() - k :]) != tuple(expected):
        raise ValueError(
            f"{name}: expected shape (..., {', '.join(map(str, expected))}) ({what}), got {tuple(x.shape)}"
        )


def check_dtype(x: torch.Tensor, name: str, dtype: torch.dtype, owner: str) -> None:
    if x.dtype != dtype:
        raise TypeError(
            f"{name}: expected dtype {dtype} (the dtype of {owner}), got {x.dtype}; convert it with .to({dtype})"
        )


def check_values(x, name: str, *, low=None, high=None, low_open=False, high_open=False, integer=False):
    """A number or array of real numbers, finite, inside [low, high] (an end excluded where
    low_open / high_open), whole numbers if `integer`; returned as a float array. The message
    names `name`, the range and the first offending value."""
    if isinstance(x, torch.Tensor):
        x = to_numpy(x)
    try:
        a = np.asarray(x, dtype=float) if not isinstance(x, (str, bytes)) else None
    except (TypeError, ValueError):
        a = None
    if a is None or np.asarray(x).dtype.kind not in "biuf" or np.asarray(x).dtype.kind == "b":
        raise TypeError(f"{name}: expected a real number or an array of them, got {x!r}")
    ends = ("(" if low_open else "[") + f"{low}, {high}" + (")" if high_open else "]")
    what = ("a whole number" if integer else "a number") + (
        f" in {ends}" if low is not None or high is not None else ""
    )
    bad = ~np.isfinite(a)
    if low is not None:
        bad |= (a <= low) if low_open else (a < low)
    if high is not None:
        bad |= (a >= high) if high_open else (a > high)
    if integer:
        bad |= np.isfinite(a) & (a != np.round(a))
    if bad.any():
        raise ValueError(
            f"{name}: expected {what}, got {a[bad].flat[0]!r}" + (f" (of {a.size} values)" if a.size > 1 else "")
        )
    return a
