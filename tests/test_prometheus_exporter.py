"""The load run's live figures for Prometheus: what a scrape shows, read with prometheus_client's parser.

The in-process tests feed :class:`LiveFigures` directly; the Locust tests run plain headless
Locust on ``load/`` against a loopback port where nothing listens (every request fails fast),
standalone and as a master with a worker, and scrape it while it runs.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from pathlib import Path

import gevent
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hive_resilience.loadrun.arrivals import planned_rate_per_s
from hive_resilience.loadrun.latency import LatencyBook
from hive_resilience.loadrun.locust_process import LocustCommand, LocustProcess
from hive_resilience.loadrun.prometheus_exporter import (
    FINAL_SCRAPE_WAIT_MAX_S,
    LiveFigures,
    PrometheusExporter,
)
from hive_resilience.loadrun.run import locust_roles
from hive_resilience.loadrun.scenario import ArrivalStage
from hive_resilience.loadrun.slo import SloVerdict
from hive_resilience.loadrun.summary import SUMMARY_FILE, read_summary
from hive_resilience.target.embedded import LOOPBACK, free_port

SCENARIO = """
name: exposed
users: 2
spawn_rate: 2
duration: 8s
inconclusive: pass
user_classes:
  HiveApiUser: {weight: 1, wait_s: [0.2, 0.5]}
slos:
  - {metric: error_ratio, max: 1.0}
  - {metric: error_ratio, max: 0.05}
"""
LOCUST_TIMEOUT_S = 90
URL_PATTERN = re.compile(r"Prometheus metrics on (http://127\.0\.0\.1:\d+/metrics)")


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, keyed by its name and labels."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scrape(figures: LiveFigures) -> dict[tuple[str, frozenset], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(figures)
    return samples(generate_latest(registry).decode())


def figures(users: int = 0, rate: float | None = None, verdicts: list[SloVerdict] | None = None) -> LiveFigures:
    return LiveFigures(lambda: users, lambda: rate, lambda: verdicts or [])


def labels(**pairs: str) -> frozenset:
    return frozenset(pairs.items())


def bucket(request_type: str, name: str, le: str) -> tuple[str, frozenset]:
    return "hive_resilience_request_duration_seconds_bucket", labels(request_type=request_type, name=name, le=le)


def test_requests_are_counted_by_name_and_outcome():
    live = figures()
    for failed in (False, False, True):
        live.record("GET", "/api/health", 12.0, failed)
    got = scrape(live)
    assert got["hive_resilience_requests_total", labels(request_type="GET", name="/api/health", outcome="success")] == 2
    assert got["hive_resilience_requests_total", labels(request_type="GET", name="/api/health", outcome="failure")] == 1


def test_the_duration_histogram_has_an_edge_at_the_two_second_p99_bound():
    live = figures()
    live.record("POST", "/api/sessions", 2000.0, False)
    live.record("POST", "/api/sessions", 2100.0, False)
    got = scrape(live)
    assert got[bucket("POST", "/api/sessions", "1.75")] == 0
    assert got[bucket("POST", "/api/sessions", "2")] == 1
    assert got[bucket("POST", "/api/sessions", "2.25")] == 2
    assert got[bucket("POST", "/api/sessions", "+Inf")] == 2
    assert got["hive_resilience_request_duration_seconds_sum", labels(request_type="POST", name="/api/sessions")] \
        == pytest.approx(4.1)


def test_the_buckets_are_dense_between_half_a_second_and_five():
    live = figures()
    live.record("GET", "/x", 1.0, False)
    bounds = sorted(float(dict(key)["le"]) for name, key in scrape(live)
                    if name.endswith("_bucket") and dict(key)["le"] != "+Inf")
    assert len([bound for bound in bounds if 0.5 <= bound <= 5]) >= 12


def test_a_workers_report_adds_what_the_same_requests_recorded_here_would():
    times_ms = [3.0, 480.0, 1999.0, 2050.0, 2600.0, 9000.0]
    here, merged, book = figures(), figures(), LatencyBook()
    for number, time_ms in enumerate(times_ms):
        here.record("GET", "/api/health", time_ms, number % 2 == 0)
        book.record("GET", "/api/health", time_ms, number % 2 == 0)
    merged.merge(book.export())
    expected, got = scrape(here), scrape(merged)
    assert {key: value for key, value in got.items() if not key[0].endswith("_sum")} == \
        {key: value for key, value in expected.items() if not key[0].endswith("_sum")}
    sum_key = ("hive_resilience_request_duration_seconds_sum", labels(request_type="GET", name="/api/health"))
    assert got[sum_key] == pytest.approx(expected[sum_key], rel=0.001)


def test_the_books_aggregate_is_left_to_prometheus():
    live, book = figures(), LatencyBook()
    book.record("GET", "/a", 5.0, False)
    book.record("GET", "/b", 5.0, False)
    live.merge(book.export())
    names = {dict(key)["name"] for name, key in scrape(live) if name == "hive_resilience_requests_total"}
    assert names == {"/a", "/b"}


def test_users_and_slo_status_are_read_at_scrape_time():
    held = SloVerdict("error_ratio <= 0.05", "error_ratio", "Aggregated", 0.05, "max", 0.01, "pass")
    broken = SloVerdict("p99_ms <= 2000", "p99_ms", "Aggregated", 2000, "max", 2500, "fail")
    got = scrape(figures(users=7, verdicts=[held, broken]))
    assert got["hive_resilience_users", frozenset()] == 7
    assert got["hive_resilience_slo_ok", labels(slo="error_ratio <= 0.05")] == 1
    assert got["hive_resilience_slo_ok", labels(slo="p99_ms <= 2000")] == 0
    assert not any(name == "hive_resilience_arrival_rate_per_second" for name, _ in got)


def test_an_arrivals_run_exposes_its_planned_rate():
    assert scrape(figures(rate=2.5))["hive_resilience_arrival_rate_per_second", frozenset()] == 2.5


def test_the_planned_rate_follows_the_ramps_and_steps_of_the_plan():
    stages = [ArrivalStage(duration="10s", rate=4, ramp="4s"), ArrivalStage(duration="5s", rate=1)]
    assert [planned_rate_per_s(stages, at_s) for at_s in (0, 2, 4, 9.9, 10, 14.9, 15)] == [0, 2, 4, 4, 1, 1, 0]


class Scraper(threading.Thread):
    """Scrapes an exporter every ``interval_s`` (a plain thread: the exporter's gevent server
    serves only while the test's main greenlet sleeps in gevent), keeping every scrape."""

    def __init__(self, url: str, interval_s: float) -> None:
        super().__init__(daemon=True)
        self.url, self.interval_s = url, interval_s
        self.scrapes: list[dict] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.interval_s):
            self.scrapes.append(samples(urllib.request.urlopen(self.url, timeout=5).read().decode()))


