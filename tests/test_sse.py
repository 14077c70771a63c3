"""SSE decoding as both of Hive's servers send it."""

from __future__ import annotations

from hive_resilience.clients.sse import SseDecoder, SseEvent, parse_sse


def test_mcp_reply_frame_gives_one_message_event():
    assert parse_sse('event: message\ndata: {"id":1}\n\n') == [SseEvent(data='{"id":1}', event="message")]


def test_events_split_across_chunks_come_out_when_complete():
    decoder = SseDecoder()
    assert decoder.feed('data: {"type": "llm_') == []
    assert decoder.feed('turn_complete"}\n') == []
    assert decoder.feed("\n") == [SseEvent(data='{"type": "llm_turn_complete"}')]


def test_crlf_comments_ids_and_multiline_data():
    events = parse_sse(": keepalive\r\nid: 7\r\ndata: a\r\ndata: b\r\n\r\n")
    assert events == [SseEvent(data="a\nb", id="7")]


def test_a_frame_without_data_is_not_an_event():
    assert parse_sse("event: ping\n\n") == []


def test_last_event_without_trailing_blank_line_is_kept_at_close():
    assert parse_sse("data: tail") == [SseEvent(data="tail")]
