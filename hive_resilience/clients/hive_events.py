"""A session's event stream on Hive's HTTP API, and waiting on it for the reply to a chat.

``POST /api/sessions/{id}/chat`` only says the message was delivered; the reply streams on
``GET /api/sessions/{id}/events``. The stream replays earlier events on connect, so a reply
is recognised as: our own ``client_input_received`` (matched by its unique text), then at
least one ``client_output_delta``, then ``client_input_requested`` (the queen waits for the
user again). The standard library's ``http.client`` keeps this usable both under Locust's
gevent (cooperative once monkey-patched) and in plain processes such as chaos probes.

A :class:`TurnRecorder` given to :func:`wait_for_reply` also says where the turn's time went
(:class:`TurnFigures`): Hive's events bracket each model call and each tool call, and carry
Hive's own timestamps, which time them without the client's scheduling in the way.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Self
from urllib.parse import urlsplit

from hive_resilience.clients.sse import SseDecoder

TOKEN_ENV = "HIVE_DESKTOP_TOKEN"
TURN_FAILED_EVENTS = frozenset({"execution_failed", "worker_failed"})
"""Events that end a turn without a reply."""
ERROR_REPORTED_EVENTS = TURN_FAILED_EVENTS | {"node_retry"}
"""Events by which Hive tells the client something failed; after ``node_retry`` a reply may still come."""
MODEL_CALL_STARTS = frozenset({"iteration_start", "post_tool_results"})
"""``context_usage_updated`` triggers after which Hive calls the model: the turn's first call, and
one after each step's tool results."""
TOOL_ERROR_PREFIX = "Error executing tool"
"""How a tool's failure on the MCP server reads: Hive 1.0.12's ``http`` transport drops MCP's
``isError``, so ``tool_call_completed`` says ``is_error: false`` and only the text tells."""
ERROR_EXCERPT_CHARS = 200


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


def tool_result_failed(result: object, is_error: object) -> bool:
    """Whether a ``tool_call_completed`` reports a failure, whatever its ``is_error`` says:
    the server's error text, or Hive's own ``{"error": ...}`` (an unknown tool, say)."""
    if is_error is True:
        return True
    text = str(result or "").lstrip()
    if text.startswith(TOOL_ERROR_PREFIX):
        return True
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and set(body) == {"error"}


@dataclass(frozen=True)
class ToolCallFigures:
    """One tool call of a turn, matched from ``tool_call_started`` to ``tool_call_completed`` by ``tool_use_id``."""

    tool_use_id: str
    tool_name: str
    duration_s: float | None
    """By Hive's timestamps; None when the call never completed within the turn."""
    error: str | None = None
    """The start of the result text when the call failed, None when it succeeded."""

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class TurnFigures:
    """Where one turn's time went, from its events."""

    first_token_s: float | None
    """From sending the message to the first ``client_output_delta``; None when no text came."""
    llm_calls: int
    """Model calls: each ends in tool calls, the final text (``llm_turn_complete``) or a retry
    (``node_retry``); Hive sends ``llm_turn_complete`` once per turn, not per call."""
    model_s: float
    """Summed model calls by Hive's timestamps, each from Hive starting it to its answer being
    parsed; calls after a retry's back-off have no start event and count as Hive's time."""
    tools_s: float
    """Time any tool call was running, by Hive's timestamps (parallel calls counted once)."""
    tool_calls: tuple[ToolCallFigures, ...] = ()

    def hive_overhead_s(self, reply_s: float) -> float:
        """The rest of ``reply_s``: Hive's own work between model and tools (never below zero,
        since the two parts come from Hive's clock and the reply time from the client's)."""
        return max(0.0, reply_s - self.model_s - self.tools_s)


def _hive_time_s(event: dict) -> float | None:
    """The event's own timestamp (Hive's clock) in seconds, or None when it has none."""
    try:
        return datetime.fromisoformat(str(event["timestamp"])).timestamp()
    except (KeyError, ValueError):
        return None


