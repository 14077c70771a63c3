"""The SLO gate: bounds, unmeasured objectives and the never-green-on-nothing rule."""

from __future__ import annotations

from hive_resilience.loadrun.latency import LatencyBook
from hive_resilience.loadrun.scenario import DEFAULT_SLOS, Slo
from hive_resilience.loadrun.slo import (
    all_held,
    evaluate_request_slos,
    evaluate_resource_slos,
    judge,
)


def book_with(values: list[float], failures: int = 0) -> LatencyBook:
    book = LatencyBook()
    for index, value in enumerate(values):
        book.record("GET", "/api/health", value, index < failures)
    return book


def test_max_bound_holds_at_the_threshold_and_breaks_above_it():
    slo = Slo(metric="p99_ms", max=2000)
    assert judge(slo, 2000, "fail", "").status == "pass"
    assert judge(slo, 2000.5, "fail", "").status == "fail"


def test_min_bound_breaks_below():
    assert judge(Slo(metric="requests", min=1), 0, "fail", "").status == "fail"


def test_defaults_pass_a_healthy_run():
    # A p99 needs 367 samples before its interval has an upper bound at all.
    verdicts = evaluate_request_slos(DEFAULT_SLOS, book_with([10.0] * 1000), 10)
    assert all_held(verdicts)


def test_defaults_fail_a_run_that_made_no_request():
    verdicts = evaluate_request_slos(DEFAULT_SLOS, LatencyBook(), 10)
    failed = {verdict.metric for verdict in verdicts if verdict.failed}
    assert failed == {"error_ratio", "p99_ms", "requests"}


def test_error_ratio_above_five_percent_fails_and_says_so():
    verdicts = evaluate_request_slos(DEFAULT_SLOS, book_with([10.0] * 100, failures=6), 10)
    error_verdict = next(verdict for verdict in verdicts if verdict.metric == "error_ratio")
    assert error_verdict.failed
    assert "error_ratio <= 0.05 (Aggregated): measured 0.06" in error_verdict.line()


def test_slo_on_a_request_that_never_happened_fails_with_its_name():
    verdicts = evaluate_request_slos((Slo(metric="p95_ms", request="chat time-to-reply", max=5000),), book_with([1.0]), 1)
    assert verdicts[0].failed and "chat time-to-reply" in verdicts[0].detail


def test_rps_is_requests_over_the_run_duration():
    verdicts = evaluate_request_slos((Slo(metric="rps", min=9),), book_with([1.0] * 100), 10)
    assert verdicts[0].measured == 10


def test_resource_slos_are_not_measured_for_a_remote_target_and_do_not_fail():
    verdicts = evaluate_resource_slos((Slo(metric="rss_mb", max=100),), None, embedded_target=False)
    assert verdicts[0].status == "not measured" and all_held(verdicts)


def test_resource_slos_without_samples_of_the_embedded_target_fail_and_say_why():
    verdicts = evaluate_resource_slos((Slo(metric="rss_mb", max=100),), None, embedded_target=True,
                                      missing_detail="no samples in resources.csv")
    assert verdicts[0].failed and verdicts[0].detail == "no samples in resources.csv"


def test_resource_slos_fail_when_their_figure_could_not_be_computed():
    verdicts = evaluate_resource_slos((Slo(metric="rss_growth_mb_per_hour", max=5),), {"rss_growth_mb_per_hour": None},
                                      embedded_target=True)
    assert verdicts[0].failed
