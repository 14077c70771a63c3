"""Recognising the reply to our chat message in Hive's replayed event stream."""

from __future__ import annotations

import pytest

from hive_resilience.clients.hive_events import (
    ReplyError,
    wait_for_reply,
    wait_for_reported_error,
)


def event(kind: str, **data) -> dict:
    return {"type": kind, "data": data}


GREETING_REPLAY = [
    event("client_output_delta", content="Hi", snapshot="Hi"),
    event("llm_turn_complete"),
    event("client_input_requested", park_reason="turn_done"),
]


def test_the_replayed_greeting_is_skipped_and_our_reply_returned():
    events = GREETING_REPLAY + [
        event("client_input_received", content="ours"),
        event("client_output_delta", content="Hello ", snapshot="Hello "),
        event("client_output_delta", content="there", snapshot="Hello there"),
        event("llm_turn_complete"),
        event("client_input_requested", park_reason="turn_done"),
    ]
    assert wait_for_reply(iter(events), "ours") == "Hello there"


def test_another_clients_message_is_not_our_reply():
    events = GREETING_REPLAY + [event("client_input_received", content="theirs"), event("client_output_delta", snapshot="x"),
                                event("client_input_requested")]
    with pytest.raises(ReplyError, match="ended"):
        wait_for_reply(iter(events), "ours")


def test_a_turn_without_reply_text_is_a_failure():
    events = [event("client_input_received", content="ours"), event("client_input_requested")]
    with pytest.raises(ReplyError, match="without any reply text"):
        wait_for_reply(iter(events), "ours")


def test_execution_failed_is_a_failure_with_hives_error():
    events = [event("client_input_received", content="ours"), event("execution_failed", error="LLM unavailable")]
    with pytest.raises(ReplyError, match="execution_failed: LLM unavailable"):
        wait_for_reply(iter(events), "ours")


def test_a_retry_is_not_a_failed_reply_when_the_reply_follows():
    events = [event("client_input_received", content="ours"), event("node_retry", error="rate limited"),
              event("client_output_delta", snapshot="Hello"), event("client_input_requested")]
    assert wait_for_reply(iter(events), "ours") == "Hello"


def test_a_retry_is_an_error_reported_to_the_client():
    events = GREETING_REPLAY + [event("client_input_received", content="ours"), event("node_retry", error="LLM 500")]
    assert wait_for_reported_error(iter(events), "ours") == "LLM 500"


def test_a_turn_that_ends_normally_reports_no_error():
    events = [event("node_retry", error="an earlier turn"), event("client_input_received", content="ours"),
              event("client_output_delta", snapshot="Hi"), event("client_input_requested")]
    assert wait_for_reported_error(iter(events), "ours") is None


def test_a_stream_that_ends_before_the_turn_does_is_a_reply_error():
    with pytest.raises(ReplyError, match="without an error event"):
        wait_for_reported_error(iter([event("client_input_received", content="ours")]), "ours")
