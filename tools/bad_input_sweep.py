"""Call invertlib's public functions with bad or edge inputs and sort what happens.

Usage: .venv/bin/python tools/bad_input_sweep.py [--verbose]

Every case is an input the function should refuse. Each outcome is one of
  clear   - ValueError / TypeError / FileNotFoundError whose message starts with the name of one of
            the call's arguments ("k: expected ...");
  lowlevel - any other exception (torch/numpy internals, KeyError, a message naming no argument);
  silent  - a result came back: a bug, the input was bad.
Prints a count per outcome and the cases that were not clear; exits 1 if any case was silent.
"""

from __future__ import annotations

import inspect
import re
import sys

import numpy as np
import pandas as pd
import torch

import invertlib as il
from invertlib import cnn, coherence, conv, iht, metrics, phase, rip, sparse_coding, sparsity, stats, theory
from invertlib.rng import torch_generator

g = torch_generator(0)
W1 = il.ConvOperator(il.gaussian_filters(4, 2, 3, generator=torch_generator(1)), 8)  # 1-D: code (4, 6)
W2 = il.ConvOperator(il.gaussian_filters(3, 2, 3, generator=torch_generator(2), ndim=2), 6, padding=1)
M1 = sparsity.PoolingModel(W1.out_shape, 2)
M2 = sparsity.PoolingModel(W2.out_shape, 2)
x1 = torch.randn((2,) + W1.in_shape, generator=torch_generator(3), dtype=torch.float64)
z1 = M1.sample(2, 2, generator=torch_generator(4))
nan = float("nan")
inf = float("inf")


def bad_tensors(shape, dtype=torch.float64, sized=True):
    """Tensors that are wrong for an argument of `shape`: wrong rank, wrong size (when the size
    is fixed, `sized`), empty, NaN, inf, complex, integer, boolean, a list."""
    ok = torch.ones(shape, dtype=dtype)
    wrong_size = torch.ones(shape[:-1] + (shape[-1] + 1,), dtype=dtype)
    out = {
        "rank-1": torch.ones(3, dtype=dtype),
        "wrong size": wrong_size,
        "empty": torch.ones((0,) + tuple(shape[1:]), dtype=dtype),
        "NaN": ok * nan,
        "inf": ok * inf,
        "complex": ok.to(torch.complex128),
        "integer": ok.long(),
        "bool": ok.bool(),
        "list": ok.tolist(),
    }
    if not sized:  # a filter bank of another size is still a filter bank
        del out["wrong size"]
    return out


CASES = []


def case(label, fn, *args, **kwargs):
    CASES.append((label, fn, args, kwargs))


# ---- conv and filters
for name, w in bad_tensors((4, 2, 3), sized=False).items():
    case(f"ConvOperator(w={name})", il.ConvOperator, w, 8)
for v in (0, -1, 2.5, True, "8", 2):
    case(f"ConvOperator(input_size={v!r})", il.ConvOperator, W1.w, v)
for v in (0, -1, 1.5, 7):
    case(f"ConvOperator(stride={v!r})", il.ConvOperator, W1.w, 8, v)
for v in (-1, 0.5, True):
    case(f"ConvOperator(padding={v!r})", il.ConvOperator, W1.w, 8, 1, v)
for name, x in bad_tensors((2,) + W1.in_shape).items():
    case(f"W.forward(x={name})", W1.forward, x)
for name, h in bad_tensors((2,) + W1.out_shape).items():
    case(f"W.adjoint(h={name})", W1.adjoint, h)
case("W.forward(float32 x)", W1.forward, x1.float())
for a in ((0, 2, 3), (4, 0, 3), (4, 2, 0), (2.5, 2, 3), (-1, 2, 3)):
    case(f"gaussian_filters{a}", il.gaussian_filters, *a, generator=g)
case("gaussian_filters(generator=None)", il.gaussian_filters, 4, 2, 3, generator=None)
case("gaussian_filters(ndim=3)", il.gaussian_filters, 4, 2, 3, generator=g, ndim=3)
case("gaussian_filters(scale='big')", il.gaussian_filters, 4, 2, 3, generator=g, scale="big")
case("gaussian_filters(dtype=int)", il.gaussian_filters, 4, 2, 3, generator=g, dtype=torch.int64)
for name, w in bad_tensors((4, 2, 3), sized=False).items():
    case(f"normalize_filters({name})", il.normalize_filters, w)
case("normalize_filters(zero filter)", il.normalize_filters, torch.zeros(2, 2, 3))
for a in ((0, 3), (2, 0), (2.5, 3)):
    case(f"orthonormal_filters{a}", il.orthonormal_filters, *a, generator=g)
case("dot_test(batch=0)", il.dot_test, W1, generator=g, batch=0)
case("dot_test(generator=None)", il.dot_test, W1, generator=None)
case("matrix_mismatch(wrong W)", conv.matrix_mismatch, W1, torch.ones(3, 3), generator=g)
case("frame_summary(W list)", conv.frame_summary, W1, [[1.0]])

# ---- sparsity
for shape in ((4.7, 6), (0, 6), (4, 6, 5), (4,), (4, 6, 6, 6), "4,6", (True, 6)):
    case(f"PoolingModel({shape!r})", sparsity.PoolingModel, shape, 2)
