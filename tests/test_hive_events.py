"""Recognising the reply to our chat message in Hive's replayed event stream."""

from __future__ import annotations

import pytest

from hive_resilience.clients.hive_events import ReplyError, wait_for_reply


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
