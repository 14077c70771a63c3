"""API contract of the real Hive in a container: the routes the load users and the dashboard's
main flow use, and what every write route does with bad input.

The rule for bad input: a 4xx with a JSON ``error``, never a 5xx, never a hang. Where Hive
1.0.12 breaks it, the case is a known defect (a strict xfail, see ``known_defects``) that pins
Hive's exact wrong answer: the suite stays green on today's Hive and turns red the day Hive
changes, as an XPASS when it is fixed, as a failure when it answers some other wrong way.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest

from hive_resilience.clients.hive_events import SessionEventStream, wait_for_reply
from hive_resilience.clients.http_client import HttpAnswer, HttpClient
from hive_resilience.target.launch import LLM_API_KEY

JSON = {"Content-Type": "application/json"}
HANG_S = 15.0
OVERSIZED = b'{"message": "' + b"x" * (21 * 1024 * 1024) + b'"}'
"""Over Hive's 20 MiB request body limit."""


def hive_defect(what_hive_does: str) -> pytest.MarkDecorator:
    """A strict xfail whose test pins today's wrong answer (see ``known_defects``)."""
    return pytest.mark.known_defect(f"Hive 1.0.12 defect: {what_hive_does}")


@pytest.fixture(scope="module")
def api(hive_server) -> HttpClient:
    return HttpClient(hive_server.get_url(), timeout_s=HANG_S)


@pytest.fixture(scope="module")
def session_id(api: HttpClient):
    created = api.call("POST", "/api/sessions", {})
    assert created.status == 201, created.body[:200]
    yield created.json["session_id"]
    api.call("DELETE", f"/api/sessions/{created.json['session_id']}")


def json_body(answer: HttpAnswer, status: int) -> dict:
    assert answer.status == status, f"HTTP {answer.status}, expected {status}: {answer.body[:200]!r}"
    assert answer.content_type.startswith("application/json"), f"content type {answer.content_type!r}"
    assert isinstance(answer.json, dict), f"body is not a JSON object: {answer.body[:200]!r}"
    return answer.json


def has_shape(body: dict, shape: dict[str, type]) -> None:
    for key, kind in shape.items():
        assert key in body, f"no {key!r} in {sorted(body)}"
        assert isinstance(body[key], kind), f"{key!r} is {type(body[key]).__name__}, expected {kind.__name__}"


# --- the session lifecycle, as the load users drive it ---------------------------------------

def test_health_and_startup_status(api: HttpClient) -> None:
    health = json_body(api.call("GET", "/api/health"), 200)
    has_shape(health, {"status": str, "sessions": int, "request_executor": dict})
    assert health["status"] == "ok"
    startup = json_body(api.call("GET", "/api/startup-status"), 200)
    has_shape(startup, {"ready": bool, "stage": str})
    assert startup["ready"] is True


def test_session_lifecycle_contract(api: HttpClient, hive_server) -> None:
    created = json_body(api.call("POST", "/api/sessions", {}), 201)
    has_shape(created, {"session_id": str, "queen_id": str, "queen_phase": str})
    session_id = created["session_id"]
    try:
        detail = json_body(api.call("GET", f"/api/sessions/{session_id}"), 200)
        assert detail["session_id"] == session_id
        listed = json_body(api.call("GET", "/api/sessions"), 200)
        has_shape(listed, {"sessions": list})
        assert session_id in [s.get("session_id") for s in listed["sessions"]]

        message = f"contract message {uuid.uuid4().hex[:8]}"
        with SessionEventStream(hive_server.get_url(), session_id, timeout_s=60) as stream:
            delivered = json_body(api.call("POST", f"/api/sessions/{session_id}/chat", {"message": message}), 200)
            assert delivered == {**delivered, "delivered": True}
            reply = wait_for_reply(stream.events(), message)
        assert message in reply, "the stub's reply quotes the message it answered"

        history = json_body(api.call("GET", f"/api/sessions/{session_id}/events/history"), 200)
        has_shape(history, {"events": list})
        assert message in json.dumps(history["events"])
    finally:
        stopped = json_body(api.call("DELETE", f"/api/sessions/{session_id}"), 200)
    assert stopped == {"session_id": session_id, "stopped": True}
    cold = json_body(api.call("GET", f"/api/sessions/{session_id}"), 200)
    assert (cold.get("cold"), cold.get("live")) == (True, False), "a stopped session is read back from disk"


