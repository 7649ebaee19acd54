"""ML-CSC quantities (invertlib.csc): stripe sparsity against a brute-force count, the magnitude
ratio, and the two coherence allowances."""

import itertools

import numpy as np
import pytest
import torch

from invertlib import torch_generator
from invertlib.csc import (
    magnitude_ratio,
    stripe_counts,
    stripe_size,
    stripe_sparsity,
    thresholding_allowance,
    uniqueness_allowance,
)


def _brute_counts(z: torch.Tensor, r: int) -> torch.Tensor:
    """Nonzeros of every stripe by explicit loops: all channels, shifts within r of the position."""
    B, K, *sizes = z.shape
    out = torch.zeros((B, *sizes), dtype=torch.long)
    for pos in itertools.product(*(range(n) for n in sizes)):
        window = tuple(slice(max(0, p - r), p + r + 1) for p in pos)
        out[(slice(None), *pos)] = (z[(slice(None), slice(None), *window)] != 0).flatten(1).sum(dim=1)
    return out


@pytest.mark.parametrize(
    ("shape", "l", "stride"), [((2, 3, 9), 3, 1), ((2, 4, 6, 6), 3, 1), ((1, 2, 7, 7), 5, 2), ((2, 3, 8, 8), 4, 2)]
)
def test_stripe_counts_match_a_brute_force_count(shape, l, stride):
    g = torch_generator(0)
    z = torch.randn(shape, generator=g, dtype=torch.float64)
    z[torch.rand(shape, generator=g, dtype=torch.float64) < 0.6] = 0
    # atoms at shifts j, j' overlap when |j - j'| t < l: the stripe of an atom reaches r shifts each way
    r = max(e for e in range(len(z[0, 0])) if e * stride < l)
    expected = _brute_counts(z, r)
    assert torch.equal(stripe_counts(z, l, stride=stride), expected)
    assert torch.equal(stripe_sparsity(z, l, stride=stride), expected.flatten(1).max(dim=1).values)


def test_stripe_size_and_a_full_stripe():
    assert stripe_size(64, 3) == 64 * 25 and stripe_size(96, 5, ndim=1) == 96 * 9 and stripe_size(8, 5, stride=2) == 200
    z = torch.ones(1, 4, 9, 9)
    assert int(stripe_sparsity(z, 3)) == stripe_size(4, 3)  # interior stripes are full
    assert int(stripe_sparsity(torch.zeros(2, 3, 5, 5), 3).max()) == 0


def test_magnitude_ratio_and_allowances():
    z = torch.tensor([[0.0, -0.5, 2.0, 0.0], [1.0, 1.0, 0.0, -1.0]])
    assert magnitude_ratio(z).tolist() == pytest.approx([0.25, 1.0])
    with pytest.raises(ValueError, match="codes: codes \\[1\\] have no nonzero entry"):
        magnitude_ratio(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    assert uniqueness_allowance(0.5) == pytest.approx(1.5)
    assert uniqueness_allowance(1.0) == pytest.approx(1.0)
    assert thresholding_allowance(0.5, 0.0) == pytest.approx(0.5)
    assert thresholding_allowance(0.25, 0.5) == pytest.approx(1.5)
    # thresholding never allows more than uniqueness (ratio <= 1); arrays are elementwise
    mu, ratio = np.array([0.1, 0.5, 0.9]), np.array([1.0, 0.3, 0.0])
    assert (thresholding_allowance(mu, ratio) <= uniqueness_allowance(mu) + 1e-12).all()
    with pytest.raises(ValueError, match="mu: expected a number in \\(0, 1\\]"):
        uniqueness_allowance(0.0)
    with pytest.raises(ValueError, match="ratio"):
        thresholding_allowance(0.5, 1.5)
    with pytest.raises(ValueError, match="codes: expected a batch of codes"):
        stripe_counts(torch.zeros(3, 4), 3)