def exporter_scraped_every(interval_s: float, scrapes: int) -> tuple[PrometheusExporter, Scraper]:
    """An exporter on a free port and a scraper that has scraped it ``scrapes`` times."""
    exporter = PrometheusExporter(figures(), 0)
    scraper = Scraper(exporter.url, interval_s)
    scraper.start()
    deadline = time.monotonic() + 10
    while len(exporter.scrapes_started) < scrapes and time.monotonic() < deadline:
        gevent.sleep(0.05)
    assert len(exporter.scrapes_started) >= scrapes
    return exporter, scraper


def test_the_final_scrape_wait_follows_the_scrape_interval_and_is_capped():
    exporter = PrometheusExporter(figures(), 0)
    try:
        assert exporter.final_scrape_wait_s() == 0, "nobody scrapes: no wait"
        exporter.scrapes_started.extend([100.0, 102.0])
        assert exporter.final_scrape_wait_s() == 4.0
        exporter.scrapes_started.append(162.0)
        assert exporter.final_scrape_wait_s() == FINAL_SCRAPE_WAIT_MAX_S
    finally:
        exporter.stop()


def test_the_runs_end_waits_for_a_scrape_that_sees_the_last_requests():
    exporter, scraper = exporter_scraped_every(0.3, scrapes=2)
    try:
        exporter.figures.record("DELETE", "mcp session delete", 4.0, False)  # ended after the last scrape
        assert exporter.await_final_scrape() is True
        gevent.sleep(0.05)  # the scraper thread keeps what it read
        key = ("hive_resilience_requests_total", labels(request_type="DELETE", name="mcp session delete",
                                                        outcome="success"))
        assert scraper.scrapes[-1][key] == 1
    finally:
        scraper.halt.set()
        exporter.stop()


