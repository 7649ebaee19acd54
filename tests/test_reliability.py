"""Issue 26's families where the answer is a defined value rather than a refusal, and the file
rules: standard JSON, no empty or half-written files, errors that name the file."""

import json
import math

import numpy as np
import pytest
import torch

import invertlib as il
from invertlib.sparse_coding import lasso_fista, spectral_norm_sq
from invertlib.stats import logistic_boundary
from invertlib.theory import thm33_bound
from invertlib.vision.files import atomic_write, atomic_write_all, json_safe, read_json, write_json


def test_a_flat_success_rate_has_no_boundary_and_no_nan():
    fit = logistic_boundary([0.1, 0.2, 0.3], [5, 5, 5], [10, 10, 10])
    assert fit.rho50 == math.inf and fit.slope == 0.0 and not fit.inside and not fit.decreasing
    grouped = logistic_boundary([0.1, 0.2, 0.3, 0.4], [5, 5, 5, 5], [10] * 4, groups=[0, 0, 1, 1])
    assert grouped.se_cluster == math.inf and not math.isnan(grouped.se)


def test_thm33_bound_takes_delta_2k_at_least_delta_k():
    # two Monte Carlo estimates can put delta_2k below delta_k; the true constants cannot
    assert thm33_bound(0.368, 0.298) == thm33_bound(0.368, 0.368)
    assert thm33_bound(0.1, 0.3) == pytest.approx(5 * 0.3 / 0.9 * math.sqrt(1.3 / 0.7))
    assert np.all(np.isfinite(thm33_bound([0.1, 0.2], [0.3, 0.1])))


def test_lasso_with_l_below_the_norm_is_refused_and_with_l_above_it_is_not():
    g = il.torch_generator(0)
    W = il.ConvOperator(il.gaussian_filters(6, 3, 3, generator=g, ndim=2), 8, padding=1)
    x = torch.randn((2,) + W.in_shape, generator=g, dtype=W.dtype)
    L = spectral_norm_sq(W, generator=il.torch_generator(1))
    res = lasso_fista(W, x, 0.05, L=L, n_iter=50)
    assert torch.isfinite(res.objective).all() and res.objective.shape == (2, 50)
    with pytest.raises(ValueError, match="L: the iterates diverged"):
        lasso_fista(W, x, 0.05, L=L / 100, n_iter=200)


def test_json_files_are_standard_and_infinite_numbers_are_strings(tmp_path):
    path = write_json(tmp_path / "r.json", {"ours": math.inf, "low": -math.inf, "x": [math.nan, 1.5]})
    text = path.read_text()
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text) == {"ours": "inf", "low": "-inf", "x": ["nan", 1.5]}
    assert float(json.loads(text)["ours"]) == math.inf  # float() reads the strings back
    assert json_safe((1, {"a": math.nan})) == [1, {"a": "nan"}]


def test_claims_write_standard_json_and_refuse_a_string_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("INVERTLIB_FIGURES_DIR", str(tmp_path))
    claims = il.Claims("99_reliability", 0)
    claims.finding("a.inf", "an infinite bound", ours=math.inf)
    claims.finish()
    record = json.loads((tmp_path / "claims" / "99_reliability.json").read_text())
    assert record["claims"][0]["ours"] == "inf"
    with pytest.raises(ValueError, match="seed: expected the notebook's integer seed"):
        il.Claims("99_reliability", "0")


def test_atomic_writes_refuse_empty_files_and_name_the_destination(tmp_path):
    with pytest.raises(ValueError, match="write: wrote nothing for .*empty.txt"):
        atomic_write(tmp_path / "empty.txt", lambda tmp: None)
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind
    with pytest.raises(FileNotFoundError, match=r"path: cannot write .*x\.txt: its folder .*missing does not exist"):
        atomic_write(tmp_path / "missing" / "x.txt", lambda tmp: tmp.write_text("x"))
    # several files: none is published when one write fails
    with pytest.raises(ValueError, match="wrote nothing"):
        atomic_write_all({tmp_path / "a.txt": lambda t: t.write_text("a"), tmp_path / "b.txt": lambda t: None})
    assert list(tmp_path.iterdir()) == []


def test_truncated_json_is_an_error_that_names_the_file(tmp_path):
    (tmp_path / "half.json").write_text('{"a": [1, 2')
    with pytest.raises(ValueError, match=r"manifest: .*half\.json is not a complete JSON file"):
        read_json(tmp_path / "half.json", "manifest")
    with pytest.raises(FileNotFoundError, match="manifest: no file at"):
        read_json(tmp_path / "none.json", "manifest")
