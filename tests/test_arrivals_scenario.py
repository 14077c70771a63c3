"""Arrivals in scenario files, the run-time rate override, and what the summary says of them."""

from __future__ import annotations

import json

import pytest

from hive_resilience import cli
from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE, LatencyBook
from hive_resilience.loadrun.locust_process import LocustCommand
from hive_resilience.loadrun.metrics import arrivals_request
from hive_resilience.loadrun.scenario import (
    ScenarioError,
    load_scenario,
    parse_rate_per_s,
)
from hive_resilience.loadrun.slo import evaluate_request_slos
from hive_resilience.loadrun.summary import arrivals_record, read_summary, request_rows

OPEN = """
name: open
arrivals: {pattern: constant, rate: 2/s, duration: 60s, max_in_flight: 5, seed: 1}
user_classes: {HiveApiUser: {weight: 1}}
"""


def write(tmp_path, text: str, name: str = "open"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "per_s"), [(2, 2.0), ("0.5/s", 0.5), ("18/min", 0.3), ("600 / h", 600 / 3600)])
def test_rates_are_per_second_per_minute_or_per_hour(text, per_s):
    assert parse_rate_per_s(text) == pytest.approx(per_s)


def test_rate_and_duration_make_a_single_stage(tmp_path):
    scenario = load_scenario(str(write(tmp_path, OPEN)))
    assert scenario.stages == () and scenario.duration_s == 60
    assert [(stage.duration_s, stage.rate_per_s) for stage in scenario.arrivals.stages] == [(60, 2)]
    assert ("dropped_ratio", "arrivals") in {slo.key for slo in scenario.effective_slos()}


@pytest.mark.parametrize(("change", "message"), [
    ("users: 3\n", "exactly one of them"),
    ("arrivals: {pattern: poisson, burstiness: 2, rate: 1, duration: 5s}\n", "burstiness is given with pattern gamma"),
    ("arrivals: {pattern: sometimes, rate: 1, duration: 5s}\n", "constant"),
    ("arrivals: {rate: fast, duration: 5s}\n", "is not a rate"),
    ("arrivals: {stages: [{duration: 5s, rate: 1, ramp: 9s}]}\n", "longer than its stage"),
    ("slos: [{metric: dropped_ratio, request: GET /api/health, max: 0.1}]\n", "is measured on 'arrivals'"),
])
def test_a_bad_arrivals_plan_fails_with_the_file_and_the_key(tmp_path, change, message):
    text = OPEN if change.startswith(("users", "slos")) else OPEN.replace(OPEN.splitlines()[2], "")
    with pytest.raises(ScenarioError, match=message) as raised:
        load_scenario(str(write(tmp_path, text + change)))
    assert "open.yaml" in str(raised.value)


def test_dropped_ratio_belongs_to_arrivals_scenarios(tmp_path):
    text = "users: 1\nspawn_rate: 1\nduration: 5s\nslos: [{metric: dropped_ratio, request: arrivals, max: 0.1}]\n"
    with pytest.raises(ScenarioError, match="arrivals scenarios only"):
        load_scenario(str(write(tmp_path, text)))


def test_the_arrival_rate_override_replaces_a_single_stages_rate(tmp_path):
    scenario = load_scenario(str(write(tmp_path, OPEN)), arrival_rate_per_s=0.25)
    assert scenario.arrivals.stages[0].rate_per_s == 0.25 and scenario.duration_s == 60


@pytest.mark.parametrize("name", ["smoke", "stress"])
def test_the_arrival_rate_override_refuses_users_scenarios_and_stepped_plans(name):
    with pytest.raises(ScenarioError, match="--arrival-rate"):
        load_scenario(name, arrival_rate_per_s=1.0)


def test_compressing_an_arrivals_plan_keeps_its_rates():
    scenario = load_scenario("stress", duration="60s")
    assert scenario.duration_s == pytest.approx(60)
    assert [stage.rate_per_s for stage in scenario.arrivals.stages] == [0.25, 0.5, 1, 1.5, 2, 4]


