"""Tables 2-3 and the AlexNet supplement at the paper's scale: a streaming, sharded, resumable
evaluation over any folder of images (the ILSVRC-2012 validation set as it is unpacked).

    python -m invertlib.vision.evaluate table2 --image-dir ~/ILSVRC2012_val --out build/evaluate/table2.json
    python -m invertlib.vision.evaluate table3 --image-dir ~/ILSVRC2012_val --device cuda --batch 64
    torchrun --nproc_per_node=4 -m invertlib.vision.evaluate alexnet --image-dir ~/ILSVRC2012_val --device cuda

What each table accumulates, per image (`evaluate_batch`; the results file keeps every image's row,
so the notebooks can bootstrap over the images):

* ``table2``: the number of nonzero units of every VGG16 conv layer (after ReLU) and pool layer
  (columns ``nonzero.<layer>``; the units per image are in the metadata).
* ``table3``: at pool(1)-pool(4), the activation-space errors ||x_hat - x|| / ||x|| of the one-step
  estimates with the learned and the Gaussian filters of the conv above and of a Gaussian random
  activation (``act.<pool>.<geometry>.<kind>``, as `layerwise.layerwise_one_step`), and the
  image-space errors of the trained what-where decoders for the true activation and the three
  estimates (``img.faithful.<pool>.<kind>``; with ``--robust`` also the robust variants,
  ``img.robust.<pool>.<kind>``), as `layerwise.decode_codes`.
* ``alexnet``: AlexNet's nonzero counts (as table2) and its one-step errors at pool1 and pool2 under
  the overlapping 3 x 3 windows and non-overlapping 2 x 2 ones (`layerwise.ALEXNET_GEOMETRIES`).

Fixed before any image is evaluated, identically in every process, so that no image's numbers depend
on the others: the sparsity k of each one-step estimate (the mean measured sparsity of the conv above
over the first ``--calibration`` images, or over a table2/alexnet results file given by
``--sparsity-file``), and the Gaussian filter banks (one per pool, drawn in pool order from the
seed). Each image's random activation at each pool is drawn from its own generator
(`rng.spawn_seed(seed, index, pool number)`).

Sharding and resuming. The images (in sorted order of their paths) are cut into shards of
``--shard-size``; shard s goes to rank s mod world size, and a batch never crosses a shard, so a
shard's numbers are the same whichever process computes it. Every finished shard is written to
``<out>.parts/`` at once (atomically): a rerun of the same command skips the shards already there.
Under ``torchrun --nproc_per_node=N`` (gloo on CPU, nccl on GPU) rank 0 gathers every shard, merges
them in order and writes ``--out`` (atomically), so the result equals a one-process run's (up to
the summation order of a different thread count or batch size). ``--max-shards`` stops a process
after that many shards (a time-limited job), exit status 3 in one process (under torchrun,
torchrun's own failure status); rerun the same command to continue.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist

from ..checks import check_choice, check_int
from ..metrics import relative_error, rescale_to
from ..progress import progress
from ..rng import spawn_seed, torch_generator
from ..sparsity import PoolingModel
from ..stats import bootstrap_means, percentile_interval
from . import cli
from .files import read_json, write_json
from .images import ImageSource, image_source
from .layerwise import ALEXNET_GEOMETRIES, KINDS, NO_MODEL, VGG_GEOMETRIES, decode_codes, one_step_pair, operator_pair
from .networks import VGG16, AlexNet, FeatureNet

TABLES = ("table2", "table3", "alexnet")
FORMAT = "invertlib.evaluate/1"
SHARD_SIZE = 500
INCOMPLETE = 3  # exit status of a run stopped by --max-shards before every shard was done
TABLE3_POOLS = ("pool1", "pool2", "pool3", "pool4")
ALEXNET_POOLS = ("pool1", "pool2")


@dataclass
class Setup:
    """Everything an evaluation fixes before its first image, the same in every process.

    table: one of TABLES; net: the network; size: input side; seed; pools: the pool layers of the
    one-step estimates (empty for table2); geometries: {label: (p, s)}; pairs: {pool: OperatorPair};
    models: {(pool, geometry): (PoolingModel, k)}; sparsity: {conv: fraction of nonzeros} that set
    k, and where it came from; decoders: {variant: {pool: decoder}} (table3); units: {layer: units
    per image} of the layers whose nonzeros are counted."""

    table: str
    net: FeatureNet
    size: int
    seed: int
    pools: tuple = ()
    geometries: dict = field(default_factory=dict)
    pairs: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    sparsity: dict = field(default_factory=dict)
    sparsity_from: str = ""
    decoders: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)

    @property
    def counts_nonzeros(self) -> bool:
        return self.table in ("table2", "alexnet")

    @property
    def upto(self) -> str | None:
        # Table 3 needs conv5_1 (k at pool4); the others every layer
        return "conv5_1" if self.table == "table3" else None

    def use_sparsity(self, sparsity: dict) -> None:
        """Take k of every (pool, geometry) from `sparsity` ({conv: fraction of nonzeros})."""
        self.sparsity = dict(sparsity)
        for (pool, g), (model, _) in list(self.models.items()):
            self.models[(pool, g)] = (model, model.k_for_sparsity(self.sparsity[self.pairs[pool].layer]))

    def fingerprint(self) -> dict:
        """What fixes every image's numbers (beyond rounding): a checkpoint is resumed only under
        the same fingerprint. The device, batch size and number of processes are not in it."""
        return {
            "table": self.table,
            "network": self.net.architecture,
            "weights": _weights_digest(self.net),
            "size": self.size,
            "seed": self.seed,
            "k": {f"{p}@{g}": k for (p, g), (_, k) in self.models.items()},
            "decoders": {v: {p: _weights_digest(d) for p, d in ds.items()} for v, ds in self.decoders.items()},
        }


def _weights_digest(module: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _forward(setup: Setup, images: np.ndarray, device: str):
    x = setup.net.preprocess(torch.from_numpy(images).to(device))
    return x, setup.net(x, upto=setup.upto, keep_pre=False)


def measure_sparsity(net: FeatureNet, source: ImageSource, convs, *, size: int, n_images: int, batch: int, device: str):
    """{conv: mean over the first n_images images of the fraction of nonzero units after ReLU}."""
    indices = list(range(min(n_images, len(source))))
    totals = dict.fromkeys(convs, 0.0)
    upto = max(convs, key=net.layer_names.index)
    with torch.no_grad():
        for _, images in source.batches(size, batch, indices):
            act = net(net.preprocess(torch.from_numpy(images).to(device)), upto=upto, keep_pre=False)
            for conv in convs:
                totals[conv] += float((act.post[conv] != 0).flatten(1).double().mean(dim=1).sum())
    return {conv: total / len(indices) for conv, total in totals.items()}


def sparsity_from_results(path: str | Path, architecture: str, convs) -> dict:
    """{conv: mean fraction of nonzeros per image} from a table2 or alexnet results file of the same
    network (`--sparsity-file`)."""
    result = read_results(path)
    if result["meta"]["network"] != architecture or "units" not in result["meta"]:
        raise ValueError(
            f"sparsity_file: expected a table2 (VGG16) or alexnet (AlexNet) results file for {architecture}, "
            f"got a {result['table']} file of {result['meta']['network']}"
        )
    units = result["meta"]["units"]
    return {c: float(np.mean(np.asarray(result["columns"][f"nonzero.{c}"]) / units[c])) for c in convs}


def setup(
    table: str,
    source: ImageSource,
    *,
    size: int = 224,
    seed: int = 0,
    device: str = "cpu",
    batch: int = 16,
    calibration: int = 256,
    sparsity_file=None,
    weights_file=None,
    decoder_dir=None,
    robust: bool = False,
) -> Setup:
    """The `Setup` of `table` (one of TABLES) for images of `source` at size x size."""
    from .decoders import load_decoder, load_variants, robust_choice

    check_choice(table, "table", TABLES)
    size = check_size(table, size)
    arch = AlexNet if table == "alexnet" else VGG16
    net = arch.pretrained(weights_file=weights_file).to(device).eval()
    s = Setup(table, net, size, seed)
    probe = net(net.preprocess(torch.zeros(1, size, size, 3, device=device)), upto=s.upto, keep_pre=False)
    if s.counts_nonzeros:
        s.units = {n: int(probe.output(n)[0].numel()) for n in probe.order}
    if table == "table2":
        return s
    s.pools = TABLE3_POOLS if table == "table3" else ALEXNET_POOLS
    s.geometries = VGG_GEOMETRIES if table == "table3" else ALEXNET_GEOMETRIES
    convs = [net.conv_after(p) for p in s.pools]
    if sparsity_file is not None:
        s.sparsity, s.sparsity_from = sparsity_from_results(sparsity_file, net.architecture, convs), str(sparsity_file)
    else:
        calibration = check_int(calibration, "calibration")
        s.sparsity = measure_sparsity(net, source, convs, size=size, n_images=calibration, batch=batch, device=device)
        s.sparsity_from = f"the first {min(calibration, len(source))} images"
    gen = torch_generator(seed)
    for pool in s.pools:  # one Gaussian bank per pool, in pool order
        pair = operator_pair(net, net.conv_after(pool), probe.pool[pool].shape[-1], generator=gen)
        s.pairs[pool] = pair
        for g, (p, stride) in s.geometries.items():
            model = PoolingModel(pair.learned.out_shape, p, stride=stride)
            s.models[(pool, g)] = (model, model.k_for_sparsity(s.sparsity[pair.layer]))
    if table == "table3":
        s.decoders["faithful"] = {p: load_decoder(p, decoder_dir).to(device) for p in s.pools}
        if robust:
            variants = load_variants({p: p for p in s.pools}, decoder_dir)
            s.decoders["robust"] = {p: variants[robust_choice(p, decoder_dir)][p].to(device) for p in s.pools}
    return s


def check_size(table: str, size) -> int:
    """The input side `size` checked for `table`: VGG16 (table2, table3) a multiple of 32, so its five
    poolings halve the maps exactly and the decoders' unpooling restores them; AlexNet at least 64,
    so its pool5 keeps one unit."""
    size = check_int(size, "size", minimum=64 if table == "alexnet" else 32)
    if table != "alexnet" and size % 32:
        raise ValueError(f"size: expected a multiple of 32 for VGG16 ({table}), got {size}")
    return size


@torch.no_grad()
def evaluate_batch(s: Setup, indices, images: np.ndarray, device: str = "cpu") -> dict[str, np.ndarray]:
    """The per-image columns of one batch: images (b, size, size, 3) RGB in [0, 1], indices their
    positions in the whole image list (they seed the random activations). Returns {column: (b,)}."""
    x_img, act = _forward(s, images, device)
    cols = {}
    if s.counts_nonzeros:
        for name in act.order:
            cols[f"nonzero.{name}"] = (
                torch.count_nonzero(act.output(name).flatten(1), dim=1).cpu().numpy().astype(np.int64)
            )
    codes = {}
    for p, pool in enumerate(s.pools):
        x = act.pool[pool]
        for g in s.geometries:
            model, k = s.models[(pool, g)]
            for kind, x_hat in one_step_pair(s.pairs[pool], model, k, x).items():
                cols[f"act.{pool}.{g}.{kind}"] = _relative_error(x_hat, x)
                codes.setdefault((pool, kind), x_hat)  # the first geometry's estimate is decoded
        noise = torch.stack(
            [
                torch.randn(x.shape[1:], generator=torch_generator(spawn_seed(s.seed, int(i), p)), dtype=x.dtype)
                for i in indices
            ]
        ).to(x.device)
        randact = rescale_to(noise, x)
        cols[f"act.{pool}.{NO_MODEL}.randact"] = _relative_error(randact, x)
        codes[(pool, "true")], codes[(pool, "randact")] = x, randact
    for variant, decoders in s.decoders.items():
        ordered = {(p, kind): codes[(p, kind)] for p in s.pools for kind in KINDS}
        scores = decode_codes(s.net, decoders, ordered, act, x_img).scores
        for (pool, kind), rows in scores.groupby(["layer", "kind"], sort=False):
            cols[f"img.{variant}.{pool}.{kind}"] = rows.sort_values("image")["error"].to_numpy(dtype=np.float64)
    return cols


def _relative_error(estimate: torch.Tensor, x: torch.Tensor) -> np.ndarray:
    return relative_error(estimate, x).double().cpu().numpy()


# ------------------------------------------------------------------------------------------------
# shards, checkpoints and the results file


def shard_ranges(n_images: int, shard_size: int) -> list[range]:
    """The image indices of every shard, in order: [0, shard_size), [shard_size, 2 shard_size) ..."""
    shard_size = check_int(shard_size, "shard_size")
    return [range(a, min(a + shard_size, n_images)) for a in range(0, n_images, shard_size)]


def rank_shards(n_shards: int, rank: int, world: int) -> list[int]:
    """The shards rank `rank` of `world` processes evaluates: s with s mod world == rank (disjoint,
    together every shard)."""
    return [s for s in range(n_shards) if s % world == rank]


def _image_list_digest(source: ImageSource) -> str:
    return hashlib.sha256("\n".join(source.names).encode()).hexdigest()[:16]


def _write_json(path: Path, record: dict) -> None:
    write_json(path, record, indent=None)


def read_results(results_file: str | Path) -> dict:
    """A results file of `python -m invertlib.vision.evaluate`: {"format", "table", "meta",
    "images", "columns"}; columns are lists, one entry per image, in the images' order."""
    path = Path(results_file).expanduser()
    result = read_json(path, "results_file")
    if not isinstance(result, dict) or result.get("format") != FORMAT:
        raise ValueError(f"results_file: {path} is not a results file of invertlib.vision.evaluate ({FORMAT})")
    return result


