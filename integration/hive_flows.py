"""Small steps the integration tests repeat against a Hive container."""

from __future__ import annotations

import json
import time

from hive_resilience.clients.hive_events import SessionEventStream, wait_for_reply
from hive_resilience.clients.http_client import HttpClient
from hive_resilience.infra import images
from hive_resilience.target.llm_stub import REPLY_TEXT


def chat_turn(api_url: str, message: str, timeout_s: float = 60) -> str:
    """Create a session, send ``message``, wait for the stub's reply; returns the session id."""
    api = HttpClient(api_url, timeout_s=timeout_s)
    created = api.call("POST", "/api/sessions", {})
    assert created.status == 201, f"POST /api/sessions answered HTTP {created.status}: {created.body[:200]!r}"
    session_id = created.json["session_id"]
    with SessionEventStream(api_url, session_id, timeout_s) as stream:
        posted = api.call("POST", f"/api/sessions/{session_id}/chat", {"message": message})
        assert posted.status == 200, f"chat answered HTTP {posted.status}"
        wait_for_reply(stream.events(), message)
    return session_id


def stored_conversation(api_url: str, session_id: str) -> str | None:
    """The session's stored events as text, or None when Hive does not know the session."""
    api = HttpClient(api_url, timeout_s=30)
    detail = api.call("GET", f"/api/sessions/{session_id}")
    if detail.status == 404:
        return None
    assert detail.status == 200, f"GET session answered HTTP {detail.status}"
    history = api.call("GET", f"/api/sessions/{session_id}/events/history")
    assert history.status == 200 and history.json is not None, f"events/history answered HTTP {history.status}"
    return json.dumps(history.json["events"])


def holds_turn(conversation: str | None, message: str) -> bool:
    """Both halves of a turn are stored: the user's message and the stub's reply."""
    return conversation is not None and message in conversation and REPLY_TEXT.split(".")[0] in conversation


def docker(*arguments: str, timeout_s: float = 120) -> str:
    """The docker client's output; a failing command raises ImageError with its last line."""
    return images.docker(*arguments, timeout_s=timeout_s).stdout.strip()


def container_state(container_id: str) -> dict:
    """``docker inspect``'s State: Status, ExitCode, OOMKilled, StartedAt, FinishedAt."""
    return json.loads(docker("inspect", "--format", "{{json .State}}", container_id))


def wait_for_exit(container_id: str, timeout_s: float) -> float:
    """Seconds until the container stopped running; fails after ``timeout_s``."""
    started = time.monotonic()
    while container_state(container_id)["Running"]:
        assert time.monotonic() - started < timeout_s, f"container still running after {timeout_s:.0f} s"
        time.sleep(0.1)
    return time.monotonic() - started
