"""The bad-input sweep (tools/bad_input_sweep.py) as a test: every one of its bad inputs to the
public API is refused with a message that starts with the name of the argument at fault."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bad_input_sweep", ROOT / "tools" / "bad_input_sweep.py")
sweep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sweep)


@pytest.mark.parametrize("label, fn, args, kwargs", sweep.CASES, ids=[c[0] for c in sweep.CASES])
def test_bad_input_is_refused_clearly(label, fn, args, kwargs):
    outcome, message = sweep.classify(fn, args, kwargs)
    assert outcome == "clear", f"{label}: {outcome}: {message}"
