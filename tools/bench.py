"""`make bench`: the performance of the companion's hot paths, with ratios measured in the same run.

Every figure is the median of `--repeats` timed runs after one warm-up run. Prints a table and
writes build/bench.json (atomically). Sections (`--only` picks some):

  iht       one model-IHT iteration against its two convolutions at conv5 scale (512 -> 512
            filters 3 x 3, 14 x 14 maps, batch 8, 2 x 2 pooling, 8 % of the code), float32 and
            float64, and the projection's share;
  mc_rip    Monte-Carlo model-RIP samples per second at the Figure 2 size (l=5, M=32, K=96, D=32,
            k=10), sparse route against the dense one (one transposed convolution per code);
  search    the certified worst-case search (notebook 03's settings) and exact enumeration
            (notebook 04's tiny instance);
  pylops    IHT against PyLops 2.8's ISTA loop on the same operator with identical iterates;
  decoders  what-where decoder inference and training throughput at 64 px;
  notebooks every notebook's runtime and peak resident memory, from its claims file.

Targets (issue 13) are checked at the end: each is reported met, or missed by how much.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import invertlib as il  # noqa: E402
from invertlib.companion.paths import atomic_write  # noqa: E402
from invertlib.conv import ConvOperator, to_pylops  # noqa: E402
from invertlib.iht import model_iht  # noqa: E402
from invertlib.rip import exact_delta, model_rip_ratios, rip_estimates, rip_ratio  # noqa: E402
from invertlib.sparsity import PoolingModel  # noqa: E402

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def timeit(fn, repeats: int, device: str = "cpu") -> dict:
    """Median and spread of `repeats` timed calls of fn after one warm-up call (seconds). On CUDA
    each call is timed to the end of its kernels (they run asynchronously)."""

    def sync():
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeats": repeats}


def fig2_operator(dtype, generator) -> ConvOperator:
    """The Figure 2 operator: K=96 Gaussian filters of M=32 channels, length 5, on D=32."""
    w = il.gaussian_filters(96, 32, 5, generator=generator, scale="paper").to(dtype)
    return ConvOperator(w, 32)


# ---------------------------------------------------------------------------------------------
def bench_iht(repeats: int, quick: bool) -> dict:
    out = {}
    for name, dtype in DTYPES.items():
        g = il.torch_generator(0)
        w = il.gaussian_filters(512, 512, 3, ndim=2, generator=g, scale="unit").to(dtype)
        W = ConvOperator(w, 14, padding=1)
        model = PoolingModel(W.out_shape, 2)
        k = model.k_for_sparsity(0.08)
        x = torch.randn((8,) + W.in_shape, generator=g, dtype=dtype)
        h = W.forward(x)
        project = model.projector(k)
        n_iter = 2 if quick else 5
        # the bare convolutions, as model_iht's loop runs them (its input is checked once, not per iteration)
        convs = timeit(lambda W=W, x=x, h=h: (W.forward_unchecked(x), W.adjoint_unchecked(h)), repeats)
        proj = timeit(lambda h=h, project=project: project(h), repeats)
        iht = timeit(lambda W=W, x=x, p=project, n=n_iter: model_iht(W, x, p, n_iter=n), repeats)
        per_iter = iht["median_s"] / n_iter
        out[name] = {
            "setting": "512 -> 512 filters 3x3, 14x14, padding 1, batch 8, 2x2 pooling, k = 8 % of the code "
            f"({k} of {model.n_regions} regions); model_iht with n_iter={n_iter}, per iteration",
            "two_convs_ms": 1e3 * convs["median_s"],
            "projection_ms": 1e3 * proj["median_s"],
            "iteration_ms": 1e3 * per_iter,
            "ratio": per_iter / convs["median_s"],
            "projection_share": proj["median_s"] / per_iter,
        }
    return out


def bench_mc_rip(repeats: int, quick: bool) -> dict:
    out = {}
    n = 2**17 if quick else 2**20
    n_dense = 2**12 if quick else 2**14
    for name, dtype in DTYPES.items():
        g = il.torch_generator(0)
        W = fig2_operator(dtype, g)
        model = PoolingModel(W.out_shape)
        sparse = timeit(lambda W=W, m=model, g=g: model_rip_ratios(W, m, 10, n, generator=g), repeats)

        def dense(W=W, m=model, g=g):
            for _ in range(0, n_dense, 2048):
                rip_ratio(W, m.sample(10, 2048, generator=g, dtype=W.dtype))

        dense_t = timeit(dense, repeats)
        # the two routes on the same draws
        state = g.get_state()
        r_sparse = model_rip_ratios(W, model, 10, 4096, generator=g)
        g.set_state(state)
        r_dense = rip_ratio(W, model.sample(10, 4096, generator=g, dtype=dtype))
        rate, rate_dense = n / sparse["median_s"], n_dense / dense_t["median_s"]
        out[name] = {
            "setting": "l=5, M=32, K=96, D=32, k=10, U[-1,1] values; model_rip_ratios end to end (sampling included)",
            "samples": n,
            "samples_per_s": rate,
            "dense_samples_per_s": rate_dense,
            "speedup_vs_dense": rate / rate_dense,
            "max_rel_diff_vs_dense": float(((r_sparse - r_dense).abs() / r_dense).max()),
        }
    return out


def bench_search(repeats: int, quick: bool) -> dict:
    g = il.torch_generator(0)
    W = fig2_operator(torch.float64, g)
    model = PoolingModel(W.out_shape)
    n_samples = 2000 if quick else 10_000

    def search():
        rip_estimates(W, model, 10, n_samples, generator=g, n_starts=16, n_candidates=128)

    s = timeit(search, max(1, repeats // 2))
    tiny = ConvOperator(il.gaussian_filters(4, 64, 5, generator=g, scale="unit"), 8)
    m_tiny = PoolingModel(tiny.out_shape)
    ex = {kk: timeit(lambda kk=kk: exact_delta(tiny, m_tiny, kk, per_region=2), repeats) for kk in (1, 2)}
    return {
        "search": {
            "setting": f"notebook 03: rip_estimates at the Figure 2 size, k=10, {n_samples} Monte-Carlo codes, "
            "16 starts, 128 candidates per slot",
            "seconds": s["median_s"],
        },
        "exact": {
            "setting": "notebook 04's tiny instance (K=4, M=64, l=5, D=8): exact delta_2k, k = 1 and 2",
            "seconds": {str(kk): v["median_s"] for kk, v in ex.items()},
            "supports": {str(kk): exact_delta(tiny, m_tiny, kk, per_region=2).n_supports for kk in (1, 2)},
        },
    }


def _pylops_ista(Phi, y, n_iter, step, project=None, perc=None, keep=()):
    """PyLops' ISTA loop: x <- threshold(x + step Phi^H (y - Phi x)), n_iter times, from x = 0.
    `perc`: PyLops' own hard-percentile thresholding; `project`: ours given to PyLops instead."""
    from pylops.optimization.cls_sparsity import ISTA

    class Recorded(ISTA):
        def callback(self, x, *args, **kwargs):
            if self.iiter in keep:
                self.iterates[self.iiter] = x.copy()

    solver = Recorded(Phi)
    solver.iterates = {}
    kind = "hard-percentile" if perc is not None else "hard"
    x0 = solver.setup(y, niter=n_iter, eps=0.0, alpha=step, threshkind=kind, perc=perc, tol=-1.0)
    if project is not None:
        solver.threshf = lambda x, thresh: project(x)
    x = solver.run(x0, n_iter)
    return x, solver.iterates


