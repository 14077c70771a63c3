"""Hive's desktop token goes to the Hive API only: not to the tools server, the LLM stub or an admin endpoint."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from hive_resilience.clients import http_client
from hive_resilience.clients.hive_events import TOKEN_ENV
from hive_resilience.target.embedded import COMPONENTS, EmbeddedTarget

CANARY = "canary-token-for-a-test"


class HeaderRecorder(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        HeaderRecorder.seen.append(dict(self.headers))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server_url(monkeypatch) -> Iterator[str]:
    """A loopback server that records the headers of every request; the token is set in the environment."""
    monkeypatch.setenv(TOKEN_ENV, CANARY)
    HeaderRecorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HeaderRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=5)


def tokens_sent() -> list[str | None]:
    return [headers.get("X-Hive-Token") for headers in HeaderRecorder.seen]


def test_a_plain_call_never_carries_the_hive_token(server_url):
    http_client.call("GET", f"{server_url}/admin/faults")
    http_client.request("GET", f"{server_url}/health")
    http_client.HttpClient(server_url).call("GET", "/admin/stats")
    assert tokens_sent() == [None, None, None]


def test_a_hive_call_and_a_hive_client_carry_the_token(server_url):
    http_client.hive_call("GET", f"{server_url}/api/health")
    http_client.HttpClient.for_hive(server_url).call("GET", "/api/sessions")
    assert tokens_sent() == [CANARY, CANARY]


def test_only_the_hive_api_process_is_given_the_token(monkeypatch, tmp_path: Path):
    monkeypatch.setenv(TOKEN_ENV, CANARY)
    target = EmbeddedTarget(tmp_path, fault_proxy=True)
    environments = {component: target._environment(component) for component in COMPONENTS}
    assert environments["hive-api"][TOKEN_ENV] == CANARY
    assert [c for c, environment in environments.items() if TOKEN_ENV in environment] == ["hive-api"]


def test_no_component_inherits_the_callers_other_variables(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", "sk-secret")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    target = EmbeddedTarget(tmp_path)
    for component in COMPONENTS:
        environment = target._environment(component)
        assert "SOME_PROVIDER_API_KEY" not in environment and "HTTPS_PROXY" not in environment, component
        assert environment["PATH"] and environment["LC_ALL"] == "C.UTF-8", component
        assert environment["HOME"] == str(target.home) and environment["HIVE_HOME"] == str(target.hive_home), component