def per_image(result: dict) -> pd.DataFrame:
    """One row per image of a results file (`read_results`), indexed by the image's name: the %
    of nonzero units of every counted layer (columns ``pct.<layer>``) and every error column of
    the file as it is (``act.<pool>.<geometry>.<kind>``, ``img.<variant>.<pool>.<kind>``)."""
    cols = result["columns"]
    units = result["meta"].get("units", {})
    frame = {
        f"pct.{c[8:]}": 100.0 * np.asarray(v, dtype=float) / units[c[8:]]
        for c, v in cols.items()
        if c.startswith("nonzero.")
    }
    frame.update({c: np.asarray(v, dtype=float) for c, v in cols.items() if not c.startswith("nonzero.")})
    return pd.DataFrame(frame, index=pd.Index(result["images"], name="image"))


@dataclass(frozen=True)
class FullScale:
    """A results file summarised for a notebook: `table`, `meta` (the file's), `summary` (one row per
    column of `per_image`: column, mean, std, low, high, n_images; the interval a percentile
    bootstrap of the images) and `spreads` ({column: stats.BootstrapInterval}, for the claims)."""

    table: str
    meta: dict
    summary: pd.DataFrame
    spreads: dict


def full_scale(results_file, *, generator: np.random.Generator, n_resamples: int = 2000) -> FullScale:
    """Read a results file of this module and bootstrap every column's mean over its images
    (`stats.bootstrap_means`, n_resamples resamples from `generator`)."""
    result = read_results(results_file)
    values = per_image(result)
    resampled = bootstrap_means(values.to_numpy(), generator=generator, n_resamples=n_resamples)
    spreads = {
        c: percentile_interval(values[c].mean(), resampled[:, j], n_units=len(values), units="images")
        for j, c in enumerate(values.columns)
    }
    summary = pd.DataFrame(
        {
            "column": values.columns,
            "mean": values.mean().to_numpy(),
            "std": values.std().to_numpy(),
            "low": [spreads[c].low for c in values.columns],
            "high": [spreads[c].high for c in values.columns],
            "n_images": len(values),
        }
    )
    return FullScale(result["table"], result["meta"], summary, spreads)


