"""invertlib.stats: the percentile bootstrap against cases with a known answer (the logistic
boundary is tested in tests/test_phase.py, beside the phase diagrams that use it)."""

import numpy as np
import pytest

from invertlib.rng import numpy_generator
from invertlib.stats import BootstrapInterval, bootstrap_interval


def test_bootstrap_of_a_mean_matches_the_normal_interval():
    # 400 draws of N(0, 1): the 95 % interval of the mean is mean +- 1.96 s / sqrt(n), up to the
    # bootstrap's own Monte-Carlo error (a few percent of the width with 4000 resamples)
    x = numpy_generator(0).normal(size=400)
    res = bootstrap_interval(x, generator=numpy_generator(1), n_resamples=4000)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert isinstance(res, BootstrapInterval) and res.estimate == pytest.approx(x.mean())
    assert res.low == pytest.approx(x.mean() - half, abs=0.1 * half)
    assert res.high == pytest.approx(x.mean() + half, abs=0.1 * half)
    assert res.interval == (res.low, res.high) and res.resamples.shape == (4000,)


def test_bootstrap_resamples_units_not_the_values_inside_them():
    # Each unit (a photograph) holds 50 identical values: resampling units, the spread of the
    # pooled mean is that of 20 unit means; resampling the 1000 values would be sqrt(50) narrower.
    units = numpy_generator(2).normal(size=20)
    values = np.repeat(units[:, None], 50, axis=1)
    pooled = bootstrap_interval(values, np.mean, generator=numpy_generator(3), n_resamples=3000)
    per_unit = bootstrap_interval(units, np.mean, generator=numpy_generator(3), n_resamples=3000)
    np.testing.assert_allclose(pooled.resamples, per_unit.resamples, rtol=1e-12)
    assert pooled.high - pooled.low > 0.5 * 2 * 1.96 * units.std(ddof=1) / np.sqrt(20)


def test_bootstrap_is_deterministic_in_its_generator_and_takes_any_statistic():
    x = numpy_generator(4).exponential(size=60)
    a = bootstrap_interval(x, np.median, generator=numpy_generator(5), n_resamples=500, level=0.9)
    b = bootstrap_interval(x, np.median, generator=numpy_generator(5), n_resamples=500, level=0.9)
    assert (a.low, a.high) == (b.low, b.high) and a.level == 0.9
    assert a.low <= np.median(x) <= a.high
    # the interval's ends are the empirical quantiles of the resampled statistic
    assert a.low == pytest.approx(np.quantile(a.resamples, 0.05), rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(values=[1.0]), "at least two units"),
        (dict(values=[1.0, np.nan]), "finite"),
        (dict(values=[1.0, 2.0], n_resamples=1), "n_resamples"),
        (dict(values=[1.0, 2.0], level=1.0), "level"),
    ],
)
def test_bootstrap_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_interval(generator=numpy_generator(0), **kwargs)
    with pytest.raises(TypeError, match="generator"):
        bootstrap_interval([1.0, 2.0], generator=0)
