"""Intervals: Wilson's known values, and both intervals' coverage on a known binomial."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmteams_lab.errors import ArgumentError
from llmteams_lab.metrics import bootstrap_mean, wilson


def test_wilson_known_values_and_edges():
    low, high = wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)  # the textbook example's interval
    assert wilson(0, 20)[0] == 0.0 and 0.1 < wilson(0, 20)[1] < 0.2  # not the degenerate [0, 0]
    assert wilson(20, 20)[1] == 1.0
    assert all(math.isnan(v) for v in wilson(0, 0))
    with pytest.raises(ArgumentError, match=r"'successes' must be in \[0, trials = 3\] \(got 4\)"):
        wilson(4, 3)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_both_intervals_cover_a_known_binomial_rate_about_95_percent_of_the_time(p):
    rng = np.random.Generator(np.random.PCG64(7))
    trials, experiments = 80, 400
    samples = rng.random((experiments, trials)) < p
    wilson_hits = sum(lo <= p <= hi for lo, hi in (wilson(int(s.sum()), trials) for s in samples))
    boot_hits = sum(lo <= p <= hi for lo, hi in (bootstrap_mean(s, resamples=800, seed=i)
                                                  for i, s in enumerate(samples)))
    # 400 experiments: a 95 % interval's hit rate lies in [0.92, 0.98] with probability > 0.99
    assert 0.92 <= wilson_hits / experiments <= 0.98
    assert 0.90 <= boot_hits / experiments <= 0.98  # the percentile bootstrap runs a little narrow


def test_bootstrap_is_seeded_and_brackets_the_mean():
    x = np.arange(50.0)
    assert bootstrap_mean(x, seed=3) == bootstrap_mean(x, seed=3)
    low, high = bootstrap_mean(x)
    assert low < x.mean() < high
    assert all(math.isnan(v) for v in bootstrap_mean([]))
