"""Confidence intervals for rates and means: Wilson, and the seeded percentile bootstrap.

Why both: a rate over runs (accuracy, decided) has a closed-form interval that behaves
at 0 and 1 and for small samples — Wilson's score interval, which covers close to its
nominal level where the textbook ``p ± z·se`` does not; means of anything else (tokens,
seconds, paired differences) get a percentile bootstrap. The bootstrap draws from
``PCG64(seed)``, so the same table gives the same interval on every machine
(``tests/metrics/test_intervals.py`` checks both intervals' coverage on a known binomial).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from llmteams_lab.errors import ArgumentError

__all__ = ["Z95", "bootstrap_mean", "wilson"]

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ``successes / trials`` (``(nan, nan)`` with no trials)."""
    if trials < 0 or not 0 <= successes <= trials:
        raise ArgumentError("successes", f"must be in [0, trials = {trials}]", successes)
    if trials == 0:
        return math.nan, math.nan
    p = successes / trials
    z2 = z * z
    denom = 1 + z2 / trials
    center = (p + z2 / (2 * trials)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, center - half), min(1.0, center + half)


def bootstrap_mean(values: Sequence[float] | np.ndarray, *, level: float = 0.95, resamples: int = 2000,
                   seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (nulls must be dropped first)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan
    if not 0 < level < 1:
        raise ArgumentError("level", "must be in (0, 1)", level)
    rng = np.random.Generator(np.random.PCG64(seed))
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)