for p in (0, -2, 4, 7, 2.5, "2"):
    case(f"PoolingModel(pool={p!r})", sparsity.PoolingModel, (4, 6), p)
case("PoolingModel(stride > pool)", sparsity.PoolingModel, (4, 6), 2, 3)
case("PoolingModel 2-D pool=None", sparsity.PoolingModel, (3, 6, 6), None)
for k in (0, -1, 13, 2.5, True, None, "2"):
    case(f"model.sample(k={k!r})", M1.sample, k, 3, generator=g)
for n in (0, -1, 2.5):
    case(f"model.sample(n_samples={n!r})", M1.sample, 2, n, generator=g)
case("model.sample(generator=None)", M1.sample, 2, 3, generator=None)
case("model.sample(values='poisson')", M1.sample, 2, 3, generator=g, values="poisson")
case("model.sample(per_region=3)", M1.sample, 2, 3, generator=g, per_region=3)
for name, z in bad_tensors((2,) + M1.code_shape).items():
    case(f"model.project(z={name})", M1.project, z, 2)
for k in (0, 13, 2.5):
    case(f"model.project(k={k!r})", M1.project, z1, k)
case("model.project(switches='random')", M1.project, z1, 2, switches="random")
case("model.contains(k=0)", M1.contains, z1, 0)
case("model.contains(per_region=3)", M1.contains, z1, 2, per_region=3)
for f in (-0.1, 1.5, 12.0, nan, "0.1"):
    case(f"k_for_sparsity({f!r})", M1.k_for_sparsity, f)
case("n_supports(k=0)", M1.n_supports, 0)

# ---- cnn and iht
case("cnn_layer(x wrong shape)", cnn.cnn_layer, W1, torch.ones(2, 3, 8, dtype=torch.float64), 2)
case("cnn_layer(pool=4)", cnn.cnn_layer, W1, x1, 4)
for name, x in bad_tensors((2,) + W1.in_shape).items():
    case(f"model_iht(x={name})", iht.model_iht, W1, x, M1.projector(2))
case("model_iht(zero x)", iht.model_iht, W1, torch.zeros_like(x1), M1.projector(2))
for s in (0, -1.0, "fast", nan, inf):
    case(f"model_iht(step={s!r})", iht.model_iht, W1, x1, M1.projector(2), step=s)
for n in (0, -1, 2.5):
    case(f"model_iht(n_iter={n!r})", iht.model_iht, W1, x1, M1.projector(2), n_iter=n)
case("model_iht(project=None)", iht.model_iht, W1, x1, None)
case("model_iht(tol=-1)", iht.model_iht, W1, x1, M1.projector(2), tol=-1.0)
case("one_step_inverse(x wrong)", iht.one_step_inverse, W1, torch.ones(2, 3, 8), M1.projector(2))
case("one_step_errors(k=0)", iht.one_step_errors, W1, 0, 5, generator=g)
case("one_step_errors(generator=None)", iht.one_step_errors, W1, 2, 5, generator=None)
case("one_step_errors(pool=4)", iht.one_step_errors, W1, 2, 5, generator=g, pool=4)

# ---- rip
for name, z in bad_tensors((2,) + W1.out_shape).items():
    case(f"rip_ratio(z={name})", rip.rip_ratio, W1, z)
case("rip_ratio(zero code)", rip.rip_ratio, W1, torch.zeros_like(z1))
case("model_rip_ratios(model of another shape)", rip.model_rip_ratios, W1, M2, 2, 5, generator=g)
case("model_rip_ratios(k=0)", rip.model_rip_ratios, W1, M1, 0, 5, generator=g)
case("model_rip_ratios(n_samples=0)", rip.model_rip_ratios, W1, M1, 2, 0, generator=g)
for r in (torch.tensor([]), torch.tensor([nan, 1.0]), torch.tensor([-1.0]), [1.0, 2.0], "1"):
    case(f"delta_from_ratios({r!r})", rip.delta_from_ratios, r)
case("support_delta(index out of range)", rip.support_delta, W1, torch.tensor([[0, 99]]))
case("support_delta(negative index)", rip.support_delta, W1, torch.tensor([[0, -1]]))
case("support_delta(repeated index)", rip.support_delta, W1, torch.tensor([[0, 0]]))
case("support_delta(float supports)", rip.support_delta, W1, torch.tensor([[0.5, 1.0]]))
case("worst_case_delta(no generator, no starts)", rip.worst_case_delta, W1, M1, 2)
case("worst_case_delta(starts wrong width)", rip.worst_case_delta, W1, M1, 2, starts=torch.tensor([[0, 1, 2]]))
case("worst_case_delta(starts not in model)", rip.worst_case_delta, W1, M1, 2, starts=torch.tensor([[0, 1]]))
case("worst_case_delta(n_candidates=0)", rip.worst_case_delta, W1, M1, 2, generator=g, n_candidates=0)
case("exact_delta(k=0)", rip.exact_delta, W1, M1, 0)
case("exact_delta(per_region=3)", rip.exact_delta, W1, M1, 1, per_region=3)
case("exact_delta(model of another shape)", rip.exact_delta, W1, M2, 1)
case("rip_estimates(n_starts=1)", rip.rip_estimates, W1, M1, 2, 5, generator=g, n_starts=1)
for name, w in bad_tensors((4, 2, 3), sized=False).items():
    case(f"coherence({name})", coherence.coherence, w)
