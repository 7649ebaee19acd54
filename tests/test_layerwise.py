"""The layer-wise experiments on a real network (invertlib.vision.layerwise): the learned/Gaussian
operator pair of a conv layer, Table 3's one-step IHT per pool layer checked against
W^T 𝕄(W x, k) computed by hand, the iteration study, and the decoding loop."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from invertlib import torch_generator
from invertlib.filters import normalize_filters
from invertlib.metrics import relative_error, rescale_to
from invertlib.vision.decoders import vgg_deconvnet
from invertlib.vision.layerwise import (
    KINDS,
    OperatorPair,
    decode_codes,
    iteration_study,
    layerwise_one_step,
    measured_sparsity,
    operator_pair,
    with_nonnegative,
)
from invertlib.vision.networks import nonzero_percent

GEOMETRIES = {"2x2/2": (2, 2), "1x1/1": (1, 1)}  # 1 x 1 windows: plain top-k, with k below the region count


@pytest.fixture(scope="module")
def small(vgg16):
    """Three 32 x 32 images through VGG16 up to conv2_1 (the conv above pool1)."""
    images = torch.rand(3, 32, 32, 3, generator=torch.Generator().manual_seed(3))
    inputs = vgg16.preprocess(images)
    return inputs, vgg16(inputs, upto="conv2_1")


@pytest.fixture(scope="module")
def one(vgg16, small):
    return layerwise_one_step(vgg16, small[1], {1: "pool1"}, geometries=GEOMETRIES, generator=torch_generator(0))


def by_hand(w, x, p, k):
    """x_hat = W^T 𝕄(W x, k) from torch's convolutions: per p x p window the entry of largest |h|
    at its own position, then the k windows of largest |value| per image; rescaled to ||x||."""
    h = F.conv2d(x, w, padding=1)
    _, idx = F.max_pool2d(h.abs(), p, return_indices=True)
    values = h.flatten(2).gather(2, idx.flatten(2)).flatten(1)  # (B, regions)
    keep = values.abs().topk(k, dim=1).indices
    kept = torch.zeros_like(values).scatter_(1, keep, values.gather(1, keep)).view(idx.shape)
    z = torch.zeros_like(h).flatten(2).scatter_(2, idx.flatten(2), kept.flatten(2)).view(h.shape)
    x_hat = F.conv_transpose2d(z, w, padding=1)
    return x_hat * (x.flatten(1).norm(dim=1) / x_hat.flatten(1).norm(dim=1)).view(-1, 1, 1, 1)


def test_operator_pair_is_the_normalised_layer_and_a_unit_gaussian_bank_of_its_shape(vgg16):
    gen = torch_generator(5)
    pair = operator_pair(vgg16, "conv2_1", 16, generator=gen)
    assert isinstance(pair, OperatorPair) and pair.layer == "conv2_1"
    w = vgg16.convs["conv2_1"].weight
    torch.testing.assert_close(pair.learned.w, normalize_filters(w), rtol=0, atol=0)
    assert pair.random.w.shape == w.shape == (128, 64, 3, 3) and pair.random.dtype == w.dtype
    # Theorem 3.1's Gaussian filters scaled to unit norm: exactly one draw of K M l^2 numbers
    ref = torch_generator(5)
    raw = torch.randn(w.shape, generator=ref)
    torch.testing.assert_close(pair.random.w, raw / raw.flatten(1).norm(dim=1).view(-1, 1, 1, 1))
    torch.testing.assert_close(pair.random.w.flatten(1).norm(dim=1), torch.ones(128))
    assert torch.equal(torch.randn(4, generator=gen), torch.randn(4, generator=ref))  # nothing else drawn
    for op in (pair.learned, pair.random):
        assert (op.D, op.stride, op.padding, op.out_shape) == (16, 1, 1, (128, 16, 16))
    again = operator_pair(vgg16, "conv2_1", 16, generator=torch_generator(5))
    assert torch.equal(again.random.w, pair.random.w)
    assert list(pair.as_dict(random_label="gaussian")) == ["learned", "gaussian"]
    assert pair.as_dict()["random"] is pair.random


def test_operator_pair_takes_the_layers_stride_and_padding(alexnet):
    pair = operator_pair(alexnet, "conv1", 223, generator=torch_generator(0))  # (223 + 4 - 11) / 4 + 1 = 55
    assert (pair.random.stride, pair.random.padding, pair.random.out_shape) == (4, 2, (64, 55, 55))
    assert pair.random.w.shape == (64, 3, 11, 11)


def test_operator_pair_rejects_bad_input(vgg16):
    gen = torch_generator(0)
    with pytest.raises(ValueError, match="layer: expected a conv layer"):
        operator_pair(vgg16, "pool1", 16, generator=gen)
    with pytest.raises(ValueError, match="layer: expected a layer of vgg16"):
        operator_pair(vgg16, "conv9_9", 16, generator=gen)
    with pytest.raises(TypeError, match="net: expected a FeatureNet"):
        operator_pair(torch.nn.Identity(), "conv2_1", 16, generator=gen)
    with pytest.raises(TypeError, match="generator"):
        operator_pair(vgg16, "conv2_1", 16, generator=0)
    with pytest.raises(ValueError, match="input_size"):
        operator_pair(vgg16, "conv2_1", 0, generator=gen)
    with pytest.raises(ValueError, match="random_label"):
        operator_pair(vgg16, "conv2_1", 16, generator=gen).as_dict(random_label="learned")


def test_measured_sparsity_is_nonzero_percent_averaged(small):
    _, act = small
    assert measured_sparsity(act, "conv2_1") == float(nonzero_percent(act)["conv2_1"].mean()) / 100
    with pytest.raises(ValueError, match="act: the forward pass did not reach 'conv3_1'"):
        measured_sparsity(act, "conv3_1")


def test_one_step_equals_the_transpose_of_the_projected_layer_by_hand(vgg16, small, one):
    _, act = small
    x = act.pool["pool1"]
    pair = one.operators[1]
    sparsity = float(nonzero_percent(act)["conv2_1"].mean()) / 100
    for geometry, (p, _) in GEOMETRIES.items():
        model, k = one.models[(1, geometry)]
        assert k == model.k_for_sparsity(sparsity) and model.pool == p
        for kind, op in pair.as_dict().items():
            torch.testing.assert_close(one.reconstructions[(1, geometry, kind)], by_hand(op.w, x, p, k))
    assert one.models[(1, "1x1/1")][1] < one.models[(1, "1x1/1")][0].n_regions  # the top-k step is exercised
    table = one.table
    assert list(table.columns) == ["layer", "filters_of", "geometry", "kind", "k", "regions", "error", "error_std"]
    assert list(zip(table.geometry, table.kind, strict=True)) == [
        ("2x2/2", "learned"),
        ("2x2/2", "random"),
        ("1x1/1", "learned"),
        ("1x1/1", "random"),
        ("-", "randact"),
    ]
    assert set(table.layer) == {1} and set(table.filters_of) == {"conv2_1"}
    for r in table.itertuples():
        e = relative_error(one.reconstructions[(1, r.geometry, r.kind)], x)
        assert r.error == pytest.approx(float(e.mean()), rel=1e-6) and r.error_std == pytest.approx(float(e.std()))
        if r.kind == "randact":
            assert (r.k, r.regions) == (0, 0)
            assert abs(r.error - 2**0.5) < 0.05  # a Gaussian vector is nearly orthogonal to x >= 0
        else:
            model, k = one.models[(1, r.geometry)]
            assert (r.k, r.regions) == (k, model.n_regions)


def test_one_step_draws_the_filters_then_the_random_activation_per_pool(vgg16, small, one):
    _, act = small
    ref = torch_generator(0)
    raw = torch.randn((128, 64, 3, 3), generator=ref)
    torch.testing.assert_close(one.operators[1].random.w, normalize_filters(raw), rtol=0, atol=0)
    x = act.pool["pool1"]
    torch.testing.assert_close(
        one.reconstructions[(1, "-", "randact")], rescale_to(torch.randn(x.shape, generator=ref), x)
    )
    again = layerwise_one_step(vgg16, act, {1: "pool1"}, geometries=GEOMETRIES, generator=torch_generator(0))
    assert again.table.equals(one.table)
    other = layerwise_one_step(vgg16, act, ["pool1"], geometries=GEOMETRIES, generator=torch_generator(1))
    assert set(other.table.layer) == {"pool1"}
    learned = other.table.kind == "learned"
    assert list(other.table.error[learned]) == list(one.table.error[one.table.kind == "learned"])  # nothing random
    assert not other.table.error[~learned].equals(one.table.error[one.table.kind != "learned"].reset_index(drop=True))


def test_codes_collects_the_four_kinds_per_layer(small, one):
    codes = one.codes("2x2/2")
    assert list(codes) == [(1, kind) for kind in KINDS]
    assert codes[(1, "true")] is small[1].pool["pool1"]
    assert codes[(1, "learned")] is one.reconstructions[(1, "2x2/2", "learned")]
    with pytest.raises(ValueError, match="geometry: expected one of"):
        one.codes("3x3/2")


def test_per_image_errors_average_to_the_table(one):
    rows = one.per_image("2x2/2")
    assert set(rows["kind"]) == {"learned", "random", "randact"} and set(rows["layer"]) == {1}
    means = rows.groupby("kind")["error"].mean()
    table = one.table[one.table["geometry"].isin(["2x2/2", "-"])].set_index("kind")["error"]
    assert np.allclose(means.sort_index(), table.sort_index(), rtol=1e-6)
    assert rows.groupby("kind")["image"].apply(list).map(len).nunique() == 1  # one row per image and kind
    with pytest.raises(ValueError, match="geometry"):
        one.per_image("3x3/3")


def test_iteration_study_starts_at_the_one_step_reconstruction(one):
    it = iteration_study(one, [1, 3], geometry="2x2/2", n_images=2)
    assert list(it.columns) == ["layer", "filters", "iteration", "error"]
    assert list(zip(it.filters, it.iteration, strict=True)) == [
        ("learned", 1),
        ("learned", 3),
        ("random", 1),
        ("random", 3),
    ]
    x = one.activations[1][:2]
    for name in ("learned", "random"):
        first = float(relative_error(one.reconstructions[(1, "2x2/2", name)][:2], x).mean())
        assert float(it.error[(it.filters == name) & (it.iteration == 1)].iloc[0]) == pytest.approx(first, rel=1e-5)
    with pytest.raises(ValueError, match="iterations"):
        iteration_study(one, [], geometry="2x2/2", n_images=2)
    with pytest.raises(ValueError, match="n_images"):
        iteration_study(one, [1], geometry="2x2/2", n_images=0)
    with pytest.raises(TypeError, match="result"):
        iteration_study({}, [1], geometry="2x2/2", n_images=1)


def test_layerwise_one_step_rejects_bad_input(vgg16, small):
    _, act = small
    gen = torch_generator(0)
    with pytest.raises(ValueError, match="no convolution follows 'pool5'"):
        layerwise_one_step(vgg16, act, ["pool5"], geometries=GEOMETRIES, generator=gen)
    with pytest.raises(ValueError, match="pools: expected pool layers"):
        layerwise_one_step(vgg16, act, ["conv1_1"], geometries=GEOMETRIES, generator=gen)
    with pytest.raises(TypeError, match="pools"):
        layerwise_one_step(vgg16, act, "pool1", geometries=GEOMETRIES, generator=gen)
    with pytest.raises(ValueError, match="act: the forward pass did not reach 'pool2'"):
        layerwise_one_step(vgg16, act, ["pool2"], geometries=GEOMETRIES, generator=gen)
    with pytest.raises(ValueError, match="geometries"):
        layerwise_one_step(vgg16, act, ["pool1"], geometries={"-": (2, 2)}, generator=gen)
    with pytest.raises(ValueError, match="geometries"):
        layerwise_one_step(vgg16, act, ["pool1"], geometries={}, generator=gen)
    with pytest.raises(TypeError, match="act"):
        layerwise_one_step(vgg16, {}, ["pool1"], geometries=GEOMETRIES, generator=gen)
    with pytest.raises(TypeError, match="net: expected a FeatureNet"):
        layerwise_one_step(None, act, ["pool1"], geometries=GEOMETRIES, generator=gen)


def test_with_nonnegative_adds_clipped_codes_after_each_layer():
    g = torch.Generator().manual_seed(0)
    true = torch.rand(2, 3, 4, 4, generator=g)
    est = torch.randn(2, 3, 4, 4, generator=g)
    out = with_nonnegative({(1, "true"): true, (1, "learned"): est, (2, "true"): true})
    assert list(out) == [(1, "true"), (1, "learned"), (1, "learned>=0"), (2, "true")]
    clipped = out[(1, "learned>=0")]
    assert bool((clipped >= 0).all()) and bool(((clipped > 0) == (est > 0)).all())
    torch.testing.assert_close(clipped.flatten(1).norm(dim=1), true.flatten(1).norm(dim=1))
    with pytest.raises(ValueError, match="'true' code for every layer, missing for \\[1\\]"):
        with_nonnegative({(1, "learned"): est})


def test_decode_codes_scores_every_code_against_the_originals(vgg16, small, one):
    inputs, act = small
    decoders = {1: lambda code, switches: vgg_deconvnet(vgg16, switches, code, "pool1")}
    codes = one.codes("2x2/2")
    out = decode_codes(vgg16, decoders, codes, act, inputs)
    assert list(out.images) == list(codes)
    assert list(out.scores.columns) == ["image", "error", "fitted", "psnr", "layer", "kind", "gain"]
    # the gain ||D(code)|| / ||D(x)||: 1 for the true code, the norm ratio of the decodings otherwise
    assert out.scores[out.scores.kind == "true"].gain.tolist() == pytest.approx([1.0] * 3)
    assert list(out.scores.kind) == [k for k in KINDS for _ in range(3)] and list(out.scores.image[:3]) == [0, 1, 2]
    d = out.images[(1, "learned")]
    torch.testing.assert_close(d, vgg_deconvnet(vgg16, act, codes[(1, "learned")], "pool1"))
    errors = out.scores[out.scores.kind == "learned"].error.to_numpy()
    assert errors.tolist() == pytest.approx(relative_error(d, inputs).double().tolist(), rel=1e-6)
    ref = vgg_deconvnet(vgg16, act, codes[(1, "true")], "pool1").flatten(1).norm(dim=1)
    gains = out.scores[out.scores.kind == "learned"].gain.to_numpy()
    assert gains.tolist() == pytest.approx((d.flatten(1).norm(dim=1) / ref).double().tolist(), rel=1e-5)
    with pytest.raises(ValueError, match="decoders: expected a decoder for every layer"):
        decode_codes(vgg16, {}, codes, act, inputs)


def test_csc_layers_counts_stripes_of_the_post_relu_codes(vgg16, small):
    from invertlib.coherence import coherence
    from invertlib.csc import stripe_sparsity
    from invertlib.vision.layerwise import csc_layers

    inputs, act = small
    out = csc_layers(vgg16, inputs, ["conv1_1", "conv2_1"], generator=torch_generator(0))
    assert list(out.layers.layer) == ["conv1_1", "conv2_1"] and list(out.layers.stripe_size) == [64 * 25, 128 * 25]
    row = out.layers.iloc[1]
    assert row.mu == pytest.approx(coherence(vgg16.convs["conv2_1"].weight.double(), shifts=True))
    assert row.uniqueness == pytest.approx((1 + 1 / row.mu) / 2)
    assert 0 < row.mu_gaussian < row.mu  # learned filters are more coherent than Gaussian ones
    img = out.images[out.images.layer == "conv2_1"]
    assert img.stripe.tolist() == stripe_sparsity(act.post["conv2_1"], 3).tolist()
    assert ((img.thresholding >= 0.5) & (img.thresholding <= row.uniqueness + 1e-12)).all()
    assert (img.fill <= 1).all() and (img.ratio > 0).all() and (img.ratio <= 1).all()
    with pytest.raises(ValueError, match="layers: expected network order"):
        csc_layers(vgg16, inputs, ["conv2_1", "conv1_1"], generator=torch_generator(0))
    with pytest.raises(ValueError, match="layers: expected conv layers"):
        csc_layers(vgg16, inputs, ["pool1"], generator=torch_generator(0))
