"""The dashboard recording's format: ids templated, phases and polling intervals, loading and refusing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hive_resilience.loadrun.dashboard_recording import (
    FORMAT_VERSION,
    RECORDING_PATH,
    ObservedRequest,
    RecordedCall,
    RecordingError,
    build_recording,
    load_recording,
    template,
    template_body,
    write_recording,
)

SESSION = "session_20261129_234754_08c36433"
MESSAGE = "e2e 3734f4 dashboard recording"


def observed(at_s: float, phase: str, path: str, method: str = "GET", query: str = "", body: str | None = None,
             status: int = 200, content_type: str = "application/json; charset=utf-8") -> ObservedRequest:
    return ObservedRequest(at_s, phase, method, path, query, body, status, content_type)


def recording_of(*requests: ObservedRequest):
    return build_recording(requests, MESSAGE, "1.0.12", "2026-11-29T23:48:00Z")


def test_session_ids_in_paths_become_the_id_placeholder_of_the_suites_request_names():
    assert template(f"/api/sessions/{SESSION}/tasks") == "/api/sessions/[id]/tasks"


def test_uuids_and_long_hex_ids_get_placeholders_of_their_own():
    assert template("/api/runs/3f2b8c1e-9a4d-4e2f-8b7a-1c2d3e4f5a6b") == "/api/runs/[uuid]"
    assert template("/api/blobs/0123456789abcdef0123") == "/api/blobs/[hex]"


def test_names_that_are_not_generated_ids_are_kept():
    assert template("/api/queen/queen_growth/session") == "/api/queen/queen_growth/session"


def test_the_typed_message_in_a_body_becomes_the_message_placeholder():
    assert template_body(json.dumps({"message": MESSAGE, "session": SESSION}), MESSAGE) == \
        {"message": "[message]", "session": "[id]"}


def test_calls_are_grouped_per_phase_with_their_count_in_the_order_first_seen():
    recording = recording_of(
        observed(1.0, "page_load", "/api/sessions"),
        observed(1.1, "page_load", "/api/discover"),
        observed(2.0, "page_load", "/api/sessions"),
        observed(5.0, "conversation_open", f"/api/sessions/{SESSION}/events", content_type="text/event-stream"),
        observed(5.1, "conversation_open", "/api/sessions"),
    )
    assert [(call.phase, call.path, call.count) for call in recording.calls] == [
        ("page_load", "/api/sessions", 2), ("page_load", "/api/discover", 1),
        ("conversation_open", "/api/sessions/[id]/events", 1), ("conversation_open", "/api/sessions", 1)]
    assert [call.stream for call in recording.in_phase("conversation_open")] == [True, False]


def test_a_call_repeated_in_the_idle_window_is_polling_at_its_median_interval():
    recording = recording_of(*(observed(at_s, "polling", f"/api/sessions/{SESSION}/workers")
                               for at_s in (10.0, 12.0, 14.1, 16.0, 18.0, 25.0)))
    (call,) = recording.in_phase("polling")
    assert (call.path, call.count, call.interval_s) == ("/api/sessions/[id]/workers", 6, 2.0)


def test_a_call_seen_once_in_the_idle_window_has_no_interval_and_is_left_out():
    assert recording_of(observed(10.0, "polling", "/api/sessions")).calls == ()


def test_queries_are_templated_and_kept_with_the_path_in_the_request_name():
    recording = recording_of(observed(1.0, "conversation_open", f"/api/sessions/{SESSION}/events/history",
                                      query="limit=500"))
    assert recording.calls[0].query == {"limit": "500"}
    assert recording.calls[0].name == "/api/sessions/[id]/events/history?limit=500"


def test_a_written_recording_loads_back_unchanged(tmp_path: Path):
    recording = recording_of(observed(1.0, "page_load", "/api/sessions"),
                             observed(3.0, "conversation_open", f"/api/sessions/{SESSION}/chat", method="POST",
                                      body=json.dumps({"message": MESSAGE})))
    write_recording(recording, tmp_path / "recording.json")
    assert load_recording(tmp_path / "recording.json") == recording


def test_a_recording_of_another_format_version_is_refused_with_the_file_and_the_fix(tmp_path: Path):
    path = tmp_path / "recording.json"
    write_recording(recording_of(observed(1.0, "page_load", "/api/sessions")), path)
    path.write_text(path.read_text().replace(f'"format_version": {FORMAT_VERSION}', '"format_version": 99'))
    with pytest.raises(RecordingError, match=rf"{path}: format_version 99, this suite reads {FORMAT_VERSION}; "
                                             "record it again with `hive-resilience record-dashboard`"):
        load_recording(path)


def test_a_recording_with_an_id_a_replay_cannot_fill_is_refused(tmp_path: Path):
    path = tmp_path / "recording.json"
    write_recording(recording_of(observed(1.0, "conversation_open", "/api/runs/3f2b8c1e-9a4d-4e2f-8b7a-1c2d3e4f5a6b")),
                    path)
    with pytest.raises(RecordingError, match=r"GET /api/runs/\[uuid\] holds \[uuid\], which a replay cannot fill"):
        load_recording(path)


def test_a_page_load_call_that_needs_a_session_is_refused(tmp_path: Path):
    path = tmp_path / "recording.json"
    write_recording(recording_of(observed(1.0, "page_load", f"/api/sessions/{SESSION}")), path)
    with pytest.raises(RecordingError, match="page-load call GET /api/sessions/\\[id\\] needs a session"):
        load_recording(path)


def test_a_missing_recording_names_the_command_that_makes_it(tmp_path: Path):
    with pytest.raises(RecordingError, match="record it with `hive-resilience record-dashboard`"):
        load_recording(tmp_path / "absent.json")


def test_a_recording_with_a_wrong_field_names_the_field(tmp_path: Path):
    path = tmp_path / "recording.json"
    write_recording(recording_of(observed(1.0, "page_load", "/api/sessions")), path)
    path.write_text(path.read_text().replace('"phase": "page_load"', '"phase": "later"'))
    with pytest.raises(RecordingError, match=r"calls\.0\.phase: Input should be 'page_load'"):
        load_recording(path)


def test_the_committed_recording_loads_and_has_every_phase():
    recording = load_recording(RECORDING_PATH)
    assert recording.hive_version
    assert all(recording.in_phase(phase) for phase in ("page_load", "conversation_open", "polling"))


JSON = "application/json; charset=utf-8"
TASKS = RecordedCall(method="GET", path="/api/sessions/[id]/tasks", status=404, phase="polling", count=3, interval_s=3.0)
EVENTS = RecordedCall(method="GET", path="/api/sessions/[id]/events", status=200, stream=True,
                      phase="conversation_open", count=1)


def test_an_answer_with_the_recorded_status_and_json_is_right_even_a_404():
    assert TASKS.answer_problem(404, JSON, '{"error": "Task list not found", "tasks": []}') is None


@pytest.mark.parametrize(("status", "content_type", "text", "problem"), [
    (200, JSON, "{}", "expected HTTP 404, got 200"),
    (404, "text/html", "<html>", "expected application/json, got text/html"),
    (404, JSON, "<html>", "body is not valid JSON"),
])
def test_another_status_html_or_a_broken_body_is_a_wrong_answer(status, content_type, text, problem):
    assert TASKS.answer_problem(status, content_type, text) == problem


def test_an_event_stream_must_answer_as_one_and_its_body_is_not_read():
    assert EVENTS.answer_problem(200, "text/event-stream", None) is None
    assert EVENTS.answer_problem(200, "text/html", None) == "expected text/event-stream, got text/html"
