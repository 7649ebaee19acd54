"""invertlib: companion library to "Towards Understanding the Invertibility of Convolutional
Neural Networks" (Gilbert, Zhang, Lee, Zhang, Lee; IJCAI 2017).

Three layers, each importing only the ones above it in this list:

1. **The maths** (this package's modules): random CNN layers as operators, the pooling sparsity
   model, model-RIP estimators, recovery algorithms and the paper's theorems. NumPy, SciPy and
   torch only; no networks, files or figures.

   * ``filters``  Gaussian filter banks (Theorem 3.1's scaling), unit-norm and orthonormal filters
   * ``conv``     the convolution layer as the Kn x MD matrix W, its fast operator and adjoint W^T
   * ``sparsity`` the pooling-induced sparsity model M_k, its sampler and projections 𝕄(., k)
   * ``cnn``      one CNN layer with paired filters (conv, ReLU, max pooling, unpooling)
   * ``iht``      model-based IHT (Algorithm 1) and the one-step inverse W^T 𝕄(Wx, k)
   * ``rip``      model-RIP estimators (Monte Carlo, worst-case search, exact): lower bounds
   * ``bounds``   certified upper bounds on delta_k (model Babel, Babel, coherence; Gershgorin)
   * ``coherence`` filter-bank coherence (Table 4's definition, with shifts) and its table
   * ``theory``   Theorem 3.1 (requirement, sweep and fit of C), Theorem 3.3, Donoho-Tanner
   * ``sparse_coding`` the lasso by FISTA and Algorithm 2
   * ``csc``      multi-layer convolutional sparse coding (Papyan et al. 2017): stripe sparsity, allowances
   * ``phase``    phase-transition trials on a (delta, rho) grid and their boundaries
   * ``stats``    logistic 50 % boundaries and bootstrap intervals
   * ``metrics``  relative reconstruction error, image scores
   * ``rng``, ``progress``  explicit random generators (no global random state), progress bars

2. **Networks and data** (``invertlib.vision``): VGG16 and AlexNet with their offline weights,
   photographs and datasets, decoders and their training.

3. **The companion** (``invertlib.companion``): claims cells, the paper's numbers, figures,
   output paths and the README's generated blocks.

``import invertlib as il`` gives the maths modules as attributes (``il.rip``), the two other
layers as ``il.vision`` and ``il.companion`` (imported on first use), and the names below.
"""

from __future__ import annotations

import importlib

from . import (
    bounds,
    cnn,
    coherence,
    conv,
    csc,
    filters,
    iht,
    metrics,
    phase,
    rip,
    rng,
    sparse_coding,
    sparsity,
    stats,
    theory,
)
from .conv import ConvOperator, dot_test
from .filters import gaussian_filters, normalize_filters, orthonormal_filters
from .rng import numpy_generator, torch_generator
from .sparsity import PoolingModel

# `from invertlib import *` gives the maths only; il.vision, il.companion and il.Claims load on use
__all__ = [
    "ConvOperator",
    "PoolingModel",
    "bounds",
    "cnn",
    "coherence",
    "conv",
    "csc",
    "dot_test",
    "filters",
    "gaussian_filters",
    "iht",
    "metrics",
    "normalize_filters",
    "numpy_generator",
    "orthonormal_filters",
    "phase",
    "rip",
    "rng",
    "sparse_coding",
    "sparsity",
    "stats",
    "theory",
    "torch_generator",
]

_LAZY = {"vision": "invertlib.vision", "companion": "invertlib.companion"}


def __getattr__(name: str):
    # The two outer layers load on first use, so that importing the maths never imports them.
    if name in _LAZY:
        return importlib.import_module(_LAZY[name])
    if name == "Claims":
        return importlib.import_module("invertlib.companion.claims").Claims
    raise AttributeError(f"module 'invertlib' has no attribute {name!r}")
