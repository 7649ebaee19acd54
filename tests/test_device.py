"""Device-agnostic code paths. On the "meta" device (shapes, no values) every hot path must run
without creating a tensor on a fixed device (mixing meta and CPU tensors is an error). On CUDA,
when present, the results must equal the CPU ones; those tests are skipped without CUDA."""

import numpy as np
import pandas as pd
import pytest
import torch

import invertlib as il
from invertlib.conv import ConvOperator
from invertlib.iht import model_iht, one_step_errors, one_step_inverse
from invertlib.rip import model_rip_ratios, rip_estimates, rip_ratio, support_delta
from invertlib.sparsity import PoolingModel

SETTINGS = {1: (96, 32, 5, 32, 0, None), 2: (16, 8, 3, 8, 1, 2)}  # (K, M, l, D, padding, pool)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (torch.cuda.is_available() is False)")


def _meta_operator(ndim):
    K, M, l, D, p, pool = SETTINGS[ndim]
    W = ConvOperator(torch.empty((K, M) + (l,) * ndim, device="meta"), D, padding=p)
    return W, PoolingModel(W.out_shape, pool)


@pytest.mark.parametrize("ndim", [1, 2])
def test_hot_paths_run_on_the_meta_device(ndim):
    W, model = _meta_operator(ndim)
    x = torch.empty((3,) + W.in_shape, device="meta")
    idx = torch.zeros(3, 4, dtype=torch.long, device="meta")
    vals = torch.empty(3, 4, device="meta")
    results = {
        "forward": (W.forward(x), (3,) + W.out_shape),
        "adjoint": (W.adjoint(W.forward(x)), (3,) + W.in_shape),
        "project": (model.project(W.forward(x), 3), (3,) + W.out_shape),
        "project_nonnegative": (model.project(W.forward(x), 3, nonnegative=True), (3,) + W.out_shape),
        "model_iht": (model_iht(W, x, model.projector(3), n_iter=2).z, (3,) + W.out_shape),
        "model_iht_normalized": (model_iht(W, x, model.projector(3), n_iter=2, step="normalized").x_hat, x.shape),
        "project_one_k_per_code": (model.project(W.forward(x), torch.tensor([1, 2, 3])), (3,) + W.out_shape),
        "one_step_inverse": (one_step_inverse(W, x, model.projector(3)), x.shape),
        "sparse_adjoint": (W.sparse_adjoint(idx, vals), (3,) + W.in_shape),
        "sparse_sq_norms": (W.sparse_sq_norms(idx, vals), (3,)),
        "atom_gram": (W.atom_gram(idx), (3, 4, 4)),
        "gram_rows": (W.gram_rows(idx), (3, 4, W.shape[0])),
    }
    for name, (out, shape) in results.items():
        assert out.device.type == "meta", name
        assert tuple(out.shape) == tuple(shape), name


def test_claims_record_the_device(tmp_path, monkeypatch):
    monkeypatch.setenv("INVERTLIB_FIGURES_DIR", str(tmp_path))
    claims = il.Claims("99_device_check", 0, "cuda:0")
    claims.invariant("dev.ok", "a claim", ours=1, holds=True)
    claims.finish()
    import json

    record = json.loads((tmp_path / "claims" / "99_device_check.json").read_text())
    assert record["device"] == "cuda:0"


def _fig2(device, generator):
    w = il.gaussian_filters(96, 32, 5, generator=generator, scale="paper")
    return ConvOperator(w.to(device), 32)


@cuda
def test_cuda_results_equal_cpu_results():
    outs = {}
    for device in ("cpu", "cuda"):
        g = il.torch_generator(0)  # the draws stay on the CPU generator: same numbers on both devices
        W = _fig2(device, g)
        model = PoolingModel(W.out_shape)
        est = rip_estimates(W, model, 10, 500, generator=g, n_starts=4, n_candidates=64)
        ratios, search = est.ratios, est.search
        z = model.sample(10, 64, generator=g).to(device)
        x = W.adjoint(z)
        outs[device] = {
            "ratios": ratios,
            "dense_ratios": rip_ratio(W, z),
            "search": search.deltas,
            "support_delta": support_delta(W, search.supports).delta,
            "iht": model_iht(W, x, model.projector(10), n_iter=5, step="normalized").z,
            "one_step": one_step_errors(W, 10, 64, generator=g),
            "mc_dense": model_rip_ratios(W, PoolingModel(W.out_shape, 1), 60, 64, generator=g),
            "sparse_adjoint": W.sparse_adjoint(search.supports, torch.ones(search.supports.shape, dtype=W.dtype)),
        }
        assert all(v.device.type == device for v in outs[device].values())
    for name, cpu in outs["cpu"].items():
        assert torch.allclose(outs["cuda"][name].cpu(), cpu, rtol=1e-9, atol=1e-9), name


