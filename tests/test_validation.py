"""Bad input is refused with a message naming the argument (issue 12), and no library call
touches torch's or numpy's global random state."""

import math

import numpy as np
import pytest
import torch

from invertlib import Claims, torch_generator
from invertlib.theory import thm31_delta, thm31_requirement, thm33_bound
from invertlib.vision.classify import ConvNet
from invertlib.vision.networks import VGG16


@pytest.fixture
def out(tmp_path, monkeypatch):
    monkeypatch.setenv("INVERTLIB_FIGURES_DIR", str(tmp_path))
    return tmp_path


def test_constructors_leave_global_random_state_alone():
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()[1].copy()
    ConvNet(2, 4, 3, 1, 8, 2, generator=torch_generator(0), random_filters=True)
    ConvNet(1, 4, 3, 3, 8, 10, generator=torch_generator(0), random_filters=False)
    VGG16()
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state)


def test_convnet_built_on_meta_is_initialised_from_its_generator_only():
    a = ConvNet(2, 4, 3, 1, 8, 2, generator=torch_generator(3), random_filters=False)
    torch.manual_seed(123)  # the global seed must not matter
    b = ConvNet(2, 4, 3, 1, 8, 2, generator=torch_generator(3), random_filters=False)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    bn = a.features[2]
    assert torch.equal(bn.running_mean, torch.zeros(4)) and torch.equal(bn.running_var, torch.ones(4))
    assert torch.equal(bn.weight, torch.ones(4)) and torch.equal(bn.bias, torch.zeros(4))


@pytest.mark.parametrize("holds", ["no", "yes", float("nan"), 1, 0.0, None, torch.tensor([True, False])])
def test_invariant_outcome_must_be_a_boolean(out, holds):
    c = Claims("01_demo", seed=0)
    with pytest.raises(TypeError, match="holds: expected a boolean"):
        c.invariant("a.b", "x", ours=1, holds=holds)


def test_invariant_accepts_numpy_and_torch_booleans(out):
    c = Claims("01_demo", seed=0)
    assert c.invariant("a.np", "x", ours=1, holds=np.float64(1.0) < 2).verdict == "holds"
    assert c.invariant("a.torch", "x", ours=1, holds=torch.tensor(1.0) > 2).verdict == "fails"
    with pytest.raises(TypeError, match="matched: expected a boolean"):
        c.judge("a.j", "x", paper=1, ours=1, matched="yes")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: thm31_requirement(k=10, K=96, n=28, delta=1.2, eps=0.01), "delta: expected a number in \\(0, 1\\)"),
        (lambda: thm31_requirement(k=10, K=96, n=28, delta=0.0, eps=0.01), "delta"),
        (lambda: thm31_requirement(k=10, K=0, n=28, delta=0.3, eps=0.01), "K: expected a whole number in \\[1"),
        (lambda: thm31_requirement(k=10, K=96, n=0, delta=0.3, eps=0.01), "n: expected"),
        (lambda: thm31_requirement(k=2.5, K=96, n=28, delta=0.3, eps=0.01), "k: expected a whole number"),
        (lambda: thm31_requirement(k=10, K=96, n=28, delta=0.3, eps=0.0), "eps"),
        (lambda: thm31_requirement(k=10, K=96, n=28, delta=0.3, eps=0.01, C=-1), "C: expected"),
        (lambda: thm31_delta(M=0, l=5, D=32, k=10, K=96, n=28, eps=0.01), "M: expected"),
        (lambda: thm31_delta(M=32, l=5, D=math.nan, k=10, K=96, n=28, eps=0.01), "D: expected"),
        (lambda: thm33_bound(-0.1, 0.2), "delta_k: expected a number in \\[0"),
        (lambda: thm33_bound(0.1, "0.2"), "delta_2k: expected a real number"),
        (lambda: thm33_bound(0.1, True), "delta_2k: expected a real number"),
    ],
)
def test_theory_functions_refuse_values_outside_their_hypotheses(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_theory_bound_is_infinite_where_the_theorem_says_nothing():
    assert thm33_bound(0.5, 1.0) == math.inf and thm33_bound(1.0, 0.5) == math.inf
    np.testing.assert_array_equal(thm33_bound([0.1, 0.2], [1.5, 2.0]), [math.inf, math.inf])


class _Hostile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling this would create the marker file
        return (open, (str(self.marker), "w"))


def _cifar_batches(folder, data=None, labels=None, payload=None):
    import pickle

    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": np.zeros((2, 3072), np.uint8) if data is None else data,
            b"labels": [0, 1] if labels is None else labels,
        }
        if payload is not None:
            batch[b"extra"] = payload
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)


