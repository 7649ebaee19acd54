"""Our IHT against an independent implementation: PyLops' ISTA loop with hard-percentile
thresholding (keeping the k largest |entries|) is plain IHT, x <- H_k(x + mu Phi^T (y - Phi x)).
On the same operator Phi = W^T (`conv.to_pylops`) and the same fixed step, `model_iht` with the
top-k projection must produce the same iterates, step by step, to float64 rounding. (`make bench`
times the two; this test checks the identity directly.)"""

import numpy as np
import pytest
import torch

from invertlib import ConvOperator, gaussian_filters, torch_generator
from invertlib.conv import to_pylops
from invertlib.iht import model_iht
from invertlib.sparsity import PoolingModel

pylops = pytest.importorskip("pylops")


def _pylops_iterates(Phi, y, n_iter, step, perc, keep):
    from pylops.optimization.cls_sparsity import ISTA

    iterates = {}

    class Recorded(ISTA):
        def callback(self, x, *args, **kwargs):
            if self.iiter in keep:
                iterates[self.iiter] = x.copy()

    solver = Recorded(Phi)
    x0 = solver.setup(y, niter=n_iter, eps=0.0, alpha=step, threshkind="hard-percentile", perc=perc, tol=-1.0)
    solver.run(x0, n_iter)
    return iterates


@pytest.mark.parametrize("seed", [0, 1])
def test_model_iht_top_k_equals_pylops_ista_hard_percentile(seed):
    g = torch_generator(seed)
    W = ConvOperator(gaussian_filters(8, 4, 3, generator=g), 12)  # Phi = W^T is 48 x 80
    Kn, k, n_iter, keep = W.shape[0], 5, 30, (1, 2, 10, 30)
    step = 1.0 / torch.linalg.matrix_norm(W.matrix(), ord=2).item() ** 2
    z = PoolingModel(W.out_shape).sample(k, 1, generator=g)
    x = W.adjoint(z)
    ours = model_iht(W, x, PoolingModel(W.out_shape, 1).projector(k), n_iter=n_iter, step=step, keep=keep)
    # the percentile that falls between the k-th and (k+1)-th largest of Kn entries: PyLops keeps exactly k
    perc = 100 - 100 * (Kn - k - 0.5) / (Kn - 1)
    theirs = _pylops_iterates(to_pylops(W), x[0].reshape(-1).numpy(), n_iter, step, perc, keep)
    assert sorted(theirs) == list(keep)
    for it in keep:
        mine = ours.snapshots[it][0].reshape(-1).numpy()
        assert np.count_nonzero(mine) <= k
        np.testing.assert_allclose(theirs[it], mine, rtol=0, atol=1e-12 * np.abs(mine).max())
