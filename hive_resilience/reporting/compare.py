"""``hive-resilience compare``: is a new run worse than its baseline by more than its budgets allow?

Each request name present in both runs (``Aggregated`` included) is compared on throughput,
p95, p99 and error ratio; a request the new run never made is a regression, since a broken
route must not pass for a faster one. The budgets are the new run's, as its ``summary.json``
records them from the scenario (``regression_budgets``): the run being judged carries the
promise it is judged by. Improvements are never flagged, however large.

This module must not import Locust (see :mod:`hive_resilience.loadrun.scenario`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hive_resilience.loadrun.scenario import RegressionBudgets
from hive_resilience.loadrun.summary import SUMMARY_FILE

COMPARISON_JSON = "comparison.json"
COMPARISON_MD = "comparison.md"
MISSING_REQUEST_METRIC = "requests"

Verdict = Literal["OK", "REGRESSION", "n/a"]


class CompareError(ValueError):
    """A run folder that cannot be compared; the message names the file."""


@dataclass(frozen=True)
class Rule:
    """One compared metric: which budget bounds it, and which direction is worse."""

    metric: str
    budget: str
    worse_when: Literal["lower", "higher"]
    in_points: bool
    """The change is in percentage points of a ratio rather than in percent of the baseline."""


RULES: tuple[Rule, ...] = (
    Rule("rps", "rps_drop_percent", "lower", in_points=False),
    Rule("p95_ms", "p95_ms_increase_percent", "higher", in_points=False),
    Rule("p99_ms", "p99_ms_increase_percent", "higher", in_points=False),
    Rule("error_ratio", "error_ratio_increase_points", "higher", in_points=True),
)


class RequestFigures(BaseModel):
    """The part of a ``summary.json`` request row the comparison reads."""

    model_config = ConfigDict(extra="ignore")

    name: str
    requests: int
    rps: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    error_ratio: float | None = None


class RunFigures(BaseModel):
    """The part of a ``summary.json`` the comparison reads."""

    model_config = ConfigDict(extra="ignore")

    requests: list[RequestFigures]
    # Summaries written before budgets were recorded are judged by the defaults.
    regression_budgets: RegressionBudgets = Field(default_factory=RegressionBudgets)


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
    return (f"rps -{budgets.rps_drop_percent:g} %, p95 +{budgets.p95_ms_increase_percent:g} %, "
            f"p99 +{budgets.p99_ms_increase_percent:g} %, error ratio +{budgets.error_ratio_increase_points:g} points, "
            f"rows with {budgets.min_requests}+ requests")


def load_summary(run_dir: Path) -> RunFigures:
    """The figures of one run folder; raises CompareError naming the file when they cannot be read."""
    if not run_dir.is_dir():
        raise CompareError(f"{run_dir}: no such run folder")
    path = run_dir / SUMMARY_FILE
    if not path.is_file():
        raise CompareError(f"{path}: missing; is {run_dir} a hive-resilience run folder?")
    try:
        return RunFigures.model_validate(json.loads(path.read_text()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CompareError(f"{path}: cannot be read as JSON: {error}") from None
    except ValidationError as error:
        problem = error.errors()[0]
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        raise CompareError(f"{path}: not a run summary: key {key!r}: {problem['msg']}") from None


def compare_runs(baseline_run: Path, new_run: Path) -> Comparison:
    """Every metric of every baseline request against the new run, judged by the new run's budgets."""
    baseline, new = load_summary(baseline_run), load_summary(new_run)
    return Comparison(baseline_run, new_run, new.regression_budgets, _checks(baseline, new))


def _checks(baseline: RunFigures, new: RunFigures) -> tuple[Check, ...]:
    budgets = new.regression_budgets
    new_rows = {row.name: row for row in new.requests}
    checks: list[Check] = []
    for row in baseline.requests:
        if row.name not in new_rows:
            checks.append(Check(row.name, MISSING_REQUEST_METRIC, row.requests, 0, None, None, "REGRESSION",
                                "missing from the new run"))
            continue
        new_row = new_rows[row.name]
        if min(row.requests, new_row.requests) < budgets.min_requests:
            note = f"fewer than {budgets.min_requests} requests"
            checks += [Check(row.name, rule.metric, getattr(row, rule.metric), getattr(new_row, rule.metric), None,
                             getattr(budgets, rule.budget), "n/a", note) for rule in RULES]
            continue
        checks += [_check(rule, row, new_row, getattr(budgets, rule.budget)) for rule in RULES]
    return tuple(checks)


def _check(rule: Rule, baseline: RequestFigures, new: RequestFigures, budget: float) -> Check:
    before, after = getattr(baseline, rule.metric), getattr(new, rule.metric)
    change = _change(rule, before, after)
    if change is None:
        return Check(baseline.name, rule.metric, before, after, None, budget, "n/a", "not measured in both runs")
    worsening = -change if rule.worse_when == "lower" else change
    # Rounded so a change exactly at the budget is within it despite float noise.
    verdict: Verdict = "REGRESSION" if round(worsening, 9) > budget else "OK"
    return Check(baseline.name, rule.metric, before, after, change, budget, verdict)


def _change(rule: Rule, before: float | None, after: float | None) -> float | None:
    if before is None or after is None:
        return None
    if rule.in_points:
        return (after - before) * 100
    if before == 0:
        return None
    return (after - before) / before * 100


HEADERS = ("request", "metric", "baseline", "new", "change", "budget", "verdict")


def table_rows(comparison: Comparison) -> list[tuple[str, ...]]:
    """The cells of every check, formatted once for both the console and the Markdown table."""
    return [_cells(check) for check in comparison.checks]


def _cells(check: Check) -> tuple[str, ...]:
    rule = next((rule for rule in RULES if rule.metric == check.metric), None)
    if rule is None:  # a missing request
        return (check.request, check.metric, f"{check.baseline:g}", f"{check.new:g}", check.note, "-", check.verdict)
    unit = " pt" if rule.in_points else " %"
    sign = "-" if rule.worse_when == "lower" else "+"
    change = check.note if check.change is None else f"{check.change:+.1f}{unit}"
    return (check.request, check.metric, _value(rule, check.baseline), _value(rule, check.new), change,
            f"{sign}{check.budget:g}{unit}", check.verdict)


def _value(rule: Rule, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.2f} %" if rule.in_points else f"{value:.4g}"


def result_line(comparison: Comparison) -> str:
    if comparison.regressions:
        return (f"RESULT: REGRESSION - {comparison.regressions} of {len(comparison.checks)} checks over budget "
                f"({comparison.new_run} against {comparison.baseline_run})")
    return f"RESULT: OK - {len(comparison.checks)} checks within budget ({comparison.new_run} against {comparison.baseline_run})"


def render_text(comparison: Comparison) -> str:
    """The aligned console table, with the budgets it was judged by and the result."""
    rows = [HEADERS, *table_rows(comparison)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADERS))]
    lines = [f"budgets (from {comparison.new_run / SUMMARY_FILE}): {describe_budgets(comparison.budgets)}"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.append(result_line(comparison))
    return "\n".join(lines)


def render_markdown(comparison: Comparison) -> str:
    lines = [
        f"# Comparison: {comparison.new_run} against {comparison.baseline_run}",
        "",
        f"Budgets (from the new run's {SUMMARY_FILE}): {describe_budgets(comparison.budgets)}.",
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
