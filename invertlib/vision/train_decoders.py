"""Train the what-where decoders of VGG16's pool(1) ... pool(4) (`make decoders`).

    python -m invertlib.vision.train_decoders                    # every layer, the offline corpus
    python -m invertlib.vision.train_decoders --layers pool4 --image-dir ~/imagenet/train --device cuda
    torchrun --nproc_per_node=4 -m invertlib.vision.train_decoders --device cuda    # data-parallel

For each layer: the encoder is torchvision's ImageNet VGG16 (frozen); a batch of random crops
(`invertlib.vision.corpus.CropSampler`) is preprocessed into the encoder's normalised input space x, its
pool(i) code and switches computed, and the decoder trained to minimise the mean squared error
||D(code, switches) - x||^2 / (3 H W) with Adam (linear warm-up, then cosine decay to 5 % of the
rate). Every `--checkpoint-every` steps the full state (weights, optimiser, step, every rank's
generator state, wall time) is written atomically to the checkpoint folder; a rerun with the same
settings resumes from it. The final weights are written atomically in float16 to
`invertlib/vision/trained/vgg16_<layer>.pt`, and the manifest `decoders.json` records their sha256, the
training configuration, the corpus manifest's hash, steps, final train loss, the held-out corpus
photos' relative error, wall time and the torch version.

Under torchrun (WORLD_SIZE > 1) the decoder is wrapped in DistributedDataParallel (gloo on CPU,
nccl on CUDA); each rank draws its own crops from its own generator (seed + rank), so the
effective batch is batch x world size; gradients are averaged, so every rank holds the same
weights (checked at the end).

Layers are trained in order, and pool(i)'s decoder starts from pool(i-1)'s trained weights for the
blocks they share (the layer-wise chain pool(i) -> pool(i-1) -> image, then fine-tuned end to end as
one decoder per layer). Measured on this machine (pool(2), 150 steps of 8 crops of 64 px after 200
steps of pool(1)): the warm start ends with train loss 0.410 and held-out relative error 0.585, from
scratch 0.582 and 0.618; so the chain is used for the start and every layer keeps its own decoder,
trained on the image loss that is evaluated.

**Variants** (`VARIANTS`, `--variants`; after the paper-faithful decoders): each starts from the
paper-faithful decoder of its layer and is trained for the same `VARIANT_STEPS[layer]` steps at
`FINETUNE_LR` x the layer's rate on the same crops (the crop generator is seeded as the faithful
run's), so they differ only in what they learn from:

* ``continued``: the paper's recipe, trained on (the equal-budget control);
* ``rectified``: the decoder sees max(code, 0). A true activation is never negative, so training it
  is training ``continued``: it shares those weights, with rectification switched on;
* ``decay``: AdamW weight decay, one run per value of `DECAY_GRID`; the value with the lowest
  held-out corpus score (mean of the decoded-true and decoded-estimate errors) is kept and the
  grid's scores recorded;
* ``robust``: with probability `ROBUST_P` a crop's code is replaced by its one-step IHT estimate with
  the learned filters of the conv above (`layerwise.learned_one_step`, as Table 3; rescaled to
  ||x||), the target staying the image;
* ``robustrect``: both, the decoder seeing max(code, 0) of the true codes and the estimates;
* ``noswitch``: unpooling to fixed positions instead of the switches (what the switches carry).

Every entry records the held-out corpus photos' error decoding their true activation
(``holdout_error``) and their one-step estimate (``holdout_estimate_error``).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from ..metrics import relative_error
from ..progress import progress
from ..rng import torch_generator
from . import cli
from . import corpus as _corpus
from .decoders import (
    DECODER_LAYERS,
    DECODER_MANIFEST,
    PAPER_FAITHFUL,
    WhatWhereDecoder,
    decoder_manifest,
    load_decoder,
)
from .files import TRAINED_DIR, atomic_write, image_files, sha256
from .layerwise import learned_one_step
from .networks import VGG16

# Per layer: crop size, batch per rank, steps, peak learning rate. Chosen by measurement on this
# 2-core CPU (0.06, 0.14, 0.6 and 1.4 s per step) so that all four train from scratch within about
# 80 minutes.
CONFIGS = {
    "pool1": dict(crop=64, batch=8, steps=8000, lr=3e-3),
    "pool2": dict(crop=64, batch=8, steps=3000, lr=2e-3),
    "pool3": dict(crop=96, batch=8, steps=2500, lr=7e-4),
    "pool4": dict(crop=112, batch=8, steps=1900, lr=7e-4),
}
WARMUP = 50

# The variants' equal budget: steps per layer from the faithful decoder, at FINETUNE_LR x its rate
VARIANT_STEPS = {"pool1": 1500, "pool2": 800, "pool3": 300, "pool4": 200}
FINETUNE_LR = 0.3
ROBUST_P = 0.5
DECAY_GRID = (0.1, 1.0, 10.0, 100.0)  # AdamW decay; 0.01 hardly moves the weights in these few steps
# variant -> (layers, training options, decoder flags); "rectified" shares "continued"'s weights
VARIANTS = {
    "continued": (("pool1", "pool2"), {}, {}),
    "rectified": (("pool1", "pool2"), None, {"rectify": True}),
    "decay": (("pool1", "pool2"), {"weight_decay": DECAY_GRID}, {}),
    "robust": (DECODER_LAYERS, {"estimate": ROBUST_P}, {}),
    "robustrect": (("pool1", "pool2"), {"estimate": ROBUST_P}, {"rectify": True}),
    "noswitch": (DECODER_LAYERS, {}, {"switches": False}),
}


def _state_hash(state: dict) -> str:
    """sha256 of a state dict's tensors (names, dtypes, shapes and bytes), in key order."""
    digest = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().to("cpu").contiguous()
        digest.update(f"{key}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return digest.hexdigest()


def learning_rate(step: int, steps: int, lr: float) -> float:
    """Linear warm-up over WARMUP steps, then cosine decay from lr to 0.05 lr at `steps`."""
    if step < WARMUP:
        return lr * (step + 1) / WARMUP
    t = (step - WARMUP) / max(1, steps - WARMUP)
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@torch.no_grad()
def holdout_error(decoder: WhatWhereDecoder, net: VGG16, images: torch.Tensor, batch: int = 4) -> float:
    """Mean relative error of decoding the true code of `images` (N, H, W, 3) in [0, 1]."""
    return holdout_scores(decoder, net, images, batch, estimate=False)["true"]


@torch.no_grad()
def holdout_scores(
    decoder: WhatWhereDecoder, net: VGG16, images: torch.Tensor, batch: int = 4, *, estimate: bool = True
) -> dict:
    """Mean relative errors on `images` (N, H, W, 3) in [0, 1]: "true", decoding each image's true
    code, and (estimate=True) "estimate", decoding its one-step IHT estimate with the learned filters
    of the conv above (`layerwise.learned_one_step`), both with the image's own switches."""
    errs = {"true": [], "estimate": []} if estimate else {"true": []}
    upto = net.conv_after(decoder.layer) if estimate else decoder.layer
    for i in range(0, len(images), batch):
        x = net.preprocess(images[i : i + batch]).to(next(decoder.parameters()).device)
        act = net(x, upto=upto)
        errs["true"].append(relative_error(decoder(act.pool[decoder.layer], act), x))
        if estimate:
            errs["estimate"].append(relative_error(decoder(learned_one_step(net, act, decoder.layer), act), x))
    return {key: float(torch.cat(v).mean()) for key, v in errs.items()}


def train_layer(
    layer: str,
    photos: list[torch.Tensor],
    holdout: torch.Tensor,
    *,
    crop: int,
    batch: int,
    steps: int,
    lr: float,
    seed: int = 0,
    device: str = "cpu",
    checkpoint_dir=None,
    checkpoint_every: int = 200,
    init: dict | None = None,
    net: VGG16 | None = None,
    quiet: bool = False,
    estimate: float = 0.0,
    weight_decay: float = 0.0,
    switches: bool = True,
    rectify: bool = False,
    name: str | None = None,
) -> tuple[WhatWhereDecoder, dict]:
    """Train one decoder; returns it (unwrapped, on `device`) and a summary dict.

    photos: uint8 (3, H, W) training photos; holdout: (N, S, S, 3) held-out images in [0, 1] for
    the final relative errors; init: a state dict whose matching keys initialise the decoder (the
    warm start); checkpoint_dir: where to checkpoint and resume (None: no checkpoints), the file
    named after `name` (default: the layer). estimate: the probability that a crop's code is
    replaced by its one-step IHT estimate (`layerwise.learned_one_step`; the Bernoulli draws come
    from a generator of their own, so the crops are those of a run without); weight_decay: AdamW's
    decoupled decay (0: Adam); switches, rectify: the decoder's flags (`WhatWhereDecoder`)."""
    rank, world = _world()
    if isinstance(estimate, bool) or not isinstance(estimate, (int, float)) or not 0.0 <= estimate <= 1.0:
        raise ValueError(f"estimate: expected a probability in [0, 1], got {estimate!r}")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) or not weight_decay >= 0.0:
        raise ValueError(f"weight_decay: expected a nonnegative number, got {weight_decay!r}")
    net = VGG16.pretrained() if net is None else net
    net = net.to(device)
    decoder = WhatWhereDecoder(layer, switches=switches, rectify=rectify).reset_parameters(torch_generator(seed))
    if init:
        own = decoder.state_dict()
        decoder.load_state_dict(
            {k: (init[k].float() if k in init and init[k].shape == v.shape else v) for k, v in own.items()}
        )
    decoder = decoder.to(device)
    model = decoder
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(decoder, device_ids=None if device == "cpu" else [device])
    if weight_decay:
        opt = torch.optim.AdamW(decoder.parameters(), lr=lr, weight_decay=float(weight_decay))
    else:
        opt = torch.optim.Adam(decoder.parameters(), lr=lr)
    generator = torch_generator(seed * 1000 + 1 + rank)
    mask_generator = torch_generator(seed * 1000 + 501 + rank)
    sampler = _corpus.CropSampler(photos, crop, generator)
    config = dict(
        layer=layer, crop=crop, batch=batch, steps=steps, lr=lr, seed=seed, world_size=world, warm_start=bool(init)
    )
    extras = dict(estimate=float(estimate), weight_decay=float(weight_decay), **decoder.architecture)
    # recorded only where they differ from the paper-faithful recipe, so its config stays as shipped
    config.update(
        {k: v for k, v in extras.items() if v != dict(estimate=0.0, weight_decay=0.0, switches=True, rectify=False)[k]}
    )
    upto = net.conv_after(layer) if estimate else layer
    # a checkpoint resumes only from the same starting weights (the warm start may have been retrained since)
    init_hash = _state_hash(decoder.state_dict())
    start_step, losses, elapsed = 0, [], 0.0
    ckpt = None if checkpoint_dir is None else Path(checkpoint_dir) / f"{name or layer}.ckpt"
    if ckpt is not None and ckpt.is_file():
        # CPU first: the generator states must stay CPU tensors; load_state_dict moves the rest
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        if state["config"] == config and state.get("init", init_hash) == init_hash:
            decoder.load_state_dict(state["decoder"])
            opt.load_state_dict(state["optimizer"])
            generator.set_state(state["generators"][rank])
            if "mask_generators" in state:
                mask_generator.set_state(state["mask_generators"][rank])
            start_step, losses, elapsed = state["step"], state["losses"], state["elapsed"]
            if rank == 0 and not quiet:
                print(f"{layer}: resuming from step {start_step} ({ckpt})", file=sys.stderr)
        elif rank == 0 and not quiet:
            print(f"{layer}: checkpoint {ckpt} has other settings; starting afresh", file=sys.stderr)

    def save_checkpoint(step):
        gens, masks = [None] * world, [None] * world
        if world > 1:
            dist.all_gather_object(gens, generator.get_state())
            dist.all_gather_object(masks, mask_generator.get_state())
        else:
            gens, masks = [generator.get_state()], [mask_generator.get_state()]
        if rank == 0:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            state = dict(
                config=config,
                init=init_hash,
                decoder=decoder.state_dict(),
                optimizer=opt.state_dict(),
                step=step,
                generators=gens,
                mask_generators=masks,
                losses=losses,
                elapsed=elapsed + time.perf_counter() - t0,
            )
            atomic_write(ckpt, lambda p: torch.save(state, p))

    t0 = time.perf_counter()
    bar = range(start_step, steps)
    if rank == 0 and not quiet:
        bar = progress(bar, desc=f"train {layer}", total=steps - start_step)
    decoder.train()
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, steps, lr)
        images = sampler.sample(batch)
        with torch.no_grad():
            x = net.preprocess(images).to(device)
            act = net(x, upto=upto)
            code = act.pool[layer]
            if estimate:
                swap = (torch.rand(len(code), generator=mask_generator) < estimate).to(device).view(-1, 1, 1, 1)
                code = torch.where(swap, learned_one_step(net, act, layer), code)
        loss = F.mse_loss(model(code, act.switches), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"{layer}: the training loss became {losses[-1]} at step {step}; lower the rate")
        if ckpt is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
            save_checkpoint(step + 1)
    decoder.eval()
    wall = elapsed + time.perf_counter() - t0
    if world > 1:  # every rank must hold the same weights
        flat = torch.cat([p.detach().flatten() for p in decoder.parameters()]).double()
        sums = [torch.zeros(2, dtype=torch.float64, device=flat.device) for _ in range(world)]
        dist.all_gather(sums, torch.stack([flat.sum(), flat.pow(2).sum()]))
        if any(not torch.equal(s, sums[0]) for s in sums):
            raise RuntimeError(f"{layer}: ranks ended with different weights")
    tail = losses[-min(100, len(losses)) :] if losses else [float("nan")]
    scores = holdout_scores(decoder, net, holdout) if len(holdout) else {"true": float("nan"), "estimate": float("nan")}
    summary = dict(
        config=config,
        steps=steps,
        train_loss=sum(tail) / len(tail),
        holdout_error=scores["true"],
        holdout_estimate_error=scores["estimate"],
        wall_s=round(wall, 1),
    )
    return decoder, summary


