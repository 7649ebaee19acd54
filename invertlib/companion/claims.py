"""The claims cell: what a notebook checks, against what the paper reports.

Every notebook ends with

    claims = Claims("03_model_rip_random_filters", seed, device)  # first code cell: starts the clock
    ...
    claims.invariant("prop1.exact", "Psi ReLU(Psi^T x) = x", ours=err, holds=err < 1e-12)
    claims.compare("fig2a.center", "||W^T z||/||z|| centres at 1", paper=1.0, ours=0.998, tol=0.05)
    claims.finish()                                                 # the last cell

Three kinds of claim:

* ``invariant``: must hold (an exact identity, an adjoint test, a theorem's inequality on its own
  hypotheses). Verdict ``holds``/``fails``; ``finish`` raises if any fails, so the run fails.
* a comparison with a number the paper reports: ``compare`` (by a tolerance ladder), ``judge``
  (by a condition: an ordering, a bound) or ``paper`` (a verdict given). Verdict ``matched``,
  ``partly`` or ``not matched`` with a note explaining any difference. Never fails the run.
* ``finding``: a measurement where the paper gives no number (its missing supplement, or an
  analysis beyond it), recorded with what it measures. Verdict ``recorded``; never fails the run.

Uncertainty. A comparison or finding whose number depends on the photographs takes
``spread=``, a `stats.BootstrapInterval` over the photographs; the entry then records
``interval`` [low, high], ``interval_method`` and, for a comparison, ``stability``: the share of
resamples whose verdict equals the recorded one (for ``judge``, the resampled conditions come as
``matched_resamples`` / ``partly_resamples``). A number that depends on random draws gets the same
fields from `make seeds` (figures/seeds/summary.json, read by ``finish``): ``seeds`` holds the
range and the verdict counts over seeds 0..N; where the notebook gave no interval of its own,
the seeds' range is the interval; ``stability`` is the lowest of the two. ``compare`` records
its tolerance ladder as ``tol`` [matched, partly].

``finish`` writes <results>/claims/<notebook>.json (figures/claims under `make figures`, otherwise
build/runs/<notebook>/claims: see `paths`; with ``scope="full_scale"``, a full-scale run's claims,
<results>/claims/full_scale/<notebook>.json, apart from the notebook's own),

    {"notebook", "seed", "runtime_s", "peak_rss_mb", "device",
     "claims": [{"id", "kind", "claim", "paper", "ours", "verdict", "note",
                 optional "tol", "interval", "interval_method", "stability", "seeds"}]}

and prints the table with rounded numbers (the cell nbval compares). `companion.readme` builds
the README's tables from all claims files (tools/readme_table.py, run by `make figures`).
"""

from __future__ import annotations

import math
import numbers
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..checks import check_choice
from . import paths
from .paths import claims_dir, read_json, write_json

INVARIANT_VERDICTS = ("holds", "fails")
PAPER_VERDICTS = ("matched", "partly", "not matched")
FINDING_VERDICT = "recorded"
STABLE = 0.9  # a verdict is stable when at least this share of resamples (photographs, seeds) repeats it
# How far a rerun of the same notebook with the same seed and parameters may move a number: the
# default allows for another thread count's summation order; notebook 05 trains networks with
# minibatch SGD, where such rounding differences can flip a few test images (0.5 percentage points
# of accuracy). Used by the claims regression and to tell whether a seeds summary describes a run.
RERUN_TOLERANCE = {"rel": 1e-6, "abs": 1e-9}
RERUN_TOLERANCES = {  # "notebook/claim id" (fnmatch) -> tolerance; the first pattern that matches wins
    "05_random_filter_classification/table1.*": {"rel": 0.02, "abs": 0.5},
}


def rerun_tolerance(notebook: str, claim_id: str) -> dict:
    """The tolerance {"rel", "abs"} of RERUN_TOLERANCES for a claim (RERUN_TOLERANCE by default)."""
    import fnmatch

    key = f"{notebook}/{claim_id}"
    return next((t for p, t in RERUN_TOLERANCES.items() if fnmatch.fnmatchcase(key, p)), RERUN_TOLERANCE)


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.<>|-]*$")


@dataclass
class Claim:
    id: str
    kind: str
    claim: str
    paper: object
    ours: object
    verdict: str
    note: str
    extra: dict = field(default_factory=dict)  # tol, interval, interval_method, stability, seeds

    def record(self) -> dict:
        """The JSON entry: the seven fields, then whichever optional ones were recorded."""
        entry = asdict(self)
        return {**{k: v for k, v in entry.items() if k != "extra"}, **_plain_dict(entry["extra"])}


