"""The decoders' training corpus: natural photographs obtainable offline, disjoint from the
evaluation photos (foolbox's 20 ImageNet images), and the random crops drawn from them.

Sources (picked by looking at every candidate; drawings, logos, renders, charts, text and the
calibration chessboards were left out):

* scikit-image's photographs (in its wheel, CC0 / public domain);
* Debian packages: ``opencv-doc`` (examples/data, Apache-2.0 AND BSD-3-Clause),
  ``mate-backgrounds`` (nature/, GPL-2+), ``plasma-workspace-wallpapers`` (GPL-2+) and
  ``palapeli-data`` (GPL-2+). ``ukui-wallpapers`` was checked too: its images are renders, none
  was kept.

`corpus_manifest()` lists every file with its source, licence, split and sha256;
``invertlib/vision/trained/corpus.json`` is the committed copy that training checks the files against.
Every tenth file (in manifest order) is held out for the training run's evaluation loss.

`CropSampler` draws training batches: a random square of side s (uniform between the crop size
and the image's shorter side) resized to crop x crop with anti-aliasing, a random horizontal flip
and mild colour jitter (brightness, contrast, saturation each x U[0.9, 1.1]), all from one
explicit torch.Generator.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..checks import check_int
from ..rng import check_generator
from .files import TRAINED_DIR, image_files, read_json, sha256
from .images import imagenet_photo_files

CORPUS_MANIFEST = TRAINED_DIR / "corpus.json"
HOLDOUT_EVERY = 10
MAX_SIDE = 512  # photos are stored with their shorter side at most this (decoding is cheap then)

# scikit-image photograph (the name load_images uses) -> its file in skimage/data
SKIMAGE_PHOTO_FILES = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "stereo_motorcycle": "motorcycle_left.png",
    "camera": "camera.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "brick": "brick.png",
}
SKIMAGE_FILES = tuple(SKIMAGE_PHOTO_FILES.values())
OPENCV = "/usr/share/doc/opencv-doc/examples/data/"
MATE = "/usr/share/backgrounds/mate/nature/"
PLASMA = "/usr/share/wallpapers/{}/contents/images/{}.jpg"
PALAPELI = "/usr/share/palapeli/collection/"
DEBIAN_PHOTOS = {  # package -> (licence, photographs)
    "opencv-doc": (
        "Apache-2.0 AND BSD-3-Clause",
        [
            OPENCV + f
            for f in (
                "aero1.jpg",
                "aero3.jpg",
                "aloeL.jpg",
                "apple.jpg",
                "baboon.jpg",
                "board.jpg",
                "building.jpg",
                "butterfly.jpg",
                "ela_original.jpg",
                "fruits.jpg",
                "home.jpg",
                "left.jpg",
                "leuvenA.jpg",
                "leuvenB.jpg",
                "messi5.jpg",
                "orange.jpg",
                "squirrel_cls.jpg",
                "stuff.jpg",
                "basketball1.png",
                "box_in_scene.png",
                "chicky_512.png",
                "graf1.png",
                "rubberwhale1.png",
            )
        ],
    ),
    "mate-backgrounds": (
        "GPL-2+",
        [
            MATE + f
            for f in (
                "Aqua.jpg",
                "Blinds.jpg",
                "Dune.jpg",
                "FreshFlower.jpg",
                "Garden.jpg",
                "GreenMeadow.jpg",
                "LadyBird.jpg",
                "RainDrops.jpg",
                "Storm.jpg",
                "TwoWings.jpg",
                "Wood.jpg",
                "YellowFlower.jpg",
            )
        ],
    ),
    "plasma-workspace-wallpapers": (
        "GPL-2+",
        [
            PLASMA.format(f, "1920x1080")
            for f in (
                "BytheWater",
                "ColdRipple",
                "DarkestHour",
                "EveningGlow",
                "FallenLeaf",
                "Grey",
                "Kite",
                "OneStandsOut",
                "Path",
                "summer_1am",
            )
        ]
        + [PLASMA.format("ColorfulCups", "2560x1600"), PLASMA.format("Volna", "5120x2880")],
    ),
    "palapeli-data": (
        "GPL-2+",
        [
            PALAPELI + f
            for f in (
                "castle-maintenon.jpg",
                "cincinnati-bridge.jpg",
                "citrus-fruits.jpg",
                "european-honey-bee.jpg",
                "panther-chameleon-female.jpg",
            )
        ],
    ),
}


def _skimage_dir() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).resolve().parent


def resolve(file: str) -> Path:
    """A manifest entry's file on this machine: "skimage:NAME" is in scikit-image's data folder
    (wherever the environment is), anything else is a path."""
    return _skimage_dir() / file.split(":", 1)[1] if file.startswith("skimage:") else Path(file)


def default_sources() -> list[dict]:
    """The corpus files, in manifest order: [{"file", "source", "licence"}] (see `resolve`)."""
    import skimage

    out = [
        {"file": f"skimage:{f}", "source": f"scikit-image {skimage.__version__}", "licence": "CC0 / public domain"}
        for f in SKIMAGE_FILES
    ]
    for package, (licence, files) in DEBIAN_PHOTOS.items():
        out += [{"file": f, "source": f"debian:{package}", "licence": licence} for f in files]
    return out


def directory_sources(image_dir) -> list[dict]:
    """Every JPEG/PNG under `image_dir` (recursively, sorted): a user's own corpus."""
    folder = Path(image_dir).expanduser().resolve()
    files = image_files(folder, recursive=True)
    return [{"file": str(p), "source": f"image_dir {folder}", "licence": "the user's"} for p in files]


