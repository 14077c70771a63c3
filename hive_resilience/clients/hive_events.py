"""A session's event stream on Hive's HTTP API, and waiting on it for the reply to a chat.

``POST /api/sessions/{id}/chat`` only says the message was delivered; the reply streams on
``GET /api/sessions/{id}/events``. The stream replays earlier events on connect, so a reply
is recognised as: our own ``client_input_received`` (matched by its unique text), then at
least one ``client_output_delta``, then ``client_input_requested`` (the queen waits for the
user again). The standard library's ``http.client`` keeps this usable both under Locust's
gevent (cooperative once monkey-patched) and in plain processes such as chaos probes.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Iterator
from typing import Self
from urllib.parse import urlsplit

from hive_resilience.clients.sse import SseDecoder

TOKEN_ENV = "HIVE_DESKTOP_TOKEN"
TURN_FAILED_EVENTS = frozenset({"execution_failed", "worker_failed"})
"""Events that end a turn without a reply."""
ERROR_REPORTED_EVENTS = TURN_FAILED_EVENTS | {"node_retry"}
"""Events by which Hive tells the client something failed; after ``node_retry`` a reply may still come."""


class ReplyError(Exception):
    """The reply to a chat message did not arrive; the message says how it failed."""


class ReplyTimeout(ReplyError):
    """No complete reply within the time allowed."""


def auth_headers() -> dict[str, str]:
    """Hive's optional desktop token, taken from the environment and never logged."""
    token = os.environ.get(TOKEN_ENV)
    return {"X-Hive-Token": token} if token else {}


class SessionEventStream:
    """An open ``GET /api/sessions/{id}/events`` stream whose reads stop at a deadline."""

    def __init__(self, api_url: str, session_id: str, timeout_s: float) -> None:
        parts = urlsplit(api_url)
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self.deadline = time.monotonic() + timeout_s
        self.timeout_s = timeout_s
        self._connection = connection_class(parts.hostname, parts.port, timeout=timeout_s)
        self._path = f"{parts.path.rstrip('/')}/api/sessions/{session_id}/events"
        self._response: http.client.HTTPResponse | None = None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def open(self) -> None:
        """Connect and check that an event stream, not an error page, answered."""
        try:
            self._connection.request("GET", self._path, headers={"Accept": "text/event-stream", **auth_headers()})
            response = self._connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise ReplyError(f"cannot open the event stream: {error}") from None
        content_type = response.getheader("Content-Type", "")
        if response.status != 200 or not content_type.startswith("text/event-stream"):
            self.close()
            raise ReplyError(f"event stream answered HTTP {response.status} {content_type}")
        self._response = response

    def events(self) -> Iterator[dict]:
        """Hive events as dicts until the deadline; raises ReplyTimeout when it passes."""
        assert self._response is not None, "open() the stream first"
        decoder = SseDecoder()
        while True:
            remaining_s = self.deadline - time.monotonic()
            if remaining_s <= 0:
                raise ReplyTimeout(f"no reply within {self.timeout_s:g} s")
            if self._connection.sock is not None:
                self._connection.sock.settimeout(remaining_s)
            try:
                chunk = self._response.read1(65536)
            except TimeoutError:
                raise ReplyTimeout(f"no reply within {self.timeout_s:g} s") from None
            except (OSError, http.client.HTTPException) as error:
                raise ReplyError(f"event stream broke: {error}") from None
            if not chunk:
                raise ReplyError("event stream closed before the reply completed")
            for event in decoder.feed(chunk.decode("utf-8", "replace")):
                try:
                    yield json.loads(event.data)
                except json.JSONDecodeError:
                    continue

    def close(self) -> None:
        self._connection.close()


def turn_events(events: Iterator[dict], message: str) -> Iterator[tuple[str, dict]]:
    """``(type, data)`` of the events after our own ``client_input_received`` of ``message``.

    The stream replays the session's earlier events on connect (the greeting turn, other
    clients' messages): everything before our message is about something else.
    """
    seen_input = False
    for event in events:
        kind, data = event.get("type"), event.get("data") or {}
        if seen_input:
            yield kind, data
        else:
            seen_input = kind == "client_input_received" and data.get("content") == message


def wait_for_reply(events: Iterator[dict], message: str) -> str:
    """Consume events until the queen has answered ``message``; returns the reply text."""
    reply = ""
    for kind, data in turn_events(events, message):
        if kind in TURN_FAILED_EVENTS:
            raise ReplyError(f"Hive reported {kind}: {str(data.get('error', data))[:200]}")
        if kind == "client_output_delta":
            reply = data.get("snapshot", reply + data.get("content", ""))
        elif kind == "client_input_requested":
            if not reply:
                raise ReplyError("the turn ended without any reply text")
            return reply
    raise ReplyError("event stream ended before the reply completed")


def wait_for_reported_error(events: Iterator[dict], message: str) -> str | None:
    """Consume the turn answering ``message`` until Hive reports an error; returns its text,
    or None when the turn ended normally (the queen waits for input again)."""
    for kind, data in turn_events(events, message):
        if kind in ERROR_REPORTED_EVENTS:
            return str(data.get("error") or kind)
        if kind == "client_input_requested":
            return None
    raise ReplyError("event stream ended without an error event")