def _plain_dict(d: dict) -> dict:
    return {k: (_plain_dict(v) if isinstance(v, dict) else _plain(v)) for k, v in d.items()}


def _plain(value):
    """JSON-friendly version of numpy/torch scalars and sequences."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)


def fmt(value, digits: int = 3) -> str:
    """Round for printing: 3 significant digits, so last-digit noise (thread counts) never shows."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.{digits}g}"
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v, digits) for v in value) + "]"
    return str(value)


def _truth(value, name: str) -> bool:
    """A condition's outcome: Python, numpy or one-element torch booleans only, so that a string
    ("no"), a NaN or a count is never silently read as true."""
    if str(getattr(value, "dtype", "")) == "torch.bool" and value.numel() == 1:  # a torch comparison
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name}: expected a boolean (the outcome of a comparison), got {value!r}")


def verdict_for(difference: float, tol) -> str:
    """The tolerance ladder: `tol` is a number t (matched if difference <= t, partly if <= 3 t)
    or a pair (t_matched, t_partly) with t_matched <= t_partly (equal: no "partly" rung);
    otherwise, and for NaN, "not matched"."""
    matched, partly = _ladder(tol)
    difference = float(difference)
    if math.isnan(difference):
        return "not matched"
    return "matched" if difference <= matched else ("partly" if difference <= partly else "not matched")


def _ladder(tol) -> tuple[float, float]:
    if isinstance(tol, (tuple, list)):
        if len(tol) != 2 or not (0 < float(tol[0]) <= float(tol[1])):
            raise ValueError(f"tol: expected a pair (matched, partly) with 0 < matched <= partly, got {tol!r}")
        return float(tol[0]), float(tol[1])
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (tol > 0):
        raise ValueError(f"tol: expected a positive tolerance or a pair (matched, partly), got {tol!r}")
    return float(tol), 3 * float(tol)


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MiB (Linux: getrusage's ru_maxrss, in
    KiB; macOS reports bytes). In a notebook: the kernel's peak, everything the notebook held."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 1024), 1)