def test_events_route_streams_server_sent_events(api: HttpClient, session_id: str, hive_server) -> None:
    with SessionEventStream(hive_server.get_url(), session_id, timeout_s=HANG_S) as stream:
        first = next(stream.events())
    assert isinstance(first.get("type"), str), f"first event has no type: {first}"


# --- what the dashboard's main flow loads ----------------------------------------------------

@pytest.mark.parametrize(("path", "shape"), [
    ("/api/sessions/history", {"sessions": list}),
    ("/api/queen/profiles", {"queens": list}),
    ("/api/credentials/specs", {"specs": list}),
    ("/api/config/llm", {"provider": str, "model": str, "has_api_key": bool}),
    ("/api/skills", {"skills": list}),
    ("/api/sessions/{session_id}/live_tools", {"session_id": str}),
])
def test_dashboard_routes_answer_json(api: HttpClient, session_id: str, path: str, shape: dict) -> None:
    answer = api.call("GET", path.format(session_id=session_id))
    has_shape(json_body(answer, 200), shape)
    assert LLM_API_KEY.encode() not in answer.body, "the LLM API key must never be served"


def test_unknown_api_path_is_not_json(api: HttpClient) -> None:
    """Hive falls through to the SPA for unknown /api paths: clients must check the type."""
    answer = api.call("GET", "/api/no-such-route")
    assert answer.status == 200 and answer.content_type.startswith("text/html")


# --- bad input on every write route ----------------------------------------------------------

BAD_INPUT = [
    pytest.param("POST", "/api/sessions", b"{bad", JSON, id="sessions-malformed-json"),
    pytest.param("POST", "/api/sessions", b"[]", JSON, id="sessions-array-body"),
    pytest.param("POST", "/api/sessions", b'{"queen_name": "no_such_queen"}', JSON, id="sessions-unknown-queen"),
    pytest.param("POST", "/api/sessions/{session_id}/chat", b"{}", JSON, id="chat-no-message"),
    pytest.param("POST", "/api/sessions/no-such-session/chat", b'{"message": "hi"}', JSON, id="chat-unknown-session"),
    pytest.param("DELETE", "/api/sessions/no-such-session", None, {}, id="delete-unknown-session"),
    pytest.param("GET", "/api/sessions/no-such-session", None, {}, id="read-unknown-session"),
]


def send(api: HttpClient, session_id: str, method: str, path: str, body: bytes | None, headers: dict) -> HttpAnswer:
    """The answer; no answer within HANG_S raises TimeoutError (a hang is never a known defect)."""
    return api.request(method, path.format(session_id=session_id), body, headers)


def is_json_4xx(answer: HttpAnswer) -> None:
    assert 400 <= answer.status < 500, f"HTTP {answer.status} {answer.body[:120]!r}"
    assert answer.content_type.startswith("application/json"), f"HTTP {answer.status} as {answer.content_type!r}"
    assert isinstance((answer.json or {}).get("error"), str), f"no JSON error in {answer.body[:120]!r}"


@pytest.mark.parametrize(("method", "path", "body", "headers"), BAD_INPUT)
def test_bad_input_gets_a_json_4xx(api: HttpClient, session_id: str, method: str, path: str,
                                   body: bytes | None, headers: dict) -> None:
    try:
        answer = send(api, session_id, method, path, body, headers)
    except TimeoutError:
        pytest.fail(f"{method} {path} hung: no answer within {HANG_S:.0f} s")
    is_json_4xx(answer)


@dataclass(frozen=True)
class Today:
    """Hive 1.0.12's wrong answer, pinned: status, media type and the start of the body."""

    status: int
    content_type: str
    body_start: bytes

    def matches(self, answer: HttpAnswer) -> None:
        seen = (answer.status, answer.content_type.split(";")[0], answer.body[:len(self.body_start)])
        assert seen == (self.status, self.content_type, self.body_start), f"{seen}, pinned {self}"


SERVER_ERROR = Today(500, "application/json", b'{"error": "Internal server error"}')
TOO_LARGE = Today(413, "text/plain", b"Maximum request body size 20971520 exceeded")
WRONG_METHOD = Today(405, "text/plain", b"405: Method Not Allowed")

