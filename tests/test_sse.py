"""SSE decoding as both of Hive's servers send it."""

from __future__ import annotations

import random

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


STREAM = (
    "\ufeffevent: endpoint\r\ndata: {\"id\":1}\r\n\r\n"
    ": keepalive\r\n\r\n"
    "id: 7\rdata: a\rdata: b\r\r"
    "event: client_output_delta\r\ndata: {\"type\": \"llm_text_delta\"}\n\n"
    "data\n\n"
)
EXPECTED = [
    SseEvent(data='{"id":1}', event="endpoint"),
    SseEvent(data="a\nb", id="7"),
    SseEvent(data='{"type": "llm_text_delta"}', event="client_output_delta", id="7"),
    SseEvent(data="", id="7"),
]


def test_a_leading_bom_does_not_hide_the_first_event():
    assert parse_sse(STREAM) == EXPECTED


def test_a_crlf_split_across_chunks_is_one_line_end():
    decoder = SseDecoder()
    assert decoder.feed("event: delta\r") == []
    assert decoder.feed("\ndata: x\r") == []
    assert decoder.feed("\n\r") == [SseEvent(data="x", event="delta")]
    assert decoder.feed("\n") == []


def test_any_chunking_of_a_stream_gives_the_same_events():
    # A property over random chunkings (seeded, so a failure names the seed to replay).
    for seed in range(300):
        chunker = random.Random(seed)
        cuts = sorted(chunker.sample(range(1, len(STREAM)), chunker.randint(1, 25)))
        chunks = [STREAM[start:end] for start, end in zip([0, *cuts], [*cuts, len(STREAM)])]
        decoder = SseDecoder()
        events = [event for chunk in chunks for event in decoder.feed(chunk)] + decoder.close()
        assert events == EXPECTED, f"seed {seed}: chunks {chunks!r}"


def test_an_id_with_a_null_is_ignored():
    assert parse_sse("id: 1\n\nid: a\0b\ndata: x\n\n") == [SseEvent(data="x", id="1")]
