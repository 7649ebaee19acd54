"""The paper's layer-wise experiments on a real network (Section 4.5, Table 3; the operators of Figure 3).

At a conv layer of VGG16 or AlexNet the paper compares two operators W (Kn^2 x MD^2, `ConvOperator`):
the layer's **learned** filters and **Gaussian random** filters of the same shape, both normalised to
unit norm (`operator_pair`). Table 3 takes the pool(i) activation x of an image, reconstructs it by
one step of model-IHT (Algorithm 1) with the filters of the conv above,

    x_hat = W^T 𝕄(W x, k),   k from the measured sparsity of that conv,

rescales x_hat to ||x|| and reports ||x_hat - x|| / ||x|| beside a Gaussian random activation
rescaled the same way (`layerwise_one_step`); beyond the paper, more IHT iterations
(`iteration_study`). The codes are then decoded to images with what-where decoders and the encoder's
switches (`decode_codes`, `with_nonnegative`).

Every random draw comes from the caller's generator, in a fixed order (documented per function), so
a seed fixes every number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from ..checks import as_tensor, check_int
from ..conv import ConvOperator
from ..filters import gaussian_filters, normalize_filters
from ..iht import model_iht, one_step_inverse
from ..metrics import image_scores, relative_error, rescale_to
from ..rng import check_generator
from ..sparsity import PoolingModel
from .decoders import local_lipschitz
from .networks import Activations, Conv, FeatureNet, nonzero_percent

KINDS = ("true", "learned", "random", "randact")  # the four codes of Table 3, in its column order
VGG_GEOMETRIES = {"2x2/2": (2, 2)}  # VGG16's pooling regions: 2 x 2 windows, stride 2
# AlexNet's own overlapping windows, and non-overlapping ones with as many windows on the same maps
ALEXNET_GEOMETRIES = {"overlapping 3x3/2": (3, 2), "non-overlapping 2x2/2": (2, 2)}
NO_MODEL = "-"  # the geometry of the random activation, which no sparsity model produced


@dataclass(frozen=True)
class OperatorPair:
    """The two operators the paper compares at one conv layer, on D x D inputs with the layer's
    stride and padding: ``learned``, the layer's filters each scaled to unit norm, and ``random``,
    Gaussian filters of the same shape (K, M, l, l) each scaled to unit norm. ``layer``: the conv."""

    layer: str
    learned: ConvOperator
    random: ConvOperator

    def as_dict(self, *, random_label: str = "random") -> dict[str, ConvOperator]:
        """{"learned": W_learned, random_label: W_random}, in that order (Figure 3 calls the
        random operator "gaussian", Table 3 "random")."""
        if not isinstance(random_label, str) or random_label in ("", "learned"):
            raise ValueError(f"random_label: expected a non-empty name other than 'learned', got {random_label!r}")
        return {"learned": self.learned, random_label: self.random}


def operator_pair(net: FeatureNet, layer: str, input_size: int, *, generator: torch.Generator) -> OperatorPair:
    """The learned and the Gaussian operator of conv `layer` of `net`, on inputs of M channels of
    size input_size x input_size (D), with the layer's stride and padding.

    learned: ``normalize_filters(w)`` of the layer's weights w (K, M, l, l), so every row of W
    holds a unit-norm filter (Section 4's normalisation). random: K Gaussian filters of M channels,
    l x l (Theorem 3.1's random filters), each divided by its norm, E ||w_i||^2 = 1 of the theorem
    made exact (``gaussian_filters(..., scale="unit")``), in the weights' dtype and on their device.

    Draws exactly one filter bank from `generator`: K M l^2 standard normal numbers, on the
    generator's device, in the order of ``torch.randn((K, M, l, l))``.
    """
    if not isinstance(net, FeatureNet):
        raise TypeError(f"net: expected a FeatureNet (VGG16 or AlexNet), got {type(net).__name__}")
    spec = net.spec(layer, "layer")
    if not isinstance(spec, Conv):
        raise ValueError(f"layer: expected a conv layer of {net.architecture}, one of {net.conv_layers}, got {layer!r}")
    check_generator(generator)
    w = net.convs[spec.name].weight
    K, M, l = w.shape[:3]
    learned = ConvOperator(normalize_filters(w), input_size, stride=spec.stride, padding=spec.padding)
    random = gaussian_filters(K, M, l, ndim=2, generator=generator, scale="unit", dtype=w.dtype, device=w.device)
    return OperatorPair(spec.name, learned, ConvOperator(random, input_size, stride=spec.stride, padding=spec.padding))


def measured_sparsity(act: Activations, layer: str) -> float:
    """The fraction (0..1) of nonzero units of `layer`'s output (a conv after ReLU, or a pool) in a
    forward pass: the per-image fraction (`networks.nonzero_percent`), averaged over the images."""
    if not isinstance(act, Activations):
        raise TypeError(f"act: expected the Activations of a forward pass, got {type(act).__name__}")
    if layer not in act.post and layer not in act.pool:
        raise ValueError(f"act: the forward pass did not reach {layer!r} (it reached {act.order}); run it further")
    return float(nonzero_percent(act, layers=[layer])[layer].mean()) / 100


@dataclass(frozen=True)
class LayerwiseOneStep:
    """Table 3 in activation space, by pool layer (labelled as the caller's `pools` label them).

    table: one row per (layer, geometry, kind), columns layer, filters_of (the conv above), geometry,
        kind ("learned", "random"; then "randact" under geometry "-" with k = regions = 0), k,
        regions (R of the sparsity model), error and error_std (mean and std over the images of
        ||x_hat - x|| / ||x||);
    reconstructions: {(layer, geometry, kind): x_hat (B, C, h, w)}, each rescaled to ||x||;
    activations: {layer: x (B, C, h, w)}, the true pool activations;
    operators: {layer: OperatorPair};
    models: {(layer, geometry): (PoolingModel, k)}."""

    table: pd.DataFrame
    reconstructions: dict
    activations: dict
    operators: dict
    models: dict

    def codes(self, geometry: str) -> dict:
        """{(layer, kind): code} for every layer and kind of `KINDS` (the true activation, the two
        one-step reconstructions under `geometry`, the random activation), layer by layer."""
        geometries = sorted({g for _, g in self.models})
        if geometry not in geometries:
            raise ValueError(f"geometry: expected one of {geometries}, got {geometry!r}")
        out = {}
        for layer, x in self.activations.items():
            out[(layer, "true")] = x
            for kind in KINDS[1:3]:
                out[(layer, kind)] = self.reconstructions[(layer, geometry, kind)]
            out[(layer, "randact")] = self.reconstructions[(layer, NO_MODEL, "randact")]
        return out

    def per_image(self, geometry: str) -> pd.DataFrame:
        """One row per (layer, kind, image) for `geometry` (the learned and random one-step
        reconstructions) and the random activation: columns layer, kind, image (index in the batch),
        error = ||x_hat - x|| / ||x|| of that image; the table's error is their mean. For resampling
        the photographs (`stats.bootstrap_indices`)."""
        parts = []
        for (layer, kind), x_hat in self.codes(geometry).items():
            if kind == "true":
                continue
            e = relative_error(x_hat, self.activations[layer])
            parts.append(pd.DataFrame({"layer": layer, "kind": kind, "image": range(len(e)), "error": e.cpu().numpy()}))
        return pd.concat(parts, ignore_index=True)


def _pool_labels(net: FeatureNet, pools) -> dict:
    if isinstance(pools, Mapping):
        labelled = dict(pools)
    elif isinstance(pools, Sequence) and not isinstance(pools, str):
        labelled = {p: p for p in pools}
    else:
        raise TypeError(f"pools: expected a list of pool layer names or a dict {{label: pool name}}, got {pools!r}")
    if not labelled:
        raise ValueError("pools: expected at least one pool layer, got none")
    for name in labelled.values():
        if name not in net.pool_layers:
            raise ValueError(
                f"pools: expected pool layers of {net.architecture}, one of {net.pool_layers}, got {name!r}"
            )
        net.conv_after(name)  # a pool with no conv above it (VGG16's pool5) is an error naming it
    return labelled


def _check_geometries(geometries) -> dict:
    def valid(label, g) -> bool:
        return isinstance(label, str) and label != NO_MODEL and isinstance(g, (tuple, list)) and len(g) == 2

    if not isinstance(geometries, Mapping) or not geometries or not all(valid(*item) for item in geometries.items()):
        raise ValueError(
            f"geometries: expected a non-empty dict {{label: (window side p, stride s)}} such as "
            f"{{'2x2/2': (2, 2)}} (labels other than {NO_MODEL!r}), got {geometries!r}"
        )
    return {
        label: (check_int(p, "geometries: window side"), check_int(s, "geometries: stride"))
        for label, (p, s) in geometries.items()
    }


def layerwise_one_step(
    net: FeatureNet, act: Activations, pools, *, geometries: Mapping[str, tuple[int, int]], generator: torch.Generator
) -> LayerwiseOneStep:
    """Table 3's activation-space experiment on every pool layer of `pools`.

    pools: pool layer names (["pool1", "pool2"]), or {label: pool name} ({1: "pool1"}) to label the
    rows. For each pool(i), x = act.pool[pool(i)] (B, C, h, w) and conv(i+1, 1) = the conv above it:

    1. `operator_pair` of that conv on h x h inputs (learned and Gaussian, unit-norm filters);
    2. for each geometry label -> (p, s): the sparsity model M_k of p x p windows with stride s on
       the conv's output (`PoolingModel`), k from the conv's measured sparsity (`measured_sparsity`,
       `PoolingModel.k_for_sparsity`), and for each operator W the one-step reconstruction
       x_hat = W^T 𝕄(W x, k) rescaled to ||x|| (`one_step_inverse`, `rescale_to`);
    3. a Gaussian random activation of x's shape rescaled to ||x|| (the baseline, error ~ sqrt 2).

    act must reach the conv above the last pool. Draws from `generator`, per pool in order: the
    Gaussian filter bank (step 1), then the random activation (step 3), on the generator's device.
    """
    if not isinstance(net, FeatureNet):
        raise TypeError(f"net: expected a FeatureNet (VGG16 or AlexNet), got {type(net).__name__}")
    if not isinstance(act, Activations):
        raise TypeError(f"act: expected the Activations of a forward pass, got {type(act).__name__}")
    labelled = _pool_labels(net, pools)
    geometries = _check_geometries(geometries)
    check_generator(generator)
    rows, recon, xs, operators, models = [], {}, {}, {}, {}
    for label, pool in labelled.items():
        if pool not in act.pool:
            raise ValueError(f"act: the forward pass did not reach {pool!r} (it reached {act.order}); run it further")
        x, above = act.pool[pool], net.conv_after(pool)
        sparsity = measured_sparsity(act, above)
        pair = operator_pair(net, above, x.shape[-1], generator=generator)
        xs[label], operators[label] = x, pair
        for geometry, (p, s) in geometries.items():
            model = PoolingModel(pair.learned.out_shape, p, stride=s)
            k = model.k_for_sparsity(sparsity)
            models[(label, geometry)] = (model, k)
            for kind, x_hat in one_step_pair(pair, model, k, x).items():
                recon[(label, geometry, kind)] = x_hat
                rows.append(_error_row(label, above, geometry, kind, k, model.n_regions, x_hat, x))
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=generator.device).to(x.device)
        recon[(label, NO_MODEL, "randact")] = r = rescale_to(noise, x)
        rows.append(_error_row(label, above, NO_MODEL, "randact", 0, 0, r, x))
    return LayerwiseOneStep(pd.DataFrame(rows), recon, xs, operators, models)


def one_step_pair(pair: OperatorPair, model: PoolingModel, k: int, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """{"learned": x_hat, "random": x_hat}: the paper's one step x_hat = W^T 𝕄(W x, k) with each
    operator of `pair`, rescaled to ||x|| per image (x (B, C, h, w); the sparsity model `model` of
    the conv's output, k windows kept per image). Each image's estimate depends on that image
    only. Draws nothing."""
    return {kind: rescale_to(one_step_inverse(W, x, model.projector(k)), x) for kind, W in pair.as_dict().items()}


def learned_one_step(net: FeatureNet, act: Activations, pool: str, *, window: tuple[int, int] = (2, 2)) -> torch.Tensor:
    """Table 3's one-step IHT estimate of the pool activation x = act.pool[pool] with the learned
    filters of the conv above it, rescaled to ||x||: x_hat = W^T 𝕄(W x, k), W the conv's
    unit-norm filters on x's size, 𝕄 the model of window = (p, s) pooling on the conv's output and
    k from that conv's measured sparsity in `act` (so act must reach it), (B, C, h, w). The
    `layerwise_one_step` estimate for kind "learned", without its Gaussian draws; used to train
    decoders on such estimates. Draws nothing."""
    if not isinstance(net, FeatureNet):
        raise TypeError(f"net: expected a FeatureNet (VGG16 or AlexNet), got {type(net).__name__}")
    if not isinstance(act, Activations):
        raise TypeError(f"act: expected the Activations of a forward pass, got {type(act).__name__}")
    if not isinstance(pool, str) or pool not in _conv_above(net):
        raise ValueError(f"pool: expected a pool layer of {net.architecture} with a conv above it, got {pool!r}")
    if not isinstance(window, (tuple, list)) or len(window) != 2:
        raise ValueError(f"window: expected (window side p, stride s), got {window!r}")
    p, s = check_int(window[0], "window: side"), check_int(window[1], "window: stride")
    name = pool
    if name not in act.pool:
        raise ValueError(f"act: the forward pass did not reach {name!r} (it reached {act.order}); run it further")
    x, above = act.pool[name], net.conv_after(name)
    spec = net.spec(above, "layer")
    W = ConvOperator(normalize_filters(net.convs[above].weight), x.shape[-1], stride=spec.stride, padding=spec.padding)
    model = PoolingModel(W.out_shape, p, stride=s)
    k = model.k_for_sparsity(measured_sparsity(act, above))
    return rescale_to(one_step_inverse(W, x, model.projector(k)), x)


def _conv_above(net: FeatureNet) -> list[str]:
    """The pool layers of `net` with a conv after them."""
    out = []
    for pool in net.pool_layers:
        try:
            net.conv_after(pool)
        except ValueError:
            continue
        out.append(pool)
    return out


def _error_row(layer, above, geometry, kind, k, regions, estimate, x) -> dict:
    e = relative_error(estimate, x)
    return dict(
        layer=layer,
        filters_of=above,
        geometry=geometry,
        kind=kind,
        k=k,
        regions=regions,
        error=float(e.mean()),
        error_std=float(e.std()),
    )


def iteration_study(result: LayerwiseOneStep, iterations, *, geometry: str, n_images: int) -> pd.DataFrame:
    """Beyond the paper: model-IHT (Algorithm 1) with the normalised step run further on the first
    `n_images` activations of every layer of `result`, with its operators and sparsity models.

    For each layer, operator ("learned", "random") and i in `iterations`: the mean over the images
    of ||x_i - x|| / ||x|| with x_i = W^T z_i rescaled to ||x|| (z_i the i-th iterate; i = 1 is
    the one-step reconstruction). Returns a DataFrame with columns layer, filters, iteration, error.
    Draws nothing."""
    if not isinstance(result, LayerwiseOneStep):
        raise TypeError(f"result: expected the LayerwiseOneStep of layerwise_one_step, got {type(result).__name__}")
    result.codes(geometry)  # checks the geometry
    if isinstance(iterations, (str, bytes)) or not isinstance(iterations, Sequence) or not iterations:
        raise ValueError(f"iterations: expected a non-empty list of iteration counts, got {iterations!r}")
    iterations = [check_int(i, "iterations") for i in iterations]
    n_images = check_int(n_images, "n_images")
    rows = []
    for layer, x in result.activations.items():
        model, k = result.models[(layer, geometry)]
        xs = x[:n_images]
        for name, W in result.operators[layer].as_dict().items():
            res = model_iht(
                W, xs, model.projector(k), n_iter=max(iterations), step="normalized", keep=tuple(iterations)
            )
            for it in iterations:
                err = relative_error(rescale_to(W.adjoint(res.snapshots[it]), xs), xs)
                rows.append(dict(layer=layer, filters=name, iteration=it, error=float(err.mean())))
    return pd.DataFrame(rows)


def with_nonnegative(codes: Mapping) -> dict:
    """Beyond the paper: `codes` ({(layer, kind): code}, with a "true" code per layer) and, after each
    layer's codes, every other code with its negative entries set to zero and rescaled to the norm
    of the true code, under kind "<kind>>=0". A pool activation is never negative, so a decoder
    trained on true activations has never seen a negative code entry."""
    if not isinstance(codes, Mapping):
        raise TypeError(f"codes: expected a dict {{(layer, kind): code}}, got {type(codes).__name__}")
    layers = list(dict.fromkeys(layer for layer, _ in codes))
    missing = [layer for layer in layers if (layer, "true") not in codes]
    if missing:
        raise ValueError(f"codes: expected a 'true' code for every layer, missing for {missing}")
    out = {}
    for layer in layers:
        kinds = [kind for lay, kind in codes if lay == layer]
        out.update({(layer, kind): codes[(layer, kind)] for kind in kinds})
        true = codes[(layer, "true")]
        for kind in kinds:
            if kind != "true":
                out[(layer, f"{kind}>=0")] = rescale_to(as_tensor(codes[(layer, kind)], "codes").clamp_min(0), true)
    return out


def on_support(codes: Mapping, kinds=None) -> dict:
    """Beyond the paper: for every layer, each code other than the true one (or each of `kinds`)
    restricted to the support of the true code x (entries where x > 0, the units the decoder saw
    active) and rescaled to ||x||, under kind "<kind>|x>0". With `with_nonnegative` it separates the
    two ways an estimate leaves the manifold of true activations: negative entries and active units
    the true code does not have."""
    if not isinstance(codes, Mapping):
        raise TypeError(f"codes: expected a dict {{(layer, kind): code}}, got {type(codes).__name__}")
    if kinds is not None and (isinstance(kinds, str) or not all(isinstance(k, str) for k in kinds)):
        raise ValueError(f"kinds: expected a list of code kinds such as ['learned'], got {kinds!r}")
    out = {}
    for (layer, kind), code in codes.items():
        if kind == "true" or (kinds is not None and kind not in kinds):
            continue
        if (layer, "true") not in codes:
            raise ValueError(f"codes: expected a 'true' code for layer {layer!r}")
        true = as_tensor(codes[(layer, "true")], "codes")
        restricted = as_tensor(code, "codes") * (true > 0)
        if bool((restricted.flatten(1).norm(dim=1) == 0).any()):
            raise ValueError(f"codes: the {kind!r} code of layer {layer!r} is zero on the true code's support")
        out[(layer, f"{kind}|x>0")] = rescale_to(restricted, true)
    return out


def decoder_lipschitz(
    decoders: Mapping, codes: Mapping, act: Activations, *, generator: torch.Generator, n_images: int, n_iter: int = 8
) -> pd.DataFrame:
    """Each decoder's relative local Lipschitz constant at the true codes of the first `n_images`
    images (`decoders.local_lipschitz`, `n_iter` power iterations, the images' own switches): one
    row per (layer, image), columns layer, image, lipschitz. decoders: {layer: decoder}; codes:
    {(layer, kind): code} with a "true" code per layer. Draws the power iterations' starts from
    `generator`, layer by layer."""
    n = check_int(n_images, "n_images")
    check_generator(generator)
    if not isinstance(codes, Mapping) or not isinstance(decoders, Mapping):
        raise TypeError("codes, decoders: expected dicts {(layer, kind): code} and {layer: decoder}")
    if not isinstance(act, Activations):
        raise TypeError(f"act: expected the Activations of a forward pass, got {type(act).__name__}")
    switches = {name: idx[:n] for name, idx in act.switches.items()}
    parts = []
    for layer, decoder in decoders.items():
        if (layer, "true") not in codes:
            raise ValueError(f"codes: expected a 'true' code for layer {layer!r}")
        lip = local_lipschitz(decoder, codes[(layer, "true")][:n], switches, generator=generator, n_iter=n_iter)
        parts.append(pd.DataFrame({"layer": layer, "image": range(len(lip)), "lipschitz": lip.double().cpu().numpy()}))
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class DecodedCodes:
    """images: {(layer, kind): decoded image (B, 3, H, W) in the network's input space};
    scores: one row per (layer, kind, image), columns image (index in the batch), error, fitted,
    psnr (`metrics.image_scores`), layer, kind, and gain = ||D(code)|| / ||D(x)|| (x the layer's
    "true" code, decoded with the same switches; NaN for a layer without one: how much larger an
    image the decoder makes of that code), in the order of the codes."""

    images: dict
    scores: pd.DataFrame


def decode_codes(net: FeatureNet, decoders: Mapping, codes: Mapping, act: Activations, inputs) -> DecodedCodes:
    """Table 3 in image space: decode every code with its layer's decoder and the encoder's switches
    of the original images, and score it against them.

    decoders: {layer: decoder (code, switches) -> image}, e.g. `decoders.load_decoder`; codes:
    {(layer, kind): code (B, C, h, w)}; act: the encoder's forward pass of the originals; inputs:
    the originals in the network's input space (B, 3, H, W), as `net.preprocess` gives them. The
    scores are the relative error and fitted error in the input space and the PSNR of the RGB
    images (`net.deprocess`). Draws nothing."""
    if not isinstance(codes, Mapping) or not isinstance(decoders, Mapping):
        raise TypeError("codes, decoders: expected dicts {(layer, kind): code} and {layer: decoder}")
    missing = sorted({str(layer) for layer, _ in codes if layer not in decoders})
    if missing:
        raise ValueError(f"decoders: expected a decoder for every layer of codes, missing for {missing}")
    inputs = as_tensor(inputs, "inputs")
    originals = net.deprocess(inputs)
    images, parts = {}, []
    for (layer, kind), code in codes.items():
        d = decoders[layer](code, act)
        images[(layer, kind)] = d
        scores = image_scores(d, inputs, net.deprocess(d), originals)
        parts.append(pd.DataFrame(vars(scores)).assign(layer=layer, kind=kind))
    norms = {key: d.detach().flatten(1).norm(dim=1).cpu() for key, d in images.items()}
    for part, (layer, _) in zip(parts, codes, strict=True):  # ||D(code)|| / ||D(x)||, x the layer's true code
        ref = norms.get((layer, "true"))
        key = (layer, part["kind"].iloc[0])
        part["gain"] = (norms[key] / ref).double().numpy() if ref is not None else float("nan")
    return DecodedCodes(images, pd.concat(parts).rename_axis("image").reset_index())


# ---------------------------------------------------------------------------------------------
# The coherence theory of ML-CSC (Papyan, Romano & Elad 2017) on a real network: beyond the paper


@dataclass(frozen=True)
class CscLayers:
    """The ML-CSC quantities of a network's conv layers. `layers`: one row per layer (layer, K,
    atom_dim = M l^2, l, stride, stripe_size, mu (learned filters, every shift), mu_gaussian (a
    Gaussian bank of the same shape), uniqueness and uniqueness_gaussian = (1 + 1/mu) / 2).
    `images`: one row per (layer, image): stripe (||Gamma||^s_{0,inf} of the layer's post-ReLU
    code), fill (stripe / stripe_size), nonzero (fraction of nonzero units), ratio (|Gamma^min| /
    |Gamma^max|) and thresholding ((1 + ratio / mu) / 2)."""

    layers: pd.DataFrame
    images: pd.DataFrame


def csc_layers(net: FeatureNet, x, layers: Sequence[str], *, generator: torch.Generator) -> CscLayers:
    """ML-CSC's stripe sparsity and coherence allowances for conv `layers` (in network order) of
    `net` on preprocessed images x (B, 3, H, W). Layer i's code Gamma_i is its output after ReLU
    and its dictionary D_i = W_i^T has the layer's filters at every shift (stride included), so a
    stripe holds K_i (2r + 1)^2 coefficients, r = (l - 1) // stride (`csc.stripe_size`). mu is that of
    the interior atoms (`coherence.coherence(shifts=True)`); the atoms the zero padding cuts can be more
    coherent, so the allowances are upper estimates, generous to the theory. The
    Gaussian banks (one per layer, N(0, 1) entries: mu does not depend on the scale) come from
    `generator`. Returns `CscLayers`."""
    from ..coherence import coherence
    from ..csc import magnitude_ratio, stripe_size, stripe_sparsity, thresholding_allowance, uniqueness_allowance

    check_generator(generator)
    if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
        raise ValueError(f"layers: expected a non-empty list of conv layer names, got {layers!r}")
    specs = [net.spec(name, "layers") for name in layers]
    if not all(isinstance(s, Conv) for s in specs):
        raise ValueError(f"layers: expected conv layers of {net.architecture}, got {list(layers)}")
    order = [net.layer_names.index(name) for name in layers]
    if order != sorted(order):
        wanted = sorted(layers, key=net.layer_names.index)
        raise ValueError(f"layers: expected network order {wanted}, got {list(layers)}")
    act = net(x, upto=layers[-1], keep_pre=False)
    rows, per_image = [], []
    for spec in specs:
        w = net.convs[spec.name].weight.detach().cpu().double()
        K, M, l = w.shape[:3]
        mu = coherence(w, shifts=True, stride=spec.stride)
        g = gaussian_filters(K, M, l, generator=generator, ndim=2, dtype=torch.float64)
        mu_g = coherence(g, shifts=True, stride=spec.stride)
        size = stripe_size(K, l, stride=spec.stride)
        rows.append(
            dict(
                layer=spec.name,
                K=K,
                atom_dim=M * l * l,
                l=l,
                stride=spec.stride,
                stripe_size=size,
                mu=mu,
                mu_gaussian=mu_g,
                uniqueness=uniqueness_allowance(mu),
                uniqueness_gaussian=uniqueness_allowance(mu_g),
            )
        )
        code = act.post[spec.name]
        stripe = stripe_sparsity(code, l, stride=spec.stride).cpu()
        ratio = magnitude_ratio(code).double().cpu()
        nonzero = (code != 0).flatten(1).double().mean(dim=1).cpu()
        for i in range(len(code)):
            per_image.append(
                dict(
                    layer=spec.name,
                    image=i,
                    stripe=int(stripe[i]),
                    fill=float(stripe[i]) / size,
                    nonzero=float(nonzero[i]),
                    ratio=float(ratio[i]),
                    thresholding=thresholding_allowance(mu, float(ratio[i])),
                )
            )
    return CscLayers(layers=pd.DataFrame(rows), images=pd.DataFrame(per_image))
