"""The capacity search: step order, bisection bounds, repeats, invalid steps, capacity.json and compare.

A fake step runner stands in for Locust and Hive: it holds every rate up to a knee and breaks
above it, so each test states what the search must do with a known answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hive_resilience import cli
from hive_resilience.loadrun.capacity import (
    CAPACITY_FILE,
    MAX_STEPS_PER_REPEAT,
    CapacityError,
    CapacityResult,
    SearchPlan,
    StepMeasure,
    judge_step,
    knee_line,
    read_capacity,
    search,
    steps_bound,
    write_capacity,
)
from hive_resilience.loadrun.capacity_run import (
    goodput_rps,
    latency_limits_ms,
    step_measure,
)
from hive_resilience.loadrun.request_log import LoggedRequest
from hive_resilience.loadrun.scenario import Slo
from hive_resilience.loadrun.summary import RunSummary
from hive_resilience.reporting.compare import (
    CAPACITY_KNEE,
    CompareError,
    compare_runs,
    render_text,
)
from hive_resilience.reporting.html_report import write_report

P99_SLO = "p99_ms <= 2000 (Aggregated)"


def plan(**changes: float) -> SearchPlan:
    return SearchPlan(**{"start_rate_per_s": 0.25, "max_rate_per_s": 8.0, "step_s": 15, "warmup_s": 5,
                         "precision": 0.1, "repeats": 1, **changes})


class FakeHive:
    """Holds every rate up to ``knees[repeat]``; above it the p99 SLO breaks. Records the rates asked for."""

    def __init__(self, *knees: float, generator_cpu_above: float | None = None, drops_above: float | None = None):
        self.knees = knees
        self.generator_cpu_above = generator_cpu_above
        self.drops_above = drops_above
        self.rates: list[float] = []

    def __call__(self, rate_per_s: float, repeat: int) -> StepMeasure:
        self.rates.append(rate_per_s)
        held = rate_per_s <= self.knees[(repeat - 1) % len(self.knees)]
        saturated = self.generator_cpu_above is not None and rate_per_s > self.generator_cpu_above
        dropping = self.drops_above is not None and rate_per_s > self.drops_above
        return StepMeasure(offered_rate_per_s=rate_per_s, measured_s=20, arrivals_due=round(rate_per_s * 20),
                           dropped_arrivals=round(rate_per_s * 5) if dropping else 0, generator_cpu_percent=97 if saturated else 20,
                           goodput_rps=rate_per_s if held else rate_per_s / 2, p99_ms=900 if held else 4000,
                           slos_held=held, first_broken_slo=None if held else P99_SLO)


def run_search(fake: FakeHive, **plan_changes: float) -> CapacityResult:
    return search(fake, plan(**plan_changes), scenario="open-smoke", target="embedded", started_at=0.0, ended_at=1.0)


def test_rates_grow_geometrically_until_a_step_breaks_then_bisect_between_held_and_broken():
    fake = FakeHive(1.5)
    result = run_search(fake)
    assert fake.rates[:5] == [0.25, 0.5, 1.0, 2.0, 1.5]
    assert fake.rates[5:] == [1.75, 1.62]
    assert result.knee_rate_per_s == 1.5


def test_bisection_stops_once_the_gap_is_within_the_precision_of_the_held_rate():
    for precision in (0.5, 0.1, 0.02):
        result = run_search(FakeHive(1.3), precision=precision)
        repeat = result.repeats[0]
        held = repeat.knee_rate_per_s
        broke = min(step.offered_rate_per_s for step in repeat.steps if step.verdict == "broke")
        assert held <= 1.3 < broke
        assert broke - held <= precision * held + 0.01 * held  # rates are rounded to three digits
        assert len(repeat.steps) <= steps_bound(plan(precision=precision))


def test_a_maximum_rate_that_holds_ends_the_search_there_and_says_so():
    fake = FakeHive(100.0)
    result = run_search(fake, max_rate_per_s=3.0)
    assert fake.rates == [0.25, 0.5, 1.0, 2.0, 3.0]
    assert result.knee_rate_per_s == 3.0 and result.repeats[0].upper_bound == "max_rate"
    assert "held up to the maximum rate 3/s" in knee_line(result)


def test_a_start_rate_that_breaks_finds_no_knee_and_fails():
    result = run_search(FakeHive(0.1))
    assert result.knee_rate_per_s is None and not result.passed
    assert "KNEE: none" in knee_line(result)
    assert result.first_break.rate_per_s == 0.25 and result.first_break.slo == P99_SLO


def test_repeats_give_the_median_knee_and_its_spread():
    result = run_search(FakeHive(1.0, 2.0, 1.5), repeats=3, precision=0.02)
    knees = [repeat.knee_rate_per_s for repeat in result.repeats]
    assert all(abs(knee - target) <= 0.03 * target for knee, target in zip(knees, (1.0, 2.0, 1.5)))
    assert result.knee_rate_per_s == sorted(knees)[1]
    assert result.knee_spread_per_s == (min(knees), max(knees))


def test_a_saturated_generator_makes_a_step_invalid_never_held_nor_blamed_on_hive():
    result = run_search(FakeHive(100.0, generator_cpu_above=1.0), precision=0.02)
    steps = result.steps()
    assert {step.verdict for step in steps if step.offered_rate_per_s > 1.0} == {"invalid"}
    assert not any(step.verdict == "broke" for step in steps)
    assert result.first_break is None
    assert result.knee_rate_per_s <= 1.0 and result.generator_limited
    assert "lower bound" in knee_line(result)


def test_dropped_arrivals_with_every_slo_held_are_invalid_not_a_high_knee():
    result = run_search(FakeHive(100.0, drops_above=0.5))
    assert result.knee_rate_per_s <= 0.5 and result.generator_limited
    invalid = [step for step in result.steps() if step.verdict == "invalid"]
    assert invalid and all("dropped" in step.invalid_reason for step in invalid)


@pytest.mark.parametrize(("started", "late_ms", "cpu", "held", "verdict"), [
    (20, 5.0, 20.0, True, "held"),
    (14, 5.0, 20.0, True, "held"),  # 0.7/s of 1/s offered over 20 s is within a Poisson process's spread
    (5, 5.0, 20.0, True, "invalid"),  # 0.25/s of 1/s is not: the generator did not offer the rate
    (20, 5.0, 95.0, False, "invalid"),  # saturated: its own latencies are not Hive's
    (20, 2000.0, 20.0, False, "invalid"),  # starting arrivals 2 s late: the generator is starved
    (20, 5.0, 20.0, False, "broke"),
    (5, 5.0, 20.0, False, "broke"),  # Hive slow enough to break an SLO is Hive's, however many arrivals started
])
def test_step_verdicts(started, late_ms, cpu, held, verdict):
    measure = StepMeasure(offered_rate_per_s=1.0, measured_s=20, arrivals_due=started, arrival_lateness_p99_ms=late_ms,
                          generator_cpu_percent=cpu, slos_held=held)
    assert judge_step(measure, 1).verdict == verdict


def test_a_step_without_arrival_figures_is_judged_by_its_slos_alone():
    measure = StepMeasure(offered_rate_per_s=1.0, measured_s=20, slos_held=True)
    assert judge_step(measure, 1).verdict == "held" and measure.achieved_rate_per_s is None


def test_every_repeat_is_bounded_in_steps_whatever_the_precision():
    fake = FakeHive(1.0)
    run_search(fake, precision=1e-9)
    assert len(fake.rates) <= MAX_STEPS_PER_REPEAT


@pytest.mark.parametrize(("require", "passed"), [(None, True), (1.0, True), (1.6, False)])
def test_require_is_met_by_every_repeats_knee(require, passed):
    result = run_search(FakeHive(1.5, 2.0), repeats=2).model_copy(update={"require_rate_per_s": require})
    assert result.passed is passed


def test_capacity_json_round_trips_with_its_knee_and_steps(tmp_path):
    result = run_search(FakeHive(1.5, 1.0), repeats=2)
    path = write_capacity(tmp_path, result)
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 1 and raw["knee_rate_per_s"] == result.knee_rate_per_s
    assert raw["repeats"][0]["steps"][0]["verdict"] == "held"
    assert read_capacity(path) == result


@pytest.mark.parametrize(("content", "problem"), [
    ("not json", "key '\\(top level\\)': Invalid JSON"),
    ('{"schema_version": 99}', "key 'schema_version': format 99 is newer than this hive-resilience reads"),
    ('{"schema_version": 1, "scenario": "x"}', "not a capacity result: key 'target'"),
])
def test_a_bad_capacity_json_is_one_line_naming_the_file(tmp_path, content, problem):
    path = tmp_path / CAPACITY_FILE
    path.write_text(content)
    with pytest.raises(CapacityError, match=problem) as error:
        read_capacity(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def capacity_run(folder: Path, *knees: float) -> Path:
    folder.mkdir(parents=True)
    write_capacity(folder, run_search(FakeHive(*knees), repeats=len(knees), precision=0.02))
    return folder


def knee_verdict(baseline: Path, new: Path) -> str:
    comparison = compare_runs(baseline, new)
    assert [check.request for check in comparison.checks] == [CAPACITY_KNEE]
    return comparison.checks[0].verdict


def test_compare_calls_a_lower_knee_beyond_the_budget_a_regression(tmp_path):
    base, new = capacity_run(tmp_path / "base", 2.0), capacity_run(tmp_path / "new", 1.0)
    assert knee_verdict(base, new) == "REGRESSION"
    assert f"budgets (from {new / CAPACITY_FILE})" in render_text(compare_runs(base, new))


def test_compare_lets_a_knee_within_the_budget_or_higher_pass(tmp_path):
    base = capacity_run(tmp_path / "base", 2.0)
    assert knee_verdict(base, capacity_run(tmp_path / "same", 2.0)) == "OK"
    assert knee_verdict(base, capacity_run(tmp_path / "higher", 4.0)) == "OK"


def test_compare_is_inconclusive_while_the_repeats_spreads_overlap_the_budget(tmp_path):
    base = capacity_run(tmp_path / "base", 1.0, 2.0, 2.0)
    assert knee_verdict(base, capacity_run(tmp_path / "new", 1.0, 1.0, 2.0)) == "INCONCLUSIVE"


def test_compare_refuses_a_capacity_search_against_a_load_run(tmp_path):
    load_run = tmp_path / "load"
    load_run.mkdir()
    with pytest.raises(CompareError, match="compare a capacity search with a capacity search"):
        compare_runs(capacity_run(tmp_path / "base", 2.0), load_run)


def slo_verdict(label: str, metric: str, request: str, status: str) -> dict:
    return {"label": label, "metric": metric, "request": request, "threshold": 1, "bound": "max", "measured": 2.0,
            "status": status}


def step_summary(slos: list[dict], arrivals: tuple[int, int] = (20, 0), cpu: float = 30.0) -> RunSummary:
    rows = [{"name": "Aggregated", "requests": 100, "failures": 1, "error_ratio": 0.01, "p50_ms": 50.0, "p95_ms": 300.0,
             "p99_ms": 900.0}]
    return RunSummary.model_validate({
        "scenario": {"name": "open"}, "duration_s": 20.0, "requests": rows, "slos": slos, "passed": False,
        "report_dir": "r", "generator": {"cpu_percent_mean": cpu, "cpu_percent_max": cpu, "samples": 20,
                                         "saturated": False},
        "arrivals": {"due": arrivals[0], "started": arrivals[0] - arrivals[1], "dropped": arrivals[1], "late": 0,
                     "late_ms_p99": 3.0, "late_ms_max": 4.0, "pattern": "poisson", "seed": None, "max_in_flight": 10,
                     "target_rate_per_s": 1.0, "achieved_rate_per_s": (arrivals[0] - arrivals[1]) / 20, "stages": [],
                     "by_class": {}}})


def test_a_step_is_measured_from_its_runs_summary():
    slos = [slo_verdict("p99_ms <= 2000 (Aggregated)", "p99_ms", "Aggregated", "fail")]
    measure = step_measure(step_summary(slos, arrivals=(20, 1)), 1.0, [], (), "r")
    assert (measure.arrivals_due, measure.dropped_arrivals, measure.achieved_rate_per_s) == (20, 1, 0.95)
    assert measure.arrival_lateness_p99_ms == 3.0
    assert (measure.p50_ms, measure.p99_ms, measure.error_ratio, measure.generator_cpu_percent) == (50, 900, 0.01, 30)
    assert not measure.slos_held and measure.first_broken_slo == "p99_ms <= 2000 (Aggregated)"


def test_the_achieved_rate_is_over_the_plan_not_the_runs_wall_time():
    # 20 arrivals planned over 20 s, but replies still running made the run last 28 s.
    summary = step_summary([], arrivals=(20, 0)).model_copy(update={"duration_s": 28.0})
    stage = {"due": 20, "started": 20, "dropped": 0, "late": 0, "late_ms_p99": 3.0, "late_ms_max": 4.0,
             "duration_s": 20.0, "target_rate_per_s": 1.0, "achieved_rate_per_s": 1.0}
    arrivals = summary.arrivals.model_validate({**summary.arrivals.model_dump(), "stages": [stage]})
    measure = step_measure(summary.model_copy(update={"arrivals": arrivals}), 1.0, [], (), "r")
    assert measure.achieved_rate_per_s == 1.0
    assert judge_step(measure, 1).verdict == "held"


def test_dropped_arrivals_break_the_generators_slo_not_hives():
    slos = [slo_verdict("dropped_ratio <= 0.01 (arrivals)", "dropped_ratio", "arrivals", "fail"),
            slo_verdict("p99_ms <= 2000 (Aggregated)", "p99_ms", "Aggregated", "pass")]
    measure = step_measure(step_summary(slos, arrivals=(20, 8)), 1.0, [], (), "r")
    assert measure.slos_held
    step = judge_step(measure, 1)
    assert step.verdict == "invalid" and "dropped 8 of 20" in step.invalid_reason


def test_goodput_counts_successful_requests_within_their_latency_slo_per_second():
    slos = load_scenario_slos(p99_max=1000, health_p95_max=100)
    limits = latency_limits_ms(slos)
    assert limits == {"Aggregated": 1000, "GET /api/health": 100}
    requests = [LoggedRequest(0.0, "GET", "/api/health", 50, False),  # within its own 100 ms
                LoggedRequest(0.0, "GET", "/api/health", 500, False),  # over its own, though under Aggregated's
                LoggedRequest(0.0, "POST", "/api/chat", 900, False),  # within Aggregated's
                LoggedRequest(0.0, "POST", "/api/chat", 900, True),  # failed
                LoggedRequest(0.0, "JOURNEY", "chat time-to-reply", 10, False)]  # journeys are not requests
    assert goodput_rps(requests, limits, 2.0) == 1.0
    assert goodput_rps(requests, {}, 2.0) is None


def load_scenario_slos(p99_max: float, health_p95_max: float) -> tuple[Slo, ...]:
    return (Slo(metric="p99_ms", max=p99_max), Slo(metric="error_ratio", max=0.05),
            Slo(metric="p95_ms", request="GET /api/health", max=health_p95_max),
            Slo(metric="p99_ms", request="GET /api/health", max=health_p95_max * 3))


@pytest.mark.parametrize(("require", "exit_code"), [(None, 0), ("1.5", 0), ("1.6", 1)])
def test_the_cli_exits_0_at_or_above_the_required_knee_and_1_below(tmp_path, monkeypatch, capsys, require, exit_code):
    def fake_capacity(request):
        assert request.plan.start_rate_per_s == 0.5 and request.plan.repeats == 2
        return run_search(FakeHive(1.5, 2.0), repeats=2).model_copy(
            update={"require_rate_per_s": request.require_rate_per_s}), tmp_path

    monkeypatch.setattr(cli, "capacity", fake_capacity)
    args = ["capacity", "any", "--start-rate", "0.5", "--repeats", "2"] + (["--require", require] if require else [])
    assert cli.main(args) == exit_code
    assert "KNEE: 1.75/s (repeats 1.5..2/s)" in capsys.readouterr().out


def test_the_cli_exits_1_when_no_rate_held(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "capacity", lambda request: (run_search(FakeHive(0.1)), tmp_path))
    assert cli.main(["capacity", "any"]) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--start-rate", "2", "--max-rate", "1"], "--max-rate must be at or above --start-rate"),
    (["--precision", "0"], "--precision: Input should be greater than 0"),
    (["--repeats", "0"], "--repeats: Input should be greater than or equal to 1"),
])
def test_a_bad_plan_is_one_line_and_exit_2(capsys, args, message):
    assert cli.main(["capacity", "any", *args]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_a_users_scenario_is_refused_with_exit_2_before_anything_starts(tmp_path, capsys):
    assert cli.main(["capacity", "smoke", "--reports-dir", str(tmp_path)]) == 2
    assert "needs an arrivals scenario" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_html_report_shows_the_steps_the_knee_and_a_latency_against_rate_chart(tmp_path):
    run = capacity_run(tmp_path / "capacity-open", 1.5)
    page = write_report([run], tmp_path).read_text()
    assert "<h2>Capacity: open-smoke" in page and "KNEE: 1.5/s" in page
    result = read_capacity(run / CAPACITY_FILE)
    lowest_break = min(step.offered_rate_per_s for step in result.steps() if step.verdict == "broke")
    assert f"first SLO to break: p99_ms &lt;= 2000 (Aggregated) at {lowest_break:.3g}/s" in page
    assert "against offered arrivals/s" in page and "at 0.25/s</title>" in page and ">2/s</text>" in page
    verdicts = [step.verdict for step in result.steps()]
    assert page.count("<td>held</td>") == verdicts.count("held") and page.count("<td>broke</td>") == verdicts.count("broke")
