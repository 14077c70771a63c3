"""``hive-resilience compare``: is a new run worse than its baseline by more than its budgets allow?

Each request name present in both runs (``Aggregated`` included) is compared on every metric
the metric table gives a budget (throughput, error ratio, p90, p95, p99); a request the new run
never made is a regression, since a broken route must not pass for a faster one. The budgets
are the new run's, as its ``summary.json`` records them from the scenario
(``regression_budgets``): the run being judged carries the promise it is judged by.
Improvements are never flagged, however large.

A percentile, ratio or rate is a regression only when its confidence intervals say so: the new run's
most favourable bound is still worse than the baseline's least favourable one by more than the
budget. A change over budget that the intervals do not confirm is INCONCLUSIVE (not a
regression; run longer to tell). Summaries written before rows carried intervals fall back to
the deprecated ``min_requests`` rule: rows with fewer requests in either run are not judged.

This module must not import Locust (see :mod:`hive_resilience.loadrun.scenario`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from hive_resilience.loadrun.capacity import (
    CAPACITY_FILE,
    CapacityError,
    CapacityResult,
    read_capacity,
)
from hive_resilience.loadrun.metrics import MetricSpec, compared_metrics, metric
from hive_resilience.loadrun.scenario import RegressionBudgets
from hive_resilience.loadrun.summary import (
    SUMMARY_FILE,
    RequestRow,
    RunSummary,
    SummaryError,
    read_summary,
)

COMPARISON_JSON = "comparison.json"
COMPARISON_MD = "comparison.md"
MISSING_REQUEST_METRIC = "requests"

Verdict = Literal["OK", "REGRESSION", "INCONCLUSIVE", "n/a"]


class CompareError(ValueError):
    """A run folder that cannot be compared; the message names the file."""


@dataclass(frozen=True)
class Check:
    """One metric of one request: baseline, new value, change, the budget and the verdict."""

    request: str
    metric: str
    baseline: float | None
    new: float | None
    change: float | None
    """Percent of the baseline, or percentage points for ``error_ratio``; None when not comparable."""
    budget: float | None
    verdict: Verdict
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    baseline_run: Path
    new_run: Path
    budgets: RegressionBudgets
    checks: tuple[Check, ...]
    budgets_file: str = SUMMARY_FILE
    """The new run's file the budgets come from (``capacity.json`` for two capacity searches)."""

    @property
    def regressions(self) -> int:
        return sum(check.verdict == "REGRESSION" for check in self.checks)

    def to_dict(self) -> dict:
        return {
            "baseline_run": str(self.baseline_run),
            "new_run": str(self.new_run),
            "budgets": self.budgets.model_dump(),
            "checks": [asdict(check) for check in self.checks],
            "regressions": self.regressions,
            "passed": self.regressions == 0,
        }


def describe_budgets(budgets: RegressionBudgets) -> str:
    allowances = [f"{spec.label} {_worse_sign(spec)}{budgets.allowance(spec):g}"
                  f"{' points' if spec.budget.in_points else ' %'}" for spec in compared_metrics()]
    fallback = f"(summaries without intervals: rows with {budgets.min_requests}+ requests)"
    return ", ".join([*allowances, f"judged by their 95 % intervals {fallback}"])


def _worse_sign(spec: MetricSpec) -> str:
    return "-" if spec.better == "higher" else "+"


def load_summary(run_dir: Path) -> RunSummary:
    """The summary of one run folder; raises CompareError naming the file when it cannot be read."""
    if not run_dir.is_dir():
        raise CompareError(f"{run_dir}: no such run folder")
    path = run_dir / SUMMARY_FILE
    if not path.is_file():
        raise CompareError(f"{path}: missing; is {run_dir} a hive-resilience run folder?")
    try:
        return read_summary(path)
    except SummaryError as error:
        raise CompareError(str(error)) from None


def compare_runs(baseline_run: Path, new_run: Path) -> Comparison:
    """Every metric of every baseline request against the new run, judged by the new run's budgets;
    for two capacity searches, their knees."""
    capacity = [(run / CAPACITY_FILE).is_file() for run in (baseline_run, new_run)]
    if any(capacity):
        if not all(capacity):
            raise CompareError(f"{baseline_run if capacity[0] else new_run} is a capacity search and the other a "
                               "load run: compare a capacity search with a capacity search")
        return compare_capacity(baseline_run, new_run)
    baseline, new = load_summary(baseline_run), load_summary(new_run)
    return Comparison(baseline_run, new_run, new.regression_budgets, _checks(baseline, new))


CAPACITY_KNEE = "capacity knee"
"""The one row of a capacity comparison: the knee as a rate, judged like ``rps`` with its spread as the interval."""


def compare_capacity(baseline_run: Path, new_run: Path) -> Comparison:
    """The new search's knee against the baseline's: lower by more than ``rps_drop_percent`` is a
    regression, and only INCONCLUSIVE while the repeats' spreads overlap that budget."""
    try:
        baseline, new = read_capacity(baseline_run / CAPACITY_FILE), read_capacity(new_run / CAPACITY_FILE)
    except CapacityError as error:
        raise CompareError(str(error)) from None
    rps = metric("rps")
    budgets = new.regression_budgets
    check = _check(rps, _knee_row(baseline), _knee_row(new), budgets.allowance(rps), budgets.min_requests)
    return Comparison(baseline_run, new_run, budgets, (check,), CAPACITY_FILE)


def _knee_row(result: CapacityResult) -> RequestRow:
    low, high = result.knee_spread_per_s or (0.0, 0.0)
    return RequestRow(name=CAPACITY_KNEE, requests=len(result.repeats), failures=0,
                      rps=result.knee_rate_per_s or 0.0, intervals={"rps": (low, high)})