def test_the_rate_reaches_locust_and_the_cli_refuses_a_bad_one(capsys):
    assert LocustCommand(arrival_rate=0.5).argv()[-2:] == ["--arrival-rate", "0.5"]
    with pytest.raises(SystemExit) as raised:
        cli.main(["run", "open-smoke", "--arrival-rate", "-1"])
    assert raised.value.code == 2 and "not an arrival rate" in capsys.readouterr().err


def test_a_users_scenario_refuses_the_arrival_rate_with_one_line_and_exit_2(capsys):
    assert cli.main(["run", "smoke", "--arrival-rate", "1"]) == 2
    err = capsys.readouterr().err
    assert "gives users, not arrivals" in err and "Traceback" not in err


def book_of(arrivals: list[tuple[str, float, bool]], requests: list[tuple[str, float, bool]] = ()) -> LatencyBook:
    book = LatencyBook()
    for user_class, late_ms, dropped in arrivals:
        for name in (arrivals_request(), arrivals_request(user_class)):
            book.record(JOURNEY_REQUEST_TYPE, name, late_ms, dropped)
    for name, ms, failed in requests:
        book.record("GET", name, ms, failed)
    return book


def test_the_summary_holds_target_vs_achieved_per_stage_and_names_the_first_broken_stage():
    scenario = load_scenario("stress", duration="60s")
    plan = scenario.arrivals
    calm = book_of([("HiveApiUser", 5, False)] * 2, [("/api/health", 100, False)] * 300)
    broken = book_of([("HiveApiUser", 5, False), ("McpToolsUser", 300, False), ("HiveApiUser", 0, True)],
                     [("/api/health", 100, True)] * 300)
    stage_books = [calm, calm, broken, calm, broken, calm]
    slos = scenario.effective_slos()
    verdicts = [evaluate_request_slos(slos, book, stage.duration_s) for stage, book in zip(plan.stages, stage_books)]
    whole = book_of([("HiveApiUser", 5, False)] * 8 + [("McpToolsUser", 300, False)] * 2 + [("HiveApiUser", 0, True)] * 2)
    record = arrivals_record(plan, whole, stage_books, verdicts)
    assert record.first_broken_stage == 3 and "error_ratio <= 0.05 (Aggregated)" in record.stages[2].broken_slos
    assert (record.due, record.started, record.dropped, record.late) == (12, 10, 2, 2)
    assert record.by_class["McpToolsUser"].late == 2 and record.by_class["HiveApiUser"].dropped == 2
    assert record.stages[0].target_rate_per_s == pytest.approx(0.25)
    assert record.stages[2].achieved_rate_per_s == pytest.approx(2 / plan.stages[2].duration_s)
    assert record.target_rate_per_s == pytest.approx(sum(s.rate_per_s * s.duration_s for s in plan.stages) / 60)
    assert any("first stage where an SLO broke: 3" in line for line in record.lines())


def test_a_summary_from_before_arrivals_still_loads(tmp_path):
    old = {"schema_version": 2, "scenario": {"name": "smoke"}, "duration_s": 1.0, "requests": [], "slos": [],
           "passed": False, "report_dir": str(tmp_path)}
    (tmp_path / "summary.json").write_text(json.dumps(old))
    summary = read_summary(tmp_path / "summary.json")
    assert summary.arrivals is None and summary.service_requests == []


def test_summary_rows_give_dropped_ratio_on_arrivals_entries_only():
    rows = {row.name: row for row in request_rows(book_of([("HiveApiUser", 5, False)] * 3 + [("HiveApiUser", 0, True)],
                                                          [("/api/health", 100, True)]), 10.0)}
    assert rows["JOURNEY arrivals"].dropped_ratio == 0.25 and "dropped_ratio" in rows["JOURNEY arrivals"].intervals
    assert rows["GET /api/health"].dropped_ratio is None and rows["GET /api/health"].error_ratio == 1.0
