"""The two decoders: tied deconvnet (exact for an orthogonal paired layer) and optimisation-based inversion."""

import pytest
import torch
import torch.nn.functional as F

from invertlib import orthonormal_filters, torch_generator
from invertlib.cnn import paired_filters
from invertlib.vision.decoders import ConvT, Unpool, deconvnet, invert_by_optimization, vgg_deconvnet
from invertlib.vision.networks import AlexNet


def test_tied_decoder_inverts_orthogonal_paired_layer_exactly():
    g = torch_generator(0)
    w = paired_filters(orthonormal_filters(2, 2, generator=g, ndim=2))  # (16, 2, 2, 2): [W; -W]
    x = torch.randn(5, 2, 6, 6, generator=g, dtype=torch.float64)
    code = torch.relu(F.conv2d(x, w, stride=2))  # encoder, no pooling
    torch.testing.assert_close(deconvnet(code, [ConvT(w, stride=2)]), x, rtol=0, atol=1e-12)
    # without the pairs the negative half is lost
    half = w[:8]
    assert (deconvnet(torch.relu(F.conv2d(x, half, stride=2)), [ConvT(half, stride=2)]) - x).norm() > 0.1 * x.norm()


def test_unpool_step_puts_values_back_at_the_switches():
    h = torch.tensor([[[[1.0, 5.0], [2.0, 0.5]]]])
    pooled, idx = F.max_pool2d(h, 2, return_indices=True)
    out = deconvnet(pooled, [Unpool(idx, (2, 2))])
    assert out.tolist() == [[[[0.0, 5.0], [0.0, 0.0]]]]
    with pytest.raises(TypeError, match="steps"):
        deconvnet(pooled, ["relu"])


def test_vgg_deconvnet_shapes(vgg16):
    net = vgg16
    x = net.preprocess(torch.rand(2, 32, 32, 3, generator=torch.Generator().manual_seed(1)))
    act = net(x, upto="pool2")
    assert vgg_deconvnet(net, act, act.pool["pool2"], "pool2").shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="no switches for pool3"):
        vgg_deconvnet(net, act, torch.zeros(2, 256, 4, 4), "pool3")
    with pytest.raises(ValueError, match="built for VGG16"):
        vgg_deconvnet(AlexNet(), act, act.pool["pool2"], "pool2")


def test_optimization_decoder_lowers_its_loss_monotonically(vgg16):
    net = vgg16
    x = net.preprocess(torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(2)))
    with torch.no_grad():
        target = net(x, upto="pool1").pool["pool1"]
    res = invert_by_optimization(net, target, "pool1", (32, 32), generator=torch_generator(3), n_iter=15)
    assert res.loss.shape == (16,)
    assert bool((res.loss[1:] <= res.loss[:-1]).all())
    assert float(res.loss[-1]) < 0.8 * float(res.loss[0])
    assert res.image.shape == (1, 3, 32, 32) and res.match.shape == (1,)