def bench_pylops(repeats: int, quick: bool) -> dict:
    import pylops

    n_iter, B = (20, 32) if quick else (100, 256)
    out = {
        "setting": f"Figure 2 operator, k=10, {n_iter} iterations, step 1/||W||^2, batch {B}",
        "n_iter": n_iter,
        "batch": B,
        "cases": {},
    }
    keep = (1, 10, n_iter)
    for dname, dtype in DTYPES.items():
        g = il.torch_generator(0)
        W = fig2_operator(dtype, g)
        Kn = W.shape[0]
        step = 1.0 / (torch.linalg.matrix_norm(W.matrix().double(), ord=2).item() ** 2)  # mu = 1 / ||W||^2
        Phi_conv, Phi_dense = to_pylops(W), pylops.MatrixMult(W.matrix().T.numpy())
        for case, model in (("top-k", PoolingModel(W.out_shape, 1)), ("model", PoolingModel(W.out_shape))):
            z = PoolingModel(W.out_shape).sample(10, B, generator=g, dtype=dtype)
            x = W.adjoint(z)
            project = model.projector(10)
            ours = model_iht(W, x, project, n_iter=n_iter, step=step, keep=keep)

            def project_np(v, project=project, Kn=Kn, W=W):  # PyLops' (Kn,) or (Kn, R) -> our codes and back
                t = torch.from_numpy(np.ascontiguousarray(v.T)).reshape((-1,) + W.out_shape)
                return project(t).reshape(-1, Kn).numpy().T.reshape(v.shape)

            # plain top-k: PyLops' own hard-percentile keeps exactly the k largest |entries| of one
            # signal when the percentile falls between the k-th and (k+1)-th largest
            perc = 100 - 100 * (Kn - 10 - 0.5) / (Kn - 1) if case == "top-k" else None
            thresh = dict(perc=perc) if perc is not None else dict(project=project_np)
            y0 = x[0].reshape(-1).numpy()
            _, it = _pylops_ista(Phi_conv, y0, n_iter, step, keep=keep, **thresh)
            diff = max(
                float(np.abs(it[i] - ours.snapshots[i][0].reshape(-1).numpy()).max())
                / float(ours.snapshots[i][0].abs().max())
                for i in keep
            )
            Y = x.reshape(B, -1).numpy().T
            _, itb = _pylops_ista(Phi_conv, Y, n_iter, step, keep=(n_iter,), project=project_np)
            diff_b = float(np.abs(itb[n_iter].T - ours.z.reshape(B, -1).numpy()).max()) / float(ours.z.abs().max())
            n_rep = max(1, repeats // 2)
            t_ours_1 = timeit(lambda x=x, p=project, W=W, s=step: model_iht(W, x[:1], p, n_iter=n_iter, step=s), n_rep)
            t_ours_b = timeit(lambda x=x, p=project, W=W, s=step: model_iht(W, x, p, n_iter=n_iter, step=s), n_rep)
            t_py = {
                name: timeit(lambda Phi=Phi, y0=y0, s=step, t=thresh: _pylops_ista(Phi, y0, n_iter, s, **t), n_rep)[
                    "median_s"
                ]
                for name, Phi in (("conv", Phi_conv), ("dense", Phi_dense))
            }
            t_py_b = timeit(
                lambda Y=Y, P=Phi_conv, s=step, pr=project_np: _pylops_ista(P, Y, n_iter, s, project=pr), n_rep
            )
            best = min(t_py.values())
            out["cases"][f"{case} {dname}"] = {
                "pylops_thresholding": "its own hard-percentile" if perc is not None else "our projection",
                "max_rel_diff_iterates": max(diff, diff_b),
                "ours_one_signal_ms": 1e3 * t_ours_1["median_s"],
                "ours_batch_per_signal_ms": 1e3 * t_ours_b["median_s"] / B,
                "pylops_one_signal_ms": {k: 1e3 * v for k, v in t_py.items()},
                "pylops_batch_per_signal_ms": 1e3 * t_py_b["median_s"] / B,
                "speedup_per_signal": best / (t_ours_b["median_s"] / B),
                "speedup_one_signal": best / t_ours_1["median_s"],
                "speedup_batch_vs_pylops_batch": t_py_b["median_s"] / t_ours_b["median_s"],
            }
    return out


def bench_decoders(repeats: int, quick: bool, device: str = "cpu", batch: int = 8) -> dict:
    """What-where decoder inference and training throughput (images/s) at 64 px, VGG16 forward
    included, on `device` (tools/gpu_check.py compares CUDA with the CPU)."""
    import torch.nn.functional as F

    from invertlib.vision.decoders import WhatWhereDecoder
    from invertlib.vision.networks import VGG16

    net = VGG16.pretrained().to(device)
    g = il.torch_generator(0)
    size = 64
    images = torch.rand(batch, size, size, 3, generator=g)
    x = net.preprocess(images.to(device))
    out = {"setting": f"batch {batch} of {size} x {size} images, VGG16 forward included, {device} float32"}
    for i in (1, 2, 3, 4):
        layer = f"pool{i}"
        dec = WhatWhereDecoder(layer).reset_parameters(il.torch_generator(i)).to(device)
        opt = torch.optim.Adam(dec.parameters(), lr=1e-4)

        @torch.no_grad()
        def infer(layer=layer, dec=dec):
            act = net(x, upto=layer)
            return dec(act.pool[layer], act.switches)

        def train(layer=layer, dec=dec, opt=opt):
            with torch.no_grad():
                act = net(x, upto=layer)
            loss = F.mse_loss(dec(act.pool[layer], act.switches), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        t_inf, t_tr = timeit(infer, repeats, device), timeit(train, max(1, repeats // 2), device)
        out[layer] = {
            "inference_images_per_s": batch / t_inf["median_s"],
            "training_images_per_s": batch / t_tr["median_s"],
        }
    return out


def bench_notebooks(repeats: int, quick: bool) -> dict:
    rows = {}
    for f in sorted((ROOT / "figures" / "claims").glob("*.json")):
        record = json.loads(f.read_text(encoding="utf-8"))
        rows[record["notebook"]] = {"runtime_s": record.get("runtime_s"), "peak_rss_mb": record.get("peak_rss_mb")}
    total = sum(r["runtime_s"] or 0 for r in rows.values())
    return {"notebooks": rows, "total_runtime_s": total}


SECTIONS = {
    "iht": bench_iht,
    "mc_rip": bench_mc_rip,
    "search": bench_search,
    "pylops": bench_pylops,
    "decoders": bench_decoders,
    "notebooks": bench_notebooks,
}


def targets(results: dict) -> list[dict]:
    """Issue 13's targets: each met, or missed by how much."""
    rows = []

    def add(name, value, goal, met, unit=""):
        rows.append({"target": name, "value": value, "goal": goal, "met": bool(met), "unit": unit})

    if "iht" in results:
        for dt, r in results["iht"].items():
            add(f"model-IHT iteration / two convs ({dt})", r["ratio"], "<= 1.2", r["ratio"] <= 1.2, "x")
    if "mc_rip" in results:
        r = results["mc_rip"]["float64"]
        add("Monte-Carlo model-RIP, float64", r["samples_per_s"], ">= 1,000,000", r["samples_per_s"] >= 1e6, "/s")
        add("sparse route = dense route", r["max_rel_diff_vs_dense"], "<= 1e-12", r["max_rel_diff_vs_dense"] <= 1e-12)
    if "pylops" in results:
        for case, r in results["pylops"]["cases"].items():
            d = r["max_rel_diff_iterates"]
            if case.endswith("float64"):  # float32 convolutions round differently for one signal and a batch
                add(f"IHT iterates = PyLops' ({case})", d, "<= 1e-10", d <= 1e-10)
            add(
                f"IHT per signal vs PyLops ({case})",
                r["speedup_per_signal"],
                ">= 10",
                r["speedup_per_signal"] >= 10,
                "x",
            )
    if "notebooks" in results:
        rss = {k: v["peak_rss_mb"] for k, v in results["notebooks"]["notebooks"].items() if v["peak_rss_mb"]}
        if rss:
            worst = max(rss, key=rss.get)
            add(f"peak resident memory per notebook (largest: {worst})", rss[worst], "< 4096", rss[worst] < 4096, " MB")
    return rows


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    return str(v)


def report(results: dict) -> str:
    lines = []
    for section, r in results.items():
        if section in ("targets", "meta"):
            continue
        lines.append(f"== {section}")
        lines += _flatten(r, "  ")
    lines.append("== targets")
    for t in results["targets"]:
        verdict = "met" if t["met"] else "MISSED"
        lines.append(f"  {verdict:6s} {t['target']}: {_fmt(t['value'])}{t['unit']} (goal {t['goal']})")
    return "\n".join(lines)


def _flatten(d, indent):
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out.append(f"{indent}{k}:")
            out += _flatten(v, indent + "  ")
        else:
            out.append(f"{indent}{k}: {_fmt(v)}")
    return out


def readme_section(results: dict) -> str:
    """The README's "Performance" block (markdown) from a bench run."""
    meta = results["meta"]
    lines = [
        f"Measured by `make bench` on {meta['date']} ({meta['machine']}, torch {meta['torch']}; medians of "
        f"{meta['repeats']} runs after a warm-up; `build/bench.json` holds every number).",
        "",
        "| measure | ours | against | ratio | target | |",
        "|---|---|---|---|---|---|",
    ]
    if "iht" in results:
        for dt, r in results["iht"].items():
            lines.append(
                f"| one model-IHT iteration, conv5 scale, {dt} | {r['iteration_ms']:.1f} ms | two convolutions "
                f"{r['two_convs_ms']:.1f} ms | {r['ratio']:.2f}x | <= 1.2x | {_met(r['ratio'] <= 1.2)} |"
            )
    if "mc_rip" in results:
        for dt, r in results["mc_rip"].items():
            target = f"| >= 1,000,000/s | {_met(r['samples_per_s'] >= 1e6)} |" if dt == "float64" else "| | |"
            lines.append(
                f"| Monte-Carlo model-RIP, Figure 2 size, {dt} | {r['samples_per_s']:,.0f} codes/s | dense route "
                f"{r['dense_samples_per_s']:,.0f}/s | {r['speedup_vs_dense']:.0f}x {target}"
            )
    if "pylops" in results:
        for case, r in results["pylops"]["cases"].items():
            best, ok = min(r["pylops_one_signal_ms"].values()), r["speedup_per_signal"] >= 10
            lines.append(
                f"| {results['pylops']['n_iter']} IHT iterations per signal ({case}; batch of "
                f"{results['pylops']['batch']}), iterates {_same(r['max_rel_diff_iterates'])} | "
                f"{r['ours_batch_per_signal_ms']:.2f} ms | PyLops 2.8 ISTA, one signal, {best:.1f} ms | "
                f"{r['speedup_per_signal']:.1f}x | >= 10x | {_met(ok)} |"
            )
    if "search" in results:
        r = results["search"]
        lines.append(f"| certified worst-case search (notebook 03) | {r['search']['seconds']:.2f} s | | | | |")
        ex = ", ".join(f"k={k}: {1e3 * v:.1f} ms" for k, v in r["exact"]["seconds"].items())
        lines.append(f"| exact delta_2k enumeration (notebook 04's tiny instance) | {ex} | | | | |")
    if "decoders" in results:
        for layer, r in results["decoders"].items():
            if layer == "setting":
                continue
            lines.append(
                f"| decoder {layer}, 64 px, batch 8 | {r['inference_images_per_s']:.0f} images/s inference, "
                f"{r['training_images_per_s']:.0f} images/s training | | | | |"
            )
    if "notebooks" in results:
        nb = results["notebooks"]["notebooks"]
        lines += ["", "| notebook | runtime (s) | peak resident memory (MB) |", "|---|---|---|"]
        for name, r in nb.items():
            lines.append(f"| {name} | {r['runtime_s']} | {r['peak_rss_mb']} |")
        lines.append(f"| all (kernel time, without start-up) | {results['notebooks']['total_runtime_s']:.0f} | |")
    return "\n".join(lines)


def _same(diff: float) -> str:
    return "identical" if diff == 0 else f"equal to {diff:.0e} (relative)"


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def update_readme(readme: Path, block: str, marker: str = "performance") -> None:
    """Replace the text between <!-- {marker}:start --> and <!-- {marker}:end --> of `readme`."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise ValueError(f"{readme}: no {start} ... {end} markers to fill")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    new = head + start + "\n" + block + "\n" + end + tail
    atomic_write(readme, lambda tmp: tmp.write_text(new, encoding="utf-8"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: " + ", ".join(SECTIONS))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="smaller problems (for the tests), not for reporting")
    p.add_argument("--out", default=str(ROOT / "build" / "bench.json"))
    p.add_argument("--readme", help="also rewrite the Performance block of this README (a full run only)")
    p.add_argument("--render", metavar="JSON", help="measure nothing: rewrite --readme's block from a saved full run")
    args = p.parse_args(argv)
    if args.render:
        if not args.readme:
            p.error("--render: needs --readme")
        saved = json.loads(Path(args.render).read_text(encoding="utf-8"))
        if saved["meta"]["quick"] or not set(SECTIONS) <= set(saved):
            p.error(f"--render: {args.render} is not a full run")
        update_readme(Path(args.readme), readme_section(saved))
        print(f"{args.readme}: Performance block rewritten from {args.render}")
        return 0
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        p.error(f"--only: unknown sections {unknown}; choose from {list(SECTIONS)}")
    results = {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads",
            "torch": torch.__version__,
            "quick": args.quick,
            "repeats": args.repeats,
        }
    }
    for s in chosen:
        start = time.perf_counter()
        results[s] = SECTIONS[s](args.repeats, args.quick)
        print(f"[{s}: {time.perf_counter() - start:.0f} s]", file=sys.stderr)
    results["targets"] = targets(results)
    text = report(results)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: tmp.write_text(json.dumps(results, indent=1) + "\n"))
    print(f"written {out}")
    if args.readme:
        if args.quick or set(chosen) != set(SECTIONS):
            p.error("--readme: only a full run (all sections, no --quick) may rewrite the README")
        update_readme(Path(args.readme), readme_section(results))
        print(f"{args.readme}: Performance block rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