def full_scale_labels(full: FullScale) -> dict[str, str]:
    """{label: column} of a summarised results file, labelled as the notebooks label their rows:
    table2 and alexnet "sparsity.<layer>" (the % of nonzeros); table3 "act.<i>.<kind>" (pool(i), the
    one-step estimates and the random activation) and "img.<i>.<kind>" (the faithful decoders; with
    --robust also "robust.img.<i>.<kind>"); alexnet "table3.<pool>.<geometry_slug>.<kind>"."""
    out = {}
    for column in full.summary["column"]:
        head, _, rest = column.partition(".")
        if head == "pct":
            out[f"sparsity.{rest}"] = column
        elif full.table == "table3" and head == "act":
            parts = rest.split(".")  # pool, geometry, kind
            out[f"act.{parts[0][4:]}.{parts[-1]}"] = column
        elif full.table == "table3" and head == "img":
            variant, pool, kind = rest.split(".")
            out[f"{'' if variant == 'faithful' else variant + '.'}img.{pool[4:]}.{kind}"] = column
        elif head == "act":
            pool, geometry, kind = rest.split(".", 1)[0], *rest.split(".", 1)[1].rsplit(".", 1)
            out[f"table3.{pool}.{geometry_slug(geometry)}.{kind}"] = column
    return out


