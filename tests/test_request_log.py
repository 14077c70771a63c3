"""Windowed figures from the request log: the gate's percentiles, journeys apart, empty windows."""

from __future__ import annotations

import pytest

from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE, LatencyBook
from hive_resilience.loadrun.request_log import (
    RequestLogWriter,
    read_request_log,
    window_figures,
)
from hive_resilience.loadrun.scenario import AGGREGATED


@pytest.fixture
def logged(tmp_path):
    writer = RequestLogWriter(tmp_path / "requests.csv")
    for second in range(100):
        writer.add(1000 + second, "GET", "/api/health", float(second + 1), failed=second >= 90)
    writer.add(1050.5, JOURNEY_REQUEST_TYPE, "chat time-to-reply", 9000, failed=True)
    writer.close()
    return read_request_log(tmp_path / "requests.csv")


def test_round_trip_keeps_every_field(logged):
    assert logged[0].timestamp == 1000 and logged[0].name == "/api/health" and logged[0].response_time_ms == 1.0
    assert logged[99].failed and not logged[0].failed


def test_window_counts_only_requests_that_ended_inside_it(logged):
    figures = window_figures(logged, 1010, 1020)
    assert figures["requests"] == 10 and figures["rps"] == 1.0


def test_percentiles_are_nearest_rank_within_the_gates_precision(logged):
    figures = window_figures(logged, 1000, 1100)
    assert figures["p50_ms"] == pytest.approx(50.0, rel=1e-3)
    assert figures["p95_ms"] == pytest.approx(95.0, rel=1e-3)
    assert figures["p99_ms"] == pytest.approx(99.0, rel=1e-3)


def test_window_percentiles_are_the_gates_percentiles(logged):
    gate = LatencyBook()
    for request in logged:
        gate.record(request.request_type, request.name, request.response_time_ms, request.failed)
    figures = window_figures(logged, 0, 2000)
    assert [figures[f"p{p}_ms"] for p in (50, 95, 99)] == [gate.tallies[AGGREGATED].percentile_ms(p) for p in (50, 95, 99)]


def test_error_ratio_and_replies_are_counted_apart(logged):
    figures = window_figures(logged, 1000, 1100)
    assert figures["error_ratio"] == 0.1
    assert (figures["replies"], figures["reply_failures"]) == (1, 1)


def test_an_empty_window_has_no_ratio_or_percentiles(logged):
    figures = window_figures(logged, 2000, 2010)
    assert figures["requests"] == 0 and figures["error_ratio"] is None and figures["p99_ms"] is None


def test_a_half_written_last_line_of_a_live_log_is_left_out(tmp_path):
    path = tmp_path / "requests.csv"
    path.write_text("timestamp,request_type,name,response_time_ms,failed\n1000.000,GET,/a,5.000,0\n1001.0")
    assert [request.timestamp for request in read_request_log(path)] == [1000.0]
