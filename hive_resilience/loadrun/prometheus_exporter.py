"""The load run's live figures for Prometheus, served on loopback while Locust runs.

A staging or production dashboard reads Prometheus, not summary.json, so the run exposes what
its gate judges as Prometheus metrics (``prometheus_client``'s exposition, scraped at
``http://127.0.0.1:PORT/metrics``):

- ``hive_resilience_requests_total{request_type,name,outcome}``: requests ended, ``outcome``
  ``success`` or ``failure``;
- ``hive_resilience_request_duration_seconds{request_type,name}``: a histogram whose buckets are
  dense between 0.5 and 5 s, with an edge at 2 s, so ``histogram_quantile(0.99, ...)`` decides
  the production alert "p99 above 2 s" exactly at its threshold;
- ``hive_resilience_users``: users running now; ``hive_resilience_arrival_rate_per_second``: the
  planned arrival rate now (arrivals scenarios only);
- ``hive_resilience_slo_ok{slo}``: 1 while a request SLO holds on what was measured so far, 0
  when the gate would fail it now (inconclusive counts as the scenario says), from the same
  evaluation the gate runs at the end.

Only the process that decides the verdict exposes them: a standalone Locust counts its own
``request`` events, a master merges the exact histograms its workers report (the same
``worker_report`` data the gate merges), so a distributed run has one scrape target with every
request once. Journeys (``request_type`` ``JOURNEY``) are exposed under their own type; the
production rules select them out, as the gate's aggregate does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gevent.pywsgi import WSGIServer
from hdrh.histogram import HdrHistogram
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from hive_resilience.loadrun.arrivals import planned_rate_per_s
from hive_resilience.loadrun.scenario import AGGREGATED, ArrivalStage
from hive_resilience.loadrun.slo import SloVerdict
from hive_resilience.target.embedded import LOOPBACK

if TYPE_CHECKING:  # importing Locust monkey-patches with gevent: not in processes that only read figures
    from locust.env import Environment

METRIC_PREFIX = "hive_resilience"
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0,
                      3.5, 4.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0)
"""Upper bounds of the duration histogram: dense around the 2 s p99 bound of the production alert."""
SUCCESS = "success"
FAILURE = "failure"


@dataclass
class _RequestSeries:
    """One request name's figures in Prometheus's form: cumulative-ready bucket counts and a sum."""

    bucket_counts: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS_S) + 1))
    duration_sum_s: float = 0.0
    successes: int = 0
    failures: int = 0

    def add(self, duration_s: float, count: int) -> None:
        index = next((i for i, bound in enumerate(DURATION_BUCKETS_S) if duration_s <= bound), len(DURATION_BUCKETS_S))
        self.bucket_counts[index] += count
        self.duration_sum_s += duration_s * count

    def cumulative_buckets(self) -> list[tuple[str, float]]:
        bounds = [*(f"{bound:g}" for bound in DURATION_BUCKETS_S), "+Inf"]
        running, buckets = 0, []
        for bound, count in zip(bounds, self.bucket_counts, strict=True):
            running += count
            buckets.append((bound, running))
        return buckets


class LiveFigures(Collector):
    """The run's figures so far, turned into metric families at every scrape.

    Counts are kept here, not in ``prometheus_client`` counters, because a master adds a
    worker's whole report at once (a histogram of many requests), which its counters cannot.
    The callables are read at scrape time: the users now, the planned arrival rate now (None
    for a users scenario), the SLO verdicts on what was measured so far.
    """

    def __init__(self, users: Callable[[], int], arrival_rate_per_s: Callable[[], float | None],
                 slo_verdicts: Callable[[], list[SloVerdict]]) -> None:
        self._series: dict[tuple[str, str], _RequestSeries] = {}
        self._users = users
        self._arrival_rate_per_s = arrival_rate_per_s
        self._slo_verdicts = slo_verdicts

    def record(self, request_type: str, name: str, response_time_ms: float, failed: bool) -> None:
        """One request, as Locust's ``request`` event reports it."""
        series = self._series.setdefault((request_type, name), _RequestSeries())
        series.add(response_time_ms / 1000, 1)
        series.failures += int(failed)
        series.successes += int(not failed)

    def merge(self, exported_book: dict[str, dict]) -> None:
        """A worker's report: :meth:`LatencyBook.export` of the requests since its last one."""
        for key, data in exported_book.items():
            if key == AGGREGATED:  # the sum of the others: Prometheus sums itself
                continue
            request_type, _, name = key.partition(" ")
            series = self._series.setdefault((request_type, name), _RequestSeries())
            histogram = HdrHistogram.decode(data["histogram"].encode("ascii"))
            for step in histogram.get_recorded_iterator():
                series.add(step.value_iterated_to / 1_000_000, step.count_at_value_iterated_to)
            series.failures += data["failures"]
            series.successes += data["requests"] - data["failures"]

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(f"{METRIC_PREFIX}_requests", "Requests ended, by outcome",
                                       labels=("request_type", "name", "outcome"))
        durations = HistogramMetricFamily(f"{METRIC_PREFIX}_request_duration_seconds", "Response times of ended requests",
                                          labels=("request_type", "name"))
        for (request_type, name), series in sorted(self._series.items()):
            requests.add_metric((request_type, name, SUCCESS), series.successes)
            requests.add_metric((request_type, name, FAILURE), series.failures)
            durations.add_metric((request_type, name), series.cumulative_buckets(), series.duration_sum_s)
        yield requests
        yield durations
        yield GaugeMetricFamily(f"{METRIC_PREFIX}_users", "Users running now", value=self._users())
        rate_per_s = self._arrival_rate_per_s()
        if rate_per_s is not None:
            yield GaugeMetricFamily(f"{METRIC_PREFIX}_arrival_rate_per_second", "Planned arrivals per second now",
                                    value=rate_per_s)
        slo_ok = GaugeMetricFamily(f"{METRIC_PREFIX}_slo_ok", "1 while the SLO holds on the run so far, 0 when it fails",
                                   labels=("slo",))
        for verdict in self._slo_verdicts():
            slo_ok.add_metric((verdict.label,), 0 if verdict.failed else 1)
        yield slo_ok


