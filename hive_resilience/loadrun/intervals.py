"""95 % confidence intervals, so a verdict on a handful of samples says it cannot tell.

A p95 judged on 12 samples flips between runs of the same code. Every request metric the gate
or ``compare`` judges therefore carries an interval: distribution-free order statistics for a
percentile (the ranks ``l``, ``u`` with P(l <= Bin(n, p) < u) >= 95 %, so the true percentile
lies between the l-th and the u-th smallest sample), Wilson's score interval for a ratio and the
Poisson score interval for a rate.
The binomial tails are exact (log space, no scipy) up to :data:`EXACT_BINOMIAL_MAX_SAMPLES`
and the normal approximation with continuity correction beyond, where the two agree.

This module must not import Locust (see :mod:`hive_resilience.loadrun.scenario`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

CONFIDENCE = 0.95
Z_SCORE = 1.959963984540054
"""The standard normal quantile of 1 - (1 - CONFIDENCE) / 2."""
EXACT_BINOMIAL_MAX_SAMPLES = 2000
PROJECTION_LIMIT_SAMPLES = 1_000_000
"""Beyond this many samples ``samples_to_decide`` gives up: the measurement sits on the threshold."""
PROJECTION_GROWTH = 1.1


def _binomial_cdf_table(samples: int, probability: float) -> list[float]:
    """P(Bin(samples, probability) <= k) for every k, from log-space terms so p^n never underflows."""
    log_p, log_q = math.log(probability), math.log1p(-probability)
    log_n = math.lgamma(samples + 1)
    cumulative, table = 0.0, []
    for k in range(samples + 1):
        cumulative += math.exp(log_n - math.lgamma(k + 1) - math.lgamma(samples - k + 1) + k * log_p + (samples - k) * log_q)
        table.append(min(cumulative, 1.0))
    return table


def order_statistic_ranks(samples: int, quantile: float) -> tuple[int, int]:
    """1-based ranks (l, u) of the equal-tailed 95 % interval for the ``quantile`` (0..1) of ``samples`` values.

    ``l`` is the largest rank with P(Bin <= l - 1) <= 2.5 %, ``u`` the smallest with
    P(Bin >= u) <= 2.5 %. ``l = 0`` means unbounded below and ``u = samples + 1`` unbounded
    above: too few samples to bound that side at all (a p95 needs 72 for an upper bound).
    """
    if samples <= 0:
        return 0, 1
    tail = (1 - CONFIDENCE) / 2
    if quantile <= 0 or quantile >= 1:
        rank = 1 if quantile <= 0 else samples
        return rank, rank
    if samples <= EXACT_BINOMIAL_MAX_SAMPLES:
        cdf = _binomial_cdf_table(samples, quantile)
        # The tiny slack absorbs float rounding in the summed tail, e.g. exactly 2.5 %.
        low = max((k + 1 for k in range(samples) if cdf[k] <= tail + 1e-12), default=0)
        high = min((u for u in range(1, samples + 1) if 1 - cdf[u - 1] <= tail + 1e-12), default=samples + 1)
        return low, high
    spread = Z_SCORE * math.sqrt(samples * quantile * (1 - quantile))
    centre = samples * quantile
    return max(0, math.floor(centre - spread + 0.5)), min(samples + 1, math.ceil(centre + spread + 0.5))


def wilson_interval(hits: int, samples: int) -> tuple[float, float]:
    """Wilson's 95 % score interval for the ratio ``hits / samples``; (0, 1) when there are no samples."""
    if samples <= 0:
        return 0.0, 1.0
    ratio = hits / samples
    z2 = Z_SCORE**2
    centre = (ratio + z2 / (2 * samples)) / (1 + z2 / samples)
    half = Z_SCORE * math.sqrt(ratio * (1 - ratio) / samples + z2 / (4 * samples**2)) / (1 + z2 / samples)
    # Exact at the ends, where the formula leaves float dust (1e-18 for no hits at all).
    return (0.0 if hits == 0 else max(0.0, centre - half)), (1.0 if hits == samples else min(1.0, centre + half))


def poisson_rate_interval(count: int, duration_s: float) -> tuple[float, float]:
    """The 95 % score interval of a rate (events per second) from ``count`` events in ``duration_s``."""
    z2 = Z_SCORE**2
    half = Z_SCORE * math.sqrt(count + z2 / 4)
    return max(0.0, count + z2 / 2 - half) / duration_s, (count + z2 / 2 + half) / duration_s


def rate_decided(count: int, duration_s: float, threshold: float) -> bool:
    """Whether the rate's interval lies wholly on one side of ``threshold``."""
    low, high = poisson_rate_interval(count, duration_s)
    return high <= threshold or low > threshold


def percentile_decided(at_or_under: int, samples: int, quantile: float) -> bool:
    """Whether the order-statistic interval excludes a threshold with ``at_or_under`` samples at or under it.

    The u-th smallest sample is at or under the threshold exactly when ``at_or_under >= u``,
    and the l-th is above it when ``at_or_under < l``.
    """
    low_rank, high_rank = order_statistic_ranks(samples, quantile)
    return at_or_under >= high_rank or at_or_under < low_rank


def ratio_decided(hits: int, samples: int, threshold: float) -> bool:
    """Whether Wilson's interval of ``hits / samples`` lies wholly on one side of ``threshold``."""
    low, high = wilson_interval(hits, samples)
    return high <= threshold or low > threshold


def samples_to_decide(decided: Callable[[int, int], bool], hits: int, samples: int) -> int | None:
    """Roughly how many samples in all would decide, if the share ``hits / samples`` held; None: over a million."""
    share = hits / samples if samples else 0.0
    total = max(samples, 1)
    while total < PROJECTION_LIMIT_SAMPLES:
        total = math.ceil(total * PROJECTION_GROWTH) + 1
        if decided(round(share * total), total):
            return total
    return None
