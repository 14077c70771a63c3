"""The TCP fault proxy adds the injected latency once per request, keeps bytes in order, heals."""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from hive_resilience.target.embedded import free_port
from hive_resilience.target.fault_registry import FAULTS, FaultError


class EchoHandler(BaseHTTPRequestHandler):
    """Answers a POST with its own body, so a test can check bytes came through in order."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def proxy():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    listen_port, admin_port = free_port(), free_port()
    process = subprocess.Popen([sys.executable, "-m", "hive_resilience.target.fault_proxy", "--listen-port", str(listen_port),
                                "--upstream-port", str(upstream.server_address[1]), "--admin-port", str(admin_port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", listen_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield {"url": f"http://127.0.0.1:{listen_port}", "admin": f"http://127.0.0.1:{admin_port}/admin/faults"}
    process.terminate()
    process.wait(timeout=10)
    upstream.shutdown()


def set_faults(proxy, faults: dict | None) -> dict:
    url, body, method = (proxy["admin"] + "/reset", b"", "POST") if faults is None else (proxy["admin"], json.dumps(faults).encode(), "PUT")
    with urllib.request.urlopen(urllib.request.Request(url, data=body, method=method), timeout=5) as response:
        return json.loads(response.read())


def post_ms(proxy, body: bytes = b"hello") -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(proxy["url"], data=body, method="POST"), timeout=10) as response:
        assert response.read() == body
    return (time.perf_counter() - started) * 1000


def median_ms(proxy, samples: int = 9) -> float:
    return statistics.median(post_ms(proxy) for _ in range(samples))


def test_a_transparent_proxy_adds_almost_nothing(proxy):
    set_faults(proxy, None)
    assert median_ms(proxy) < 20


def test_latency_is_added_once_per_request_within_ten_percent(proxy):
    set_faults(proxy, None)
    base = median_ms(proxy)
    set_faults(proxy, {"latency_ms": 150})
    try:
        added = median_ms(proxy) - base
    finally:
        set_faults(proxy, None)
    assert 135 <= added <= 165


def test_jitter_never_reorders_bytes(proxy):
    set_faults(proxy, {"latency_ms": 5, "jitter_ms": 5})
    try:
        body = bytes(range(256)) * 4096  # 1 MiB: many chunks, each with its own jitter
        post_ms(proxy, body)
    finally:
        set_faults(proxy, None)


def test_reset_removes_the_latency(proxy):
    set_faults(proxy, {"latency_ms": 300})
    set_faults(proxy, None)
    assert median_ms(proxy, 3) < 100


@pytest.mark.parametrize("faults", [{"latency_ms": -1}, {"latency": 5}, {"jitter_ms": "x"}])
def test_bad_fault_settings_are_refused(proxy, faults):
    with pytest.raises(urllib.error.HTTPError) as error:
        set_faults(proxy, faults)
    assert error.value.code == 400


def test_the_registry_sees_proxy_latency_until_it_is_reset(proxy):
    admin_url = proxy["admin"].removesuffix("/admin/faults")
    kind = FAULTS.get("proxy-faults")
    target = SimpleNamespace(proxy_admin_url=admin_url, state=SimpleNamespace(fault_proxy=True))
    kind.apply(target, latency_ms=20)
    assert kind.present(target, "mcp-proxy")
    kind.undo(target, "mcp-proxy")
    assert not kind.present(target, "mcp-proxy")


def test_a_target_without_the_proxy_has_no_place_for_proxy_faults_and_says_how_to_get_one():
    target = SimpleNamespace(proxy_admin_url="http://127.0.0.1:9", state=SimpleNamespace(fault_proxy=False))
    assert FAULTS.get("proxy-faults").places(target) == ()
    with pytest.raises(FaultError, match="--fault-proxy"):
        FAULTS.apply("proxy-faults", target, latency_ms=20)
