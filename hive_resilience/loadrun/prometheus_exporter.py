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

At the end of the run the exporter waits for one more scrape before it stops (at most 1.5
scrape intervals plus a second, as measured from the scrapes it served, and never more than
:data:`FINAL_SCRAPE_WAIT_MAX_S`): the requests that end after Prometheus's last regular scrape
(the users' ``on_stop`` calls, the last second of load) would otherwise be missing from
Prometheus while the summary counts them. Nobody scraping, no wait.

Only the process that decides the verdict exposes them: a standalone Locust counts its own
``request`` events, a master merges the exact histograms its workers report (the same
``worker_report`` data the gate merges), so a distributed run has one scrape target with every
request once. Journeys (``request_type`` ``JOURNEY``) are exposed under their own type; the
production rules select them out, as the gate's aggregate does.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gevent
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
FINAL_SCRAPE_WAIT_MAX_S = 30.0
"""The longest the run's end waits for Prometheus's final scrape: enough for a 15 s or 20 s
scrape interval; a Prometheus scraping less often misses the run's last figures, and the run
says so."""
FINAL_SCRAPE_POLL_S = 0.1
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
    """Serves :class:`LiveFigures` on ``127.0.0.1:port`` (0: a free one, see :attr:`port`) in a greenlet,
    and remembers when each scrape started so that the run's end can wait for a final one."""

    def __init__(self, figures: LiveFigures, port: int) -> None:
        self.figures = figures
        registry = CollectorRegistry(auto_describe=False)
        registry.register(figures)
        self._metrics_app = make_wsgi_app(registry)
        self.scrapes_started: deque[float] = deque(maxlen=2)
        """``time.monotonic()`` at the start of the last two scrapes served: the interval and the latest."""
        self._server = WSGIServer((LOOPBACK, port), self._serve, log=None, error_log=None)
        self._server.start()

    def _serve(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.monotonic()
        response = list(self._metrics_app(environ, start_response))  # the figures are read here, in full
        self.scrapes_started.append(started)
        return response

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/metrics"

    def final_scrape_wait_s(self) -> float:
        """How long to wait for one more scrape: 1.5 of the last interval between scrapes plus a
        second, capped at :data:`FINAL_SCRAPE_WAIT_MAX_S`; 0 when fewer than two scrapes came."""
        if len(self.scrapes_started) < 2:
            return 0.0
        interval_s = self.scrapes_started[-1] - self.scrapes_started[-2]
        return min(interval_s * 1.5 + 1.0, FINAL_SCRAPE_WAIT_MAX_S)

    def await_final_scrape(self) -> bool | None:
        """Wait until a scrape that started now or later has been served: True when one came,
        False when none came in :meth:`final_scrape_wait_s`, None when nobody scrapes."""
        wait_s = self.final_scrape_wait_s()
        if wait_s == 0:
            return None
        since = time.monotonic()
        while time.monotonic() - since < wait_s:
            if self.scrapes_started[-1] >= since:
                return True
            gevent.sleep(FINAL_SCRAPE_POLL_S)
        return self.scrapes_started[-1] >= since

    def stop(self) -> None:
        self._server.stop(timeout=1)


def _final_scrape_then_stop(exporter: PrometheusExporter) -> None:
    """At the run's end: give Prometheus the final figures, say whether it took them, stop serving."""
    final = exporter.await_final_scrape()
    if final is False:
        print(f"hive-resilience: Prometheus did not scrape {exporter.url} within {exporter.final_scrape_wait_s():.0f} s "
              "of the run's end: it lacks the run's last figures (summary.json has them)", flush=True)
    exporter.stop()


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
    environment.events.quit.add_listener(lambda **_: _final_scrape_then_stop(exporter))
    print(f"hive-resilience: Prometheus metrics on {exporter.url}", flush=True)
    return exporter