case("coherence(one filter)", coherence.coherence, torch.ones(1, 2, 3))
case("coherence(stride=0, shifts)", coherence.coherence, W1.w, shifts=True, stride=0)
case("coherence_table(bank list)", coherence.coherence_table, {"a": [[1.0]]}, generator=g)
case("coherence_table(n_random_draws=0)", coherence.coherence_table, {"a": W2.w}, generator=g, n_random_draws=0)

# ---- theory
for a in ((10, 96, 28, 1.2, 0.01), (10, 96, 28, 0.3, 1.5), (0, 96, 28, 0.3, 0.01), (10, 96, 28, nan, 0.01)):
    case(
        f"thm31_requirement{a}", theory.thm31_requirement, **dict(zip(("k", "K", "n", "delta", "eps"), a, strict=True))
    )
for a in ((-0.1, 0.2), (0.1, nan), ("0.1", 0.2)):
    case(f"thm33_bound{a}", theory.thm33_bound, *a)

for a in ((8, 5, 16, 10, 12, 1.5, 0.01), (8, 5, 16, 10, 12, 0.3, 0.0), (0, 5, 16, 10, 12, 0.3, 0.01)):
    case(f"thm31_max_k{a}", theory.thm31_max_k, **dict(zip(("M", "l", "D", "K", "n", "delta", "eps"), a, strict=True)))
for v in (0, -1.0, nan, "0.5"):
    case(f"thm33_delta_for({v!r})", theory.thm33_delta_for, v)
_sweep = dict(sweeps={"M": [2, 4]}, M=2, l=3, K=4, k=2, D=8, n_draws=1, n_samples=5, eps=0.01, generator=g, n_starts=2)
for name, kw in {
    "sweeps a list": dict(sweeps=[("M", [2])]),
    "sweeps empty": dict(sweeps={}),
    "sweeps unknown parameter": dict(sweeps={"N": [2]}),
    "sweeps no values": dict(sweeps={"M": []}),
    "sweeps value 0": dict(sweeps={"M": [0, 2]}),
    "sweeps l > D": dict(sweeps={"l": [9]}),
    "sweeps k > K": dict(sweeps={"k": [5]}),
    "l > D": dict(l=9),
    "k > K": dict(k=5),
    "stride not dividing D - l": dict(stride=4),
    "n_draws 0": dict(n_draws=0),
    "eps 0": dict(eps=0.0),
    "values unknown": dict(values="laplace"),
    "generator None": dict(generator=None),
}.items():
    case(f"thm31_sweep({name})", theory.thm31_sweep, **{**_sweep, **kw})
_points = pd.DataFrame(dict(sweep=["M", "M"], value=[2, 4], predictor=[1.0, 0.5], delta_search=[0.8, 0.6]))
case("thm31_points(not a sweep table)", theory.thm31_points, pd.DataFrame({"a": [1]}))
case("thm31_points(a dict)", theory.thm31_points, {"sweep": ["M"]})
case("fit_thm31_constant(estimate missing)", theory.fit_thm31_constant, _points, estimate="delta_mc")
case("fit_thm31_constant(zero delta)", theory.fit_thm31_constant, _points.assign(delta_search=0.0))
case("fit_thm31_constant(NaN predictor)", theory.fit_thm31_constant, _points.assign(predictor=nan))
case("fit_thm31_constant(empty)", theory.fit_thm31_constant, _points.iloc[:0])
case("thm31_slopes(one value)", theory.thm31_slopes, _points.iloc[:1])
case("thm31_slopes(estimates a string)", theory.thm31_slopes, _points, estimates="delta_search")
case("thm31_slopes_agree(not a slopes table)", theory.thm31_slopes_agree, _points)
_slopes = pd.DataFrame(dict(parameter=["M"], theorem=[-1.0], delta_search=[-1.2]))
case("thm31_slopes_agree(estimate missing)", theory.thm31_slopes_agree, _slopes, estimate="delta_mc")
case("thm31_slopes_agree(tolerance=0)", theory.thm31_slopes_agree, _slopes, tolerance=0)
_report = dict(median_range=(0.1, 0.2), max_bound=0.5)
case("fig2c_distance(median<0)", theory.fig2c_distance, -0.1, 0.4, **_report)
case("fig2c_distance(maximum NaN)", theory.fig2c_distance, 0.1, nan, **_report)
case("fig2c_distance(median_range reversed)", theory.fig2c_distance, 0.1, 0.4, median_range=(0.2, 0.1), max_bound=0.5)
case("fig2c_distance(median_range one value)", theory.fig2c_distance, 0.1, 0.4, median_range=(0.2,), max_bound=0.5)
case("fig2c_distance(max_bound inf)", theory.fig2c_distance, 0.1, 0.4, median_range=(0.1, 0.2), max_bound=inf)
_settings = pd.DataFrame(dict(distance=[0.0], k=[2], values=["uniform"], pool=[28], metric=["relative"]))
case(
    "fig2c_closest(column missing)",
    theory.fig2c_closest,
    _settings.drop(columns="metric"),
    k=10,
    values="uniform",
    pool=28,
)
case("fig2c_closest(empty)", theory.fig2c_closest, _settings.iloc[:0], k=10, values="uniform", pool=28)
case("fig2c_closest(k=0)", theory.fig2c_closest, _settings, k=0, values="uniform", pool=28)
case("fig2c_closest(pool=2.5)", theory.fig2c_closest, _settings, k=10, values="uniform", pool=2.5)

