"""The gate's recording costs the load generator little, and its faster percentile reading is HDR's own rule."""

from __future__ import annotations

import random

import pytest
from hdrh.histogram import HdrHistogram

from hive_resilience.loadrun import latency
from hive_resilience.loadrun.latency import LatencyBook, RequestTally


def test_a_book_builds_a_tally_once_per_request_name(monkeypatch) -> None:
    built: list[RequestTally] = []

    def counted_tally() -> RequestTally:
        built.append(RequestTally())
        return built[-1]

    monkeypatch.setattr(latency, "RequestTally", counted_tally)
    book = LatencyBook()
    for _ in range(50):
        book.record("POST", "mcp tools/call get_current_time", 12.5, False)
    book.merge(book.export())
    assert len(built) == 2  # the name's tally and the aggregate, each built once


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_read_as_hdr_reads_them(seed: int) -> None:
    rng = random.Random(seed)
    tally = RequestTally()
    for _ in range(rng.choice((1, 7, 300, 3000))):
        tally.record(rng.lognormvariate(4, 1.5), False)
    decoded = RequestTally.from_encoded(latency.encode_histogram(tally.histogram))
    for percentile in (0, 0.1, 25, 50, 90, 95, 99, 99.9, 100):
        expected_ms = tally.histogram.get_value_at_percentile(percentile) / 1000
        assert tally.percentile_ms(percentile) == expected_ms
        assert decoded.percentile_ms(percentile) == expected_ms


def test_counts_at_or_under_a_value_sum_the_buckets_up_to_it() -> None:
    tally = RequestTally()
    for response_time_ms in (1, 2, 2, 50, 1000):
        tally.record(response_time_ms, False)
    assert [tally.count_at_or_under(limit_ms) for limit_ms in (0.5, 1.001, 2.002, 49, 51, 999, 1001)] == [0, 1, 3, 3, 4, 4, 5]


def test_a_rank_beyond_the_recorded_values_is_an_error() -> None:
    tally = RequestTally(histogram=HdrHistogram(latency.LOWEST_US, latency.HIGHEST_US, latency.SIGNIFICANT_DIGITS))
    tally.record(5, False)
    with pytest.raises(ValueError, match="beyond"):
        tally.value_at_rank_ms(2)
