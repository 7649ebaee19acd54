"""invertlib: companion library to "Towards Understanding the Invertibility of Convolutional
Neural Networks" (Gilbert, Zhang, Lee, Zhang, Lee; IJCAI 2017).

One module per concept of the paper:

* ``filters``  Gaussian filter banks (Theorem 3.1's scaling) and unit-norm filters
* ``conv``     the convolution layer as the Kn x MD matrix W, its fast operator and adjoint W^T
* ``claims``   the claims cell of every notebook and the README's reproduction table
* ``plotting`` the figure style and the one way figures and tables are saved
* ``rng``      explicit random generators (no global random state)
"""

from .claims import Claims
from .conv import ConvOperator, dot_test
from .filters import gaussian_filters, normalize_filters
from .rng import numpy_generator, torch_generator

__all__ = ["Claims", "ConvOperator", "dot_test", "gaussian_filters", "normalize_filters",
           "numpy_generator", "torch_generator"]
