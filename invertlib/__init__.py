"""invertlib: companion library to "Towards Understanding the Invertibility of Convolutional
Neural Networks" (Gilbert, Zhang, Lee, Zhang, Lee; IJCAI 2017).

One module per concept of the paper:

* ``filters``  Gaussian filter banks (Theorem 3.1's scaling), unit-norm and orthonormal filters
* ``conv``     the convolution layer as the Kn x MD matrix W, its fast operator and adjoint W^T
* ``sparsity`` the pooling-induced sparsity model M_k, its sampler and projections 𝕄(., k)
* ``cnn``      one CNN layer with paired filters (conv, ReLU, max pooling, unpooling)
* ``iht``      model-based IHT (Algorithm 1) and the one-step inverse W^T 𝕄(Wx, k)
* ``rip``      model-RIP estimators (Monte Carlo, worst-case search, exact) and coherence
* ``theory``   Theorem 3.1's requirement and Theorem 3.3's bound as functions
* ``metrics``  relative reconstruction error
* ``networks`` VGG16 and AlexNet (conv layers) as plain torch.nn, ImageNet weights by default
* ``weights``  offline checkpoints (sha256, restricted unpickler) and the user's weight files
* ``images``   natural images available offline, or any folder of images
* ``paper``    the numbers the paper reports (Tables 1-4, Figure 3)
* ``sparse_coding`` the lasso by FISTA and Algorithm 2
* ``decoders`` offline decoders: tied deconvnet and optimisation-based inversion
* ``data``     Fashion-MNIST and CIFAR-10 loaders
* ``classify`` small CNN classifiers with frozen random or learned filters (Table 1)
* ``progress`` progress bars
* ``claims``   the claims cell of every notebook and the README's reproduction table
* ``plotting`` the figure style and the one way figures and tables are saved
* ``rng``      explicit random generators (no global random state)
"""

from .claims import Claims
from .conv import ConvOperator, dot_test
from .filters import gaussian_filters, normalize_filters, orthonormal_filters
from .rng import numpy_generator, torch_generator

__all__ = [
    "Claims",
    "ConvOperator",
    "dot_test",
    "gaussian_filters",
    "normalize_filters",
    "orthonormal_filters",
    "numpy_generator",
    "torch_generator",
]
