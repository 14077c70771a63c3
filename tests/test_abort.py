"""Abort on failure: an SLO with ``abort: true`` stops the run once, after its grace, its running
verdict is a decided fail (the whole interval beyond the bound, on enough samples); the run then
fails as incomplete, saying why. Fast checks on fake figures, and one real short run against a
server on 127.0.0.1 that fails every request."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.etree import ElementTree

import pytest

from hive_resilience.loadrun.latency import LatencyBook
from hive_resilience.loadrun.progress import ABORT_MIN_SAMPLES, LiveRun, abort_reason
from hive_resilience.loadrun.scenario import Scenario, ScenarioError, Slo, load_scenario
from hive_resilience.target.embedded import LOOPBACK

ERRORS_ABORT = Slo(metric="error_ratio", max=0.05, abort=True, abort_after="5s")
PLANNED_S = 60
ABORTED_WITHIN_S = 40
"""Grace 5 s, users stopping 10 s, Locust starting and reporting: far under the planned 60 s."""


def _book(requests: int, failures: int) -> LatencyBook:
    book = LatencyBook()
    for index in range(requests):
        book.record("GET", "/api/health", 50.0, index < failures)
    return book


def test_a_scenario_slo_takes_abort_and_a_grace_duration(tmp_path: Path) -> None:
    path = tmp_path / "abortive.yaml"
    path.write_text("users: 1\nspawn_rate: 1\nduration: 60s\n"
                    "slos:\n  - {metric: p99_ms, max: 2000, abort: true, abort_after: 1m}\n  - {metric: error_ratio, max: 0.05}\n")

    first, second = load_scenario(str(path)).slos

    assert (first.abort, first.abort_after_s) == (True, 60.0)
    assert (second.abort, second.abort_after_s) == (False, 30.0)


@pytest.mark.parametrize("metric", ["requests", "rss_mb"])
def test_abort_on_a_figure_decided_only_at_the_end_is_refused(tmp_path: Path, metric: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"users: 1\nspawn_rate: 1\nduration: 60s\nslos:\n  - {{metric: {metric}, min: 1, abort: true}}\n")

    with pytest.raises(ScenarioError, match=rf"bad.yaml: key 'slos.0': abort needs a metric judged by its confidence "
                                            rf"interval .*; {metric} is judged at the end"):
        load_scenario(str(path))


def test_a_clearly_broken_slo_past_its_grace_aborts_with_its_figures() -> None:
    reason = abort_reason((ERRORS_ABORT,), _book(100, 100), 6.4)

    assert reason is not None
    assert reason.startswith("aborted: error_ratio <= 0.05 (Aggregated) clearly broken at 6 s: measured 1 (n=100, 95 % CI ")


def test_no_abort_within_the_grace() -> None:
    assert abort_reason((ERRORS_ABORT,), _book(100, 100), 4.9) is None


def test_no_abort_while_the_interval_still_straddles_the_bound() -> None:
    book = _book(100, 8)  # 8 % measured, but Wilson's interval reaches under 5 %

    assert abort_reason((ERRORS_ABORT,), book, 60.0) is None


def test_no_abort_on_too_few_samples_however_bad() -> None:
    assert abort_reason((ERRORS_ABORT,), _book(ABORT_MIN_SAMPLES - 1, ABORT_MIN_SAMPLES - 1), 60.0) is None
    assert abort_reason((ERRORS_ABORT,), _book(ABORT_MIN_SAMPLES, ABORT_MIN_SAMPLES), 60.0) is not None


def test_a_broken_slo_without_abort_lets_the_run_go_on() -> None:
    assert abort_reason((Slo(metric="error_ratio", max=0.05),), _book(100, 100), 60.0) is None


def test_the_live_run_stops_once_and_keeps_the_reason() -> None:
    scenario = Scenario.model_validate({"name": "abortive", "stages": [{"duration": "60s", "users": 1, "spawn_rate": 1}],
                                        "slos": [ERRORS_ABORT]})
    book, lines, stops = _book(100, 100), [], []
    live = LiveRun(scenario, book, 10.0, lines.append, lambda: stops.append(1))
    live.start(0.0)

    live.tick(4.0, 1)
    assert (stops, live.aborted) == ([], None)
    live.tick(5.0, 1)
    live.tick(6.0, 1)

    assert stops == [1]
    assert live.aborted is not None and live.aborted.startswith("aborted: error_ratio <= 0.05")
    assert lines == [f"hive-resilience: {live.aborted}; stopping the run"]


class _FailingHandler(BaseHTTPRequestHandler):
    def _fail(self) -> None:
        body = b'{"error": "down"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _fail

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def failing_server():
    server = ThreadingHTTPServer((LOOPBACK, 0), _FailingHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_run_against_a_failing_server_stops_early_and_fails_as_aborted(tmp_path: Path, failing_server: str) -> None:
    scenario = tmp_path / "abortive.yaml"
    scenario.write_text(f"users: 4\nspawn_rate: 4\nduration: {PLANNED_S}s\n"
                        "user_classes: {HiveApiUser: {weight: 1, wait_s: [0.05, 0.1]}}\n"
                        "slos:\n  - {metric: error_ratio, max: 0.05, abort: true, abort_after: 5s}\n")
    started = time.monotonic()

    result = subprocess.run([sys.executable, "-m", "hive_resilience.cli", "run", str(scenario), "--host", failing_server,
                             "--progress-interval", "2"],
                            check=False, capture_output=True, text=True, timeout=PLANNED_S + 150, cwd=tmp_path)

    took_s = time.monotonic() - started
    (run_dir,) = (tmp_path / "reports").glob("*")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert result.returncode == 1, result.stdout + result.stderr
    assert took_s < ABORTED_WITHIN_S
    assert (summary["completed"], summary["passed"]) == (False, False)
    assert summary["incomplete_reason"].startswith("aborted: error_ratio <= 0.05 (Aggregated) clearly broken at ")
    assert f"INCOMPLETE: {summary['incomplete_reason']}" in result.stdout
    errors = ElementTree.parse(run_dir / "junit.xml").getroot().findall("testcase/error")
    assert [error.get("message") for error in errors] == [summary["incomplete_reason"]]
    assert "at risk: error_ratio <= 0.05 (Aggregated)" in result.stdout
