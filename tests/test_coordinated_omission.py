"""Coordinated omission: an open-model run measures a server's stall; a closed-model run hides it.

A tiny server on 127.0.0.1 answers at once, except that it stalls every request for
:data:`STALL_S` once, a few seconds in. Real Locust runs (through the one Locust runner) load
it at the same mean rate: open, arrivals keep coming during the stall and each waits for it,
so the p99 includes the stall; closed, the one user waits out the stall on one request and
sends nothing meanwhile, so one slow sample among hundreds leaves the p99 fast. The same
harness shows two Locust workers playing the plan between them, and a late arrival's requests
counted from its intended start.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hive_resilience.loadrun.arrivals import schedule
from hive_resilience.loadrun.locust_process import LocustCommand, LocustProcess
from hive_resilience.loadrun.run import locust_roles
from hive_resilience.loadrun.scenario import Arrivals
from hive_resilience.target.embedded import LOOPBACK, free_port

RATE_PER_S = 20
RUN_S = 12
STALL_AFTER_S = 4.0
STALL_S = 2.3
"""Above 2 s by more than 1 % of the run: the arrivals of the stall's last 1 % of the run are under 2 s."""
RUN_TIMEOUT_S = RUN_S + 60

LOCUSTFILE = '''
import sys

from locust import FastHttpUser, task

from hive_resilience.loadrun.users import ScenarioUser
from hive_resilience.paths import LOAD_DIR

sys.path.insert(0, str(LOAD_DIR))
from shape import ScenarioShape  # noqa: E402,F401  (the suite's shape plays the scenario's plan)


class StallProbeUser(FastHttpUser, ScenarioUser):
    host = "http://127.0.0.1:1"

    @task
    def ping(self):
        self.client.get("/ping")
'''


class _StallingServer(ThreadingHTTPServer):
    """Answers at once, except that from STALL_AFTER_S after its first request every request waits
    until the stall ends, STALL_S later."""

    daemon_threads = True

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.first_request_at: float | None = None
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: _StallingServer = self.server  # type: ignore[assignment]
        with server.lock:
            now = time.monotonic()
            server.first_request_at = server.first_request_at or now
        stall_start = server.first_request_at + STALL_AFTER_S
        if stall_start <= now < stall_start + STALL_S:
            time.sleep(stall_start + STALL_S - now)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def stalling_server():
    """A factory of fresh servers (each stalls once), all shut down after the test."""
    servers = []

    def start() -> str:
        server = _StallingServer((LOOPBACK, 0), _Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://{LOOPBACK}:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _run(tmp_path: Path, host: str, name: str, plan: str, user_class: str, workers: int = 0) -> dict:
    """One real Locust run of ``plan`` against ``host`` (a master and ``workers`` workers, or one process); its summary."""
    locustfile = tmp_path / "stall_probe.py"
    locustfile.write_text(LOCUSTFILE)
    scenario = tmp_path / f"{name}.yaml"
    scenario.write_text(f"name: {name}\n{plan}\nuser_classes: {{StallProbeUser: {user_class}}}\n")
    report_dir = tmp_path / name
    command = LocustCommand(locustfile=locustfile, host=host, scenario=str(scenario), report_dir=report_dir,
                            inconclusive="pass", stop_timeout_s=5)
    processes = [LocustProcess(role.command, tmp_path / f"{name}-{role.log_name}")
                 for role in locust_roles(command, workers, free_port() if workers else 0)]
    try:
        processes[0].wait(RUN_TIMEOUT_S)
    finally:
        for process in processes:
            process.stop(until=time.monotonic() + 10)
    return json.loads((report_dir / "summary.json").read_text())


def _ping(summary: dict, rows: str = "requests") -> dict:
    return next(row for row in summary[rows] if row["name"] == "GET /ping")


def test_the_open_models_p99_includes_a_stall_that_the_closed_model_at_the_same_rate_hides(tmp_path, stalling_server):
    open_model = _run(tmp_path, stalling_server(), "open",
                      f"arrivals: {{pattern: constant, rate: {RATE_PER_S}, duration: {RUN_S}s, max_in_flight: 200}}",
                      "{weight: 1}")
    pause_s = 1 / RATE_PER_S
    closed_model = _run(tmp_path, stalling_server(), "closed", f"users: 1\nspawn_rate: 1\nduration: {RUN_S}s",
                        f"{{weight: 1, wait_s: [{pause_s}, {pause_s}]}}")
    assert _ping(open_model)["p99_ms"] >= STALL_S * 1000 * 0.9 >= 2000, _ping(open_model)
    assert _ping(closed_model)["p99_ms"] < 2000, _ping(closed_model)
    assert _ping(closed_model)["max_ms"] >= 2000, "the closed user did meet the stall, on one request"
    service = _ping(open_model, "service_requests")  # from each request's actual start: kept beside it
    assert service["requests"] == _ping(open_model)["requests"] and service["p50_ms"] <= _ping(open_model)["p50_ms"]
    assert open_model["arrivals"]["dropped"] == 0
    assert abs(open_model["arrivals"]["achieved_rate_per_s"] - RATE_PER_S) <= 0.02 * RATE_PER_S


def test_two_workers_split_the_arrivals_so_that_together_they_play_the_plan(tmp_path, stalling_server):
    summary = _run(tmp_path, stalling_server(), "workers",
                   f"arrivals: {{pattern: poisson, rate: {RATE_PER_S}, duration: {STALL_AFTER_S}s, seed: 5}}",
                   "{weight: 1}", workers=2)
    arrivals = summary["arrivals"]
    assert arrivals["due"] == len(list(schedule(Arrivals.model_validate(
        {"pattern": "poisson", "rate": RATE_PER_S, "duration": STALL_AFTER_S, "seed": 5}), {"StallProbeUser": 1})))
    assert arrivals["dropped"] == 0 and arrivals["started"] == _ping(summary)["requests"]
    assert sorted(worker["requests_by_name"]["JOURNEY arrivals"] for worker in summary["workers"].values()) \
        == [arrivals["due"] // 2, arrivals["due"] - arrivals["due"] // 2]


LATE_HOOK_CHECK = '''
from locust.event import EventHook
from hive_resilience.loadrun.open_model import LateRequestHook
heard, service = [], []
event = EventHook()
event.add_listener(lambda **kwargs: heard.append(kwargs["response_time"]))
hook = LateRequestHook(event, lambda request_type, name, ms, failed: service.append((name, ms, failed)))
hook.late_ms = 250.0
hook.fire(request_type="GET", name="/ping", response_time=100.0, response_length=2, exception=None, context={})
print(heard, service)
'''


def test_a_late_arrivals_requests_count_from_its_intended_start_and_keep_their_service_time():
    # In a child: importing Locust would monkey-patch this test process with gevent.
    result = subprocess.run([sys.executable, "-c", LATE_HOOK_CHECK], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.strip() == "[350.0] [('/ping', 100.0, False)]", result.stderr
