"""The metric table: one entry makes a metric gateable, recorded, compared and reported."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from hive_resilience.loadrun.latency import LatencyBook
from hive_resilience.loadrun.metrics import (
    METRICS,
    compared_metrics,
    metric,
    request_metrics,
)
from hive_resilience.loadrun.scenario import (
    RegressionBudgets,
    ScenarioError,
    Slo,
    load_scenario,
)
from hive_resilience.loadrun.slo import evaluate_request_slos
from hive_resilience.loadrun.summary import request_rows

# Run in a fresh interpreter: the scenario model, the summary rows and the budgets are built
# from the table when their modules are imported, so the entry must be there before that.
ADD_P75_AND_USE_IT = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    from hive_resilience.loadrun import metrics

    metrics.METRICS = (*metrics.METRICS, metrics.MetricSpec(
        "p75_ms", "p75", "ms", "lower", "request",
        lambda tally, _duration_s: tally.percentile_ms(75) if tally else None,
        budget=metrics.Budget(12.0), display=".0f", promise="p75 under 50 ms"))

    from hive_resilience.loadrun.latency import LatencyBook
    from hive_resilience.loadrun.scenario import RegressionBudgets, Slo
    from hive_resilience.loadrun.slo import evaluate_request_slos
    from hive_resilience.loadrun.summary import RunSummary, read_summary, request_rows, write_summary
    from hive_resilience.reporting.compare import compare_runs, describe_budgets
    from hive_resilience.reporting.html_report import write_report

    def run(folder, slowdown):
        book = LatencyBook()
        for value in range(1, 101):
            book.record("GET", "/api/health", value * slowdown, False)
        verdicts = evaluate_request_slos((Slo(metric="p75_ms", max=50),), book, 10.0)
        Path(folder).mkdir()
        write_summary(folder, RunSummary(scenario={"name": "p75"}, duration_s=10.0, requests=request_rows(book, 10.0),
                                         slos=verdicts, passed=False, report_dir=folder))
        return verdicts[0]

    verdict = run("base", 1)
    run("new", 2)
    comparison = compare_runs(Path("base"), Path("new"))
    page = write_report([Path("base")], Path("out")).read_text()
    print(json.dumps({
        "gate": [verdict.measured, verdict.status],
        "row": read_summary(Path("new/summary.json")).requests[-1].figure("p75_ms"),
        "checks": {check.metric: check.verdict for check in comparison.checks if check.request == "Aggregated"},
        "budgets": describe_budgets(RegressionBudgets(p75_ms_increase_percent=30)),
        "promise": page.split("p75 under 50 ms</td><td>")[1].split("<")[0],
        "column": "<th>p75 <small>ms</small></th>" in page,
    }))
''')


def test_a_metric_added_to_the_table_alone_is_gated_recorded_compared_and_reported(tmp_path):
    result = subprocess.run([sys.executable, "-c", ADD_P75_AND_USE_IT], check=False, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["gate"] == [pytest.approx(75, rel=1e-3), "fail"]  # HDR histograms keep three digits
    assert seen["row"] == pytest.approx(150, rel=1e-3)
    assert seen["checks"]["p75_ms"] == "REGRESSION"
    assert "p75 +30 %" in seen["budgets"]
    assert seen["promise"] == "broken"
    assert seen["column"]


def test_the_summary_rows_hold_every_request_metric_measured_as_the_gate_measures_it():
    book = LatencyBook()
    for value in range(1, 201):
        book.record("GET", "/api/health", float(value), value % 10 == 0)
    (health, _aggregated) = request_rows(book, 20.0)
    for spec in (spec for spec in request_metrics() if spec.applies_to("GET /api/health")):
        (verdict,) = evaluate_request_slos((Slo(metric=spec.name, request="GET /api/health", max=1e12),), book, 20.0)
        assert health.figure(spec.name) == verdict.measured, spec.name


def test_p90_is_recorded_in_the_summary_and_compared():
    book = LatencyBook()
    for value in range(1, 101):
        book.record("GET", "/api/health", float(value), False)
    assert request_rows(book, 10.0)[0].figure("p90_ms") == pytest.approx(90, rel=1e-3)
    assert "p90_ms" in {spec.name for spec in compared_metrics()}
    assert RegressionBudgets().p90_ms_increase_percent == metric("p90_ms").budget.default


def test_scenario_metrics_are_the_tables_and_unknown_ones_name_every_allowed_metric(write_scenario):
    path = write_scenario("users: 1\nspawn_rate: 1\nduration: 5s\nslos:\n  - {metric: p42_ms, max: 5}\n")
    with pytest.raises(ScenarioError) as error:
        load_scenario(str(path))
    assert all(f"'{spec.name}'" in str(error.value) for spec in METRICS)


def test_a_resource_metric_applies_to_the_whole_target_only():
    with pytest.raises(ValueError, match="resource metric rss_mb applies to the whole target"):
        Slo(metric="rss_mb", request="GET /api/health", max=100)
    assert Slo(metric="rss_mb", max=100).label == "rss_mb <= 100 (embedded target)"


@pytest.mark.parametrize(("key", "value"), [("rps_drop_percent", 101), ("error_ratio_increase_points", 101)])
def test_a_drop_or_a_ratio_budget_cannot_exceed_100(key, value):
    with pytest.raises(ValueError, match="less than or equal to 100"):
        RegressionBudgets(**{key: value})


def test_an_increase_budget_in_percent_may_exceed_100():
    assert RegressionBudgets(p99_ms_increase_percent=250).allowance(metric("p99_ms")) == 250
