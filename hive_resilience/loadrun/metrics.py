"""The metric table: every figure an SLO can gate, the summary records and ``compare`` judges.

One entry per metric says what it is called, its unit, which way is better, whether it is
measured per request name or for the whole target, how it is measured, how its confidence
interval is computed (percentile, ratio, rate or none), how ``compare``
judges it (if at all), how the report prints it and which promise of the deployment plan it
evidences. The scenario model (allowed SLO metrics, regression budgets), the SLO gate, the
summary's request rows, ``compare`` and the HTML report all read this table, so a new metric
is one new entry here.

This module must not import Locust (see :mod:`hive_resilience.loadrun.scenario`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from hive_resilience.loadrun.intervals import (
    percentile_decided,
    poisson_rate_interval,
    rate_decided,
    ratio_decided,
    samples_to_decide,
    wilson_interval,
)
from hive_resilience.loadrun.resources import COMPONENT_GROWTH

if TYPE_CHECKING:
    from hive_resilience.loadrun.latency import RequestTally
    from hive_resilience.loadrun.trends import LatencyTrend

Better = Literal["lower", "higher"]
Scope = Literal["request", "resource", "trend"]
"""``request``: per request name (or ``Aggregated``), from the exact response times;
``resource``: the whole embedded target, from its sampled processes;
``trend``: per request name, from its per-window medians over the run
(:mod:`hive_resilience.loadrun.trends`); on ``Aggregated``, the request that grows fastest."""

RequestMeasure = Callable[["RequestTally | None", float], "float | None"]
"""The figure from a request's exact tally (None: no such request was made) and the run's length in s."""
ResourceMeasure = Callable[[dict], "float | None"]
"""The figure from the target's resource figures (see :func:`hive_resilience.loadrun.resources.resource_figures`)."""
TrendMeasure = Callable[["LatencyTrend"], "float | None"]
"""The figure from one request's latency trend (see :func:`hive_resilience.loadrun.trends.latency_trends`)."""
ARRIVALS_REQUEST = "arrivals"
"""The journey entry of an open-model run's arrivals (all classes; ``arrivals [<class>]`` per user class):
one sample per arrival due, its time how late it started, failed when it was dropped."""
DROPPED_RATIO = "dropped_ratio"
_ARRIVALS_ENTRY = re.compile(rf"(\S+ )?{ARRIVALS_REQUEST}( \[\w+\])?")


def arrivals_request(user_class: str | None = None) -> str:
    """The arrivals entry's name: all classes, or ``user_class``'s own."""
    return ARRIVALS_REQUEST if user_class is None else f"{ARRIVALS_REQUEST} [{user_class}]"


def is_arrivals_request(name: str) -> bool:
    """Whether ``name`` (bare or with its request type) is an arrivals entry."""
    return _ARRIVALS_ENTRY.fullmatch(name) is not None


@dataclass(frozen=True)
class Budget:
    """How much worse than its baseline ``compare`` lets a metric get, by default.

    Relative (percent of the baseline) where the scale depends on the scenario; absolute
    (percentage points) for ratios, because a relative change of a ratio near zero means
    nothing (0.01 % to 0.02 % is "+100 %"). Scenarios override it in ``regression_budgets``.
    """

    default: float
    in_points: bool = False


@dataclass(frozen=True)
class IntervalRule:
    """How a request metric's 95 % confidence interval is computed, so a verdict can say it cannot tell.

    ``percentile``: order statistics over the exact histogram (distribution-free);
    ``ratio``: Wilson's interval on failures over requests; ``rate``: the Poisson score interval
    of requests over the run's length. Metrics without a rule (counts, the maximum, resources)
    are judged on their value alone.
    """

    kind: Literal["percentile", "ratio", "rate"]
    percentile: float = 0.0

    def interval(self, tally: RequestTally, duration_s: float) -> tuple[float, float | None] | None:
        """(low, high) of the measured figure; high None when too few samples bound it; None without samples."""
        if not tally.requests:
            return None
        if self.kind == "percentile":
            return tally.percentile_interval_ms(self.percentile)
        if self.kind == "rate":
            return poisson_rate_interval(tally.requests, duration_s) if duration_s > 0 else None
        return wilson_interval(tally.failures, tally.requests)

    def samples_to_decide(self, tally: RequestTally, duration_s: float, threshold: float) -> int | None:
        """Roughly how many samples in all would put the interval wholly on one side of ``threshold``,
        if the measured share (or, for a rate, the pace) held."""
        if self.kind == "percentile":
            quantile = self.percentile / 100
            return samples_to_decide(lambda hits, samples: percentile_decided(hits, samples, quantile),
                                     tally.count_at_or_under(threshold), tally.requests)
        if self.kind == "rate":
            seconds_per_request = duration_s / tally.requests
            return samples_to_decide(lambda count, _: rate_decided(count, count * seconds_per_request, threshold),
                                     tally.requests, tally.requests)
        return samples_to_decide(lambda hits, samples: ratio_decided(hits, samples, threshold),
                                 tally.failures, tally.requests)