# ---- phase transitions
for v in (0.0, 1.5, nan, "0.5"):
    case(f"dt_weak_threshold({v!r})", theory.dt_weak_threshold, v)
case("logistic_boundary(successes > trials)", stats.logistic_boundary, [0.1, 0.2], [3, 11], [10, 10])
case("logistic_boundary(one rho)", stats.logistic_boundary, [0.1, 0.1], [3, 1], [10, 10])
case("logistic_boundary(lengths differ)", stats.logistic_boundary, [0.1, 0.2, 0.3], [3, 1], [10, 10])
case("logistic_boundary(trials=0)", stats.logistic_boundary, [0.1, 0.2], [0, 0], [0, 10])
case("logistic_boundary(one group)", stats.logistic_boundary, [0.1, 0.2], [3, 1], [10, 10], groups=[0, 0])

# ---- uncertainty (bootstrap over photographs)
_ng = np.random.default_rng(0)
case("bootstrap_indices(n_units=1)", stats.bootstrap_indices, 1, generator=_ng)
case("bootstrap_indices(generator=seed)", stats.bootstrap_indices, 5, generator=0)
case("bootstrap_indices(n_resamples=0)", stats.bootstrap_indices, 5, generator=_ng, n_resamples=0)
case("percentile_interval(NaN resample)", stats.percentile_interval, 0.0, [1.0, nan], n_units=3)
case("percentile_interval(one resample)", stats.percentile_interval, 0.0, [1.0], n_units=3)
case("percentile_interval(level=1)", stats.percentile_interval, 0.0, [1.0, 2.0], n_units=3, level=1.0)
case("correlation_rows(lengths differ)", stats.correlation_rows, np.ones((2, 3)), [1.0, 2.0])
case("correlation_rows(1-D rows)", stats.correlation_rows, np.ones(3), [1.0, 2.0, 3.0])
_grid = dict(M=2, D=8, l=3, pool=2, n_trials=2, n_banks=1, n_iter=2, generator=g)
for name, kw in {
    "n_trials not a multiple of n_banks": dict(n_trials=3, n_banks=2),
    "l > D": dict(l=9),
    "methods unknown": dict(methods=("OMP",)),
    "methods a string": dict(methods="IHT"),
    "dtype int": dict(dtype=torch.int64),
    "values unknown": dict(values="laplace"),
    "n_iter 0": dict(n_iter=0),
}.items():
    case(f"phase_trials({name})", phase.phase_trials, [0.3], [0.1], **{**_grid, **kw})
case("phase_trials(deltas=[0])", phase.phase_trials, [0.0], [0.1], **_grid)
case("phase_trials(rhos=[])", phase.phase_trials, [0.3], [], **_grid)
case("phase_trials(no cell in the model)", phase.phase_trials, [0.3], [0.9], **{**_grid, "pool": None})
case("phase_cells(not a trials table)", phase.phase_cells, pd.DataFrame({"a": [1]}))
case("phase_boundaries(criterion)", phase.phase_boundaries, pd.DataFrame({"a": [1]}), criterion="l1")
case("pool_rows(no pool column)", phase.pool_rows, pd.DataFrame({"a": [1]}), 2)
case("pool_rows(pool=2.5)", phase.pool_rows, pd.DataFrame({"pool": [2]}), 2.5)
case("pool_rows(pool=0)", phase.pool_rows, pd.DataFrame({"pool": [2]}), 0)
_bounds = pd.DataFrame(dict(K=[10], criterion=["iht"]))
_thm = dict(M=8, D=16, l=5, C=0.3, eps=0.01)
for name, (table, kw) in {
    "no criterion column": (_bounds.drop(columns="criterion"), {}),
    "unknown criterion": (_bounds.assign(criterion="l1"), {}),
    "K=0": (_bounds.assign(K=0), {}),
    "l > D": (_bounds, dict(l=17)),
    "C=0": (_bounds, dict(C=0.0)),
    "eps=1": (_bounds, dict(eps=1.0)),
    "recovery_delta=1.5": (_bounds, dict(recovery_delta=1.5)),
    "one_step_tol=0": (_bounds, dict(one_step_tol=0)),
}.items():
    case(f"thm31_boundary({name})", phase.thm31_boundary, table, **{**_thm, **kw})
case("dense_operator(3-D)", conv.dense_operator, torch.zeros(2, 3, 4))
case("dense_operator(complex)", conv.dense_operator, torch.zeros(2, 3, dtype=torch.complex64))
case("project(k per code, wrong shape)", M1.project, z1, torch.tensor([1, 2, 3]))
case("project(k per code, float)", M1.project, z1, torch.tensor([1.0, 2.0]))
case("project(k per code, too large)", M1.project, z1, torch.tensor([1, 99]))
case("project(top-k model, k > R)", sparsity.PoolingModel(W1.out_shape, 1).project, z1, 25)