def test_cifar_batches_go_through_the_restricted_unpickler(tmp_path):
    from invertlib.vision.data import load_cifar10

    marker = tmp_path / "pwned"
    _cifar_batches(tmp_path, payload=_Hostile(marker))
    with pytest.raises(ValueError, match="refusing to load (io|builtins).open"):
        load_cifar10("test", tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "data, labels, match",
    [
        (np.full((2, 3072), 300, np.int64), None, "pixel values outside the integers 0-255"),
        (np.full((2, 3072), -1, np.int64), None, "pixel values outside"),
        (np.full((2, 3072), 0.5), None, "pixel values outside"),
        (None, [0, 10], "labels outside the integers 0-9"),
        (None, [0, -1], "labels outside"),
        (None, [0.0, 1.5], "labels outside"),
        (None, [0, 1, 2], "expected \\(N, 3072\\) with N labels"),
    ],
)
def test_cifar_values_are_checked_before_any_cast(tmp_path, data, labels, match):
    from invertlib.vision.data import load_cifar10

    _cifar_batches(tmp_path, data=data, labels=labels)
    with pytest.raises(ValueError, match=match):
        load_cifar10("test", tmp_path)


def test_idx_header_sizes_cannot_overflow(tmp_path):
    from invertlib.vision.data import read_idx

    # three dimensions of 2^32 - 1: their product overflows int64, the file holds 6 bytes of data
    raw = bytes([0, 0, 0x08, 3]) + (0xFFFFFFFF).to_bytes(4, "big") * 3 + bytes(6)
    (tmp_path / "forged-idx3-ubyte").write_bytes(raw)
    with pytest.raises(ValueError, match="truncated or corrupt IDX data"):
        read_idx(tmp_path / "forged-idx3-ubyte")


def test_norms_survive_huge_and_tiny_filters():
    from invertlib import gaussian_filters, normalize_filters
    from invertlib.coherence import coherence
    from invertlib.filters import filter_norms

    w = gaussian_filters(6, 3, 3, generator=torch_generator(0))
    for scale in (1e200, 1e-200):
        torch.testing.assert_close(normalize_filters(w * scale), normalize_filters(w), rtol=1e-14, atol=1e-15)
        assert coherence(w * scale) == pytest.approx(coherence(w), rel=1e-12)
        assert coherence(w * scale, shifts=True) == pytest.approx(coherence(w, shifts=True), rel=1e-12)
        torch.testing.assert_close(filter_norms(w * scale) / scale, filter_norms(w), rtol=1e-14, atol=0)
    assert torch.equal(filter_norms(w), w.flatten(1).norm(dim=1))  # ordinary filters: the plain norm, bit for bit
    with pytest.raises(ValueError, match="w: filters \\[0\\] are zero"):
        normalize_filters(torch.cat([torch.zeros_like(w[:1]), w]))
    with pytest.raises(ValueError, match="w: expected finite values"):
        coherence(w * float("inf"))


def test_zero_references_and_signals_are_refused():
    from invertlib import ConvOperator, gaussian_filters
    from invertlib.iht import model_iht
    from invertlib.metrics import relative_error
    from invertlib.sparsity import PoolingModel

    with pytest.raises(ValueError, match="reference: samples \\[1\\] are zero"):
        relative_error(torch.ones(2, 3), torch.tensor([[1.0, 0, 0], [0, 0, 0]]))
    W = ConvOperator(gaussian_filters(4, 2, 3, generator=torch_generator(0)), 8)
    x = torch.randn((3,) + W.in_shape, generator=torch_generator(1), dtype=torch.float64)
    x[2] = 0
    with pytest.raises(ValueError, match="x: samples \\[2\\] are zero"):
        model_iht(W, x, PoolingModel(W.out_shape, 2).projector(2), n_iter=2)


