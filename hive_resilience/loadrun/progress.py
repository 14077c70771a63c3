"""Live progress of a run, and stopping it early when an SLO is clearly broken.

A four-hour soak that says nothing until its verdict leaves its operator guessing, and one
whose target broke in minute two burns the other 238. The process that decides the verdict
(standalone Locust or the master) therefore prints one status line every ``--progress-interval``
seconds::

    [ 60/300 s] 12 users | 8.1 req/s | errors 0.0 % | p95 812 ms p99 1.9 s (last 10 s) | at risk: p95_ms <= 500 (GET /api/health)

Rate, errors and percentiles are those of the requests measured since the last line, from the
exact histograms (latency.py's one percentile rule; a master counts its workers' reports as they
arrive, every few seconds, so its windows jitter by one report). An arrivals scenario shows the
planned and the achieved arrival rate instead of users. "At risk" are the request SLOs whose
figure on the run so far is beyond their bound, judged as the gate judges them at the end; a
lower bound on a count (``requests >= 1``) is left to the end, since counts only grow.

An SLO with ``abort: true`` stops the run once, after its ``abort_after`` grace, its running
verdict is a decided fail: the whole 95 % interval beyond the bound on at least
:data:`ABORT_MIN_SAMPLES` samples, never a point estimate. The run then ends as incomplete
with the reason, so its verdict fails.

This module must not import Locust (its figures are tested without it); the plugin feeds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hive_resilience.loadrun.arrivals import planned_rate_per_s
from hive_resilience.loadrun.latency import LatencyBook
from hive_resilience.loadrun.metrics import metric
from hive_resilience.loadrun.scenario import AGGREGATED, Scenario, Slo
from hive_resilience.loadrun.slo import SloVerdict, evaluate_request_slos
from hive_resilience.loadrun.summary import arrival_counts

PROGRESS_INTERVAL_S = 10.0
"""Default seconds between status lines; 0 turns them off."""
CHECK_INTERVAL_S = 1.0
"""How often the abort rule is checked (and whether a status line is due)."""
ABORT_MIN_SAMPLES = 30
"""Fewest samples an abort rests on: Wilson's interval on a handful of failures is already wholly
above a 5 % bound (1 failure in 1 gives 21 %..100 %), and a run stopped cannot be taken back."""


def at_risk(verdicts: Sequence[SloVerdict]) -> list[str]:
    """Labels of the SLOs whose measured figure so far is beyond their bound (counts with a lower
    bound excepted: they grow until the end)."""
    return [
        verdict.label for verdict in verdicts
        if verdict.measured is not None
        and not (verdict.bound == "min" and metric(verdict.metric).interval is None)
        and (verdict.measured > verdict.threshold if verdict.bound == "max" else verdict.measured < verdict.threshold)
    ]


def abort_reason(slos: Sequence[Slo], book: LatencyBook, elapsed_s: float) -> str | None:
    """Why the run must stop now: the first ``abort`` SLO past its grace that is clearly broken on
    enough samples; None otherwise."""
    due = tuple(slo for slo in slos if slo.abort and elapsed_s >= slo.abort_after_s)
    for verdict in evaluate_request_slos(due, book, elapsed_s) if due else ():
        if verdict.clearly_broken and (verdict.samples or 0) >= ABORT_MIN_SAMPLES:
            return f"aborted: {verdict.label} clearly broken at {elapsed_s:.0f} s: {verdict.evidence()}"
    return None


def _duration_text(value_ms: float | None) -> str:
    if value_ms is None:
        return "-"
    return f"{value_ms:.0f} ms" if value_ms < 1000 else f"{value_ms / 1000:.1f} s"


def status_line(scenario: Scenario, elapsed_s: float, window: LatencyBook, window_s: float, users: int,
                risky: Sequence[str]) -> str:
    """One status line: time, load, and the last ``window_s`` seconds' rate, errors and p95/p99."""
    width = len(f"{scenario.duration_s:.0f}")
    parts = []
    if scenario.arrivals is not None:
        parts.append(f"arrivals target {planned_rate_per_s(scenario.arrivals.stages, elapsed_s):.3g}/s "
                     f"achieved {arrival_counts(window).started / window_s:.3g}/s")
    else:
        parts.append(f"{users} users")
    total = window.tallies.get(AGGREGATED)
    if total is None:
        parts.append(f"no requests (last {window_s:.0f} s)")
    else:
        percentiles = f"p95 {_duration_text(total.percentile_ms(95))} p99 {_duration_text(total.percentile_ms(99))}"
        parts += [f"{total.requests / window_s:.1f} req/s", f"errors {100 * (total.error_ratio or 0.0):.1f} %",
                  f"{percentiles} (last {window_s:.0f} s)"]
    parts.append(f"at risk: {', '.join(risky)}" if risky else "no SLO at risk")
    return f"[{elapsed_s:{width}.0f}/{scenario.duration_s:.0f} s] " + " | ".join(parts)


@dataclass
class LiveRun:
    """The deciding process's view of a running run: prints progress, and asks to stop on a clear breach.

    ``book`` is the run's own book (the gate's, which a master fills from its workers' reports);
    ``window`` is fed the same requests and cleared at every line. ``emit`` prints a line,
    ``stop`` is called once, when the run must stop (the reason is then in ``aborted``).
    """

    scenario: Scenario
    book: LatencyBook
    interval_s: float
    emit: Callable[[str], None]
    stop: Callable[[], None]
    window: LatencyBook = field(default_factory=LatencyBook)
    started_at: float | None = None
    window_started_at: float = 0.0
    aborted: str | None = None

    def start(self, at: float) -> None:
        self.started_at = self.window_started_at = at
        self.window.clear()
        self.aborted = None

    def record(self, request_type: str, name: str, response_time_ms: float, failed: bool) -> None:
        self.window.record(request_type, name, response_time_ms, failed)

    def merge(self, exported: dict[str, dict]) -> None:
        """A worker's report: :meth:`LatencyBook.export` of its requests since its last one."""
        self.window.merge(exported)

    def tick(self, now: float, users: int) -> None:
        """Check the abort rule, and print a status line when one is due."""
        if self.started_at is None or self.aborted is not None:
            return
        elapsed_s = now - self.started_at
        reason = abort_reason(self.scenario.effective_slos(), self.book, elapsed_s)
        if reason is not None:
            self.aborted = reason
            self.emit(f"hive-resilience: {reason}; stopping the run")
            self.stop()
            return
        window_s = now - self.window_started_at
        if self.interval_s > 0 and window_s >= self.interval_s:
            verdicts = evaluate_request_slos(self.scenario.effective_slos(), self.book, elapsed_s)
            self.emit(status_line(self.scenario, elapsed_s, self.window, window_s, users, at_risk(verdicts)))
            self.window.clear()
            self.window_started_at = now

    @property
    def wanted(self) -> bool:
        """Whether there is anything to do: lines to print or an SLO that may abort."""
        return self.interval_s > 0 or any(slo.abort for slo in self.scenario.effective_slos())