# ---- metrics
case("relative_error(shapes differ)", metrics.relative_error, torch.ones(2, 3), torch.ones(2, 4))
case("relative_error(zero reference)", metrics.relative_error, torch.ones(2, 3), torch.zeros(2, 3))
case("relative_error(NaN)", metrics.relative_error, torch.ones(2, 3) * nan, torch.ones(2, 3))
case("relative_error(complex)", metrics.relative_error, torch.ones(2, 3, dtype=torch.complex64), torch.ones(2, 3))
case("rescale_to(zero estimate)", metrics.rescale_to, torch.zeros(2, 3), torch.ones(2, 3))
case("rescale_to(shapes differ)", metrics.rescale_to, torch.ones(2, 3), torch.ones(3, 3))
case("fitted_image_error(3-D)", metrics.fitted_image_error, torch.ones(2, 3, 4), torch.ones(2, 3, 4))
case("psnr(out of range)", metrics.psnr, torch.full((1, 4, 4, 3), 2.0), torch.zeros(1, 4, 4, 3))
case("psnr(NCHW)", metrics.psnr, torch.rand(1, 3, 4, 4, generator=g), torch.rand(1, 3, 4, 4, generator=g))

# ---- sparse coding
xs = torch.randn((1,) + W2.in_shape, generator=torch_generator(5))
W2f = il.ConvOperator(W2.w.float(), 6, padding=1)
case("lasso_fista(L=0)", sparse_coding.lasso_fista, W2f, xs, 0.1, L=0.0)
case("lasso_fista(lam<0)", sparse_coding.lasso_fista, W2f, xs, -0.1, L=10.0)
case("lasso_fista(lam NaN)", sparse_coding.lasso_fista, W2f, xs, nan, L=10.0)
case("lasso_fista(lam wrong length)", sparse_coding.lasso_fista, W2f, xs, torch.ones(3), L=10.0)
case("lasso_fista(1 channel)", sparse_coding.lasso_fista, W2f, xs[:, :1], 0.1, L=10.0)
case("lasso_fista(x float64 vs W float32)", sparse_coding.lasso_fista, W2f, xs.double(), 0.1, L=10.0)
case("algorithm2(k=0)", sparse_coding.algorithm2, W2f, xs, M2, 0, 0.1, L=10.0)
case("spectral_norm_sq(n_iter=0)", sparse_coding.spectral_norm_sq, W2f, generator=g, n_iter=0)

# ---- rng and claims
case("torch_generator(-1)", il.torch_generator, -1)
case("torch_generator(1.5)", il.torch_generator, 1.5)
case("numpy_generator('a')", il.numpy_generator, "a")
case("Claims(bad name)", il.Claims, "notebook", 0)


# ---- networks, images, decoders, data, classify, plotting, claims
from invertlib.companion import plotting  # noqa: E402
from invertlib.vision import classify, data, decoders, images, networks  # noqa: E402

vgg = networks.VGG16()
small = torch.rand(1, 3, 32, 32, generator=torch_generator(6)).double()
for name in ("conv9_9", "", 3, None):
    case(f"net.spec({name!r})", vgg.spec, name)
    case(f"net.conv_after({name!r})", vgg.conv_after, name)
case("net.conv_after('conv5_3')", vgg.conv_after, "conv5_3")
for u in ("conv9_9", 3):
    case(f"net(x, upto={u!r})", vgg.forward, vgg.preprocess(small.permute(0, 2, 3, 1)), upto=u)
for name, x in {
    "3 channels first": torch.rand(1, 3, 32, 32).permute(0, 1, 2, 3)[:, :, :, :1],
    "grey (B, H, W)": torch.rand(1, 32, 32),
    "values 0-255": torch.full((1, 32, 32, 3), 200.0),
    "NaN": torch.full((1, 32, 32, 3), nan),
    "integer": torch.ones(1, 32, 32, 3, dtype=torch.int64),
    "empty": torch.ones(0, 32, 32, 3),
}.items():
    case(f"net.preprocess({name})", vgg.preprocess, x)
for name, x in {"rank 3": torch.rand(3, 32, 32), "1 channel": torch.rand(1, 1, 32, 32), "NaN": small * nan}.items():
    case(f"net.forward({name})", vgg.forward, x)
case("net.deprocess(rank 3)", vgg.deprocess, torch.rand(3, 32, 32))
case("VGG16.pretrained(source='caffe')", networks.VGG16.pretrained, source="caffe")
case("VGG16.pretrained(weights_file missing)", networks.VGG16.pretrained, weights_file="/nonexistent/w.pth")
case("conv_shapes('resnet')", networks.conv_shapes, "resnet")
case("layer_sparsity(batch_size=0)", networks.layer_sparsity, vgg, torch.rand(1, 32, 32, 3), batch_size=0)
case("layer_sparsity(images NCHW)", networks.layer_sparsity, vgg, torch.rand(1, 3, 32, 32), batch_size=1)
for kw in (
    dict(size=0),
    dict(size=33.5),
    dict(photos="cats"),
    dict(max_images=0),
    dict(max_images=-2),
    dict(image_dir="/nonexistent"),
):
    case(f"load_images({kw})", images.load_images, **{"size": 32, **kw})
