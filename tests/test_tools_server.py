"""The tools server counts which header names reach its MCP routes, and never keeps a value.

A security test registers the server in Hive with secret headers and must prove they arrived
without the proof itself holding the secret; the counter is checked here on a tiny app.
"""

from __future__ import annotations

from collections import Counter

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from hive_resilience.target.tools_server import HIVE_HTTP_PATH, HeaderNameCounter

SECRET = "Bearer not-a-real-token-5f2c"


def counted_client() -> tuple[TestClient, Counter[str]]:
    counts: Counter[str] = Counter()

    async def answer(_: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route(HIVE_HTTP_PATH, answer, methods=["POST"]), Route("/health", answer)])
    app.add_middleware(HeaderNameCounter, counts=counts)
    return TestClient(app), counts


def test_each_mcp_request_counts_once_per_header_name_it_carries():
    client, counts = counted_client()
    for _ in range(2):
        client.post(HIVE_HTTP_PATH, headers={"Authorization": SECRET, "X-Api-Key": "k"})
    client.post(HIVE_HTTP_PATH)
    assert counts["authorization"] == 2
    assert counts["x-api-key"] == 2
    assert counts["host"] == 3


def test_requests_outside_the_mcp_routes_are_not_counted():
    client, counts = counted_client()
    client.get("/health", headers={"Authorization": SECRET})
    assert counts["authorization"] == 0


def test_the_counts_hold_names_and_never_a_value():
    client, counts = counted_client()
    client.post(HIVE_HTTP_PATH, headers={"Authorization": SECRET})
    assert SECRET not in str(counts)
    assert all(count >= 1 for count in counts.values())