def write_decoder(
    decoder: WhatWhereDecoder, summary: dict, out_dir, extra: dict, variant: str = PAPER_FAITHFUL
) -> Path:
    """Write the float16 weights and update the manifest, each atomically. The paper-faithful
    decoder goes to vgg16_<layer>.pt and the manifest's "layers", a variant to
    vgg16_<layer>_<variant>.pt and "variants"[variant][layer] with its flags ("architecture")."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"vgg16_{decoder.layer}.pt" if variant == PAPER_FAITHFUL else f"vgg16_{decoder.layer}_{variant}.pt"
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in decoder.state_dict().items()}
    path = atomic_write(out_dir / name, lambda p: torch.save(state, p))
    entry = dict(file=name, sha256=sha256(path), **summary, **extra)
    _update_manifest(
        out_dir,
        decoder.layer,
        variant,
        entry if variant == PAPER_FAITHFUL else dict(entry, architecture=decoder.architecture),
    )
    return path


def _update_manifest(out_dir: Path, layer: str, variant: str, entry: dict) -> None:
    manifest = decoder_manifest(out_dir)
    if variant == PAPER_FAITHFUL:
        manifest["layers"][layer] = entry
    else:
        manifest["variants"].setdefault(variant, {})[layer] = entry
    atomic_write(
        out_dir / DECODER_MANIFEST, lambda p: p.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    )


def train_variant(
    variant: str,
    layer: str,
    photos,
    holdout,
    *,
    init: dict,
    seed: int,
    device: str,
    checkpoint_dir,
    checkpoint_every: int,
    net: VGG16,
    quiet: bool = False,
    **overrides,
) -> tuple[WhatWhereDecoder, dict]:
    """Train `layer`'s decoder of `variant` (`VARIANTS`) from `init` (the faithful decoder's state)
    at the equal budget; for "decay" one run per value of `DECAY_GRID`, keeping the one with the
    lowest held-out score (mean of the "true" and "estimate" errors; the grid's scores recorded
    under "grid"). overrides: steps, crop, batch (tests)."""
    trained = [v for v, (_, options, _) in VARIANTS.items() if options is not None]
    if variant not in trained:
        raise ValueError(f"variant: expected one of the trained variants {trained}, got {variant!r}")
    _, options, flags = VARIANTS[variant]
    cfg = dict(CONFIGS[layer], steps=VARIANT_STEPS[layer])
    cfg["lr"] = cfg["lr"] * FINETUNE_LR
    cfg.update(overrides)
    common = dict(
        seed=seed,
        device=device,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
        init=init,
        net=net,
        quiet=quiet,
        **flags,
        **cfg,
    )
    if variant != "decay":
        return train_layer(layer, photos, holdout, name=f"{layer}_{variant}", **common, **options)
    runs = {}
    for wd in options["weight_decay"]:
        runs[wd] = train_layer(layer, photos, holdout, name=f"{layer}_{variant}{wd:g}", weight_decay=wd, **common)
    score = {wd: (s["holdout_error"] + s["holdout_estimate_error"]) / 2 for wd, (_, s) in runs.items()}
    best = min(score, key=score.get)
    decoder, summary = runs[best]
    summary = dict(
        summary,
        grid={f"{wd:g}": round(v, 4) for wd, v in score.items()},
        wall_s=round(sum(s["wall_s"] for _, s in runs.values()), 1),
    )
    return decoder, summary


def load_corpus(image_dir=None, install: bool = True) -> tuple[list[dict], list[torch.Tensor], torch.Tensor]:
    """The corpus manifest, the training photos (uint8) and the held-out images (N, 224, 224, 3)."""
    if image_dir is None:
        sources = _corpus.default_sources()
        missing = _corpus.missing_packages(sources)
        if missing:
            if not install:
                raise RuntimeError(f"corpus: Debian packages {missing} are missing; install them or use --image-dir")
            _corpus.install_packages(missing)
        manifest = _corpus.corpus_manifest(sources)
        reference = (
            json.loads(_corpus.CORPUS_MANIFEST.read_text())["files"] if _corpus.CORPUS_MANIFEST.is_file() else []
        )
        if reference and not any(r["source"].startswith("image_dir") for r in reference):  # the shipped corpus
            _corpus.check_against(manifest, reference)
    else:
        manifest = _corpus.corpus_manifest(_corpus.directory_sources(image_dir))
    _corpus.check_disjoint(manifest)
    train = [_corpus.load_photo(_corpus.resolve(m["file"])) for m in manifest if m["split"] == "train"]
    held = [_corpus.load_photo(_corpus.resolve(m["file"])) for m in manifest if m["split"] == "holdout"]
    size = min(224, *(min(p.shape[-2:]) for p in held)) // 16 * 16 if held else 0
    holdout = _corpus.center_crops(held, size) if held else torch.zeros(0, 16, 16, 3)
    return manifest, train, holdout


def _report(label: str, summary: dict) -> None:
    print(
        f"{label}: train loss {summary['train_loss']:.4f}, held-out relative error {summary['holdout_error']:.3f} "
        f"(one-step estimate {summary['holdout_estimate_error']:.3f}), {summary['wall_s']:.0f} s",
        file=sys.stderr,
    )


def _share_variant(out_dir: Path, layer: str, source: str, variant: str, flags: dict, net, holdout) -> None:
    """Record `variant` of `layer` as `source`'s weights with other decoder flags (no training),
    with its own held-out scores."""
    entry = decoder_manifest(out_dir)["variants"].get(source, {}).get(layer)
    if entry is None:
        raise RuntimeError(f"variants: {variant} shares the weights of {source}; train {source} first")
    source_decoder = load_decoder(layer, out_dir, variant=source)
    decoder = WhatWhereDecoder(layer, **dict(entry["architecture"], **flags))
    decoder.load_state_dict(source_decoder.state_dict())
    scores = holdout_scores(decoder.eval().to(next(net.parameters()).device), net, holdout)
    shared = dict(
        entry,
        architecture=decoder.architecture,
        shares=source,
        holdout_error=scores["true"],
        holdout_estimate_error=scores["estimate"],
        wall_s=0.0,
    )
    _update_manifest(out_dir, layer, variant, shared)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m invertlib.vision.train_decoders", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--layers", nargs="+", default=list(DECODER_LAYERS), choices=DECODER_LAYERS)
    parser.add_argument(
        "--image-dir", type=cli.image_dir, default=None, help="train on your own photographs (JPEG/PNG, recursively)"
    )
    parser.add_argument("--out-dir", type=cli.output_dir, default=TRAINED_DIR, help="where weights and manifest go")
    parser.add_argument("--checkpoint-dir", type=cli.output_dir, default="build/decoders", help="checkpoints")
    parser.add_argument("--checkpoint-every", type=cli.positive_int, default=200)
    parser.add_argument("--device", type=cli.device, default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--steps", type=cli.positive_int, default=None, help="override every layer's step count")
    parser.add_argument("--crop", type=cli.crop_size, default=None, help="override every layer's crop (x 16)")
    parser.add_argument("--batch", type=cli.positive_int, default=None, help="override every layer's batch per rank")
    parser.add_argument("--no-warm-start", action="store_true", help="train every layer from scratch")
    parser.add_argument(
        "--variants",
        nargs="*",
        default=list(VARIANTS),
        choices=list(VARIANTS),
        help="the variants trained after the faithful decoders (default: all; none: --variants)",
    )
    parser.add_argument(
        "--skip-faithful", action="store_true", help="train only variants, from the faithful decoders in --out-dir"
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get the corpus packages")
    parser.add_argument(
        "--save-rank-weights",
        action="store_true",
        help="every rank also writes its final weights as <layer>.rank<r>.pt (for tests)",
    )
    args = parser.parse_args(argv)
    if args.image_dir is not None:  # refused before anything loads: a corpus needs a held-out photo
        try:
            n = len(image_files(args.image_dir, recursive=True))
        except FileNotFoundError:  # no image at all
            n = 0
        if n < _corpus.HOLDOUT_EVERY:
            parser.error(
                f"--image-dir: {n} images in {args.image_dir}; at least {_corpus.HOLDOUT_EVERY} are needed "
                f"(every {_corpus.HOLDOUT_EVERY}th photo is held out to score the decoders)"
            )

    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = args.device
    if world > 1:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device.startswith("cuda"):
            device = f"cuda:{local}"
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    rank, world = _world()
    try:
        manifest, photos, holdout = load_corpus(args.image_dir, install=not args.no_install and rank == 0)
        corpus_hash = _corpus.manifest_hash(manifest)
        out_dir = Path(args.out_dir)
        if rank == 0:
            out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(
                out_dir / "corpus.json",
                lambda p: p.write_text(
                    json.dumps({"files": manifest, "holdout_every": _corpus.HOLDOUT_EVERY}, indent=1) + "\n"
                ),
            )
            print(
                f"corpus: {len(photos)} training photos, {len(holdout)} held out ({corpus_hash[:12]})", file=sys.stderr
            )
        net = VGG16.pretrained()
        extra = dict(
            corpus_sha256=corpus_hash,
            n_train_photos=len(photos),
            n_holdout_photos=len(holdout),
            device=str(device),
            torch=torch.__version__,
            encoder=net.weights_note,
            trained=datetime.date.today().isoformat(),
        )
        if rank == 0:  # held-out estimate errors of faithful decoders trained before they were recorded
            for layer, entry in decoder_manifest(out_dir)["layers"].items():
                if "holdout_estimate_error" not in entry and layer in args.layers and args.skip_faithful:
                    scores = holdout_scores(load_decoder(layer, out_dir).to(device), net.to(device), holdout)
                    _update_manifest(
                        out_dir, layer, PAPER_FAITHFUL, dict(entry, holdout_estimate_error=scores["estimate"])
                    )
        previous, faithful = None, {}
        for layer in [] if args.skip_faithful else args.layers:
            cfg = dict(CONFIGS[layer])
            for key in ("steps", "crop", "batch"):
                if getattr(args, key) is not None:
                    cfg[key] = getattr(args, key)
            lower = DECODER_LAYERS[DECODER_LAYERS.index(layer) - 1] if layer != "pool1" else None
            init = None
            if not args.no_warm_start and lower is not None:
                if previous is not None and previous.layer == lower:
                    init = previous.state_dict()
                elif lower in decoder_manifest(out_dir)["layers"]:
                    init = load_decoder(lower, out_dir).state_dict()
            decoder, summary = train_layer(
                layer,
                photos,
                holdout,
                seed=args.seed,
                device=device,
                checkpoint_dir=args.checkpoint_dir,
                checkpoint_every=args.checkpoint_every,
                init=init,
                net=net,
                **cfg,
            )
            if args.save_rank_weights:
                torch.save(decoder.state_dict(), out_dir / f"{layer}.rank{rank}.pt")
            if rank == 0:
                write_decoder(decoder, summary, out_dir, extra)
                _report(layer, summary)
            previous = faithful[layer] = decoder
        overrides = {k: getattr(args, k) for k in ("steps", "crop", "batch") if getattr(args, k) is not None}
        variants = [v for v in VARIANTS if v in args.variants]  # a shared variant after the one it shares
        shared = [v for v, (_, options, _) in VARIANTS.items() if options is None]
        for variant in [v for v in variants if v in shared]:  # checked on every rank, before any training
            for layer in [layer for layer in args.layers if layer in VARIANTS[variant][0]]:
                if "continued" not in variants and layer not in decoder_manifest(out_dir)["variants"].get(
                    "continued", {}
                ):
                    raise RuntimeError(
                        f"variants: {variant} shares the weights of continued, which has no {layer} decoder in "
                        f"{out_dir}; add continued to --variants"
                    )
        for variant in variants:
            layers, options, flags = VARIANTS[variant]
            for layer in [layer for layer in args.layers if layer in layers]:
                if options is None:  # shares the weights of "continued", flags switched on
                    if rank == 0:
                        _share_variant(out_dir, layer, "continued", variant, flags, net, holdout)
                    continue
                # the faithful decoder as shipped (float16), whether trained in this run or loaded
                init = (
                    {k: v.half().float() for k, v in faithful[layer].state_dict().items()}
                    if layer in faithful
                    else load_decoder(layer, out_dir).state_dict()
                )
                decoder, summary = train_variant(
                    variant,
                    layer,
                    photos,
                    holdout,
                    init=init,
                    seed=args.seed,
                    device=device,
                    checkpoint_dir=args.checkpoint_dir,
                    checkpoint_every=args.checkpoint_every,
                    net=net,
                    **overrides,
                )
                if rank == 0:
                    write_decoder(decoder, summary, out_dir, extra, variant=variant)
                    _report(f"{layer} {variant}", summary)
                    for other in shared:  # a variant sharing these weights already shipped: share them anew
                        if (
                            variant == "continued"
                            and other not in variants
                            and layer in decoder_manifest(out_dir)["variants"].get(other, {})
                        ):
                            _share_variant(out_dir, layer, "continued", other, VARIANTS[other][2], net, holdout)
    finally:
        if world > 1:
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