class Claims:
    """Collects a notebook's claims; `finish()` writes, prints and asserts them."""

    def __init__(self, notebook: str, seed: int, device: str = "cpu", *, scope: str | None = None):
        if not isinstance(notebook, str) or not re.match(r"^\d\d_[a-z0-9_]+$", notebook):
            raise ValueError(
                f"notebook: expected the notebook's file stem such as '01_cnn_layer_as_matrix', got {notebook!r}"
            )
        if scope is not None and (not isinstance(scope, str) or not re.match(r"^[a-z][a-z0-9_]*$", scope)):
            raise ValueError(f"scope: expected None or a folder name such as 'full_scale', got {scope!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed: expected the notebook's integer seed >= 0, got {seed!r}")
        self.notebook = notebook
        # claims of another scope (a full-scale run's) are kept apart: <results>/claims/<scope>/, never in
        # the README's tables or the seeds summary
        self.scope = scope
        self.seed = seed
        self.device = str(device)
        self.claims: list[Claim] = []
        self._printed: list[str] = []
        self._start = time.perf_counter()
        paths.start_run(notebook)
        print(f"results of this run (figures, tables, claims): {paths.describe(paths.figures_dir())}")

    def _add(self, claim: Claim, printed: str) -> Claim:
        if not _ID.match(claim.id):
            raise ValueError(f"id: expected an artefact name such as 'fig2a.center', got {claim.id!r}")
        if any(c.id == claim.id for c in self.claims):
            raise ValueError(f"id: claim {claim.id!r} is recorded twice")
        self.claims.append(claim)
        self._printed.append(printed)
        return claim

    def invariant(
        self, id: str, claim: str, *, ours, holds: bool, tol: float | None = None, paper: str = "", note: str = ""
    ) -> Claim:
        """Record something that must hold. With `tol`, the expected condition is
        "<= tol" and the printed table shows "< tol" instead of machine-precision noise."""
        holds = _truth(holds, "holds")
        if tol is not None and not paper:
            paper = f"<= {tol:g}"
        printed = f"<= {tol:g}" if (tol is not None and holds) else fmt(ours)
        return self._add(
            Claim(id, "invariant", claim, paper, _plain(ours), "holds" if holds else "fails", note), printed
        )

    def paper(
        self,
        id: str,
        claim: str,
        *,
        paper,
        ours,
        verdict: str,
        note: str = "",
        spread=None,
        verdict_resamples=None,
    ) -> Claim:
        """Record a comparison with a number the paper reports; never fails the run. With `spread`
        (a `stats.BootstrapInterval`) the interval is recorded, and with `verdict_resamples` (the
        verdict of every resample) its stability."""
        check_choice(verdict, "verdict", PAPER_VERDICTS)
        if verdict != "matched" and not note:
            raise ValueError(f"note: claim {id!r} is '{verdict}', so it needs a note explaining why")
        entry = Claim(id, "paper", claim, _plain(paper), _plain(ours), verdict, note)
        if spread is not None:
            entry.extra.update(_interval(spread, id))
        if verdict_resamples is not None:
            if spread is None:
                raise ValueError(f"verdict_resamples: claim {id!r} has resampled verdicts but no spread")
            resampled = np.asarray(verdict_resamples).reshape(-1)
            if len(resampled) != spread.n_resamples:
                raise ValueError(
                    f"verdict_resamples: expected {spread.n_resamples} verdicts (one per resample of spread), "
                    f"got {len(resampled)}"
                )
            entry.extra["stability"] = float(np.mean(resampled == verdict))
        return self._add(entry, fmt(ours))

    def compare(
        self, id: str, claim: str, *, paper: float, ours: float, tol, note: str = "", caveat: str = "", spread=None
    ) -> Claim:
        """Record a comparison with the paper's number by the tolerance ladder of `verdict_for`
        on |ours - paper| (`tol`: t for matched <= t, partly <= 3 t; or a pair (matched, partly)).
        `note` (why they differ) is kept when the verdict is not "matched", `caveat` when it is.
        `spread`: a `stats.BootstrapInterval` of `ours`; each resample is judged by the same ladder."""
        for name, value in (("paper", paper), ("ours", ours)):
            if isinstance(value, (bool, str)) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name}: expected a number to compare, got {value!r} (use judge for other values)")
        difference = abs(float(ours) - float(paper))
        verdict = verdict_for(difference, tol)
        if verdict != "matched" and not note:
            note = f"differs from the paper by {difference:.3g} (> {_ladder(tol)[0]:g})"
        resampled = None
        if spread is not None:
            resampled = [verdict_for(d, tol) for d in np.abs(np.asarray(spread.resamples, dtype=float) - float(paper))]
        entry = self._decided(id, claim, paper, ours, verdict, note, caveat, spread, resampled)
        # an infinite rung (no "not matched") is recorded as null: JSON has no Infinity
        entry.extra = {"tol": [t if math.isfinite(t) else None for t in _ladder(tol)], **entry.extra}
        return entry

    def judge(
        self,
        id: str,
        claim: str,
        *,
        paper,
        ours,
        matched: bool,
        partly: bool = False,
        note: str = "",
        caveat: str = "",
        spread=None,
        matched_resamples=None,
        partly_resamples=None,
    ) -> Claim:
        """Record a comparison decided by a condition rather than a distance (an ordering, a bound,
        "every layer"): matched if `matched`, else partly if `partly`, else not matched. `note`
        (why not) is kept when the verdict is not "matched", `caveat` when it is. With `spread`, the
        same conditions on every resample (boolean arrays `matched_resamples`, `partly_resamples`)
        give the verdict's stability."""
        matched, partly = _truth(matched, "matched"), _truth(partly, "partly")
        verdict = "matched" if matched else ("partly" if partly else "not matched")
        resampled = None
        if matched_resamples is not None:
            if partly and partly_resamples is None:
                raise ValueError(
                    f"partly_resamples: claim {id!r} can be 'partly', so its stability needs the partly condition "
                    "on every resample too (np.ones(n, bool) when it always holds)"
                )
            m = np.asarray(matched_resamples, dtype=bool).reshape(-1)
            p = np.zeros_like(m) if partly_resamples is None else np.asarray(partly_resamples, dtype=bool).reshape(-1)
            if p.shape != m.shape:
                raise ValueError(f"partly_resamples: expected {m.shape} like matched_resamples, got {p.shape}")
            resampled = np.where(m, "matched", np.where(p, "partly", "not matched"))
        return self._decided(id, claim, paper, ours, verdict, note, caveat, spread, resampled)

    def _decided(self, id, claim, paper, ours, verdict, note, caveat, spread, resampled) -> Claim:
        """`paper` for a verdict compare or judge decided: `note` when not matched, else `caveat`."""
        return self.paper(
            id,
            claim,
            paper=paper,
            ours=ours,
            verdict=verdict,
            note=caveat if verdict == "matched" else note,
            spread=spread,
            verdict_resamples=resampled,
        )

    def finding(self, id: str, claim: str, *, ours, note: str = "", spread=None) -> Claim:
        """Record a measurement the paper has no number for (its paper column stays empty);
        `spread`: a `stats.BootstrapInterval` of it."""
        entry = Claim(id, "finding", claim, "", _plain(ours), FINDING_VERDICT, note)
        if spread is not None:
            entry.extra.update(_interval(spread, id))
        return self._add(entry, fmt(ours))

    def table(self) -> str:
        rows = [("id", "kind", "paper", "ours", "interval", "verdict")]
        rows += [
            (c.id, c.kind, fmt(c.paper), shown, _shown_interval(c), _shown_verdict(c))
            for c, shown in zip(self.claims, self._printed, strict=True)
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows)

    def finish(self) -> None:
        """Write <results>/claims/<notebook>.json, print the table, and raise AssertionError if
        any invariant fails (after writing, so the failure is on record). The seed-dependent claims
        get the range and stability over seeds of figures/seeds/summary.json (`make seeds`), if
        that summary covers this notebook. Returns None, so the notebook's last cell displays
        nothing but the table."""
        if not self.claims:
            raise ValueError(f"{self.notebook}: no claims were recorded")
        from .seeds import attach_seeds

        attached, skipped = ([], []) if self.scope else attach_seeds(self.notebook, self.claims, seed=self.seed)
        record = {
            "notebook": self.notebook,
            "seed": _plain(self.seed),
            "runtime_s": round(time.perf_counter() - self._start, 1),
            "peak_rss_mb": peak_rss_mb(),
            "device": self.device,
            "claims": [c.record() for c in self.claims],
        }
        path = claims_dir() / f"{self.notebook}.json"
        if self.scope:
            record["scope"] = self.scope
            path = claims_dir() / self.scope / f"{self.notebook}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, record)  # standard JSON: an infinite bound is written "inf"
        print(self.table())
        if skipped:
            shown = ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
            print(
                f"\nthe seeds summary (make seeds) describes other runs for {len(skipped)} claims (other "
                f"parameters, or a seed it does not cover): no seed range for {shown}"
            )
        unstable = [c.id for c in self.claims if c.extra.get("stability", 1.0) < STABLE]
        if unstable:
            print(f"\n~ stability below {STABLE}: a resample (of the photographs or of the seed) changes the verdict")
        failed = [c.id for c in self.claims if c.verdict == "fails"]
        assert not failed, f"invariants failed: {failed}"