class TurnRecorder:
    """Collects a turn's figures from its events as :func:`wait_for_reply` reads them; made
    when the message has been delivered, which is when its time to first token starts."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.sent_at = clock()
        self.first_token_at: float | None = None
        self.llm_calls = 0
        self.model_s = 0.0
        self._model_call_started: float | None = None
        self._tools_started: dict[str, tuple[str, float | None]] = {}
        self._tool_intervals: list[tuple[float, float]] = []
        self._tool_calls: list[ToolCallFigures] = []

    def observe(self, event: dict) -> None:
        kind, data, at = event.get("type"), event.get("data") or {}, _hive_time_s(event)
        if kind == "client_output_delta" and self.first_token_at is None:
            self.first_token_at = self.clock()
        elif kind == "context_usage_updated" and data.get("trigger") in MODEL_CALL_STARTS:
            self._model_call_started = at
        elif kind == "tool_call_started":
            if self._model_call_started is not None:  # the first call of a step ends the model's answer
                self._end_model_call(at)
            self._tools_started[str(data.get("tool_use_id"))] = (str(data.get("tool_name")), at)
        elif kind in ("llm_turn_complete", "node_retry"):
            self._end_model_call(at)
        elif kind == "tool_call_completed":
            self._tool_completed(data, at)

    def _end_model_call(self, at: float | None) -> None:
        self.llm_calls += 1
        if self._model_call_started is not None and at is not None:
            self.model_s += max(0.0, at - self._model_call_started)
        self._model_call_started = None

    def _tool_completed(self, data: dict, at: float | None) -> None:
        tool_use_id = str(data.get("tool_use_id"))
        name, started = self._tools_started.pop(tool_use_id, (str(data.get("tool_name")), None))
        duration_s = None
        if started is not None and at is not None:
            duration_s = max(0.0, at - started)
            self._tool_intervals.append((started, at))
        error = None
        if tool_result_failed(data.get("result"), data.get("is_error")):
            error = str(data.get("result"))[:ERROR_EXCERPT_CHARS]
        self._tool_calls.append(ToolCallFigures(tool_use_id, name, duration_s, error))

    def figures(self) -> TurnFigures:
        unfinished = tuple(ToolCallFigures(tool_use_id, name, None) for tool_use_id, (name, _) in self._tools_started.items())
        return TurnFigures(
            first_token_s=None if self.first_token_at is None else self.first_token_at - self.sent_at,
            llm_calls=self.llm_calls,
            model_s=self.model_s,
            tools_s=_covered_s(self._tool_intervals),
            tool_calls=tuple(self._tool_calls) + unfinished,
        )


def _covered_s(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one interval."""
    covered_s, reached = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reached:
            covered_s += end - max(start, reached)
            reached = end
    return covered_s


def turn_events(events: Iterator[dict], message: str) -> Iterator[dict]:
    """The events after our own ``client_input_received`` of ``message``.

    The stream replays the session's earlier events on connect (the greeting turn, other
    clients' messages): everything before our message is about something else.
    """
    seen_input = False
    for event in events:
        if seen_input:
            yield event
        else:
            data = event.get("data") or {}
            seen_input = event.get("type") == "client_input_received" and data.get("content") == message


def wait_for_reply(events: Iterator[dict], message: str, recorder: TurnRecorder | None = None) -> str:
    """Consume events until the queen has answered ``message``; returns the reply text.

    ``recorder``, when given, sees every event of the turn.
    """
    reply = ""
    for event in turn_events(events, message):
        kind, data = event.get("type"), event.get("data") or {}
        if recorder is not None:
            recorder.observe(event)
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
    for event in turn_events(events, message):
        kind, data = event.get("type"), event.get("data") or {}
        if kind in ERROR_REPORTED_EVENTS:
            return str(data.get("error") or kind)
        if kind == "client_input_requested":
            return None
    raise ReplyError("event stream ended without an error event")