case("center_crop_resize(size=0)", images.center_crop_resize, np.zeros((8, 8, 3), np.uint8), 0)
case("center_crop_resize(1-D)", images.center_crop_resize, np.zeros(8, np.uint8), 4)
case("image_files(missing)", images.image_files, "/nonexistent")
# images as users have them (issue 26, family 2): float photos in 0-255, complex, empty, float corpus photos
case("center_crop_resize(float 0-255)", images.center_crop_resize, np.full((8, 8, 3), 200.0), 4)
case("center_crop_resize(complex)", images.center_crop_resize, np.zeros((8, 8, 3), complex), 4)
case("center_crop_resize(empty)", images.center_crop_resize, np.zeros((0, 8, 3), np.uint8), 4)
case("center_crop_resize(2 channels)", images.center_crop_resize, np.zeros((8, 8, 2), np.uint8), 4)
from invertlib.vision import corpus as _corpus  # noqa: E402

_float_photos = [torch.rand(3, 64, 64)]
case("CropSampler(float photos)", _corpus.CropSampler, _float_photos, 32, torch_generator(0))
case("CropSampler(photos=tensor)", _corpus.CropSampler, torch.zeros(2, 3, 64, 64, dtype=torch.uint8), 32, g)
case("CropSampler(HWC photos)", _corpus.CropSampler, [torch.zeros(64, 64, 3, dtype=torch.uint8)], 32, g)
case("center_crops(float photos)", _corpus.center_crops, _float_photos, 32)
case("center_crops(size=0)", _corpus.center_crops, [torch.zeros(3, 8, 8, dtype=torch.uint8)], 0)
for layer in ("pool5", "conv1_1", 4, ""):
    case(f"WhatWhereDecoder({layer!r})", decoders.WhatWhereDecoder, layer)
    case(f"load_decoder({layer!r})", decoders.load_decoder, layer)
case("load_decoder(directory missing)", decoders.load_decoder, "pool1", "/nonexistent")
case("decoder.reset_parameters(None)", decoders.WhatWhereDecoder("pool1").reset_parameters, None)
case(
    "invert_by_optimization(layer='pool9')",
    decoders.invert_by_optimization,
    vgg,
    torch.ones(1, 64, 16, 16),
    "pool9",
    (32, 32),
    generator=g,
)
case(
    "invert_by_optimization(n_iter=0)",
    decoders.invert_by_optimization,
    vgg,
    torch.ones(1, 64, 16, 16),
    "pool1",
    (32, 32),
    generator=g,
    n_iter=0,
)
case(
    "invert_by_optimization(generator=None)",
    decoders.invert_by_optimization,
    vgg,
    torch.ones(1, 64, 16, 16),
    "pool1",
    (32, 32),
    generator=None,
)
for split in ("val", "", None):
    case(f"load_fashion_mnist({split!r})", data.load_fashion_mnist, split)
    case(f"load_cifar10({split!r})", data.load_cifar10, split, "/tmp")
case("load_fashion_mnist(directory missing)", data.load_fashion_mnist, "train", "/nonexistent")
case("load_cifar10(no directory)", data.load_cifar10, "train", None) if "CIFAR10_DIR" not in __import__(
    "os"
).environ else None
case("read_idx(missing)", data.read_idx, "/nonexistent/file")
for args in (
    (0, 8, 3, 1, 32, 10),
    (1, 0, 3, 1, 32, 10),
    (1, 8, 4, 1, 32, 10),
    (3, 8, 3, 1, 28, 10),
    (1, 8, 3, 1, 32, 0),
):
    case(f"ConvNet{args}", classify.ConvNet, *args, generator=g, random_filters=True)
case("ConvNet(generator=None)", classify.ConvNet, 1, 8, 3, 1, 32, 10, generator=None, random_filters=True)
net_c = classify.ConvNet(1, 4, 3, 1, 8, 2, generator=torch_generator(7), random_filters=True)
x4, y4, y3 = torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long), torch.zeros(3, dtype=torch.long)
case("fit(epochs=0)", classify.fit, net_c, x4, y4, generator=g, epochs=0)
case("fit(labels out of range)", classify.fit, net_c, x4, torch.full((4,), 5), generator=g)
case("fit(x, y lengths differ)", classify.fit, net_c, x4, y3, generator=g)
case("accuracy(x, y lengths differ)", classify.accuracy, net_c, x4, y3)
case("accuracy(empty)", classify.accuracy, net_c, torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long))
case("prepare(size smaller)", classify.prepare, np.zeros((2, 28, 28), np.uint8), size=16)
for name in ("fig 1", "../x", "a.png", "", 3):
    case(f"save_table(name={name!r})", plotting.save_table, pd.DataFrame({"a": [1]}), name)
case("image_grid(no rows)", plotting.image_grid, [])
case("image_grid(ragged)", plotting.image_grid, [[np.zeros((4, 4, 3))], [np.zeros((4, 4, 3))] * 2])
claims = il.Claims("99_sweep", 0)
case("claims.paper(verdict='ok')", claims.paper, "a.b", "x", paper=1, ours=1, verdict="ok")
case("claims.paper(partly without note)", claims.paper, "a.c", "x", paper=1, ours=2, verdict="partly")
case("claims.compare(tol=0)", claims.compare, "a.d", "x", paper=1.0, ours=1.0, tol=0)
case("claims.compare(ours='1')", claims.compare, "a.e", "x", paper=1.0, ours="one", tol=0.1)
case("claims.invariant(id with space)", claims.invariant, "a b", "x", ours=1, holds=True)
case("claims.finding(id empty)", claims.finding, "", "x", ours=1)
case("torch_generator(device='tpu')", il.torch_generator, 0, "tpu")