def _interval(spread, id: str) -> dict:
    for name in ("low", "high", "method", "resamples", "n_resamples"):
        if not hasattr(spread, name):
            raise TypeError(
                f"spread: claim {id!r} expected a stats.BootstrapInterval (low, high, method, resamples), "
                f"got {type(spread).__name__}"
            )
    return {"interval": [float(spread.low), float(spread.high)], "interval_method": spread.method}


def _shown_interval(c: Claim) -> str:
    interval = c.extra.get("interval")
    return f"[{fmt(interval[0])}, {fmt(interval[1])}]" if interval else ""


def _shown_verdict(c: Claim) -> str:
    return c.verdict + (" ~" if c.extra.get("stability", 1.0) < STABLE else "")


def recorded(notebook: str, claim_id: str, directory: Path | None = None):
    """The `ours` value of claim `claim_id` in the published claims file of `notebook`
    (figures/claims/<notebook>.json of the checkout, or `directory`), for a notebook that builds
    on another's result (notebook 11 uses the constant C that notebook 03 fits). Reads the
    committed file rather than INVERTLIB_FIGURES_DIR, so that a test run of the notebooks sees the
    published value whatever order they run in; `make figures` reruns the reader after the writer."""
    from .paths import PROJECT_ROOT

    path = Path(directory or PROJECT_ROOT / "figures" / "claims") / f"{notebook}.json"
    if not path.exists():
        raise FileNotFoundError(f"notebook: no claims file {path}; run notebook {notebook} first (make figures)")
    record = read_json(path, "notebook")
    for c in record["claims"]:
        if c["id"] == claim_id:
            return c["ours"]
    raise KeyError(f"claim_id: {path} has no claim {claim_id!r}; it has {[c['id'] for c in record['claims']]}")