def _checks(baseline: RunSummary, new: RunSummary) -> tuple[Check, ...]:
    budgets = new.regression_budgets
    new_rows = {row.name: row for row in new.requests}
    checks: list[Check] = []
    for row in baseline.requests:
        if row.name not in new_rows:
            checks.append(Check(row.name, MISSING_REQUEST_METRIC, row.requests, 0, None, None, "REGRESSION",
                                "missing from the new run"))
            continue
        checks += [_check(spec, row, new_rows[row.name], budgets.allowance(spec), budgets.min_requests)
                   for spec in compared_metrics()]
    return tuple(checks)


def _check(spec: MetricSpec, baseline: RequestRow, new: RequestRow, budget: float, min_requests: int) -> Check:
    before, after = baseline.figure(spec.name), new.figure(spec.name)
    intervals = (baseline.intervals.get(spec.name), new.intervals.get(spec.name))
    if None in intervals and min(baseline.requests, new.requests) < min_requests:
        # A summary written before it recorded this interval: the deprecated flat rule.
        return Check(baseline.name, spec.name, before, after, None, budget, "n/a", f"fewer than {min_requests} requests")
    change = _change(spec, before, after)
    if change is None:
        return Check(baseline.name, spec.name, before, after, None, budget, "n/a", "not measured in both runs")
    if not _over_budget(spec, change, budget):
        return Check(baseline.name, spec.name, before, after, change, budget, "OK")
    if None in intervals:
        return Check(baseline.name, spec.name, before, after, change, budget, "REGRESSION")
    if _over_budget(spec, _change(spec, *_facing_bounds(spec, *intervals)), budget):
        return Check(baseline.name, spec.name, before, after, change, budget, "REGRESSION")
    return Check(baseline.name, spec.name, before, after, change, budget, "INCONCLUSIVE",
                 "over budget, but the 95 % intervals overlap it: run longer to tell")


def _over_budget(spec: MetricSpec, change: float | None, budget: float) -> bool:
    if change is None:
        return False
    worsening = -change if spec.better == "higher" else change
    # Rounded so a change exactly at the budget is within it despite float noise.
    return round(worsening, 9) > budget


def _facing_bounds(spec: MetricSpec, baseline: tuple[float, float | None],
                   new: tuple[float, float | None]) -> tuple[float | None, float | None]:
    """The baseline's least favourable bound and the new run's most favourable one: the smallest
    worsening both intervals allow (an unbounded side allows none)."""
    if spec.better == "lower":
        return baseline[1], new[0]
    return baseline[0], new[1]


def _change(spec: MetricSpec, before: float | None, after: float | None) -> float | None:
    if before is None or after is None:
        return None
    if spec.budget.in_points:
        return (after - before) * 100
    if before == 0:
        return None
    return (after - before) / before * 100


HEADERS = ("request", "metric", "baseline", "new", "change", "budget", "verdict")


def table_rows(comparison: Comparison) -> list[tuple[str, ...]]:
    """The cells of every check, formatted once for both the console and the Markdown table."""
    return [_cells(check) for check in comparison.checks]


def _cells(check: Check) -> tuple[str, ...]:
    spec = next((spec for spec in compared_metrics() if spec.name == check.metric), None)
    if spec is None:  # a missing request
        return (check.request, check.metric, f"{check.baseline:g}", f"{check.new:g}", check.note, "-", check.verdict)
    unit = " pt" if spec.budget.in_points else " %"
    change = check.note if check.change is None else f"{check.change:+.1f}{unit}"
    return (check.request, check.metric, _value(spec, check.baseline), _value(spec, check.new), change,
            f"{_worse_sign(spec)}{check.budget:g}{unit}", check.verdict)


def _value(spec: MetricSpec, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.2f} %" if spec.budget.in_points else f"{value:.4g}"


def result_line(comparison: Comparison) -> str:
    if comparison.regressions:
        return (f"RESULT: REGRESSION - {comparison.regressions} of {len(comparison.checks)} checks over budget "
                f"({comparison.new_run} against {comparison.baseline_run})")
    undecided = sum(check.verdict == "INCONCLUSIVE" for check in comparison.checks)
    inconclusive = f", {undecided} inconclusive (run longer to tell)" if undecided else ""
    return (f"RESULT: OK - {len(comparison.checks)} checks within budget{inconclusive} "
            f"({comparison.new_run} against {comparison.baseline_run})")


def render_text(comparison: Comparison) -> str:
    """The aligned console table, with the budgets it was judged by and the result."""
    rows = [HEADERS, *table_rows(comparison)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADERS))]
    lines = [f"budgets (from {comparison.new_run / comparison.budgets_file}): {describe_budgets(comparison.budgets)}"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.append(result_line(comparison))
    return "\n".join(lines)


def render_markdown(comparison: Comparison) -> str:
    lines = [
        f"# Comparison: {comparison.new_run} against {comparison.baseline_run}",
        "",
        f"Budgets (from the new run's {comparison.budgets_file}): {describe_budgets(comparison.budgets)}.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
        *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table_rows(comparison)),
        "",
        f"**{result_line(comparison)}**",
        "",
    ]
    return "\n".join(lines)


def write_comparison(comparison: Comparison) -> tuple[Path, Path]:
    """``comparison.json`` and ``comparison.md`` in the new run's folder; nothing else is touched."""
    json_path, md_path = comparison.new_run / COMPARISON_JSON, comparison.new_run / COMPARISON_MD
    try:
        json_path.write_text(json.dumps(comparison.to_dict(), indent=2, default=str))
        md_path.write_text(render_markdown(comparison))
    except OSError as error:
        raise CompareError(f"{error.filename}: cannot be written: {error.strerror}") from None
    return json_path, md_path