import contextlib  # noqa: E402
import io  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from invertlib.vision import evaluate, train_decoders  # noqa: E402

# ---- zero and degenerate inputs (issue 26, family 3): refused, never NaN
zero_code = torch.zeros_like(z1)
case("lemma_b1_ratios(zero code)", rip.lemma_b1_ratios, W1, M1, zero_code, 2)
case("lasso_fista(zero image)", sparse_coding.lasso_fista, W2f, torch.zeros_like(xs), 0.1, L=10.0)
case("algorithm2(zero image)", sparse_coding.algorithm2, W2f, torch.zeros_like(xs), M2, 2, 0.1, L=10.0)
W_zero = il.ConvOperator(torch.zeros_like(W1.w), 8)
case("dot_test(zero operator)", il.dot_test, W_zero, generator=g)
case("dot_test(op not an operator)", il.dot_test, "W", generator=g)
flat_image = torch.ones(1, 3, 8, 8)
case("fitted_image_error(constant original)", metrics.fitted_image_error, torch.rand(1, 3, 8, 8), flat_image)
for label, kw in (
    ("zero target", dict(target=torch.zeros(1, 64, 16, 16))),
    ("step=0", dict(step=0.0)),
    ("tv_weight<0", dict(tv_weight=-1.0)),
    ("image_scale=0", dict(image_scale=0.0)),
    ("target 3-D", dict(target=torch.ones(64, 16, 16))),
    ("image_shape=(32,)", dict(image_shape=(32,))),
):
    args = dict(target=torch.ones(1, 64, 16, 16), image_shape=(32, 32)) | kw
    case(
        f"invert_by_optimization({label})",
        decoders.invert_by_optimization,
        vgg,
        args.pop("target"),
        "pool1",
        args.pop("image_shape"),
        generator=g,
        n_iter=1,
        **args,
    )
case("prepare(constant images)", classify.prepare, np.full((3, 8, 8), 7, np.uint8))
case("prepare(mean without std)", classify.prepare, np.zeros((3, 8, 8), np.uint8), mean=torch.zeros(1, 1, 1, 1))
# ---- divergence and meaningless settings (issue 26, family 4)
case("lasso_fista(L far below ||W||^2)", sparse_coding.lasso_fista, W2f, xs, 0.01, L=1e-4, n_iter=50)
case("coherence(stride=0)", coherence.coherence, W1.w, stride=0)
case("VGG16.pretrained(source='hed', weights_file=...)", networks.VGG16.pretrained, source="hed", weights_file="w.pth")
case("to_dense(values of another shape)", M1.to_dense, torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 2))
case("to_dense(index out of range)", M1.to_dense, torch.full((1, 1), 10**6), torch.ones(1, 1))
case("model.sample(dtype=complex128)", M1.sample, 2, 3, generator=g, dtype=torch.complex128)
case("model.sample(dtype=int64)", M1.sample, 2, 3, generator=g, dtype=torch.int64)
case("total_variation(unbatched)", decoders.total_variation, torch.ones(3, 8, 8))
case("thm33_bound(shapes differ)", theory.thm33_bound, np.ones(2) * 0.1, np.ones(3) * 0.2)
# ---- messages that name the caller's argument (issue 26, family 5)
case("thm31_requirement(shapes differ)", theory.thm31_requirement, k=[1, 2], K=[3, 4, 5], n=8, delta=0.5, eps=0.1)
case("thm31_max_k(shapes differ)", theory.thm31_max_k, M=[8, 16], l=[3, 5, 7], D=16, K=8, n=8, delta=0.5, eps=0.1)
case(
    "fig2c_distance(shapes differ)",
    theory.fig2c_distance,
    [0.1, 0.2],
    [0.3, 0.4, 0.5],
    median_range=(0, 1),
    max_bound=1,
)
case("rip_ratio(W='W')", rip.rip_ratio, "W", z1)
case("model_iht(W=filters)", iht.model_iht, W1.w, x1, M1.projector(2), n_iter=2)
case("lasso_fista(W=None)", sparse_coding.lasso_fista, None, xs, 0.1, L=10.0)
case("worst_case_delta(W=matrix)", rip.worst_case_delta, torch.eye(4), M1, 2, generator=g)
case("to_pylops(W='W')", conv.to_pylops, "W")
case("fit(batch_size=0)", classify.fit, net_c, x4, y4, generator=g, batch_size=0)
case("fit(lr=-1)", classify.fit, net_c, x4, y4, generator=g, lr=-1.0)
case("fit(weight_decay=nan)", classify.fit, net_c, x4, y4, generator=g, weight_decay=nan)
case("accuracy(batch_size=0)", classify.accuracy, net_c, x4, y4, batch_size=0)
case(
    "decoder(float64 code)",
    decoders.WhatWhereDecoder("pool1").forward,
    torch.zeros(1, 64, 8, 8, dtype=torch.float64),
    {"pool1": torch.zeros(1, 64, 8, 8, dtype=torch.long)},
)
# ---- files and records (issue 26, family 6)
from invertlib.companion import readme as _readme  # noqa: E402
from invertlib.vision import files as _files  # noqa: E402