def geometry_slug(geometry: str) -> str:
    """A window geometry's label as it can stand in a claim id: "overlapping 3x3/2" ->
    "overlapping_3x3s2" (spaces to _, the stride's / to s)."""
    return geometry.replace(" ", "_").replace("/", "s")


def side_by_side(full: FullScale, photographs: Mapping, paper: Mapping | None = None) -> pd.DataFrame:
    """The full-scale numbers beside a notebook's own: one row per label of `photographs` ({label:
    the notebook's number on its photographs}) that the results file has (`full_scale_labels`):
    label, column, paper (`paper`'s number or NaN), photographs, full (the mean over the file's
    images), low, high (its bootstrap interval), n_images."""
    labels = full_scale_labels(full)
    summary = full.summary.set_index("column")
    rows = []
    for label, ours in photographs.items():
        if label not in labels:
            continue
        s = summary.loc[labels[label]]
        theirs = float("nan") if paper is None or paper.get(label) is None else float(paper[label])
        rows.append(
            dict(label=label, column=labels[label], paper=theirs, photographs=float(ours), full=s["mean"])
            | dict(low=s["low"], high=s["high"], n_images=int(s["n_images"]))
        )
    if not rows:
        raise ValueError(
            f"photographs: none of the labels {list(photographs)[:4]} ... is in the {full.table} results file "
            f"(it has {list(labels)[:4]} ...): is it the results file of another table?"
        )
    return pd.DataFrame(rows)