def test_sparsity_model_shapes_and_capacity():
    from invertlib import ConvOperator, gaussian_filters
    from invertlib.rip import exact_delta
    from invertlib.sparsity import PoolingModel

    for shape in [(4.7, 6), (4, "6"), (True, 6), 46]:
        with pytest.raises(TypeError, match="code_shape: expected a tuple of integers"):
            PoolingModel(shape, 2)
    assert PoolingModel(torch.Size([4, 6]), 2).code_shape == (4, 6) == PoolingModel((np.int64(4), 6), 2).code_shape
    W = ConvOperator(gaussian_filters(2, 1, 3, generator=torch_generator(0)), 3)  # n = 1: one atom per region
    with pytest.raises(ValueError, match="k: no support of the model holds 4 atoms"):
        exact_delta(W, PoolingModel(W.out_shape), 2, per_region=2)


def test_fit_needs_a_generator():
    from invertlib.vision.classify import fit

    net = ConvNet(1, 4, 3, 1, 8, 2, generator=torch_generator(0), random_filters=True)
    with pytest.raises(TypeError, match="generator: expected a torch.Generator"):
        fit(net, torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long), generator=None)


def test_figure_formats_are_written_together_or_not_at_all(out, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from invertlib.companion.plotting import save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    real = fig.savefig

    def fail_on_pdf(path, format=None, **kw):
        if format == "pdf":
            raise OSError("disk full")
        return real(path, format=format, **kw)

    monkeypatch.setattr(fig, "savefig", fail_on_pdf)
    with pytest.raises(OSError, match="disk full"):
        save_figure(fig, "fig0_pair")
    assert list(out.iterdir()) == []  # no PNG alone, no temporary file
    monkeypatch.setattr(fig, "savefig", real)
    assert [p.name for p in save_figure(fig, "fig0_pair")] == ["fig0_pair.png", "fig0_pair.pdf"]
    plt.close(fig)


@pytest.mark.parametrize(
    "images, error, match",
    [
        (np.random.default_rng(0).random((4, 28, 28)), TypeError, "images: expected integer pixel values 0-255"),
        (np.full((4, 28, 28), 300), ValueError, "images: expected pixel values 0-255"),
        (np.zeros((4, 3, 32, 32), np.uint8), ValueError, "channels-first .* pass images.permute\\(0, 2, 3, 1\\)"),
        (np.zeros((4, 32), np.uint8), ValueError, "images: expected \\(N, H, W\\)"),
    ],
)
def test_prepare_refuses_images_it_would_misread(images, error, match):
    from invertlib.vision.classify import prepare

    with pytest.raises(error, match=match):
        prepare(images)


@pytest.mark.parametrize("dtype", [torch.complex128, torch.int64, torch.bool, torch.float16])
def test_conv_operator_needs_real_float_filters(dtype):
    from invertlib import ConvOperator

    with pytest.raises(TypeError, match="w: expected real floating-point filters \\(float32 or float64\\)"):
        ConvOperator(torch.ones(2, 1, 3).to(dtype), 5)


def test_lasso_refuses_inputs_that_would_broadcast():
    from invertlib import ConvOperator, gaussian_filters
    from invertlib.sparse_coding import lasso_fista

    W = ConvOperator(gaussian_filters(3, 2, 3, generator=torch_generator(0), ndim=2), 6, padding=1)
    one_channel = torch.ones(1, 1, 6, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match="x: expected shape \\(\\.\\.\\., 2, 6, 6\\)"):
        lasso_fista(W, one_channel, 0.1, L=10.0)
    with pytest.raises(ValueError, match="x: expected a batch \\(B, 2, 6, 6\\)"):
        lasso_fista(W, torch.ones(2, 6, 6, dtype=torch.float64), 0.1, L=10.0)
    for L in (0.0, float("inf"), float("nan"), "10"):
        with pytest.raises(ValueError, match="L: expected a positive bound"):
            lasso_fista(W, torch.ones(1, 2, 6, 6, dtype=torch.float64), 0.1, L=L)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # imageio tries its legacy plugins first
def test_an_undecodable_image_is_named(tmp_path):
    from invertlib.vision.images import load_images

    (tmp_path / "a.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="image_dir: cannot decode the image a.png"):
        load_images(tmp_path, size=32)