_tmp_files = Path(tempfile.mkdtemp(prefix="sweep-files-"))
(_tmp_files / "manifest_dir").mkdir()
(_tmp_files / "manifest_dir" / "decoders.json").write_text('{"layers": {"pool1": ')
(_tmp_files / "half.json").write_text('{"notebook": "01_x", "cla')
(_tmp_files / "claims").mkdir()
(_tmp_files / "claims" / "01_x.json").write_text('{"notebook": "01_x", "cla')
case("Claims(seed='0')", il.Claims, "99_sweep", "0")
case("Claims(seed=-1)", il.Claims, "99_sweep", -1)
case("claims_table(missing folder)", _readme.claims_table, _tmp_files / "missing")
case("claims_table(truncated file)", _readme.claims_table, _tmp_files / "claims")
case("read_json(truncated)", _files.read_json, _tmp_files / "half.json")
case("read_json(missing)", _files.read_json, _tmp_files / "missing.json")
case("decoder_manifest(truncated)", decoders.decoder_manifest, _tmp_files / "manifest_dir")
case("atomic_write(writes nothing)", _files.atomic_write, _tmp_files / "empty.txt", lambda tmp: None)
case("atomic_write(missing folder)", _files.atomic_write, _tmp_files / "no" / "x.txt", lambda tmp: tmp.write_text("x"))
case("evaluate.read_results(truncated)", evaluate.read_results, _tmp_files / "half.json")

# ---- the commands (issue 26, family 1): every option checked before anything loads, one line naming it, exit 2


def run_cli(main, argv, option):
    """Run a command's main(argv): its refusal is clear when argparse exits with status 2 and a last
    line naming `option` (reported as a ValueError naming `argv`); anything else is low-level, and a
    run that starts working on a bad argument is silent."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            main([str(a) for a in argv])
    except SystemExit as exc:
        last = err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else ""
        if exc.code == 2 and option in last:
            raise ValueError(f"argv: {last}") from None
        raise RuntimeError(f"exit {exc.code}: {last}") from None


_tmp = Path(tempfile.mkdtemp(prefix="sweep-cli-"))
(_tmp / "a_file").write_text("x")
(_tmp / "three").mkdir()
for _i in range(3):
    Image = __import__("PIL.Image", fromlist=["Image"])
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(_tmp / "three" / f"p{_i}.png")
_train = [
    (["--steps", "0"], "--steps"),
    (["--steps", "-1"], "--steps"),
    (["--checkpoint-every", "0"], "--checkpoint-every"),
    (["--crop", "33"], "--crop"),
    (["--crop", "8"], "--crop"),
    (["--batch", "0"], "--batch"),
    (["--seed", "-1"], "--seed"),
    (["--device", "nonsense"], "--device"),
    (["--out-dir", _tmp / "a_file"], "--out-dir"),
    (["--checkpoint-dir", _tmp / "a_file"], "--checkpoint-dir"),
    (["--image-dir", _tmp / "three"], "--image-dir"),
    (["--image-dir", _tmp / "missing"], "--image-dir"),
    (["--layers", "pool5"], "--layers"),
]
if not torch.cuda.is_available():
    _train.append((["--device", "cuda"], "--device"))
for argv, option in _train:
    case(f"train_decoders {' '.join(map(str, argv))}", run_cli, train_decoders.main, argv, option)
_three = ["--image-dir", _tmp / "three"]
for argv, option in (
    (["table2", *_three, "--batch", "0"], "--batch"),
    (["table2", *_three, "--shard-size", "0"], "--shard-size"),
    (["table2", *_three, "--workers", "-1"], "--workers"),
    (["table3", *_three, "--size", "48"], "--size"),
    (["alexnet", *_three, "--size", "32"], "--size"),
    (["table2", *_three, "--device", "tpu"], "--device"),
    (["table2", *_three, "--out", _tmp], "--out"),
    (["table2", "--image-dir", _tmp / "missing"], "--image-dir"),
    (["table2", "--image-dir", _tmp / "a_file"], "--image-dir"),
    (["table3", *_three, "--sparsity-file", _tmp / "missing.json"], "--sparsity-file"),
    (["table3", *_three, "--sparsity-file", _tmp / "a_file"], "--sparsity-file"),
    (["table2", *_three, "--robust"], "--robust"),
    (["table5", *_three], "table"),
):
    case(f"evaluate {' '.join(map(str, argv))}", run_cli, evaluate.main, argv, option)


def _names(fn, kwargs) -> set[str]:
    try:
        params = set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = set()
    return params | set(kwargs) | {"self"}


def classify(fn, args, kwargs):
    try:
        fn(*args, **kwargs)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        head = re.match(r"^([A-Za-z_][\w\[\]'\".]*)\s*:", str(exc))
        if head and re.sub(r"[\[.].*$", "", head.group(1)) in _names(fn, kwargs):
            return "clear", str(exc)
        return "lowlevel", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - sorting every failure is the point
        return "lowlevel", f"{type(exc).__name__}: {exc}"
    return "silent", "returned a result"


def main(argv: list[str]) -> int:
    counts, shown = {"clear": 0, "lowlevel": 0, "silent": 0}, []
    for label, fn, args, kwargs in CASES:
        outcome, message = classify(fn, args, kwargs)
        counts[outcome] += 1
        if outcome != "clear" or "--verbose" in argv:
            shown.append(f"{outcome:8s} {label}: {message.splitlines()[0][:160] if message else ''}")
    print("\n".join(shown))
    print(f"\n{len(CASES)} bad inputs: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 1 if counts["silent"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
