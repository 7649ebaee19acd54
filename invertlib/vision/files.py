"""Files on disk: where the package's data and the offline packages' files are, which images a
folder holds, checksums, a restricted unpickler, and writes that are never left half done.

Every module of the networks-and-data layer (and the companion's figures and claims) reads and
writes files through these few functions, so that each rule (a checksum before unpickling, a
file moved into place only when complete, one set of image suffixes) is stated once.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np

# The shipped decoder weights and the manifests of their training corpus (package data).
TRAINED_DIR = Path(__file__).resolve().parent / "trained"

# Image files are recognised by suffix, whatever its case (.jpg, .JPEG, .Png ...).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

# The only globals a checkpoint of numpy arrays needs. numpy 2 moved numpy.core to numpy._core;
# old pickles name the former, so both spellings map to the same function.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only numpy arrays inside builtin containers: any other
    global a pickle names (a function to call, a class to build) is refused before it is looked up.
    Used for the weight checkpoints and for CIFAR-10's python batches."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: this file may only contain numpy arrays, numbers and "
                f"strings in dicts, lists and tuples"
            ) from None


def sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_sha256(path: Path, expected: str) -> None:
    got = sha256(path)
    if got != expected:
        raise ValueError(
            f"path: {path} has sha256 {got}, expected {expected}: the file is corrupt or not "
            f"the published checkpoint; reinstall its package"
        )


def restricted_load(path: str | Path, expected_sha256: str | None = None):
    """Unpickle `path` with `RestrictedUnpickler`, after checking its sha256 when one is given."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no checkpoint file at {path}")
    if expected_sha256 is not None:
        check_sha256(path, expected_sha256)
    with open(path, "rb") as f:
        return RestrictedUnpickler(f).load()


def package_dir(package: str, requirement: str, what: str) -> Path:
    """The folder of an installed package found without importing it (the data-only packages are
    installed with --no-deps: importing them would fail). `requirement` (e.g. "foolbox==3.3.4")
    and `what` ("photos", "vgg16 weights") go into the error when it is missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"{what}: the package {requirement.split('==')[0]} is not installed; install it with "
            f"`.venv/bin/pip install --no-deps {requirement}` (`make env` does this; --no-deps keeps its "
            f"heavy dependencies out)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def image_files(image_dir, *, recursive: bool = False) -> list[Path]:
    """The JPEG/PNG files in `image_dir` (suffix of any case), sorted by path; with `recursive`,
    in every folder below it too. An empty result is an error."""
    folder = Path(image_dir).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"image_dir: {folder} is not a directory")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(p for p in candidates if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"image_dir: no JPEG or PNG images {'under' if recursive else 'in'} {folder}")
    return files


def json_safe(value):
    """`value` with every float that JSON cannot hold (NaN, inf, -inf) replaced by the strings
    "nan", "inf" and "-inf" (what Python's float() reads back), in dicts, lists and tuples, so the
    file is standard JSON (json.dumps(..., allow_nan=False) never fails on it)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def write_json(path: str | Path, record, *, indent: int | None = 1) -> Path:
    """Write `record` as standard JSON (non-finite floats as strings, `json_safe`) to `path`,
    atomically (`atomic_write`)."""
    text = json.dumps(json_safe(record), indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_json(path: str | Path, what: str = "path"):
    """The JSON document in `path`; a missing, truncated or malformed file is an error that names
    the file (`what`: the argument or the kind of file, first in the message)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no file at {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what}: {path} is not a complete JSON file ({exc}); rewrite or delete it") from exc


def _mode() -> int:
    # mkstemp creates files 0600; a finished file gets the mode a plain open() would (0666 less the umask)
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, write) -> Path:
    """Call write(tmp_path) and move the result onto `path` only if it succeeded, so a crash
    never leaves a half-written file behind (the temporary file is removed on any failure)."""
    return atomic_write_all({Path(path): write})[0]


def atomic_write_all(writers: dict) -> list[Path]:
    """{path: write} written together: every write(tmp_path) runs first, and the files are moved
    into place only when all of them succeeded (a figure's PNG and PDF never disagree).

    A write that leaves its file empty is a failure (nothing is published). Each file is flushed to
    disk (fsync) before it is renamed and its folder after, so a finished file survives a power
    loss. The checks of this function name the destination, not the hidden temporary file (an
    exception raised by `write` itself is passed on as it is)."""
    tmps = {}
    try:
        for path, write in writers.items():
            path = Path(path)
            if not path.parent.is_dir():
                raise FileNotFoundError(f"path: cannot write {path}: its folder {path.parent} does not exist")
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
            except PermissionError:
                raise PermissionError(f"path: cannot write {path}: no permission to write in {path.parent}") from None
            os.close(fd)
            tmps[path] = Path(tmp)
            write(tmps[path])
            if tmps[path].stat().st_size == 0:
                raise ValueError(f"write: wrote nothing for {path}; an empty file is not published")
            os.chmod(tmps[path], _mode())
            _fsync(tmps[path])
        for path, tmp in tmps.items():
            os.replace(tmp, path)
        for folder in {p.parent for p in tmps}:
            _fsync(folder)
    except BaseException:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
        raise
    return list(tmps)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot fsync a folder; the file itself was synced
        pass
    finally:
        os.close(fd)