def _run_shard(s: Setup, source: ImageSource, indices: range, batch: int, device: str, workers: int, bar) -> dict:
    parts = []
    for idx, images in source.batches(s.size, batch, indices, workers=workers):
        try:
            parts.append(evaluate_batch(s, idx, images, device))
        except ValueError as exc:  # e.g. an all-zero activation, whose relative error is undefined
            names = ", ".join(source.names[i] for i in idx)
            raise ValueError(f"images {names}: {exc}") from exc
        bar.update(len(idx))
    return {c: np.concatenate([p[c] for p in parts]).tolist() for c in parts[0]}


def run(
    table: str,
    source: ImageSource,
    out: str | Path,
    *,
    batch: int = 16,
    shard_size: int = SHARD_SIZE,
    max_shards: int | None = None,
    device: str = "cpu",
    workers: int = 0,
    **setup_kwargs,
) -> dict | None:
    """Evaluate `table` over `source` into the results file `out` (this process's share under
    torch.distributed, rank 0 merging). Returns the merged results on rank 0 when every shard is
    done, else None (another rank, or --max-shards stopped before the end)."""
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    out = Path(out).expanduser()
    parts_dir = out.with_name(out.name + ".parts")
    s = setup(table, source, device=device, batch=batch, **setup_kwargs)
    # every rank measured k itself; another thread count or device could round one differently, so
    # rank 0's sparsity (and so its k) is the one every rank uses
    s.use_sparsity(_broadcast(s.sparsity))
    config = {
        **s.fingerprint(),
        "images": _image_list_digest(source),
        "n_images": len(source),
        "shard_size": shard_size,
    }
    problem = None
    if rank == 0:
        try:
            parts_dir.mkdir(parents=True, exist_ok=True)
            stored = parts_dir / "config.json"
            if stored.is_file() and read_json(stored, "out") != config:
                problem = (
                    f"out: the checkpoints in {parts_dir} are of another evaluation (other arguments, weights, "
                    f"images or k); delete that folder or rerun with the arguments that made it"
                )
            else:
                _write_json(stored, config)
        except (OSError, ValueError) as exc:
            problem = f"out: cannot keep checkpoints in {parts_dir} ({exc})"
    problem = _broadcast(problem)  # every rank stops, none waits for the others in vain
    if problem:
        raise ValueError(problem)
    parts_dir.mkdir(parents=True, exist_ok=True)  # every rank writes its own shards there
    ranges = shard_ranges(len(source), shard_size)
    mine = rank_shards(len(ranges), rank, world)
    todo = [i for i in mine if not _shard_file(parts_dir, i).is_file()]
    if max_shards is not None:
        todo = todo[: check_int(max_shards, "max_shards")]
    n_todo = sum(len(ranges[i]) for i in todo)
    bar = progress(range(n_todo), f"{table} rank {rank}/{world}", total=n_todo, unit="img", disable=rank != 0)
    timings, own, error = [], None, None  # timings: (images, seconds) per shard; the first carries the warm-up
    try:
        for i in todo:
            start = time.perf_counter()
            cols = _run_shard(s, source, ranges[i], batch, device, workers, bar)
            _write_json(_shard_file(parts_dir, i), {"shard": i, "config": config, "columns": cols})
            timings.append((len(ranges[i]), time.perf_counter() - start))
        if all(_shard_file(parts_dir, i).is_file() for i in mine):
            own = {i: _read_shard(parts_dir, i, config, len(ranges[i])) for i in mine}
    except (OSError, ValueError) as exc:  # told to rank 0 through the gather, so that nobody waits
        error = f"rank {rank}: {exc}"
    bar.close()
    stats = {"rank": rank, **_rates(timings), "peak_rss_mb": _peak_rss_mb()}
    gathered = _gather((error, stats, own), world)
    if error is not None:
        raise ValueError(error)
    if rank != 0:
        return None
    errors = [e for e, _, _ in gathered if e is not None]
    if errors:
        raise ValueError("; ".join(errors))
    if not all(o is not None for _, _, o in gathered):
        n_done = sum(1 for i in range(len(ranges)) if _shard_file(parts_dir, i).is_file())
        print(f"{table}: {n_done} of {len(ranges)} shards done; rerun the same command to continue", file=sys.stderr)
        return None
    shards = {i: cols for _, _, o in gathered for i, cols in o.items()}
    columns = {c: [v for i in range(len(ranges)) for v in shards[i][c]] for c in shards[0]}
    result = {
        "format": FORMAT,
        "table": table,
        "meta": _meta(s, source, config, [st for _, st, _ in gathered], device, batch, world),
        "images": list(source.names),
        "columns": columns,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_json(out, result)
    shutil.rmtree(parts_dir)
    return result


def _shard_file(parts_dir: Path, i: int) -> Path:
    return parts_dir / f"shard-{i:06d}.json"


def _read_shard(parts_dir: Path, i: int, config: dict, n_images: int) -> dict:
    """Shard i's columns, checked: written for shard i of this very evaluation, one value per image."""
    path = _shard_file(parts_dir, i)
    record = read_json(path, "out")
    if record.get("shard") != i or record.get("config") != config:
        raise ValueError(f"out: {path} is a checkpoint of another evaluation; delete {parts_dir} and rerun")
    if any(len(v) != n_images for v in record["columns"].values()):
        raise ValueError(f"out: {path} does not hold {n_images} images in every column; delete it and rerun")
    return record["columns"]


def _meta(s: Setup, source: ImageSource, config: dict, ranks: list, device: str, batch: int, world: int) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("invertlib")
    except PackageNotFoundError:
        ours = "unknown"
    meta = {
        "network": s.net.architecture,
        "weights": s.net.weights_note,
        "size": s.size,
        "seed": s.seed,
        "n_images": len(source),
        "image_list_sha256": config["images"],
        "fingerprint": config,
        "device": device,
        "batch": batch,
        "processes": world,
        "ranks": ranks,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in ranks),
        "torch": torch.__version__,
        "invertlib": ours,
        "written": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if s.units:
        meta["units"] = s.units
    if s.pools:
        meta["sparsity"] = s.sparsity
        meta["sparsity_from"] = s.sparsity_from
        meta["k"] = {f"{p}@{g}": k for (p, g), (_, k) in s.models.items()}
        meta["regions"] = {f"{p}@{g}": m.n_regions for (p, g), (m, _) in s.models.items()}
    return meta


def _rates(timings: list) -> dict:
    """images, seconds and images/s of this process's shards; "steady_images_per_s" leaves out its
    first shard, which carries the one-time costs (memory allocation, kernel selection)."""
    images, seconds = sum(n for n, _ in timings), sum(t for _, t in timings)
    later = timings[1:]
    return {
        "images": images,
        "seconds": round(seconds, 2),
        "images_per_s": round(images / seconds, 3) if images else None,
        "steady_images_per_s": round(sum(n for n, _ in later) / sum(t for _, t in later), 3) if later else None,
    }


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _broadcast(obj):
    """rank 0's `obj` on every rank (itself without torch.distributed)."""
    if not dist.is_initialized():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _gather(obj, world: int) -> list:
    if world == 1:
        return [obj]
    out = [None] * world if dist.get_rank() == 0 else None
    dist.gather_object(obj, out, dst=0)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m invertlib.vision.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("table", choices=TABLES)
    parser.add_argument(
        "--image-dir", type=cli.image_dir, required=True, help="a folder of JPEG/PNG images (recursive)"
    )
    parser.add_argument("--out", type=cli.output_file, default=None, help="results file (build/evaluate/<table>.json)")
    parser.add_argument("--device", type=cli.device, default="cpu", help="cpu, cuda or cuda:N (torchrun: cuda:<rank>)")
    parser.add_argument("--batch", type=cli.positive_int, default=16, help="images per forward pass")
    parser.add_argument("--max-images", type=cli.positive_int, default=None, help="the first N images only")
    parser.add_argument("--size", type=cli.positive_int, default=224, help="input side (VGG16: a multiple of 32)")
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0, help="seeds the Gaussian filters, activations")
    parser.add_argument("--calibration", type=cli.positive_int, default=256, help="images that set k (table3, alexnet)")
    parser.add_argument("--sparsity-file", default=None, help="take k from a table2/alexnet results file instead")
    parser.add_argument("--robust", action="store_true", help="table3: also decode with the robust variants")
    parser.add_argument("--weights-file", default=None, help="your own torchvision-named state dict")
    parser.add_argument("--decoder-dir", default=None, help="table3: decoders of a `make decoders` run")
    parser.add_argument("--shard-size", type=cli.positive_int, default=SHARD_SIZE, help="images per checkpoint")
    parser.add_argument(
        "--max-shards", type=cli.positive_int, default=None, help="stop after N shards (rerun to go on)"
    )
    parser.add_argument("--workers", type=cli.nonnegative_int, default=0, help="image-decoding processes per rank")
    args = parser.parse_args(argv)
    try:
        check_size(args.table, args.size)
    except ValueError as exc:
        parser.error(str(exc).replace("size:", "--size:"))
    if args.table == "table2" and (args.robust or args.sparsity_file or args.decoder_dir):
        parser.error("--robust, --sparsity-file and --decoder-dir apply to table3 (and --sparsity-file to alexnet)")
    try:
        source = image_source(args.image_dir, recursive=True, max_images=args.max_images)
        if args.sparsity_file is not None:  # checked before any process starts waiting for the others
            arch = AlexNet if args.table == "alexnet" else VGG16
            sparsity_from_results(args.sparsity_file, arch.architecture, [])
    except (FileNotFoundError, ValueError) as exc:
        message = str(exc).replace("image_dir:", "--image-dir:").replace("results_file:", "--sparsity-file:")
        parser.error(message.replace("sparsity_file:", "--sparsity-file:"))
    out = args.out or f"build/evaluate/{args.table}.json"
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = args.device
    if world > 1:
        if device.startswith("cuda"):
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    try:
        result = run(
            args.table,
            source,
            out,
            batch=args.batch,
            shard_size=args.shard_size,
            max_shards=args.max_shards,
            device=device,
            workers=args.workers,
            size=args.size,
            seed=args.seed,
            calibration=args.calibration,
            sparsity_file=args.sparsity_file,
            weights_file=args.weights_file,
            decoder_dir=args.decoder_dir,
            robust=args.robust,
        )
    except (OSError, ValueError) as exc:  # a bad image, a foreign checkpoint: one line, no traceback
        print(f"evaluate: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if world > 1:
            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    if result is None:  # --max-shards stopped before the end (under torchrun, torchrun reports exit 1)
        return INCOMPLETE
    rates = [r["images_per_s"] for r in result["meta"]["ranks"] if r["images_per_s"]]
    print(
        f"{args.table}: {len(source)} images -> {out} ({result['meta']['processes']} process(es), "
        + (f"{min(rates):.2f}-{max(rates):.2f} images/s each, " if rates else "")
        + f"peak memory {result['meta']['peak_rss_mb']:.0f} MiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