class PrometheusExporter:
    """Serves :class:`LiveFigures` on ``127.0.0.1:port`` (0: a free one, see :attr:`port`) in a greenlet."""

    def __init__(self, figures: LiveFigures, port: int) -> None:
        self.figures = figures
        registry = CollectorRegistry(auto_describe=False)
        registry.register(figures)
        self._server = WSGIServer((LOOPBACK, port), make_wsgi_app(registry), log=None, error_log=None)
        self._server.start()

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.stop(timeout=1)


def expose(environment: Environment, port: int, report_key: str, slo_verdicts: Callable[[], list[SloVerdict]],
           arrival_stages: Sequence[ArrivalStage] = ()) -> PrometheusExporter:
    """Start the exporter of this Locust process (standalone or master) and feed it its events.

    ``report_key`` is where the suite's plugin puts the exported book in a worker's report;
    with ``arrival_stages`` the planned rate is exposed, counted from the test's start.
    """
    started_at: list[float] = []
    environment.events.test_start.add_listener(lambda **_: started_at.append(time.time()))

    def arrival_rate_per_s() -> float | None:
        if not arrival_stages:
            return None
        return planned_rate_per_s(arrival_stages, time.time() - started_at[0]) if started_at else 0.0

    figures = LiveFigures(lambda: environment.runner.user_count if environment.runner else 0, arrival_rate_per_s,
                          slo_verdicts)
    exporter = PrometheusExporter(figures, port)

    def on_request(request_type: str, name: str, response_time: float, exception: BaseException | None,
                   **_: object) -> None:
        figures.record(request_type, name, response_time or 0.0, exception is not None)

    def on_worker_report(data: dict, **_: object) -> None:
        if report_key in data:
            figures.merge(data[report_key]["book"])

    environment.events.request.add_listener(on_request)
    environment.events.worker_report.add_listener(on_worker_report)
    environment.events.quit.add_listener(lambda **_: exporter.stop())
    print(f"hive-resilience: Prometheus metrics on {exporter.url}", flush=True)
    return exporter
