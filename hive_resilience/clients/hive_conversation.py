"""Hive's session-and-chat flow, written once for the load user, the chaos probes and the
integration tests.

A conversation is: ``POST /api/sessions`` (201 with ``session_id``), open the session's event
stream, ``POST /api/sessions/{id}/chat`` (200 ``{"delivered": true}``), wait on the stream for
the reply (:mod:`hive_resilience.clients.hive_events` recognises it), ``DELETE`` the session
(200 ``{"stopped": true}``). Every answer must be a JSON object with the expected status,
since unknown ``/api/*`` paths fall through to the dashboard and answer 200 with HTML.

The HTTP requests go through a :class:`HiveTransport`, so the load user sends them with
Locust's client (its statistics see them under the request names below) while probes and
tests send them with the blocking :mod:`~hive_resilience.clients.http_client`. The event
stream always uses :class:`~hive_resilience.clients.hive_events.SessionEventStream`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from hive_resilience.clients import http_client
from hive_resilience.clients.hive_events import (
    ReplyError,
    SessionEventStream,
    TurnFigures,
    TurnRecorder,
    wait_for_reply,
    wait_for_reported_error,
)

SESSIONS_NAME = "/api/sessions"
SESSION_NAME = "/api/sessions/[id]"
CHAT_NAME = "/api/sessions/[id]/chat"
"""Request names as reports and scenario SLOs know them (the session id replaced by ``[id]``)."""

Check = Callable[[dict], str | None]
"""Looks at an answer's JSON object; returns what is wrong with it, or None when it is right."""


class ConversationError(Exception):
    """A step of the conversation got no good answer; the message names the step and the problem."""

    @classmethod
    def at(cls, method: str, name: str, problem: str) -> ConversationError:
        return cls(f"{method} {name}: {problem}")


class HiveTransport(Protocol):
    """Sends one request of the conversation; the load user and the blocking client implement it."""

    def exchange(self, method: str, path: str, payload: dict | None, name: str, expected_status: int,
                 check: Check) -> dict:
        """The answer's JSON object; raises ConversationError when the answer is wrong or missing."""
        ...


class WrongAnswer(Exception):
    """An answer that is not what the step expects; the message says how, for Locust's failure entry."""


def json_answer(status: int, expected_status: int, content_type: str, text: str) -> dict:
    """The JSON object of an answer; raises WrongAnswer saying what is wrong with the answer."""
    if status != expected_status:
        raise WrongAnswer(f"expected HTTP {expected_status}, got {status}")
    if not content_type.startswith("application/json"):
        raise WrongAnswer(f"expected JSON, got {content_type or 'no content type'}")
    try:
        body = json.loads(text)
    except ValueError:
        raise WrongAnswer("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise WrongAnswer("body is not a JSON object")
    return body


class BlockingTransport:
    """The conversation over :mod:`http_client` (urllib): for probes and tests outside Locust."""

    def __init__(self, api_url: str, timeout_s: float = 30.0) -> None:
        self.client = http_client.HttpClient.for_hive(api_url, timeout_s)

    def exchange(self, method: str, path: str, payload: dict | None, name: str, expected_status: int,
                 check: Check) -> dict:
        try:
            answer = self.client.call(method, path, payload)
            body = json_answer(answer.status, expected_status, answer.content_type,
                               answer.body.decode("utf-8", "replace"))
        except (OSError, WrongAnswer) as error:
            raise ConversationError.at(method, name, str(error)) from None
        problem = check(body)
        if problem:
            raise ConversationError.at(method, name, problem)
        return body


@dataclass(frozen=True)
class ChatTurn:
    """How one chat turn went: the reply, or the error that stopped it, the time it took and
    where that time went (model calls, tool calls, first token)."""

    reply: str
    reply_s: float
    """From the chat being delivered to the reply (or the failure); from opening the stream
    when the stream could not be opened."""
    error: ReplyError | None = None
    figures: TurnFigures | None = None
    """What the turn's events showed until it ended or failed; None when no message went out."""


def unique_message(purpose: str) -> str:
    """A message text no other client sends: its echo in the replayed stream marks our turn."""
    return f"hive-resilience {purpose} {uuid.uuid4().hex[:12]}"


class HiveConversation:
    """The steps of a conversation with Hive, each checked the same way for every caller."""

    def __init__(self, transport: HiveTransport, api_url: str) -> None:
        self.transport = transport
        self.api_url = api_url.rstrip("/")

    @classmethod
    def blocking(cls, api_url: str, timeout_s: float = 30.0) -> HiveConversation:
        """A conversation over blocking HTTP calls, each bounded by ``timeout_s``."""
        return cls(BlockingTransport(api_url, timeout_s), api_url)

    def create_session(self) -> str:
        """A new session's id."""
        body = self.transport.exchange("POST", "/api/sessions", {}, SESSIONS_NAME, 201,
                                       lambda body: None if body.get("session_id") else "no session_id in the answer")
        return body["session_id"]

    def read_session(self, session_id: str) -> dict:
        """The session's detail, checked to be about this session."""
        return self.transport.exchange(
            "GET", f"/api/sessions/{session_id}", None, SESSION_NAME, 200,
            lambda body: None if body.get("session_id") == session_id else "the answer is about another session")

    def list_sessions(self, session_id: str) -> dict:
        """The live session list, checked to hold ``session_id``."""
        return self.transport.exchange(
            "GET", "/api/sessions", None, SESSIONS_NAME, 200,
            lambda body: None if session_id in str(body) else "the live session list lacks this user's session")

    def delete_session(self, session_id: str) -> None:
        """Stop the session (Hive keeps it on disk)."""
        self.transport.exchange(
            "DELETE", f"/api/sessions/{session_id}", None, SESSION_NAME, 200,
            lambda body: None if body.get("stopped") is True else f"session not stopped: {body}")

    def send_message(self, session_id: str, message: str) -> None:
        """Post ``message``; Hive only says it was delivered, the reply streams on the events."""
        self.transport.exchange(
            "POST", f"/api/sessions/{session_id}/chat", {"message": message}, CHAT_NAME, 200,
            lambda body: None if body.get("delivered") is True else f"message not delivered: {body}")

    @contextmanager
    def events(self, session_id: str, timeout_s: float) -> Iterator[SessionEventStream]:
        """The session's open event stream, its reads bounded by ``timeout_s`` from now."""
        with SessionEventStream(self.api_url, session_id, timeout_s) as stream:
            yield stream

    def chat(self, session_id: str, message: str, reply_timeout_s: float) -> ChatTurn:
        """Send ``message`` and wait for the reply; raises ConversationError only when the
        message was not delivered, and returns a failed turn when the reply did not come."""
        started = time.perf_counter()
        recorder: TurnRecorder | None = None
        try:
            with self.events(session_id, reply_timeout_s) as stream:
                self.send_message(session_id, message)
                started = time.perf_counter()
                recorder = TurnRecorder()
                reply = wait_for_reply(stream.events(), message, recorder)
        except ReplyError as error:
            return ChatTurn("", time.perf_counter() - started, error, recorder.figures() if recorder else None)
        return ChatTurn(reply, time.perf_counter() - started, figures=recorder.figures())

    def chat_until_error(self, session_id: str, message: str, within_s: float) -> str | None:
        """Send ``message`` while a dependency fails: the error text Hive streamed, or None when
        the turn ended normally; raises ReplyError when the stream said nothing in time."""
        with self.events(session_id, within_s) as stream:
            self.send_message(session_id, message)
            return wait_for_reported_error(stream.events(), message)
