"""The ``summary.json`` format: one typed schema, versioned, and old summaries still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hive_resilience.loadrun.latency import LatencyBook
from hive_resilience.loadrun.scenario import RegressionBudgets, Slo
from hive_resilience.loadrun.slo import evaluate_request_slos
from hive_resilience.loadrun.summary import (
    SCHEMA_VERSION,
    SUMMARY_FILE,
    RunSummary,
    SummaryError,
    read_summary,
    request_rows,
    verdict_lines,
    write_summary,
)
from hive_resilience.reporting.compare import compare_runs
from hive_resilience.reporting.html_report import write_report


def old_row(name: str) -> dict:
    return {"name": name, "requests": 600, "failures": 0, "error_ratio": 0.0, "rps": 19.7, "p50_ms": 3.1,
            "p95_ms": 8.2, "p99_ms": 12.0, "max_ms": 15.3}


# As the first release wrote it (commit e3c92bc): no schema_version, workers, regression_budgets or p90_ms.
UNVERSIONED_SUMMARY = {
    "scenario": {"name": "smoke", "description": "Health and sessions", "duration_s": 30.0, "compressed_from_s": None,
                 "stages": [{"duration_s": 30.0, "users": 2, "spawn_rate": 1.0}]},
    "targets": {"HiveApiUser": "http://127.0.0.1:8787"},
    "embedded_target": True,
    "started_at": 1764197000.0,
    "ended_at": 1764197030.5,
    "duration_s": 30.5,
    "requests": [old_row("GET /api/health"), old_row("Aggregated")],
    "generator": {"cpu_percent_mean": 12.0, "cpu_percent_max": 20.0, "samples": 14, "saturated": False},
    "resources": {"figures": {"rss_mb": 512.0, "rss_growth_mb_per_hour": 3.0, "rss_growth_kb_per_session": None},
                  "components": {"hive": {"rss_mb_peak": 400.0, "cpu_percent_mean": 5.0, "cpu_percent_peak": 30.0}},
                  "sessions_created": 0, "samples_csv": "reports/20261126T232445Z-smoke/resources.csv"},
    "slos": [{"label": "p99_ms <= 2000 (Aggregated)", "metric": "p99_ms", "request": "Aggregated", "threshold": 2000,
              "bound": "max", "measured": 12.0, "status": "pass", "detail": ""}],
    "warnings": [],
    "passed": True,
    "report_dir": "reports/20261126T232445Z-smoke",
}


def run_folder(folder: Path, summary: dict | RunSummary) -> Path:
    folder.mkdir(parents=True)
    if isinstance(summary, RunSummary):
        write_summary(folder, summary)
    else:
        (folder / SUMMARY_FILE).write_text(json.dumps(summary))
    return folder


def current_summary(report_dir: str) -> RunSummary:
    book = LatencyBook()
    for value in range(1, 601):
        book.record("GET", "/api/health", value / 50, False)
    return RunSummary(scenario={"name": "smoke"}, duration_s=30.5, requests=request_rows(book, 30.5),
                      slos=evaluate_request_slos((Slo(metric="p99_ms", max=2000),), book, 30.5), passed=True,
                      report_dir=report_dir)


def test_a_written_summary_carries_the_current_schema_version_and_reads_back_equal(tmp_path):
    summary = current_summary(str(tmp_path))
    path = write_summary(tmp_path, summary)
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    assert read_summary(path) == summary


def test_a_summary_written_before_the_schema_was_versioned_still_loads(tmp_path):
    summary = read_summary(run_folder(tmp_path / "old", UNVERSIONED_SUMMARY) / SUMMARY_FILE)
    assert summary.schema_version == 1
    assert summary.regression_budgets == RegressionBudgets() and summary.workers == {}
    assert summary.requests[0].figure("p99_ms") == 12.0 and summary.requests[0].figure("p90_ms") is None
    assert summary.slos[0].line().startswith("PASS")


def test_an_old_baseline_is_compared_on_what_it_measured_and_p90_is_not_judged(tmp_path):
    old = run_folder(tmp_path / "old", UNVERSIONED_SUMMARY)
    new = run_folder(tmp_path / "new", {**UNVERSIONED_SUMMARY, "schema_version": SCHEMA_VERSION,
                                        "requests": [{**old_row(name), "p90_ms": 7.0} for name in ("GET /api/health", "Aggregated")]})
    checks = {(check.request, check.metric): check for check in compare_runs(old, new).checks}
    assert checks[("Aggregated", "p90_ms")].verdict == "n/a"
    assert checks[("Aggregated", "p90_ms")].note == "not measured in both runs"
    assert {check.verdict for key, check in checks.items() if key[1] != "p90_ms"} == {"OK"}


def test_an_old_summary_is_in_the_html_report(tmp_path):
    page = write_report([run_folder(tmp_path / "old", UNVERSIONED_SUMMARY)], tmp_path / "out").read_text()
    assert "<td>GET /api/health</td><td>600</td><td>19.7</td><td>0.000</td><td>-</td><td>3</td><td>-</td><td>8</td>" in page


def test_a_summary_from_a_newer_version_is_refused_naming_the_file(tmp_path):
    folder = run_folder(tmp_path / "future", {**UNVERSIONED_SUMMARY, "schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(SummaryError, match=rf"future/summary.json: summary format {SCHEMA_VERSION + 1} is newer"):
        read_summary(folder / SUMMARY_FILE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("{not json", "cannot be read as JSON"), ("[]", "not a run summary: key '(top level)'"),
     (json.dumps({**UNVERSIONED_SUMMARY, "slos": [{"label": "x"}]}), "not a run summary: key 'slos.0.metric'")],
    ids=["invalid JSON", "not an object", "a verdict without its fields"],
)
def test_a_file_that_is_not_a_summary_is_one_error_naming_the_file_and_key(tmp_path, text, expected):
    path = tmp_path / SUMMARY_FILE
    path.write_text(text)
    with pytest.raises(SummaryError, match=str(path)) as error:
        read_summary(path)
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_a_summary_cannot_say_passed_for_a_run_that_did_not_complete(tmp_path):
    fields = current_summary(str(tmp_path)).model_dump()
    with pytest.raises(ValueError, match="cannot have passed"):
        RunSummary.model_validate({**fields, "completed": False, "incomplete_reason": "interrupted", "passed": True})


def test_a_summary_written_before_completion_was_recorded_loads_as_complete(tmp_path):
    summary = read_summary(run_folder(tmp_path / "old", UNVERSIONED_SUMMARY) / SUMMARY_FILE)
    assert summary.completed and summary.incomplete_reason is None


def test_an_incomplete_run_says_why_on_the_console_and_fails(tmp_path):
    fields = current_summary(str(tmp_path)).model_dump()
    summary = RunSummary.model_validate({**fields, "completed": False, "incomplete_reason": "interrupted (Ctrl-C)",
                                         "passed": False})
    lines = verdict_lines(summary)
    assert "INCOMPLETE: interrupted (Ctrl-C)" in lines and lines[-1].startswith("RESULT: FAIL")
