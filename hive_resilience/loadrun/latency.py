"""Exact response-time recording for the SLO gate.

Locust rounds response times into buckets (10 ms steps past 100 ms, coarser past 1 s), too
coarse to decide a p99 near 2000 ms. Every request also goes into an HDR histogram per
request name, with three significant digits (0.1 % error), and histograms merge exactly,
so workers can ship them to the master. :meth:`RequestTally.percentile_ms` is the only
percentile rule in the suite; :meth:`RequestTally.percentile_interval_ms` reads its confidence
interval from the same histogram, by rank, so interval and point estimate always agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from hive_resilience.loadrun.intervals import order_statistic_ranks
from hive_resilience.loadrun.scenario import AGGREGATED

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: anything slower is a hang, clamp it there
SIGNIFICANT_DIGITS = 3
JOURNEY_REQUEST_TYPE = "JOURNEY"
"""Entries that time a user journey spanning several requests (e.g. chat time-to-reply).

They are gated by their own SLOs and kept out of the aggregate, which, like the production
alert rules it mirrors, covers individual HTTP requests.
"""


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def encode_histogram(histogram: HdrHistogram) -> str:
    """HDR's own compressed, base64 form: what workers ship to the master and ``summary.json`` keeps."""
    return histogram.encode().decode("ascii")


def decode_histogram(encoded: str) -> HdrHistogram:
    return HdrHistogram.decode(encoded.encode("ascii"))


@dataclass
class RequestTally:
    """Everything the gate needs about one request name: latencies and outcome counts."""

    histogram: HdrHistogram = field(default_factory=new_histogram)
    requests: int = 0
    failures: int = 0

    @classmethod
    def from_encoded(cls, encoded: str, failures: int = 0) -> RequestTally:
        """A tally read back from :func:`encode_histogram`'s form, so its percentiles follow the one rule."""
        histogram = decode_histogram(encoded)
        return cls(histogram=histogram, requests=histogram.get_total_count(), failures=failures)

    def record(self, response_time_ms: float, failed: bool) -> None:
        micros = min(max(round(response_time_ms * 1000), LOWEST_US), HIGHEST_US)
        self.histogram.record_value(micros)
        self.requests += 1
        self.failures += int(failed)

    def percentile_ms(self, percentile: float) -> float | None:
        """The suite's one percentile rule: nearest rank over the histogram, within 0.1 %.

        The gate, request-log windows and chaos probes all read percentiles here, so a figure
        means the same wherever it is reported.
        """
        if self.requests == 0:
            return None
        if percentile <= 0:  # HDR reads the 0th percentile as its bucket's lowest value, not its highest
            return self.histogram.get_value_at_percentile(percentile) / 1000
        return self.value_at_rank_ms(self.histogram.get_target_count_at_percentile(percentile))

    def value_at_rank_ms(self, rank: int) -> float:
        """The ``rank``-th smallest response time (1-based), read as :meth:`percentile_ms` reads it:
        the highest value of the HDR bucket where the cumulative count reaches ``rank``."""
        cumulative = 0
        for index, count in self._bucket_counts():
            cumulative += count
            if cumulative >= rank:
                return self.histogram.get_highest_equivalent_value(self.histogram.get_value_from_index(index)) / 1000
        raise ValueError(f"rank {rank} is beyond the {self.requests} recorded values")

    def percentile_interval_ms(self, percentile: float) -> tuple[float, float | None] | None:
        """The 95 % order-statistic interval of a percentile; high is None when too few samples bound it.

        Distribution-free: the true percentile lies between the l-th and u-th smallest samples
        (see :func:`~hive_resilience.loadrun.intervals.order_statistic_ranks`).
        """
        if self.requests == 0:
            return None
        low_rank, high_rank = order_statistic_ranks(self.requests, percentile / 100)
        low = self.value_at_rank_ms(low_rank) if low_rank >= 1 else 0.0
        return low, self.value_at_rank_ms(high_rank) if high_rank <= self.requests else None

    def count_at_or_under(self, value_ms: float) -> int:
        """How many response times are at or under ``value_ms``, bucket by bucket as :meth:`value_at_rank_ms` reads them."""
        limit_us = value_ms * 1000
        return sum(count for index, count in self._bucket_counts()
                   if self.histogram.get_highest_equivalent_value(self.histogram.get_value_from_index(index)) <= limit_us)

    def _bucket_counts(self) -> Iterator[tuple[int, int]]:
        """``(index, count)`` of the histogram's non-empty buckets, in order.

        HDR's own loop (``get_value_at_percentile``) calls a method per bucket of all ~23,500;
        skipping the empty ones at C speed makes a percentile ~5x cheaper, which the timeline
        pays for every request name every second, on the load generator's core.
        """
        view = memoryview(self.histogram.counts)
        counts = view.cast("B").cast(view.format.lstrip("<>=!@"))
        return ((index, counts[index]) for index in itertools.compress(itertools.count(), counts))

    def max_ms(self) -> float | None:
        return self.histogram.get_max_value() / 1000 if self.requests else None

    @property
    def error_ratio(self) -> float | None:
        return self.failures / self.requests if self.requests else None


class LatencyBook:
    """Tallies keyed by ``"<TYPE> <name>"``, plus the aggregate over all but journeys."""

    def __init__(self) -> None:
        self.tallies: dict[str, RequestTally] = {}

    def record(self, request_type: str, name: str, response_time_ms: float, failed: bool) -> None:
        self._tally(f"{request_type} {name}").record(response_time_ms, failed)
        if request_type != JOURNEY_REQUEST_TYPE:
            self._tally(AGGREGATED).record(response_time_ms, failed)

    def _tally(self, key: str) -> RequestTally:
        # Not setdefault(key, RequestTally()): that builds a histogram (~0.1 ms) on every request.
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = RequestTally()
        return tally

    def find(self, request: str) -> RequestTally | None:
        """The tally for ``request``, which may be a full key or a bare name without its type."""
        if request in self.tallies:
            return self.tallies[request]
        matches = [tally for key, tally in self.tallies.items() if key.split(" ", 1)[-1] == request]
        return matches[0] if len(matches) == 1 else None

    def export(self) -> dict[str, dict]:
        """A picklable form for Locust's worker-to-master reports."""
        return {
            key: {"histogram": encode_histogram(tally.histogram), "requests": tally.requests, "failures": tally.failures}
            for key, tally in self.tallies.items()
        }

    def merge(self, exported: dict[str, dict]) -> None:
        for key, data in exported.items():
            tally = self._tally(key)
            tally.histogram.add(decode_histogram(data["histogram"]))
            tally.requests += data["requests"]
            tally.failures += data["failures"]

    def clear(self) -> None:
        self.tallies.clear()
