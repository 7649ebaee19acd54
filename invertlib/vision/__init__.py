"""The networks-and-data layer: real networks, their weights, photographs and datasets, decoders.

* ``networks``  VGG16 and AlexNet (conv layers) as plain torch.nn, ImageNet weights by default
* ``weights``   the offline checkpoints and the user's own weight files
* ``files``     package data, image folders, sha256, the restricted unpickler, atomic writes
* ``images``    natural images available offline, or any folder of images
* ``corpus``    the decoders' training photographs and the random crops drawn from them
* ``decoders``  what-where decoders, the tied deconvnet and optimisation-based inversion
* ``train_decoders`` the decoder training command (``python -m invertlib.vision.train_decoders``)
* ``data``      Fashion-MNIST and CIFAR-10 loaders
* ``classify``  small CNN classifiers with frozen random or learned filters (Table 1)
* ``layerwise`` the paper's layer-wise experiments on a real network (one-step IHT per layer)
* ``evaluate``  Tables 2-3 and the AlexNet rows over a whole image folder, streaming, sharded and
  resumable (``python -m invertlib.vision.evaluate``, also under torchrun)

It imports the maths (``invertlib``), never the companion layer (``invertlib.companion``).
"""

import importlib

_MODULES = (
    "classify",
    "corpus",
    "data",
    "decoders",
    "evaluate",
    "files",
    "images",
    "layerwise",
    "networks",
    "weights",
)


def __getattr__(name: str):
    # submodules load on first use: `import invertlib.vision.X` loads X and what it imports, nothing else
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
