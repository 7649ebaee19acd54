"""Shared fixtures and markers.

The ImageNet networks are loaded once per test session (their checkpoints are sha256-checked and
unpickled on every load, about a second each): tests that only read them take the `vgg16` and
`alexnet` fixtures and must not change them (move a copy with copy.deepcopy to alter it). Tests
that exercise loading itself (corrupt files, missing packages, weight files) still call
`pretrained()`.

Markers: `slow` marks tests of several seconds (subprocesses, benchmarks, rendering); a quick
loop is `pytest -m "not slow" tests`. The slowest tests are reported at the end of every run
(`--durations`, set in pyproject.toml).
"""

import pytest

from invertlib.vision.networks import VGG16, AlexNet


@pytest.fixture(scope="session")
def vgg16() -> VGG16:
    return VGG16.pretrained()


@pytest.fixture(scope="session")
def alexnet() -> AlexNet:
    return AlexNet.pretrained()
