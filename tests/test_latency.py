"""Exact latency recording: percentiles within 1 %, exact merges, journeys outside the aggregate."""

from __future__ import annotations

import random

import pytest

from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE, LatencyBook
from hive_resilience.loadrun.scenario import AGGREGATED


def exact_percentile(values: list[float], percentile: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(percentile / 100 * len(ordered))) - 1)]


def test_percentiles_are_within_one_percent_where_locust_buckets_by_ten_ms():
    rng = random.Random(7)
    values = [rng.uniform(1900, 2100) for _ in range(5000)]
    book = LatencyBook()
    for value in values:
        book.record("GET", "/x", value, False)
    for percentile in (50, 95, 99):
        measured = book.find("/x").percentile_ms(percentile)
        assert abs(measured - exact_percentile(values, percentile)) / exact_percentile(values, percentile) < 0.01


def test_merging_exported_books_equals_recording_everything_in_one():
    rng = random.Random(3)
    single, worker_a, worker_b = LatencyBook(), LatencyBook(), LatencyBook()
    for index in range(2000):
        value, failed = rng.expovariate(1 / 80), index % 17 == 0
        single.record("GET", "/x", value, failed)
        (worker_a if index % 2 else worker_b).record("GET", "/x", value, failed)
    master = LatencyBook()
    master.merge(worker_a.export())
    master.merge(worker_b.export())
    for key in ("GET /x", AGGREGATED):
        merged, whole = master.tallies[key], single.tallies[key]
        assert (merged.requests, merged.failures) == (whole.requests, whole.failures)
        assert merged.percentile_ms(99) == whole.percentile_ms(99)


def test_journeys_have_their_own_entry_but_stay_out_of_the_aggregate():
    book = LatencyBook()
    book.record("GET", "/api/health", 5, False)
    book.record(JOURNEY_REQUEST_TYPE, "chat time-to-reply", 9000, True)
    assert book.tallies[AGGREGATED].requests == 1
    assert book.tallies[AGGREGATED].failures == 0
    assert book.find("chat time-to-reply").max_ms() == pytest.approx(9000, rel=1e-3)


def test_bare_names_find_their_entry_and_unknown_names_find_nothing():
    book = LatencyBook()
    book.record("POST", "/api/sessions", 10, False)
    assert book.find("/api/sessions") is book.find("POST /api/sessions")
    assert book.find("/api/nothing") is None


def test_error_ratio_counts_failures_over_requests():
    book = LatencyBook()
    for failed in (True, False, False, False):
        book.record("GET", "/x", 1, failed)
    assert book.find("/x").error_ratio == 0.25
