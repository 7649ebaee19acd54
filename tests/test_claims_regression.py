"""Numeric regression of the claims: the claims files that a fresh run of every notebook wrote
(nbval's run under `make test`, in build/nbval-figures/claims) against the committed
figures/claims/*.json, number by number with per-claim tolerances, text and verdicts exactly.

Runs when INVERTLIB_FRESH_CLAIMS names the fresh claims directory (`make regress`, part of
`make test`); skipped otherwise. nbval compares the printed, rounded tables; this test reads the
numbers themselves, so a change in the fourth significant digit of a claim is seen too.
"""

import json
import math
import os
import re
from pathlib import Path

import pytest

from invertlib.companion.claims import RERUN_TOLERANCE, rerun_tolerance

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "figures" / "claims"
FRESH = os.environ.get("INVERTLIB_FRESH_CLAIMS")

# Same seed, same machine type: the numbers repeat to rounding (the library's rerun tolerances).
DEFAULT = RERUN_TOLERANCE
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def tolerance(notebook: str, claim_id: str) -> dict:
    return rerun_tolerance(notebook, claim_id)


def differences(committed, fresh, tol, where="") -> list[str]:
    """Where two claim values differ beyond `tol`: numbers by |a - b| <= abs + rel |a|, strings by
    their text with the numbers in them compared the same way, lists element by element."""
    if isinstance(committed, bool) or isinstance(fresh, bool) or committed is None or fresh is None:
        return [] if committed == fresh else [f"{where}: {committed!r} != {fresh!r}"]
    if isinstance(committed, (int, float)) and isinstance(fresh, (int, float)):
        a, b = float(committed), float(fresh)
        if math.isnan(a) and math.isnan(b) or a == b:
            return []
        ok = abs(a - b) <= tol["abs"] + tol["rel"] * abs(a)
        return [] if ok else [f"{where}: {a!r} -> {b!r}"]
    if isinstance(committed, list) and isinstance(fresh, list):
        if len(committed) != len(fresh):
            return [f"{where}: {len(committed)} values -> {len(fresh)}"]
        return [
            d
            for i, (a, b) in enumerate(zip(committed, fresh, strict=True))
            for d in differences(a, b, tol, f"{where}[{i}]")
        ]
    if isinstance(committed, str) and isinstance(fresh, str):
        if NUMBER.sub("#", committed) != NUMBER.sub("#", fresh):
            return [f"{where}: text {committed!r} -> {fresh!r}"]
        pairs = zip(NUMBER.findall(committed), NUMBER.findall(fresh), strict=True)
        return [d for a, b in pairs for d in differences(float(a), float(b), tol, f"{where} ({committed!r})")][:1]
    return [f"{where}: {committed!r} -> {fresh!r} (type changed)"]


def test_differences_reads_numbers_inside_text():
    assert differences("k=1: 0.123 <= 0.456", "k=1: 0.1230000001 <= 0.456", DEFAULT) == []
    assert differences("k=1: 0.123 <= 0.456", "k=1: 0.124 <= 0.456", DEFAULT)
    assert differences("a 1.0", "b 1.0", DEFAULT)
    assert differences([0.1, 0.2], [0.1, 0.2 + 1e-12], DEFAULT) == []
    assert differences(74.8, 75.2, tolerance("05_random_filter_classification", "table1.random.1")) == []
    assert differences(74.8, 75.2, tolerance("03_model_rip_random_filters", "fig2a.center"))


@pytest.mark.skipif(not FRESH, reason="INVERTLIB_FRESH_CLAIMS not set: run `make test` (or `make regress` after nbval)")
@pytest.mark.parametrize("committed", sorted(COMMITTED.glob("*.json")), ids=lambda p: p.stem)
def test_fresh_claims_match_the_committed_numbers(committed):
    fresh = Path(FRESH) / committed.name
    assert fresh.exists(), f"no fresh claims for {committed.stem} in {FRESH}: did nbval run every notebook?"
    old, new = (json.loads(p.read_text(encoding="utf-8")) for p in (committed, fresh))
    assert old["seed"] == new["seed"]
    old_claims, new_claims = ({c["id"]: c for c in r["claims"]} for r in (old, new))
    assert list(old_claims) == list(new_claims), "the notebook records different claims than the committed file"
    problems = []
    for cid, c in old_claims.items():
        n, tol = new_claims[cid], tolerance(old["notebook"], cid)
        if (c["kind"], c["verdict"], c["claim"]) != (n["kind"], n["verdict"], n["claim"]):
            problems.append(f"{cid}: {c['kind']}/{c['verdict']} -> {n['kind']}/{n['verdict']}")
        for field in ("paper", "ours", "note"):
            problems += differences(c[field], n[field], tol, f"{cid}.{field}")
        # the uncertainty: the tolerance used, the interval (photographs' bootstrap or seeds' range)
        # and the stability, like the other numbers; the method text and seed counts exactly
        for field in ("tol", "interval", "stability", "interval_method", "seeds"):
            if (field in c) != (field in n):
                problems.append(f"{cid}.{field}: {'missing' if field in c else 'new'} in the fresh run")
            elif field not in c:
                continue
            elif field == "seeds":
                problems += [
                    f"{cid}.seeds.{k}: {c[field].get(k)!r} -> {n[field].get(k)!r}"
                    for k in sorted(set(c[field]) | set(n[field]))
                    if c[field].get(k) != n[field].get(k)
                ]
            else:
                problems += differences(c[field], n[field], tol, f"{cid}.{field}")
    assert not problems, "fresh claims differ from figures/claims (rerun `make figures` if intended):\n" + "\n".join(
        problems[:20]
    )