def missing_packages(sources: list[dict]) -> list[str]:
    """Debian packages whose listed files are not on this machine."""
    return sorted(
        {
            s["source"].split(":", 1)[1]
            for s in sources
            if s["source"].startswith("debian:") and not resolve(s["file"]).exists()
        }
    )


def install_packages(packages: list[str]) -> None:
    """apt-get install the packages (as root, where apt exists); otherwise a clear error."""
    if not packages:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError(
            f"corpus: the training photographs come from the Debian packages {', '.join(packages)}, which are "
            f"not installed, and this process cannot install them (needs apt-get as root). Run "
            f"`sudo apt-get install {' '.join(packages)}`, or train on your own photographs with "
            f"`--image-dir DIR`."
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True, env=env)


def corpus_manifest(sources: list[dict]) -> list[dict]:
    """Add sha256 and split ("train" / "holdout", every HOLDOUT_EVERY-th file held out) to each
    source; files that do not exist are an error naming them."""
    missing = [s["file"] for s in sources if not resolve(s["file"]).is_file()]
    if missing:
        raise FileNotFoundError(f"corpus: {len(missing)} files are missing, e.g. {missing[:3]}")
    return [
        dict(
            s, sha256=sha256(resolve(s["file"])), split="holdout" if i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1 else "train"
        )
        for i, s in enumerate(sources)
    ]


def check_against(manifest: list[dict], reference: list[dict]) -> None:
    """The default corpus must be the committed one, file for file (a package update changes it)."""
    ref = {r["file"]: r["sha256"] for r in reference}
    have = {m["file"]: m["sha256"] for m in manifest}
    changed = sorted(p for p in set(ref) | set(have) if ref.get(p) != have.get(p))
    if changed:
        raise ValueError(
            f"corpus: {len(changed)} files differ from {CORPUS_MANIFEST.name} (a different package "
            f"version?), e.g. {changed[:3]}; train with `--image-dir` to use them anyway"
        )