@dataclass(frozen=True)
class MetricSpec:
    """One metric; see the module docstring for who reads which field."""

    name: str
    label: str
    """Short name for people: budgets text and report column headers."""
    unit: str
    better: Better
    scope: Scope
    measure: RequestMeasure | ResourceMeasure | TrendMeasure
    value_type: type = float
    budget: Budget | None = None
    """None: ``compare`` does not judge it (too noisy, or not a per-request figure)."""
    display: str = ".4g"
    """Format spec the reports print it with."""
    promise: str | None = None
    """The deployment plan's promise that this metric's SLOs on ``Aggregated`` evidence, if any."""
    interval: IntervalRule | None = None
    """How its confidence interval is computed; None: judged on the value alone."""
    measured_on: Callable[[str], bool] | None = None
    """The request names (bare or with their type) it means something for; None: every one."""

    def applies_to(self, request: str) -> bool:
        return self.measured_on is None or self.measured_on(request)

    @property
    def interval_kind(self) -> str:
        """``percentile``, ``ratio`` or ``none``, for people and the docs."""
        return self.interval.kind if self.interval else "none"

    @property
    def budget_key(self) -> str:
        """The ``regression_budgets`` key of this metric, e.g. ``rps_drop_percent``, ``error_ratio_increase_points``."""
        change = "drop" if self.better == "higher" else "increase"
        return f"{self.name}_{change}_{'points' if self.budget and self.budget.in_points else 'percent'}"


def _percentile(percentile: float) -> dict:
    """The measure and the interval rule of a percentile metric, one number for both."""
    return {"measure": lambda tally, _duration_s: tally.percentile_ms(percentile) if tally else None,
            "interval": IntervalRule("percentile", percentile)}


def _resource(name: str) -> ResourceMeasure:
    return lambda figures: figures.get(name)


_SESSION_KINDS = {"session": "Hive session", "mcp_session": "MCP session"}


def _component_metrics() -> tuple[MetricSpec, ...]:
    """Peak RSS, growth per hour and (where it has one) growth per session of each component measured on its own."""
    specs = []
    for growth in COMPONENT_GROWTH:
        described = [(f"{growth.label} peak RSS", "MB"), (f"{growth.label} RSS growth", "MB/h")]
        if growth.sessions:
            kind = _SESSION_KINDS[growth.sessions]
            described.append((f"{growth.label} RSS growth per {kind}", f"KB/{kind}"))
        specs += [MetricSpec(name, label, unit, "lower", "resource", _resource(name))
                  for name, (label, unit) in zip(growth.figure_names, described, strict=True)]
    return tuple(specs)


METRICS: tuple[MetricSpec, ...] = (
    # A request never made counts 0 (so "requests >= 1" fails rather than going unmeasured).
    MetricSpec("requests", "requests", "requests", "higher", "request",
               lambda tally, _duration_s: tally.requests if tally else 0, value_type=int, display="d"),
    MetricSpec("rps", "rps", "requests/s", "higher", "request",
               lambda tally, duration_s: (tally.requests if tally else 0) / duration_s if duration_s > 0 else None,
               budget=Budget(10.0), display=".1f", interval=IntervalRule("rate")),
    MetricSpec("error_ratio", "error ratio", "ratio", "lower", "request",
               lambda tally, _duration_s: tally.error_ratio if tally else None,
               budget=Budget(0.5, in_points=True), display=".3f", promise="errors under 5 %",
               interval=IntervalRule("ratio")),
    # Arrivals dropped because max_in_flight were running: the run offered less than its plan. No
    # budget: how many drop depends on the ceiling a run chose; the response times judge Hive.
    MetricSpec(DROPPED_RATIO, "dropped", "ratio", "lower", "request",
               lambda tally, _duration_s: tally.error_ratio if tally else None,
               display=".3f", interval=IntervalRule("ratio"), measured_on=is_arrivals_request),
    MetricSpec("p50_ms", "p50", "ms", "lower", "request", **_percentile(50), display=".0f"),
    MetricSpec("p90_ms", "p90", "ms", "lower", "request", **_percentile(90), budget=Budget(15.0), display=".0f"),
    MetricSpec("p95_ms", "p95", "ms", "lower", "request", **_percentile(95), budget=Budget(15.0), display=".0f"),
    MetricSpec("p99_ms", "p99", "ms", "lower", "request", **_percentile(99), budget=Budget(20.0), display=".0f",
               promise="p99 under 2 s"),
    MetricSpec("max_ms", "max", "ms", "lower", "request",
               lambda tally, _duration_s: tally.max_ms() if tally else None, display=".0f"),
    MetricSpec("rss_mb", "peak RSS", "MB", "lower", "resource", _resource("rss_mb")),
    MetricSpec("rss_growth_mb_per_hour", "RSS growth", "MB/h", "lower", "resource", _resource("rss_growth_mb_per_hour")),
    MetricSpec("rss_growth_kb_per_session", "RSS growth per session", "KB/session", "lower", "resource",
               _resource("rss_growth_kb_per_session")),
    *_component_metrics(),
    MetricSpec("latency_trend_ms_per_hour", "latency trend", "ms/h", "lower", "trend",
               lambda trend: trend.ms_per_hour, display=".3g"),
    MetricSpec("latency_trend_ms_per_1k_sessions", "latency trend per 1k sessions", "ms/1k sessions", "lower", "trend",
               lambda trend: trend.ms_per_1k_sessions, display=".3g"),
)
"""Every metric, in the order the scenario errors, the summary rows, ``compare`` and the report list them."""


def metric(name: str) -> MetricSpec:
    """The entry called ``name``; raises KeyError for a name not in the table."""
    for spec in METRICS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def request_metrics() -> list[MetricSpec]:
    return [spec for spec in METRICS if spec.scope == "request"]


def compared_metrics() -> list[MetricSpec]:
    """The request metrics ``compare`` judges, each with its budget."""
    return [spec for spec in request_metrics() if spec.budget is not None]