def test_the_runs_end_says_when_prometheus_stopped_scraping():
    exporter, scraper = exporter_scraped_every(0.2, scrapes=2)
    scraper.halt.set()
    scraper.join()
    try:
        started = time.monotonic()
        assert exporter.await_final_scrape() is False
        assert time.monotonic() - started == pytest.approx(exporter.final_scrape_wait_s(), abs=0.5)
    finally:
        exporter.stop()


def test_nobody_scraping_means_no_wait_at_the_runs_end():
    exporter = PrometheusExporter(figures(), 0)
    try:
        assert exporter.await_final_scrape() is None
    finally:
        exporter.stop()


def test_only_the_process_that_decides_the_verdict_exposes_figures():
    command = LocustCommand(scenario="smoke", host="http://127.0.0.1:8787", prometheus_port=9464)
    master, worker = locust_roles(command, workers=1, master_port=5601)
    assert "--prometheus-port" in master.command.argv()
    assert "--prometheus-port" not in worker.command.argv()
    assert "--prometheus-port" not in LocustCommand().argv()


def run_and_scrape(tmp_path: Path, workers: int) -> tuple[list[dict], Path]:
    """Run the scenario (``workers`` 0: standalone) exposing on a free port; every scrape of it, and the report folder."""
    scenario = tmp_path / "exposed.yaml"
    scenario.write_text(SCENARIO)
    report_dir = tmp_path / "report"
    command = LocustCommand(scenario=str(scenario), host=f"http://{LOOPBACK}:{free_port()}", report_dir=report_dir,
                            prometheus_port=0)
    urls: list[str] = []
    found = threading.Event()

    def on_line(line: str) -> None:
        if match := URL_PATTERN.search(line):
            urls.append(match.group(1))
            found.set()

    roles = locust_roles(command, workers, free_port() if workers else 0)
    processes = [LocustProcess(role.command, tmp_path / role.log_name, cwd=tmp_path,
                               on_line=on_line if number == 0 else None) for number, role in enumerate(roles)]
    scrapes = []
    try:
        assert found.wait(30), (tmp_path / "locust.log").read_text()[-2000:]
        deadline = time.monotonic() + LOCUST_TIMEOUT_S
        while processes[0].exit_code is None and time.monotonic() < deadline:
            try:
                scrapes.append(samples(urllib.request.urlopen(urls[0], timeout=5).read().decode()))
            except OSError:  # the run ended between the check and the scrape
                break
            time.sleep(0.5)
        processes[0].wait(LOCUST_TIMEOUT_S)
    finally:
        for process in processes:
            process.stop(until=time.monotonic() + 30)
    return scrapes, report_dir


def total(scraped: dict, outcome: str | None = None) -> float:
    return sum(value for (name, key), value in scraped.items() if name == "hive_resilience_requests_total"
               and (outcome is None or dict(key)["outcome"] == outcome))


@pytest.mark.parametrize("workers", [0, 1], ids=["standalone", "master-with-a-worker"])
def test_a_running_load_exposes_what_its_summary_reports(tmp_path, workers):
    scrapes, report_dir = run_and_scrape(tmp_path, workers)
    summary = read_summary(report_dir / SUMMARY_FILE)
    counted = next(row.requests for row in summary.requests if row.name == "Aggregated")
    totals = [total(scraped) for scraped in scrapes]
    assert totals == sorted(totals), "a counter went backwards"
    assert 0 < totals[-1] == counted, "the final scrape, after the last request, counts what the summary counts"
    assert total(scrapes[-1], "success") == 0, "nothing listens: every request fails"
    assert max(scraped["hive_resilience_users", frozenset()] for scraped in scrapes) == 2
    ok = {dict(key)["slo"]: value for scraped in scrapes[-1:] for (name, key), value in scraped.items()
          if name == "hive_resilience_slo_ok"}
    assert ok["error_ratio <= 1 (Aggregated)"] == 1
    assert ok["error_ratio <= 0.05 (Aggregated)"] == 0
