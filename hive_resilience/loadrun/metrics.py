"""The metric table: every figure an SLO can gate, the summary records and ``compare`` judges.

One entry per metric says what it is called, its unit, which way is better, whether it is
measured per request name or for the whole target, how it is measured, how ``compare``
judges it (if at all), how the report prints it and which promise of the deployment plan it
evidences. The scenario model (allowed SLO metrics, regression budgets), the SLO gate, the
summary's request rows, ``compare`` and the HTML report all read this table, so a new metric
is one new entry here.

This module must not import Locust (see :mod:`hive_resilience.loadrun.scenario`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from hive_resilience.loadrun.latency import RequestTally

Better = Literal["lower", "higher"]
Scope = Literal["request", "resource"]
"""``request``: per request name (or ``Aggregated``), from the exact response times;
``resource``: the whole embedded target, from its sampled processes."""

RequestMeasure = Callable[["RequestTally | None", float], "float | None"]
"""The figure from a request's exact tally (None: no such request was made) and the run's length in s."""
ResourceMeasure = Callable[[dict], "float | None"]
"""The figure from the target's resource figures (see :func:`hive_resilience.loadrun.resources.resource_figures`)."""


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
class MetricSpec:
    """One metric; see the module docstring for who reads which field."""

    name: str
    label: str
    """Short name for people: budgets text and report column headers."""
    unit: str
    better: Better
    scope: Scope
    measure: RequestMeasure | ResourceMeasure
    value_type: type = float
    budget: Budget | None = None
    """None: ``compare`` does not judge it (too noisy, or not a per-request figure)."""
    display: str = ".4g"
    """Format spec the reports print it with."""
    promise: str | None = None
    """The deployment plan's promise that this metric's SLOs on ``Aggregated`` evidence, if any."""

    @property
    def budget_key(self) -> str:
        """The ``regression_budgets`` key of this metric, e.g. ``rps_drop_percent``, ``error_ratio_increase_points``."""
        change = "drop" if self.better == "higher" else "increase"
        return f"{self.name}_{change}_{'points' if self.budget and self.budget.in_points else 'percent'}"


def _percentile(percentile: float) -> RequestMeasure:
    return lambda tally, _duration_s: tally.percentile_ms(percentile) if tally else None


def _resource(name: str) -> ResourceMeasure:
    return lambda figures: figures.get(name)


METRICS: tuple[MetricSpec, ...] = (
    # A request never made counts 0 (so "requests >= 1" fails rather than going unmeasured).
    MetricSpec("requests", "requests", "requests", "higher", "request",
               lambda tally, _duration_s: tally.requests if tally else 0, value_type=int, display="d"),
    MetricSpec("rps", "rps", "requests/s", "higher", "request",
               lambda tally, duration_s: (tally.requests if tally else 0) / duration_s if duration_s > 0 else None,
               budget=Budget(10.0), display=".1f"),
    MetricSpec("error_ratio", "error ratio", "ratio", "lower", "request",
               lambda tally, _duration_s: tally.error_ratio if tally else None,
               budget=Budget(0.5, in_points=True), display=".3f", promise="errors under 5 %"),
    MetricSpec("p50_ms", "p50", "ms", "lower", "request", _percentile(50), display=".0f"),
    MetricSpec("p90_ms", "p90", "ms", "lower", "request", _percentile(90), budget=Budget(15.0), display=".0f"),
    MetricSpec("p95_ms", "p95", "ms", "lower", "request", _percentile(95), budget=Budget(15.0), display=".0f"),
    MetricSpec("p99_ms", "p99", "ms", "lower", "request", _percentile(99), budget=Budget(20.0), display=".0f",
               promise="p99 under 2 s"),
    MetricSpec("max_ms", "max", "ms", "lower", "request",
               lambda tally, _duration_s: tally.max_ms() if tally else None, display=".0f"),
    MetricSpec("rss_mb", "peak RSS", "MB", "lower", "resource", _resource("rss_mb")),
    MetricSpec("rss_growth_mb_per_hour", "RSS growth", "MB/h", "lower", "resource", _resource("rss_growth_mb_per_hour")),
    MetricSpec("rss_growth_kb_per_session", "RSS growth per session", "KB/session", "lower", "resource",
               _resource("rss_growth_kb_per_session")),
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
