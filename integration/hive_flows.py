"""Small steps the integration tests repeat against a Hive container."""

from __future__ import annotations

import json
import time

from hive_resilience.clients.hive_conversation import HiveConversation
from hive_resilience.clients.http_client import HttpClient
from hive_resilience.infra import images
from hive_resilience.target.llm_stub import REPLY_TEXT


def chat_turn(api_url: str, message: str, timeout_s: float = 60) -> str:
    """Create a session, send ``message``, wait for the stub's reply; returns the session id.

    A step without a good answer raises ConversationError, a reply that did not come ReplyError.
    """
    conversation = HiveConversation.blocking(api_url, timeout_s)
    session_id = conversation.create_session()
    turn = conversation.chat(session_id, message, timeout_s)
    if turn.error is not None:
        raise turn.error
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