def manifest_hash(manifest: list[dict]) -> str:
    """sha256 of the manifest's canonical JSON: one number for the whole corpus."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def check_disjoint(manifest: list[dict]) -> None:
    """No training file may be one of the evaluation photographs (same bytes)."""
    try:
        clash = in_training_corpus(imagenet_photo_files(), manifest)
    except FileNotFoundError:
        return
    if clash:
        raise ValueError(f"corpus: {clash} are evaluation photographs (foolbox's ImageNet images)")


def in_training_corpus(files, manifest=None) -> list[str]:
    """The names of `files` whose bytes (sha256) are in the training corpus (default: the
    committed manifest): the held-out check for evaluation photos, expected empty."""
    if manifest is None:
        manifest = read_json(CORPUS_MANIFEST, "manifest")["files"]
    hashes = {m["sha256"] for m in manifest}
    return [Path(f).name for f in files if sha256(Path(f)) in hashes]


def evaluation_overlap(image_dir=None, photos: str = "imagenet", max_images: int | None = None) -> list[str]:
    """Which of the photos `images.load_images(image_dir, photos=..., max_images=...)` evaluates
    are in the decoders' training corpus (expected: none). scikit-image's photographs are."""
    from .images import SKIMAGE_PHOTOS

    if image_dir is None and photos == "skimage":
        names = list(SKIMAGE_PHOTOS)[:max_images]
        return [n for n in names if n in SKIMAGE_PHOTO_FILES]
    if image_dir is None:
        files = imagenet_photo_files()
    else:
        files = image_files(image_dir)
    return in_training_corpus(files[:max_images])


def load_photo(path, max_side: int = MAX_SIDE) -> torch.Tensor:
    """One photograph as uint8 RGB (3, H, W), its shorter side reduced to at most `max_side`."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale, fast
            im = im.convert("RGB")
            scale = max_side / min(im.size)
            if scale < 1:
                im = im.resize((round(im.size[0] * scale), round(im.size[1] * scale)), Image.LANCZOS)
            arr = np.asarray(im, dtype=np.uint8)
    except OSError as err:
        raise ValueError(f"corpus: cannot decode image {path}: {err}") from err
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def check_photos(photos, name: str = "photos") -> None:
    """Refuse anything but a non-empty list of uint8 RGB tensors (3, H, W), as `load_photo` gives
    them: the crops divide by 255, so float photos already in [0, 1] would come out near black."""
    if isinstance(photos, torch.Tensor) or not isinstance(photos, (list, tuple)) or not photos:
        raise TypeError(f"{name}: expected a non-empty list of uint8 tensors (3, H, W), got {type(photos).__name__}")
    for i, p in enumerate(photos):
        if not isinstance(p, torch.Tensor) or p.dtype != torch.uint8 or p.ndim != 3 or p.shape[0] != 3:
            got = f"{p.dtype} {tuple(p.shape)}" if isinstance(p, torch.Tensor) else type(p).__name__
            raise TypeError(f"{name}: expected uint8 tensors (3, H, W) as load_photo gives them, got {got} at {i}")


class CropSampler:
    """Random training crops from a list of uint8 photos (3, H, W).

    sample(batch) -> (batch, crop, crop, 3) RGB floats in [0, 1] (the layout of `preprocess`).
    """

    def __init__(self, photos: list[torch.Tensor], crop: int, generator: torch.Generator):
        self.crop = check_int(crop, "crop", minimum=16)
        self.generator = check_generator(generator)
        check_photos(photos)
        self.photos = [p for p in photos if min(p.shape[-2:]) >= self.crop]
        if not self.photos:
            raise ValueError(f"photos: none has a shorter side >= crop = {self.crop}")

    def _uniform(self, low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=self.generator))

    def _randint(self, high: int) -> int:
        return int(torch.randint(high, (), generator=self.generator))

    def sample(self, batch: int) -> torch.Tensor:
        out = []
        for _ in range(check_int(batch, "batch")):
            im = self.photos[self._randint(len(self.photos))]
            h, w = im.shape[-2:]
            s = int(round(self._uniform(self.crop, min(h, w))))
            top, left = self._randint(h - s + 1), self._randint(w - s + 1)
            x = im[:, top : top + s, left : left + s].float().div(255).unsqueeze(0)
            if s != self.crop:
                x = F.interpolate(x, size=(self.crop, self.crop), mode="bilinear", antialias=True, align_corners=False)
            if self._uniform(0, 1) < 0.5:
                x = x.flip(-1)
            x = x * self._uniform(0.9, 1.1)  # brightness
            mean = x.mean()
            x = (x - mean) * self._uniform(0.9, 1.1) + mean  # contrast
            grey = x.mean(1, keepdim=True)
            x = (x - grey) * self._uniform(0.9, 1.1) + grey  # saturation
            out.append(x.clamp(0, 1))
        return torch.cat(out).permute(0, 2, 3, 1).contiguous()


def center_crops(photos: list[torch.Tensor], size: int) -> torch.Tensor:
    """Each photo's centre square resized to size x size: (N, size, size, 3) in [0, 1].

    The training run's held-out images: uint8 tensors resized by torch (bilinear, antialiased),
    as `CropSampler` resizes the training crops. `images.center_crop_resize` (scikit-image,
    anti-aliased) prepares the evaluation photographs the notebooks use; the two stay apart so that
    neither the decoders' training inputs nor any notebook's numbers change."""
    check_photos(photos)
    size = check_int(size, "size")
    out = []
    for im in photos:
        h, w = im.shape[-2:]
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        x = im[:, top : top + s, left : left + s].float().div(255).unsqueeze(0)
        out.append(F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False))
    return torch.cat(out).clamp(0, 1).permute(0, 2, 3, 1).contiguous()
