"""What the real Hive dashboard asks the API for: the recording DashboardUser replays.

``hive-resilience record-dashboard`` (:mod:`hive_resilience.loadrun.dashboard_recorder`) drives
the dashboard in Chromium and hands every ``/api/*`` request it saw to :func:`build_recording`;
``load/dashboard.py`` replays ``load/dashboard_recording.json``. This module owns that file's
format, so the writer and the reader cannot drift: ids in paths, queries and bodies become
placeholders, the message typed becomes ``[message]``, and each call carries the phase of the
visit it belongs to (and, for polling, the interval the dashboard repeats it at).
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hive_resilience.paths import LOAD_DIR

FORMAT_VERSION = 1
"""Bumped when the file's meaning changes; a reader refuses any other version."""
RECORDING_PATH = LOAD_DIR / "dashboard_recording.json"

Phase = Literal["page_load", "conversation_open", "polling"]
PHASES: tuple[Phase, ...] = ("page_load", "conversation_open", "polling")

SESSION_PLACEHOLDER = "[id]"
"""A session id: the same placeholder the suite's request names use (``/api/sessions/[id]``), and the
one a replay fills with its own session."""
MESSAGE_PLACEHOLDER = "[message]"
"""The text the recorder typed; a replay sends a unique message of its own."""
ID_PATTERNS: dict[str, re.Pattern[str]] = {
    SESSION_PLACEHOLDER: re.compile(r"session_\d{8}_\d{6}_[0-9a-f]+"),
    "[uuid]": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE),
    "[hex]": re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{16,}(?![0-9A-Za-z])"),
}
"""Generated ids and what they become. Only ``[id]`` can be replayed; a recording that needs
another one is refused when it is loaded, so a new Hive's new kind of id is noticed."""
REPLAYABLE_PLACEHOLDERS = (SESSION_PLACEHOLDER, MESSAGE_PLACEHOLDER)
MIN_POLLS = 2
"""A call is polling when the idle window saw it at least this often (one sighting has no interval)."""


class RecordingError(ValueError):
    """A recording that cannot be read or replayed; the message names the file and the problem."""


