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
"""

from __future__ import annotations

import argparse
import datetime
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
from . import corpus as _corpus
from .decoders import DECODER_LAYERS, DECODER_MANIFEST, WhatWhereDecoder, decoder_manifest
from .files import TRAINED_DIR, atomic_write, sha256
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
    errs = []
    for i in range(0, len(images), batch):
        x = net.preprocess(images[i : i + batch]).to(next(decoder.parameters()).device)
        act = net(x, upto=decoder.layer)
        errs.append(relative_error(decoder(act.pool[decoder.layer], act), x))
    return float(torch.cat(errs).mean())


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
) -> tuple[WhatWhereDecoder, dict]:
    """Train one decoder; returns it (unwrapped, on `device`) and a summary dict.

    photos: uint8 (3, H, W) training photos; holdout: (N, S, S, 3) held-out images in [0, 1] for
    the final relative error; init: a state dict whose matching keys initialise the decoder (the
    warm start); checkpoint_dir: where to checkpoint and resume (None: no checkpoints)."""
    rank, world = _world()
    net = VGG16.pretrained() if net is None else net
    net = net.to(device)
    decoder = WhatWhereDecoder(layer).reset_parameters(torch_generator(seed))
    if init:
        own = decoder.state_dict()
        decoder.load_state_dict(
            {k: (init[k].float() if k in init and init[k].shape == v.shape else v) for k, v in own.items()}
        )
    decoder = decoder.to(device)
    model = decoder
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(decoder, device_ids=None if device == "cpu" else [device])
    opt = torch.optim.Adam(decoder.parameters(), lr=lr)
    generator = torch_generator(seed * 1000 + 1 + rank)
    sampler = _corpus.CropSampler(photos, crop, generator)
    config = dict(
        layer=layer, crop=crop, batch=batch, steps=steps, lr=lr, seed=seed, world_size=world, warm_start=bool(init)
    )
    start_step, losses, elapsed = 0, [], 0.0
    ckpt = None if checkpoint_dir is None else Path(checkpoint_dir) / f"{layer}.ckpt"
    if ckpt is not None and ckpt.is_file():
        # CPU first: the generator states must stay CPU tensors; load_state_dict moves the rest
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        if state["config"] == config:
            decoder.load_state_dict(state["decoder"])
            opt.load_state_dict(state["optimizer"])
            generator.set_state(state["generators"][rank])
            start_step, losses, elapsed = state["step"], state["losses"], state["elapsed"]
            if rank == 0 and not quiet:
                print(f"{layer}: resuming from step {start_step} ({ckpt})", file=sys.stderr)
        elif rank == 0 and not quiet:
            print(f"{layer}: checkpoint {ckpt} has other settings; starting afresh", file=sys.stderr)

    def save_checkpoint(step):
        gens = [None] * world
        if world > 1:
            dist.all_gather_object(gens, generator.get_state())
        else:
            gens = [generator.get_state()]
        if rank == 0:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            state = dict(
                config=config,
                decoder=decoder.state_dict(),
                optimizer=opt.state_dict(),
                step=step,
                generators=gens,
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
            act = net(x, upto=layer)
        loss = F.mse_loss(model(act.pool[layer], act.switches), x)
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
    summary = dict(
        config=config,
        steps=steps,
        train_loss=sum(tail) / len(tail),
        holdout_error=holdout_error(decoder, net, holdout),
        wall_s=round(wall, 1),
    )
    return decoder, summary


def write_decoder(decoder: WhatWhereDecoder, summary: dict, out_dir, extra: dict) -> Path:
    """Write the float16 weights and update the manifest, each atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"vgg16_{decoder.layer}.pt"
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in decoder.state_dict().items()}
    path = atomic_write(out_dir / name, lambda p: torch.save(state, p))
    manifest = decoder_manifest(out_dir)
    manifest["layers"][decoder.layer] = dict(file=name, sha256=sha256(path), **summary, **extra)
    atomic_write(
        out_dir / DECODER_MANIFEST, lambda p: p.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    )
    return path


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m invertlib.vision.train_decoders", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--layers", nargs="+", default=list(DECODER_LAYERS), choices=DECODER_LAYERS)
    parser.add_argument("--image-dir", default=None, help="train on your own photographs (JPEG/PNG, recursively)")
    parser.add_argument("--out-dir", default=str(TRAINED_DIR), help="where the weights and manifest go")
    parser.add_argument("--checkpoint-dir", default="build/decoders", help="checkpoints, for resuming")
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="override every layer's step count")
    parser.add_argument("--crop", type=int, default=None, help="override every layer's crop size")
    parser.add_argument("--batch", type=int, default=None, help="override every layer's batch per rank")
    parser.add_argument("--no-warm-start", action="store_true", help="train every layer from scratch")
    parser.add_argument("--no-install", action="store_true", help="never apt-get the corpus packages")
    parser.add_argument(
        "--save-rank-weights",
        action="store_true",
        help="every rank also writes its final weights as <layer>.rank<r>.pt (for tests)",
    )
    args = parser.parse_args(argv)

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
        previous = None
        for layer in args.layers:
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
                    from .decoders import load_decoder

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
                extra = dict(
                    corpus_sha256=corpus_hash,
                    n_train_photos=len(photos),
                    n_holdout_photos=len(holdout),
                    device=str(device),
                    torch=torch.__version__,
                    encoder=net.weights_note,
                    trained=datetime.date.today().isoformat(),
                )
                write_decoder(decoder, summary, out_dir, extra)
                print(
                    f"{layer}: train loss {summary['train_loss']:.4f}, held-out relative error "
                    f"{summary['holdout_error']:.3f}, {summary['wall_s']:.0f} s",
                    file=sys.stderr,
                )
            previous = decoder
    finally:
        if world > 1:
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
