"""Live progress: the status line's figures come from the last window's exact histograms, and
the SLOs at risk from the run so far, as the gate would judge them; on a fake clock."""

from __future__ import annotations

from hive_resilience.cli import _progress_interval_s, build_parser
from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE, LatencyBook
from hive_resilience.loadrun.locust_process import LocustCommand
from hive_resilience.loadrun.progress import LiveRun, at_risk, status_line
from hive_resilience.loadrun.scenario import Scenario
from hive_resilience.loadrun.slo import evaluate_request_slos

HEALTH = ("GET", "/api/health")


def _users_scenario(**extra: object) -> Scenario:
    return Scenario.model_validate({"name": "progress", "stages": [{"duration": "300s", "users": 12, "spawn_rate": 4}],
                                    **extra})


def _arrivals_scenario() -> Scenario:
    return Scenario.model_validate({"name": "open", "arrivals": {"pattern": "constant", "rate": 4, "duration": "60s"}})


def _book(latencies_ms: list[float], failures: int = 0) -> LatencyBook:
    book = LatencyBook()
    for index, latency_ms in enumerate(latencies_ms):
        book.record(*HEALTH, latency_ms, index < failures)
    return book


def test_the_line_shows_time_users_rate_errors_and_the_windows_exact_percentiles() -> None:
    window = _book([100.0] * 94 + [800.0] * 4 + [1900.0] * 2, failures=2)

    line = status_line(_users_scenario(), 60.2, window, 10.0, 12, [])

    assert line == "[ 60/300 s] 12 users | 10.0 req/s | errors 2.0 % | p95 800 ms p99 1.9 s (last 10 s) | no SLO at risk"


def test_a_window_without_requests_says_so() -> None:
    line = status_line(_users_scenario(), 30.0, LatencyBook(), 10.0, 3, ["error_ratio <= 0.05 (Aggregated)"])

    assert "no requests (last 10 s)" in line
    assert line.endswith("at risk: error_ratio <= 0.05 (Aggregated)")


def test_an_arrivals_run_shows_the_planned_and_the_achieved_rate_instead_of_users() -> None:
    window = LatencyBook()
    for index in range(30):  # 30 due in 10 s, 5 of them dropped: 2.5 started per second
        window.record(JOURNEY_REQUEST_TYPE, "arrivals", 1.0, index < 5)

    line = status_line(_arrivals_scenario(), 20.0, window, 10.0, 1, [])

    assert "arrivals target 4/s achieved 2.5/s" in line
    assert "users" not in line


def test_an_slo_is_at_risk_when_its_figure_so_far_is_beyond_its_bound() -> None:
    scenario = _users_scenario(slos=[{"metric": "p95_ms", "request": "/api/health", "max": 500}])
    slow = _book([100.0] * 90 + [900.0] * 10)
    fast = _book([100.0] * 100)

    assert at_risk(evaluate_request_slos(scenario.effective_slos(), slow, 30.0)) == ["p95_ms <= 500 (/api/health)"]
    assert at_risk(evaluate_request_slos(scenario.effective_slos(), fast, 30.0)) == []


def test_a_count_still_below_its_minimum_is_not_at_risk_mid_run() -> None:
    scenario = _users_scenario(slos=[{"metric": "requests", "min": 1000}])

    assert at_risk(evaluate_request_slos(scenario.effective_slos(), _book([100.0] * 10), 10.0)) == []


def test_lines_come_every_interval_each_on_its_own_window() -> None:
    lines: list[str] = []
    live = LiveRun(_users_scenario(), LatencyBook(), 10.0, lines.append, lambda: None)
    live.start(1000.0)
    for _ in range(20):
        live.record(*HEALTH, 100.0, False)
    for second in range(1, 10):
        live.tick(1000.0 + second, 12)
    assert lines == []

    live.tick(1010.0, 12)
    live.record(*HEALTH, 100.0, False)
    live.tick(1020.0, 12)

    assert [line.split(" | ")[1] for line in lines] == ["2.0 req/s", "0.1 req/s"]
    assert lines[1].startswith("[ 20/300 s]")


def test_interval_zero_prints_nothing() -> None:
    lines: list[str] = []
    live = LiveRun(_users_scenario(), LatencyBook(), 0.0, lines.append, lambda: None)
    live.start(0.0)
    live.tick(3600.0, 1)

    assert lines == []
    assert not live.wanted


def test_quiet_asks_the_locust_plugin_for_no_lines_and_workers_are_never_asked() -> None:
    args = build_parser().parse_args(["run", "smoke", "--quiet", "--progress-interval", "5"])
    command = LocustCommand(progress_interval_s=_progress_interval_s(args))

    assert command.argv()[-2:] == ["--progress-interval", "0.0"]
    assert "--progress-interval" not in command.as_worker(5557).argv()
    assert _progress_interval_s(build_parser().parse_args(["capacity", "open-smoke", "--progress-interval", "30s"])) == 30.0
