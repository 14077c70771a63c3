"""The SLO gate: measured values against a scenario's objectives, one verdict each.

An objective that cannot be measured because no request of its name was made fails: a load
tool must never call a run green when the target did not answer. Resource objectives are
"not measured" (and do not fail the run) when the target is remote, since only the embedded
target's processes can be sampled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hive_resilience.loadrun.latency import LatencyBook
from hive_resilience.loadrun.metrics import metric
from hive_resilience.loadrun.scenario import Slo

Status = Literal["pass", "fail", "not measured"]


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

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def line(self) -> str:
        measured = "n/a" if self.measured is None else f"{self.measured:.4g}"
        suffix = f" - {self.detail}" if self.detail else ""
        return f"{self.status.upper():<12} {self.label}: measured {measured}{suffix}"


def judge(slo: Slo, measured: float | None, missing_means: Status, missing_detail: str) -> SloVerdict:
    """Compare one measured value with its bound; ``None`` means it could not be measured."""
    bound: Literal["max", "min"] = "max" if slo.max is not None else "min"
    threshold = slo.max if slo.max is not None else slo.min
    assert threshold is not None
    if measured is None:
        return SloVerdict(slo.label, slo.metric, slo.request, threshold, bound, None, missing_means, missing_detail)
    held = measured <= threshold if bound == "max" else measured >= threshold
    return SloVerdict(slo.label, slo.metric, slo.request, threshold, bound, measured, "pass" if held else "fail")


def evaluate_request_slos(slos: tuple[Slo, ...], book: LatencyBook, duration_s: float) -> list[SloVerdict]:
    """Verdicts for every request-level SLO, measured as the metric table says from the exact histograms."""
    return [
        judge(slo, metric(slo.metric).measure(book.find(slo.request), duration_s), "fail",
              f"no request named {slo.request!r} was made")
        for slo in slos
        if not slo.is_resource
    ]


def evaluate_resource_slos(slos: tuple[Slo, ...], resource_figures: dict[str, float | None] | None) -> list[SloVerdict]:
    """Verdicts for resource SLOs; ``resource_figures`` is None when the target was not sampled."""
    verdicts = []
    for slo in slos:
        if not slo.is_resource:
            continue
        if resource_figures is None:
            verdicts.append(judge(slo, None, "not measured", "only the embedded target's processes are sampled"))
        else:
            verdicts.append(judge(slo, metric(slo.metric).measure(resource_figures), "fail", "too few samples to measure it"))
    return verdicts


def all_held(verdicts: list[SloVerdict]) -> bool:
    return not any(verdict.failed for verdict in verdicts)