class RecordedCall(BaseModel):
    """One API call of the dashboard, ids replaced, as it happened in one phase of the visit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    path: str
    """Path template, e.g. ``/api/sessions/[id]/tasks``."""
    query: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    """The JSON body with ids and the typed message replaced by placeholders; None without a body."""
    status: int
    """The status the real dashboard got: a replay expects the same."""
    stream: bool = False
    """An event stream (``text/event-stream``): a replay checks its status and content type, then closes it."""
    phase: Phase
    count: int = Field(ge=1)
    """How often the dashboard made the call in this phase (for polling: in the idle window)."""
    interval_s: float | None = Field(default=None, gt=0)
    """Polling only: the median time between two calls."""

    @property
    def name(self) -> str:
        """The request name in reports: the path template, with the query when there is one."""
        query = "&".join(f"{key}={value}" for key, value in sorted(self.query.items()))
        return f"{self.path}?{query}" if query else self.path

    def answer_problem(self, status: int, content_type: str, text: str | None) -> str | None:
        """What is wrong with an answer to this call, or None: it must have the recorded status and
        be JSON, or an event stream (whose body ``text`` is not read, None), because unknown
        ``/api/*`` paths answer 200 with the dashboard's HTML."""
        if status != self.status:
            return f"expected HTTP {self.status}, got {status}"
        expected_type = "text/event-stream" if self.stream else "application/json"
        if not content_type.startswith(expected_type):
            return f"expected {expected_type}, got {content_type or 'no content type'}"
        if text is not None:
            try:
                json.loads(text)
            except ValueError:
                return "body is not valid JSON"
        return None

    def placeholders(self) -> set[str]:
        text = json.dumps([self.path, self.query, self.body])
        return set(re.findall(r"\[[a-z]+\]", text))


class DashboardRecording(BaseModel):
    """The dashboard's calls on one visit: page load, opening a conversation and chatting, polling."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: int
    hive_version: str
    """The aden-hive version whose dashboard was recorded."""
    recorded_at: str
    calls: tuple[RecordedCall, ...]

    def in_phase(self, phase: Phase) -> tuple[RecordedCall, ...]:
        return tuple(call for call in self.calls if call.phase == phase)


@dataclass(frozen=True)
class ObservedRequest:
    """One request the browser made, as the recorder saw it."""

    at_s: float
    """Seconds since the recording started."""
    phase: Phase
    """The phase the recorder was in; ``polling`` is the idle window after the reply."""
    method: str
    url_path: str
    query: str
    body: str | None
    status: int
    content_type: str


def template(text: str, message: str = "") -> str:
    """``text`` with generated ids replaced by placeholders and the typed ``message`` by ``[message]``."""
    if message:
        text = text.replace(message, MESSAGE_PLACEHOLDER)
    for placeholder, pattern in ID_PATTERNS.items():
        text = pattern.sub(placeholder, text)
    return text


def template_body(body: str | None, message: str = "") -> Any:
    """A request body as replayable JSON: ids and the typed message replaced in every string."""
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return template(body, message)
    return _template_json(parsed, message)


def _template_json(value: Any, message: str) -> Any:
    if isinstance(value, str):
        return template(value, message)
    if isinstance(value, dict):
        return {key: _template_json(item, message) for key, item in value.items()}
    if isinstance(value, list):
        return [_template_json(item, message) for item in value]
    return value


def build_recording(observed: Iterable[ObservedRequest], message: str, hive_version: str,
                    recorded_at: str) -> DashboardRecording:
    """Group the observed requests into calls per phase, in the order first seen.

    A call seen at least :data:`MIN_POLLS` times in the idle window is polling, with the median
    gap as its interval; one seen there once stays in the phase it was first seen in (or, if new,
    counts as polling without an interval it could be replayed at, so it is left out).
    """
    groups: dict[tuple[str, str, str, str], list[ObservedRequest]] = {}
    shapes: dict[tuple[str, str, str], ObservedRequest] = {}
    for request in sorted(observed, key=lambda item: item.at_s):
        path, query = template(request.url_path), template(request.query, message)
        groups.setdefault((request.phase, request.method, path, query), []).append(request)
        shapes.setdefault((request.method, path, query), request)
    calls: list[RecordedCall] = []
    for (phase, method, path, query), requests in groups.items():
        interval_s = None
        if phase == "polling":
            if len(requests) < MIN_POLLS:
                continue
            interval_s = round(statistics.median(b.at_s - a.at_s for a, b in itertools.pairwise(requests)), 2)
        first = shapes[(method, path, query)]
        calls.append(RecordedCall(
            method=method, path=path, query=dict(parse_qsl(query)), body=template_body(first.body, message),
            status=first.status, stream=first.content_type.startswith("text/event-stream"), phase=phase,
            count=len(requests), interval_s=interval_s))
    return DashboardRecording(format_version=FORMAT_VERSION, hive_version=hive_version, recorded_at=recorded_at,
                              calls=tuple(calls))


def write_recording(recording: DashboardRecording, path: Path = RECORDING_PATH) -> None:
    path.write_text(recording.model_dump_json(indent=2) + "\n")


def load_recording(path: Path = RECORDING_PATH) -> DashboardRecording:
    """The recording in ``path``; raises RecordingError naming the file when it cannot be replayed."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise RecordingError(f"{path}: cannot read the dashboard recording ({error.strerror}); "
                             "record it with `hive-resilience record-dashboard`") from None
    except ValueError as error:
        raise RecordingError(f"{path}: not JSON ({error})") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise RecordingError(f"{path}: format_version {version!r}, this suite reads {FORMAT_VERSION}; "
                             "record it again with `hive-resilience record-dashboard`")
    try:
        recording = DashboardRecording.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise RecordingError(f"{path}: {where}: {problem['msg']}") from None
    for call in recording.calls:
        unknown = call.placeholders() - set(REPLAYABLE_PLACEHOLDERS)
        if unknown:
            raise RecordingError(f"{path}: {call.method} {call.name} holds {', '.join(sorted(unknown))}, which a "
                                 f"replay cannot fill (only {', '.join(REPLAYABLE_PLACEHOLDERS)})")
        if call.phase == "page_load" and SESSION_PLACEHOLDER in call.placeholders():
            raise RecordingError(f"{path}: page-load call {call.method} {call.name} needs a session, which a page "
                                 "load does not have yet")
        if call.phase == "polling" and call.interval_s is None:
            raise RecordingError(f"{path}: polling call {call.method} {call.name} has no interval_s")
    return recording
