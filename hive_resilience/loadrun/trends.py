"""Whether each request gets slower as a soak goes on: its latency trend, from the gate's own windows.

A leak that does not show in memory shows in latency: a list scanned per request that grows with
every session, a cache that never evicts. For every request name the trend is the least-squares
slope of its **per-window median** (``timeline.json``'s ``p50_ms``) after warm-up, in ms per hour
and in ms per 1,000 Hive sessions created (counted in the same windows).

Why the median and not p95: a window holds a handful to a few hundred requests, so its p95 is
one of its slowest few and a single stall swings the slope; a slowdown that grows with the run
moves the typical request, which the median follows. Stalls are the tail view's job (p99.9 and
max per second, :mod:`hive_resilience.loadrun.timeline`). Warm-up is the same first fifth the
memory figures skip (:data:`~hive_resilience.loadrun.resources.WARMUP_FRACTION`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hive_resilience.loadrun.resources import (
    SESSIONS_CREATED_KEY,
    WARMUP_FRACTION,
    least_squares,
)
from hive_resilience.loadrun.scenario import AGGREGATED
from hive_resilience.loadrun.timeline import Timeline

MIN_TREND_WINDOWS = 5
"""Fewer measured windows after warm-up than this give no slope: two points always make a line."""


class LatencyTrend(BaseModel):
    """One request's latency trend after warm-up (``summary.json``'s ``latency_trends``)."""

    model_config = ConfigDict(extra="ignore")

    windows: int
    """Windows after warm-up in which the request was made: the points of the fit."""
    p50_ms_first: float
    p50_ms_last: float
    """The fitted median at the first and the last of those windows: what the slope means in ms."""
    ms_per_hour: float
    ms_per_1k_sessions: float | None
    """None when no Hive session was created after warm-up."""


def latency_trends(timeline: Timeline) -> dict[str, LatencyTrend]:
    """The trend of every request key (``Aggregated`` left out: a mix's median moves with the mix)
    made in at least :data:`MIN_TREND_WINDOWS` windows after warm-up."""
    if not timeline.windows:
        return {}
    warm_from_s = (timeline.windows[-1].start_s + timeline.window_s) * WARMUP_FRACTION
    steady = [window for window in timeline.windows if window.start_s >= warm_from_s]
    span_s = len(steady) * timeline.window_s
    sessions = sum(created.requests - created.failures for window in steady
                   if (created := window.requests.get(SESSIONS_CREATED_KEY)) is not None)
    keys = sorted({key for window in steady for key in window.requests} - {AGGREGATED})
    trends = {}
    for key in keys:
        points = [(window.start_s, figures.p50_ms) for window in steady
                  if (figures := window.requests.get(key)) is not None and figures.p50_ms is not None]
        if len(points) < MIN_TREND_WINDOWS:
            continue
        slope_ms_per_s, intercept_ms = least_squares(points)
        trends[key] = LatencyTrend(
            windows=len(points), p50_ms_first=intercept_ms + slope_ms_per_s * points[0][0],
            p50_ms_last=intercept_ms + slope_ms_per_s * points[-1][0], ms_per_hour=slope_ms_per_s * 3600,
            ms_per_1k_sessions=slope_ms_per_s * span_s / sessions * 1000 if sessions else None)
    return trends