BAD_INPUT_HIVE_GETS_WRONG = [
    pytest.param("POST", "/api/sessions", b'{"queen_name": 5}', JSON, SERVER_ERROR, id="sessions-wrong-type-queen",
                 marks=hive_defect('queen_name as a number answers 500 {"error": "Internal server error"}')),
    pytest.param("POST", "/api/sessions", b'{"session_id": 5}', JSON, SERVER_ERROR, id="sessions-wrong-type-id",
                 marks=hive_defect('session_id as a number answers 500 {"error": "Internal server error"}')),
    pytest.param("POST", "/api/sessions", OVERSIZED, JSON, TOO_LARGE, id="sessions-oversized",
                 marks=hive_defect("a body over 20 MiB answers 413 as text/plain, not a JSON error")),
    pytest.param("POST", "/api/sessions/{session_id}/chat", b"{bad", JSON, SERVER_ERROR, id="chat-malformed-json",
                 marks=hive_defect('malformed JSON on chat answers 500 {"error": "Internal server error"}')),
    pytest.param("POST", "/api/sessions/{session_id}/chat", None, JSON, SERVER_ERROR, id="chat-no-body",
                 marks=hive_defect('chat without a body answers 500 {"error": "Internal server error"}')),
    pytest.param("POST", "/api/sessions/{session_id}/chat", b'{"message": 5}', JSON, SERVER_ERROR, id="chat-wrong-type",
                 marks=hive_defect('message as a number answers 500 {"error": "Internal server error"}')),
    pytest.param("POST", "/api/sessions/{session_id}/chat", b"[]", JSON, SERVER_ERROR, id="chat-array-body",
                 marks=hive_defect('a JSON array on chat answers 500 {"error": "Internal server error"}')),
    pytest.param("POST", "/api/sessions/{session_id}/chat", OVERSIZED, JSON, TOO_LARGE, id="chat-oversized",
                 marks=hive_defect("a body over 20 MiB answers 413 as text/plain, not a JSON error")),
    pytest.param("PUT", "/api/sessions", b"{}", JSON, WRONG_METHOD, id="sessions-wrong-method",
                 marks=hive_defect("a wrong method answers 405 as text/plain, not a JSON error")),
    pytest.param("PATCH", "/api/sessions/{session_id}", b"{}", JSON, WRONG_METHOD, id="session-wrong-method",
                 marks=hive_defect("a wrong method answers 405 as text/plain, not a JSON error")),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "today"), BAD_INPUT_HIVE_GETS_WRONG)
def test_bad_input_gets_a_json_4xx_where_hive_answers_otherwise(
        api: HttpClient, session_id: str, known_defect, method: str, path: str, body: bytes | None, headers: dict,
        today: Today) -> None:
    answer = send(api, session_id, method, path, body, headers)
    known_defect.check(right=lambda: is_json_4xx(answer), today=lambda: today.matches(answer))


DASHBOARD_DEV_ORIGIN = "http://localhost:5173"
"""The Vite dev server's origin, from which a developer's dashboard calls the API."""


@hive_defect("a CORS preflight answers 405 as text/plain with no Access-Control-Allow-* headers")
def test_cors_preflight_allows_the_request(api: HttpClient, known_defect) -> None:
    answer = api.request("OPTIONS", "/api/sessions", None, {
        "Origin": DASHBOARD_DEV_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    cors = {name: value for name, value in answer.headers.items() if name.startswith("access-control-")}

    def right() -> None:
        assert 200 <= answer.status < 300, f"HTTP {answer.status} {answer.body[:120]!r}"
        assert cors.get("access-control-allow-origin") in (DASHBOARD_DEV_ORIGIN, "*"), cors
        assert "POST" in cors.get("access-control-allow-methods", ""), cors
        assert "content-type" in cors.get("access-control-allow-headers", "").lower(), cors

    def today() -> None:
        WRONG_METHOD.matches(answer)
        assert cors == {}, cors

    known_defect.check(right, today)


def test_duplicate_session_id_is_a_conflict(api: HttpClient) -> None:
    wanted = f"session_contract_{uuid.uuid4().hex[:8]}"
    first = api.call("POST", "/api/sessions", {"session_id": wanted})
    try:
        json_body(first, 201)
        second = api.call("POST", "/api/sessions", {"session_id": wanted})
        assert isinstance(json_body(second, 409).get("error"), str)
    finally:
        api.call("DELETE", f"/api/sessions/{wanted}")


def test_bad_input_leaves_hive_healthy(api: HttpClient) -> None:
    """Runs after the bad-input cases (file order): none of them broke the server."""
    assert json_body(api.call("GET", "/api/health"), 200)["status"] == "ok"
    created = json_body(api.call("POST", "/api/sessions", {}), 201)
    json_body(api.call("DELETE", f"/api/sessions/{created['session_id']}"), 200)
