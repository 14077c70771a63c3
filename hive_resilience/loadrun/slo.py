"""The SLO gate: measured values against a scenario's objectives, one verdict each.

An objective that cannot be measured because no request of its name was made fails: a load
tool must never call a run green when the target did not answer. Resource objectives are
"not measured" (and do not fail the run) when the target is remote, since only the embedded
target's processes can be sampled; against the embedded target, missing samples fail.

A percentile or ratio is judged by its 95 % confidence interval (the metric table says how it is
computed), not by its point value: an interval wholly inside the bound passes, wholly outside
fails, and one that straddles the threshold is **inconclusive**, which fails unless the SLO or
its scenario says ``inconclusive: pass``. The verdict says how many samples it had and roughly
how many would decide it, so a flaky verdict turns into a plain "run longer".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from hive_resilience.loadrun.latency import LatencyBook, RequestTally
from hive_resilience.loadrun.metrics import metric
from hive_resilience.loadrun.scenario import AGGREGATED, InconclusiveMeans, Slo

if TYPE_CHECKING:
    from hive_resilience.loadrun.trends import LatencyTrend

Status = Literal["pass", "fail", "inconclusive", "not measured"]


@dataclass(frozen=True)
class SloVerdict:
    """The outcome of one SLO: what was measured, against what, and why it passed or not."""

    label: str
    metric: str
    request: str
    threshold: float
    bound: Literal["max", "min"]
    measured: float | None
    status: Status
    detail: str = ""
    samples: int | None = None
    """Requests the figure was measured on; None for resource figures and summaries that predate it."""
    interval: tuple[float, float | None] | None = None
    """The 95 % confidence interval (low, high) of ``measured``; high None: too few samples to bound it."""
    samples_to_decide: int | None = None
    """For an inconclusive verdict: roughly how many samples in all would decide it; None: over a million."""
    inconclusive_means: InconclusiveMeans = "fail"

    @property
    def failed(self) -> bool:
        return self.status == "fail" or (self.status == "inconclusive" and self.inconclusive_means == "fail")

    @property
    def clearly_broken(self) -> bool:
        """A decided fail: measured, and its whole confidence interval beyond the bound (what ``abort`` waits for)."""
        return self.status == "fail" and self.measured is not None and self.interval is not None

    def evidence(self) -> str:
        """``measured 0.93 (n=120, 95 % CI 0.87..0.96)``: the figure and what it rests on."""
        measured = "not measured" if self.measured is None else f"measured {self.measured:.4g}"
        return measured + (f" (n={self.samples}" + (f", 95 % CI {self.interval_text()})" if self.interval else ")")
                           if self.samples is not None else "")

    def line(self) -> str:
        notes = [self.detail] if self.detail else []
        if self.status == "inconclusive":
            more = (f"about {self.samples_to_decide} samples would decide it" if self.samples_to_decide
                    else "over a million samples would decide it")
            notes.append(f"the interval straddles {self.threshold:g}: {more}; counts as {self.inconclusive_means}")
        suffix = "".join(f" - {note}" for note in notes)
        return f"{self.status.upper():<12} {self.label}: {self.evidence()}{suffix}"

    def interval_text(self) -> str:
        """``low..high`` of the interval, ``low..unbounded`` when too few samples bound it; empty without one."""
        if self.interval is None:
            return ""
        low, high = self.interval
        return f"{low:.4g}..{'unbounded' if high is None else f'{high:.4g}'}"


def judge(slo: Slo, measured: float | None, missing_means: Status, missing_detail: str,
          tally: RequestTally | None = None, duration_s: float = 0.0) -> SloVerdict:
    """Compare one measured value with its bound; ``None`` means it could not be measured.

    With the request's ``tally`` (and the run's ``duration_s``, for a rate), a metric the table
    gives an interval rule is judged by its interval rather than its point value.
    """
    bound: Literal["max", "min"] = "max" if slo.max is not None else "min"
    threshold = slo.max if slo.max is not None else slo.min
    assert threshold is not None
    common = {"samples": tally.requests if tally else None, "inconclusive_means": slo.inconclusive or "fail"}
    if measured is None:
        return SloVerdict(slo.label, slo.metric, slo.request, threshold, bound, None, missing_means, missing_detail,
                          **common)
    rule = metric(slo.metric).interval
    interval = rule.interval(tally, duration_s) if rule and tally else None
    if interval is None:
        held = measured <= threshold if bound == "max" else measured >= threshold
        return SloVerdict(slo.label, slo.metric, slo.request, threshold, bound, measured, "pass" if held else "fail",
                          **common)
    status = _interval_status(interval, bound, threshold)
    needed = rule.samples_to_decide(tally, duration_s, threshold) if status == "inconclusive" else None
    return SloVerdict(slo.label, slo.metric, slo.request, threshold, bound, measured, status,
                      interval=interval, samples_to_decide=needed, **common)


def _interval_status(interval: tuple[float, float | None], bound: Literal["max", "min"], threshold: float) -> Status:
    low, high = interval
    within = high is not None and high <= threshold if bound == "max" else low >= threshold
    beyond = low > threshold if bound == "max" else high is not None and high < threshold
    return "pass" if within else "fail" if beyond else "inconclusive"


def evaluate_request_slos(slos: tuple[Slo, ...], book: LatencyBook, duration_s: float) -> list[SloVerdict]:
    """Verdicts for every request-level SLO, measured as the metric table says from the exact histograms."""
    return [
        judge(slo, metric(slo.metric).measure(tally, duration_s), "fail",
              f"no request named {slo.request!r} was made", tally, duration_s)
        for slo in slos
        if metric(slo.metric).scope == "request"
        for tally in [book.find(slo.request)]
    ]


def evaluate_trend_slos(slos: tuple[Slo, ...], trends: dict[str, LatencyTrend]) -> list[SloVerdict]:
    """Verdicts for latency-trend SLOs: on a request, its own trend; on ``Aggregated``, every request's,
    judged by the one that grows fastest, which the verdict names."""
    verdicts = []
    for slo in (slo for slo in slos if metric(slo.metric).scope == "trend"):
        measure = metric(slo.metric).measure
        if slo.request == AGGREGATED:
            measured = [(key, value) for key, trend in trends.items() if (value := measure(trend)) is not None]
            key, value = max(measured, key=lambda item: item[1], default=(None, None))
            verdict = judge(slo, value, "fail", "no request was made in enough windows after warm-up")
            verdicts.append(replace(verdict, detail=f"fastest-growing: {key}") if key else verdict)
        else:
            trend = trends.get(slo.request) or next(
                (trend for key, trend in trends.items() if key.split(" ", 1)[-1] == slo.request), None)
            verdicts.append(judge(slo, measure(trend) if trend else None, "fail",
                                  f"{slo.request!r} was not made in enough windows after warm-up"))
    return verdicts


def evaluate_resource_slos(slos: tuple[Slo, ...], resource_figures: dict[str, float | None] | None, *,
                           embedded_target: bool, missing_detail: str = "") -> list[SloVerdict]:
    """Verdicts for resource SLOs; ``resource_figures`` is None when the target was not sampled.

    Unsampled, they fail against the embedded target (its processes should have been sampled,
    ``missing_detail`` says why they were not) and are not measured against a remote one.
    """
    verdicts = []
    for slo in slos:
        if not slo.is_resource:
            continue
        if resource_figures is None and embedded_target:
            verdicts.append(judge(slo, None, "fail", missing_detail or "the embedded target's processes were not sampled"))
        elif resource_figures is None:
            verdicts.append(judge(slo, None, "not measured", "only the embedded target's processes are sampled"))
        else:
            verdicts.append(judge(slo, metric(slo.metric).measure(resource_figures), "fail", "too few samples to measure it"))
    return verdicts


def all_held(verdicts: list[SloVerdict]) -> bool:
    return not any(verdict.failed for verdict in verdicts)
