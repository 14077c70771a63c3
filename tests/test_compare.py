"""`hive-resilience compare`: a new run against a baseline, within the new run's regression budgets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hive_resilience.loadrun.metrics import compared_metrics
from hive_resilience.loadrun.scenario import (
    RegressionBudgets,
    ScenarioError,
    load_scenario,
)
from hive_resilience.reporting.compare import (
    COMPARISON_JSON,
    COMPARISON_MD,
    compare_runs,
)

HEALTH = "GET /api/health"
BASE_ROW = {"requests": 1000, "failures": 10, "error_ratio": 0.01, "rps": 100.0, "p50_ms": 50.0, "p90_ms": 150.0,
            "p95_ms": 200.0, "p99_ms": 400.0, "max_ms": 900.0}
COMPARED = {spec.name for spec in compared_metrics()}


def write_run(folder: Path, changes: dict[str, dict] | None = None, budgets: dict | None = None,
              names: tuple[str, ...] = (HEALTH, "Aggregated")) -> Path:
    """A run folder with a synthetic summary.json: every request at BASE_ROW unless ``changes`` says otherwise."""
    folder.mkdir(parents=True)
    rows = [{"name": name, **BASE_ROW, **(changes or {}).get(name, {})} for name in names]
    summary = {"schema_version": 2, "scenario": {"name": "synthetic"}, "duration_s": 10.0, "requests": rows,
               "slos": [], "passed": True, "report_dir": str(folder)}
    if budgets is not None:
        summary["regression_budgets"] = budgets
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def verdicts(comparison) -> dict[tuple[str, str], str]:
    return {(check.request, check.metric): check.verdict for check in comparison.checks}


def regressions(comparison) -> set[tuple[str, str]]:
    return {key for key, verdict in verdicts(comparison).items() if verdict == "REGRESSION"}


def run_compare(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hive_resilience.cli", "compare", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd)


def test_identical_runs_are_within_budget_on_every_metric_of_every_request(tmp_path):
    comparison = compare_runs(write_run(tmp_path / "base"), write_run(tmp_path / "new"))
    assert set(verdicts(comparison)) == {(name, metric) for name in (HEALTH, "Aggregated") for metric in COMPARED}
    assert COMPARED == {"rps", "error_ratio", "p90_ms", "p95_ms", "p99_ms"}
    assert set(verdicts(comparison).values()) == {"OK"} and comparison.regressions == 0


@pytest.mark.parametrize(
    ("metric", "worse"),
    [("rps", 89.0), ("p90_ms", 174.0), ("p95_ms", 232.0), ("p99_ms", 484.0), ("error_ratio", 0.0161)],
    ids=["throughput -11 %", "p90 +16 %", "p95 +16 %", "p99 +21 %", "errors +0.61 points"],
)
def test_each_default_budget_breached_alone_is_the_only_regression(tmp_path, metric, worse):
    comparison = compare_runs(write_run(tmp_path / "base"), write_run(tmp_path / "new", {HEALTH: {metric: worse}}))
    assert regressions(comparison) == {(HEALTH, metric)}


@pytest.mark.parametrize(
    ("metric", "at_budget"),
    [("rps", 90.0), ("p90_ms", 172.5), ("p95_ms", 230.0), ("p99_ms", 480.0), ("error_ratio", 0.015)],
    ids=["throughput -10 %", "p90 +15 %", "p95 +15 %", "p99 +20 %", "errors +0.5 points"],
)
def test_a_change_exactly_at_the_budget_is_within_it(tmp_path, metric, at_budget):
    comparison = compare_runs(write_run(tmp_path / "base"), write_run(tmp_path / "new", {HEALTH: {metric: at_budget}}))
    assert comparison.regressions == 0


def test_improvements_are_never_flagged_however_large(tmp_path):
    better = {"rps": 1000.0, "p90_ms": 1.0, "p95_ms": 2.0, "p99_ms": 4.0, "error_ratio": 0.0}
    comparison = compare_runs(write_run(tmp_path / "base"),
                              write_run(tmp_path / "new", {HEALTH: better, "Aggregated": better}))
    assert comparison.regressions == 0


def test_error_budget_is_in_points_not_relative_to_a_tiny_baseline(tmp_path):
    # 0.01 % -> 0.3 % is thirty times the baseline but only +0.29 points: within 0.5 points.
    comparison = compare_runs(write_run(tmp_path / "base", {HEALTH: {"error_ratio": 0.0001}}),
                              write_run(tmp_path / "new", {HEALTH: {"error_ratio": 0.003}}))
    assert comparison.regressions == 0


def test_a_request_missing_from_the_new_run_is_a_regression(tmp_path):
    comparison = compare_runs(write_run(tmp_path / "base", names=(HEALTH, "POST /api/sessions", "Aggregated")),
                              write_run(tmp_path / "new"))
    assert regressions(comparison) == {("POST /api/sessions", "requests")}
    missing = next(check for check in comparison.checks if check.request == "POST /api/sessions")
    assert (missing.baseline, missing.new, missing.note) == (1000, 0, "missing from the new run")


def test_a_request_only_in_the_new_run_is_not_compared(tmp_path):
    comparison = compare_runs(write_run(tmp_path / "base"),
                              write_run(tmp_path / "new", names=(HEALTH, "DELETE /api/sessions/[id]", "Aggregated")))
    assert {check.request for check in comparison.checks} == {HEALTH, "Aggregated"}


def test_the_new_runs_budgets_judge_not_the_baselines(tmp_path):
    strict, loose = {"p95_ms_increase_percent": 5}, {"p95_ms_increase_percent": 50}
    slower = {HEALTH: {"p95_ms": 220.0}}  # +10 %
    assert regressions(compare_runs(write_run(tmp_path / "b1", budgets=loose),
                                    write_run(tmp_path / "n1", slower, budgets=strict))) == {(HEALTH, "p95_ms")}
    assert compare_runs(write_run(tmp_path / "b2", budgets=strict),
                        write_run(tmp_path / "n2", slower, budgets=loose)).regressions == 0


def test_a_summary_without_recorded_budgets_is_judged_by_the_defaults(tmp_path):
    comparison = compare_runs(write_run(tmp_path / "base"), write_run(tmp_path / "new"))
    assert comparison.budgets == RegressionBudgets(rps_drop_percent=10, p90_ms_increase_percent=15,
                                                   p95_ms_increase_percent=15, p99_ms_increase_percent=20,
                                                   error_ratio_increase_points=0.5)


def test_scenario_budgets_are_optional_and_override_the_defaults_key_by_key(write_scenario):
    path = write_scenario("users: 1\nspawn_rate: 1\nduration: 5s\nregression_budgets: {p99_ms_increase_percent: 40}\n")
    assert load_scenario(str(path)).regression_budgets == RegressionBudgets(p99_ms_increase_percent=40)
    assert load_scenario("smoke").regression_budgets == RegressionBudgets()


@pytest.mark.parametrize(
    ("budgets", "expected"),
    [("{p95_increase: 3}", "unknown key 'regression_budgets.p95_increase'; allowed here: rps_drop_percent"),
     ("{rps_drop_percent: -3}", "key 'regression_budgets.rps_drop_percent': Input should be greater than or equal to 0")],
)
def test_bad_scenario_budgets_name_the_file_and_key(write_scenario, budgets, expected):
    path = write_scenario(f"users: 1\nspawn_rate: 1\nduration: 5s\nregression_budgets: {budgets}\n")
    with pytest.raises(ScenarioError, match=str(path)) as error:
        load_scenario(str(path))
    assert expected in str(error.value)


def test_cli_within_budget_exits_0_and_writes_only_its_two_files_into_the_new_run(tmp_path):
    base, new = write_run(tmp_path / "base"), write_run(tmp_path / "new")
    result = run_compare(str(base), str(new), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in new.iterdir()) == sorted([COMPARISON_JSON, COMPARISON_MD, "summary.json"])
    assert [path.name for path in base.iterdir()] == ["summary.json"]
    assert json.loads((new / COMPARISON_JSON).read_text())["passed"] is True
    assert "RESULT: OK" in result.stdout


def test_cli_regression_exits_1_with_the_row_flagged_in_table_and_markdown(tmp_path):
    base, new = write_run(tmp_path / "base"), write_run(tmp_path / "new", {HEALTH: {"p99_ms": 600.0}})
    result = run_compare(str(base), str(new), cwd=tmp_path)
    assert result.returncode == 1
    flagged = [line.split() for line in result.stdout.splitlines() if line.endswith("REGRESSION")]
    assert flagged == [["GET", "/api/health", "p99_ms", "400", "600", "+50.0", "%", "+20", "%", "REGRESSION"]]
    assert "| GET /api/health | p99_ms | 400 | 600 | +50.0 % | +20 % | REGRESSION |" in (new / COMPARISON_MD).read_text()
    assert json.loads((new / COMPARISON_JSON).read_text())["regressions"] == 1


def test_cli_table_columns_are_aligned(tmp_path):
    result = run_compare(str(write_run(tmp_path / "base")), str(write_run(tmp_path / "new")), cwd=tmp_path)
    table = [line for line in result.stdout.splitlines() if line.startswith(("request ", HEALTH, "Aggregated"))]
    assert len(table) == 1 + 2 * len(COMPARED)
    assert len({line.rindex(" ") for line in table}) == 1  # the verdict column starts at the same place


@pytest.mark.parametrize(
    ("make_folder", "summary_text", "expected"),
    [
        (False, None, "new: no such run folder"),
        (True, None, "new/summary.json: missing"),
        (True, "{not json", "new/summary.json: cannot be read as JSON"),
        (True, '{"scenario": {"name": "x"}, "duration_s": 1, "requests": 3}',
         "new/summary.json: not a run summary: key 'requests'"),
    ],
    ids=["missing folder", "missing summary.json", "invalid JSON", "not a summary"],
)
def test_cli_bad_input_is_one_line_naming_the_file_and_exit_code_2(tmp_path, make_folder, summary_text, expected):
    new = tmp_path / "new"
    if make_folder:
        new.mkdir()
    if summary_text is not None:
        (new / "summary.json").write_text(summary_text)
    result = run_compare(str(write_run(tmp_path / "base")), str(new), cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr and result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr + result.stdout
    assert not (new / COMPARISON_JSON).exists()


def test_cli_help_explains_budgets_and_exit_codes(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hive_resilience.cli", "compare", "--help"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    text = " ".join(result.stdout.split())
    assert result.returncode == 0
    assert "rps -10 %, error ratio +0.5 points, p90 +15 %, p95 +15 %, p99 +20 %" in text and "2 on bad input" in text


def test_rows_with_too_few_requests_are_not_judged_but_the_aggregate_is(tmp_path):
    few = {HEALTH: {"requests": 4, "p95_ms": 900.0}}
    comparison = compare_runs(write_run(tmp_path / "base", few), write_run(tmp_path / "new", {HEALTH: {"requests": 4}}))
    assert {verdicts(comparison)[(HEALTH, metric)] for metric in COMPARED} == {"n/a"}
    assert verdicts(comparison)[("Aggregated", "p95_ms")] == "OK"


def test_the_minimum_request_count_comes_from_the_new_runs_budgets(tmp_path):
    slower = {HEALTH: {"requests": 20, "p95_ms": 400.0}}
    comparison = compare_runs(write_run(tmp_path / "base", {HEALTH: {"requests": 20}}),
                              write_run(tmp_path / "new", slower, budgets={"min_requests": 10}))
    assert regressions(comparison) == {(HEALTH, "p95_ms")}
