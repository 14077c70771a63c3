"""Verdicts that are not noise: confidence intervals, inconclusive verdicts and what would decide them."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from pydantic import TypeAdapter
from report_runs import load_run
from test_html_report import promise_rows

from hive_resilience.loadrun.intervals import (
    order_statistic_ranks,
    percentile_decided,
    poisson_rate_interval,
    ratio_decided,
    wilson_interval,
)
from hive_resilience.loadrun.latency import LatencyBook, RequestTally
from hive_resilience.loadrun.scenario import Slo, load_scenario
from hive_resilience.loadrun.slo import SloVerdict, evaluate_request_slos
from hive_resilience.loadrun.summary import (
    RunSummary,
    read_summary,
    request_rows,
    write_junit,
    write_summary,
)
from hive_resilience.reporting.compare import compare_runs
from hive_resilience.reporting.html_report import write_report

HEALTH = "GET /api/health"
HEALTH_P95 = Slo(metric="p95_ms", request=HEALTH, max=500)


def health_book(response_times_ms: list[float], failures: int = 0) -> LatencyBook:
    book = LatencyBook()
    for index, response_time_ms in enumerate(response_times_ms):
        book.record("GET", "/api/health", response_time_ms, index < failures)
    return book


def spread(samples: int, low_ms: float, high_ms: float) -> list[float]:
    """``samples`` response times evenly between ``low_ms`` and ``high_ms``."""
    return [low_ms + (high_ms - low_ms) * index / max(samples - 1, 1) for index in range(samples)]


def test_order_statistic_ranks_of_a_p95_on_20_samples_have_no_upper_bound():
    # P(Bin(20, 0.95) <= 16) = 1.6 % <= 2.5 % < P(<= 17) = 7.5 %; P(Bin = 20) = 35.8 % > 2.5 %.
    assert order_statistic_ranks(20, 0.95) == (17, 21)


def test_order_statistic_ranks_of_the_median_of_100_are_the_textbook_40th_and_61st():
    assert order_statistic_ranks(100, 0.5) == (40, 61)


def test_a_p95_gets_an_upper_bound_from_72_samples():
    assert order_statistic_ranks(71, 0.95)[1] == 72
    assert order_statistic_ranks(72, 0.95)[1] == 72


def test_normal_approximation_takes_over_from_the_exact_ranks_without_a_jump():
    exact, approximate = order_statistic_ranks(2000, 0.99), order_statistic_ranks(2001, 0.99)
    assert abs(exact[0] - approximate[0]) <= 2 and abs(exact[1] - approximate[1]) <= 2


@pytest.mark.parametrize(("hits", "samples", "low", "high"), [(0, 100, 0.0, 0.0370), (5, 100, 0.0215, 0.1118)])
def test_wilson_interval_matches_published_values(hits, samples, low, high):
    assert wilson_interval(hits, samples) == pytest.approx((low, high), abs=5e-5)
    assert wilson_interval(0, samples)[0] == 0.0 and wilson_interval(samples, samples)[1] == 1.0


def test_decisions_need_the_interval_wholly_on_one_side():
    assert not percentile_decided(20, 20, 0.95) and percentile_decided(100, 100, 0.95)
    assert not ratio_decided(0, 50, 0.05) and ratio_decided(0, 100, 0.05) and ratio_decided(30, 100, 0.05)


def test_percentile_interval_reads_the_same_histogram_as_the_point_estimate():
    tally = RequestTally()
    for response_time_ms in range(1, 101):
        tally.record(response_time_ms, False)
    low, high = tally.percentile_interval_ms(50)
    assert low == pytest.approx(40, rel=1e-3) and high == pytest.approx(61, rel=1e-3)
    assert low <= tally.percentile_ms(50) <= high
    assert tally.value_at_rank_ms(100) == tally.percentile_ms(100)


def test_a_p95_on_a_dozen_samples_is_inconclusive_fails_and_says_how_many_would_decide():
    verdict = evaluate_request_slos((HEALTH_P95,), health_book(spread(15, 5, 300)), 10)[0]
    assert verdict.status == "inconclusive" and verdict.failed
    assert verdict.samples == 15 and verdict.interval[1] is None
    assert 72 <= verdict.samples_to_decide <= 100
    assert "n=15" in verdict.line() and f"about {verdict.samples_to_decide} samples would decide" in verdict.line()


def test_the_same_latencies_on_many_samples_pass():
    verdict = evaluate_request_slos((HEALTH_P95,), health_book(spread(200, 5, 300)), 10)[0]
    assert verdict.status == "pass" and verdict.interval[1] <= 500 and verdict.samples_to_decide is None


def test_a_few_samples_all_over_the_threshold_are_enough_to_fail():
    verdict = evaluate_request_slos((HEALTH_P95,), health_book([900.0] * 12), 10)[0]
    assert verdict.status == "fail" and verdict.interval[0] > 500


def test_an_error_ratio_is_judged_by_its_wilson_interval():
    slo = Slo(metric="error_ratio", request=HEALTH, max=0.05)
    few, many = (evaluate_request_slos((slo,), health_book([5.0] * samples), 10)[0] for samples in (30, 200))
    assert (few.status, many.status) == ("inconclusive", "pass")
    assert few.interval == pytest.approx(wilson_interval(0, 30))


def test_inconclusive_pass_lets_a_straddling_verdict_through(tmp_path):
    (tmp_path / "lenient.yaml").write_text(
        "users: 1\nspawn_rate: 1\nduration: 10s\ninconclusive: pass\n"
        f"slos:\n  - {{metric: p95_ms, request: '{HEALTH}', max: 500}}\n"
        f"  - {{metric: p99_ms, request: '{HEALTH}', max: 500, inconclusive: fail}}\n")
    slos = tuple(slo for slo in load_scenario(str(tmp_path / "lenient.yaml")).effective_slos() if slo.request == HEALTH)
    verdicts = evaluate_request_slos(slos, health_book(spread(15, 5, 300)), 10)
    assert [(verdict.status, verdict.failed) for verdict in verdicts] == [("inconclusive", False), ("inconclusive", True)]


def test_a_bad_inconclusive_setting_names_the_key(tmp_path):
    (tmp_path / "bad.yaml").write_text("users: 1\nspawn_rate: 1\nduration: 10s\ninconclusive: maybe\n")
    with pytest.raises(ValueError, match="key 'inconclusive'"):
        load_scenario(str(tmp_path / "bad.yaml"))


def test_junit_counts_an_inconclusive_verdict_as_a_failure(tmp_path):
    verdicts = evaluate_request_slos((HEALTH_P95,), health_book(spread(15, 5, 300)), 10)
    suite = ElementTree.parse(write_junit(tmp_path, "smoke", verdicts)).getroot()
    assert suite.get("failures") == "1" and "INCONCLUSIVE" in suite.find("testcase/failure").get("message")


def test_a_verdict_written_before_intervals_still_loads():
    old = {"label": "p95_ms <= 500 (GET /api/health)", "metric": "p95_ms", "request": HEALTH, "threshold": 500,
           "bound": "max", "measured": 250.0, "status": "pass"}
    verdict = TypeAdapter(SloVerdict).validate_python(old)
    assert verdict.samples is None and verdict.interval is None and not verdict.failed


def write_run(folder: Path, p95_ms: float, interval: list[float | None] | None) -> Path:
    folder.mkdir(parents=True)
    row = {"name": HEALTH, "requests": 1000, "failures": 0, "rps": 10.0, "error_ratio": 0.0, "p90_ms": 100.0,
           "p95_ms": p95_ms, "p99_ms": 300.0, "intervals": {"p95_ms": interval} if interval else {}}
    summary = {"schema_version": 2, "scenario": {"name": "synthetic"}, "duration_s": 10.0, "requests": [row],
               "slos": [], "passed": True, "report_dir": str(folder)}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def p95_verdict(tmp_path: Path, baseline: tuple, new: tuple) -> str:
    comparison = compare_runs(write_run(tmp_path / "base", *baseline), write_run(tmp_path / "new", *new))
    return next(check.verdict for check in comparison.checks if check.metric == "p95_ms")


def test_compare_calls_a_regression_only_when_the_intervals_are_apart_by_more_than_the_budget(tmp_path):
    assert p95_verdict(tmp_path, (200.0, [190.0, 210.0]), (300.0, [280.0, 320.0])) == "REGRESSION"


def test_compare_calls_an_over_budget_change_inside_overlapping_intervals_inconclusive(tmp_path):
    assert p95_verdict(tmp_path, (200.0, [150.0, 260.0]), (300.0, [250.0, None])) == "INCONCLUSIVE"


def test_compare_judges_summaries_without_intervals_on_the_point_values(tmp_path):
    assert p95_verdict(tmp_path, (200.0, None), (300.0, None)) == "REGRESSION"


def test_summary_rows_carry_intervals_that_survive_the_round_trip(tmp_path):
    rows = request_rows(health_book(spread(200, 5, 300), failures=2), 10)
    write_summary(tmp_path, RunSummary(scenario={"name": "s"}, duration_s=10, requests=rows, slos=[], passed=True,
                                       report_dir=str(tmp_path)))
    row = read_summary(tmp_path / "summary.json").requests[0]
    assert row.intervals["p95_ms"][0] <= row.p95_ms <= row.intervals["p95_ms"][1]
    assert row.intervals["error_ratio"] == pytest.approx(wilson_interval(2, 200))
    assert row.intervals["rps"] == pytest.approx(poisson_rate_interval(200, 10))
    assert "max_ms" not in row.intervals and "requests" not in row.intervals


def test_the_html_report_shows_samples_interval_and_what_would_decide(tmp_path):
    run = load_run(tmp_path, "load-few")
    summary = json.loads((run / "summary.json").read_text())
    summary["slos"][0].update(status="inconclusive", samples=15, interval=[240.0, None], samples_to_decide=81)
    summary["passed"] = False
    (run / "summary.json").write_text(json.dumps(summary))
    page = write_report([run], tmp_path / "out").read_text()
    assert "<td>15</td><td>240..unbounded</td><td>inconclusive (counts as fail; ~81 samples would decide)</td>" in page
    assert promise_rows(page)["p99 under 2 s"] == "broken"


def test_poisson_rate_interval_matches_the_exact_interval_for_a_large_count():
    # Garwood's exact interval for 1000 events is 939.5..1063.7.
    assert poisson_rate_interval(1000, 100) == pytest.approx((9.395, 10.637), abs=5e-3)


def test_compare_does_not_call_a_rate_of_three_requests_a_regression(tmp_path):
    base = write_run(tmp_path / "base", 200.0, [190.0, 210.0])
    new = write_run(tmp_path / "new", 200.0, [190.0, 210.0])
    for folder, requests in ((base, 3), (new, 2)):
        summary = json.loads((folder / "summary.json").read_text())
        summary["requests"][0].update(requests=requests, rps=requests / 300)
        summary["requests"][0]["intervals"]["rps"] = list(poisson_rate_interval(requests, 300))
        (folder / "summary.json").write_text(json.dumps(summary))
    rps = next(check for check in compare_runs(base, new).checks if check.metric == "rps")
    assert rps.change == pytest.approx(-33.3, abs=0.1) and rps.verdict == "INCONCLUSIVE"