@cuda
def test_cuda_phase_trials_equal_cpu_trials():
    from invertlib.phase import phase_trials

    runs = {
        device: phase_trials(
            [0.3],
            [0.1, 0.3],
            M=2,
            D=8,
            l=3,
            pool=2,
            n_trials=4,
            n_banks=2,
            n_iter=20,
            generator=il.torch_generator(0),
            device=device,
        )
        for device in ("cpu", "cuda")
    }
    np.testing.assert_allclose(runs["cuda"]["iht_error"], runs["cpu"]["iht_error"], rtol=1e-6, atol=1e-9)


@cuda
def test_cuda_classifier_and_network_run_on_cuda():
    from invertlib.vision.classify import accuracy, train_convnet
    from invertlib.vision.networks import VGG16

    g = il.torch_generator(0)
    x = torch.randn(64, 1, 8, 8, generator=g).cuda()
    y = torch.randint(10, (64,), generator=g).cuda()
    for random_filters in (True, False):
        net = train_convnet(x, y, depth=1, ksize=3, width=4, random_filters=random_filters, generator=g, epochs=1).net
        assert next(net.parameters()).device.type == "cuda" and 0 <= accuracy(net, x, y) <= 1
    net = VGG16.pretrained().cuda()
    images = torch.rand(1, 32, 32, 3, generator=g).cuda()
    x = net.preprocess(images)
    assert x.device.type == "cuda" and net.deprocess(x).device.type == "cuda"


class DeviceTensor(torch.Tensor):
    """A CPU tensor that behaves like a CUDA one where NumPy is concerned: `.numpy()` (and so
    `np.asarray`) refuses it, as torch refuses a CUDA tensor, until `.cpu()` copies it to the host.
    Operations on it give DeviceTensors again, so the check follows the data through the code."""

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert a device tensor to numpy: use Tensor.cpu() first (DeviceTensor)")

    def cpu(self, *args, **kwargs):
        return super().cpu(*args, **kwargs).as_subclass(torch.Tensor)


def _on_device(t: torch.Tensor) -> torch.Tensor:
    return t.as_subclass(DeviceTensor)


def test_device_tensor_refuses_numpy_like_cuda():
    t = _on_device(torch.ones(3)) * 2
    assert type(t) is DeviceTensor
    with pytest.raises(TypeError, match="cpu"):
        t.numpy()
    with pytest.raises(TypeError, match="cpu"):
        np.asarray(t)
    assert t.detach().double().cpu().numpy().tolist() == [2.0, 2.0, 2.0]


def test_public_numpy_results_accept_device_tensors():
    """Every public function that hands tensors to NumPy (image scores, PSNR, figures, bootstrap,
    theory on tensors, coherence tables) copies them to the host first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from invertlib import coherence, metrics, stats, theory
    from invertlib.companion import plotting

    g = il.torch_generator(0)
    x, d = torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 3, 8, 8, generator=g)
    rgb = (d.permute(0, 2, 3, 1), x.permute(0, 2, 3, 1))
    ref = metrics.image_scores(d, x, *rgb)
    dev = metrics.image_scores(_on_device(d), _on_device(x), *(_on_device(t) for t in rgb))
    for name in ("error", "fitted", "psnr"):
        np.testing.assert_allclose(getattr(dev, name), getattr(ref, name), rtol=1e-12)
    np.testing.assert_allclose(metrics.psnr(*(_on_device(t) for t in rgb)), ref.psnr, rtol=1e-12)

    fig = plotting.image_grid([[_on_device(rgb[0][0]), rgb[1][0]]])
    plt.close(fig)
    W = il.ConvOperator(il.gaussian_filters(2, 2, 3, generator=g), 6)
    fig, ax = plt.subplots()
    plotting.draw_conv_matrix(ax, W, _on_device(W.matrix()))
    plt.close(fig)

    values = torch.rand(20, generator=g, dtype=torch.float64)
    a = stats.bootstrap_interval(_on_device(values), generator=il.numpy_generator(1), n_resamples=200)
    b = stats.bootstrap_interval(values, generator=il.numpy_generator(1), n_resamples=200)
    assert (a.low, a.high) == (b.low, b.high)
    deltas = _on_device(torch.tensor([0.1, 0.2], dtype=torch.float64))
    assert theory.thm33_bound(deltas[0], deltas[1]) == theory.thm33_bound(0.1, 0.2)
    bank = il.gaussian_filters(4, 2, 3, generator=g, ndim=2)
    on_device = coherence.coherence_table({"a": _on_device(bank)}, generator=il.torch_generator(2))
    on_cpu = coherence.coherence_table({"a": bank}, generator=il.torch_generator(2))
    pd.testing.assert_frame_equal(on_device.table, on_cpu.table)
