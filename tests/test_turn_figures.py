"""Where a turn's time went, read from the events Hive 1.0.12 really streamed for scripted tool
turns (tests/data/hive_tool_turns.json), and how each script judges its turn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hive_resilience.clients.agent_scripts import parse_script, turn_journeys
from hive_resilience.clients.hive_conversation import ChatTurn
from hive_resilience.clients.hive_events import (
    ReplyError,
    TurnFigures,
    TurnRecorder,
    tool_result_failed,
    wait_for_reply,
)

RECORDED = json.loads((Path(__file__).parent / "data" / "hive_tool_turns.json").read_text())
MESSAGE = "ours"


def replay(case: str) -> tuple[str, TurnFigures]:
    """The reply and figures of a recorded turn, the client's clock reading each event's arrival."""
    now = [0.0]

    def stream() -> Iterator[dict]:
        yield {"type": "client_input_received", "data": {"content": MESSAGE}}
        for event in RECORDED[case]["events"]:
            now[0] = event["_t"]
            yield event

    recorder = TurnRecorder(clock=lambda: now[0])
    reply = wait_for_reply(stream(), MESSAGE, recorder)
    return reply, recorder.figures()


def test_one_tool_call_is_timed_by_hives_timestamps_and_matched_by_tool_use_id():
    _, figures = replay("one_tool")
    (call,) = figures.tool_calls
    assert (call.tool_use_id, call.tool_name, call.failed) == ("call_2b19cc7f4ae3", "risk_score", False)
    assert call.duration_s == pytest.approx(52.896850 - 52.862972, abs=1e-6)
    assert figures.tools_s == pytest.approx(call.duration_s)


def test_model_calls_are_counted_per_call_not_per_llm_turn_complete():
    # Hive sends llm_turn_complete once per turn; the stub answered 2, 3, 2, 1 and 6 streaming calls.
    calls = {case: replay(case)[1].llm_calls
             for case in ("one_tool", "chain_of_two", "two_parallel", "plain", "malformed_args")}
    assert calls == {"one_tool": 2, "chain_of_two": 3, "two_parallel": 2, "plain": 1, "malformed_args": 6}


def test_model_time_runs_from_each_call_start_to_its_answer():
    _, figures = replay("one_tool")
    # iteration_start -> tool_call_started, then post_tool_results -> llm_turn_complete
    assert figures.model_s == pytest.approx((52.862972 - 52.655216) + (53.026170 - 52.900195), abs=1e-6)


def test_time_to_first_token_is_the_first_text_delta_on_the_clients_clock():
    _, figures = replay("one_tool")
    assert figures.first_token_s == pytest.approx(0.423)


def test_parallel_tool_calls_count_their_overlap_once_in_the_tools_time():
    _, figures = replay("two_parallel")
    assert [call.duration_s for call in figures.tool_calls] == pytest.approx([0.023840, 0.026986], abs=1e-6)
    assert figures.tools_s == pytest.approx(58.277487 - 58.249690, abs=1e-6)


def test_the_three_parts_add_up_to_the_reply_time():
    _, figures = replay("chain_of_two")
    reply_s = RECORDED["chain_of_two"]["turn_s"]
    assert figures.model_s + figures.tools_s + figures.hive_overhead_s(reply_s) == pytest.approx(reply_s)
    assert 0 < figures.hive_overhead_s(reply_s) < reply_s


def test_a_tool_error_on_the_server_is_a_failure_although_hive_says_is_error_false():
    _, figures = replay("tool_fails_on_server")
    (call,) = figures.tool_calls
    assert call.failed and call.error.startswith("Error executing tool risk_score")


def test_hives_own_error_object_for_an_unknown_tool_is_a_failure():
    _, figures = replay("unknown_tool")
    assert figures.tool_calls[0].failed and "Unknown tool" in figures.tool_calls[0].error


@pytest.mark.parametrize(("result", "is_error", "failed"), [
    ('{"overall_score": 0}', False, False),
    ('{"error": "boom"}', False, True),
    ("Error executing tool x: bad", False, True),
    ("plain text", True, True),
    ("plain text", False, False),
])
def test_tool_result_failed_reads_the_text_whatever_is_error_says(result, is_error, failed):
    assert tool_result_failed(result, is_error) is failed


def test_a_tool_call_without_completion_is_reported_unfinished():
    recorder = TurnRecorder(clock=lambda: 0.0)
    recorder.observe({"type": "tool_call_started", "timestamp": "2026-01-01T00:00:00",
                      "data": {"tool_use_id": "call_1", "tool_name": "risk_score"}})
    (call,) = recorder.figures().tool_calls
    assert call.duration_s is None and not call.failed


@pytest.mark.parametrize(("script", "case"), [
    ("one_tool", "one_tool"),
    ("chain steps=2", "chain_of_two"),
    ("parallel calls=2", "two_parallel"),
    ("tool_fails", "tool_fails_on_server"),
    ("unknown_tool", "unknown_tool"),
    ("plain", "plain"),
    ("malformed_args", "malformed_args"),
])
def test_each_recorded_turn_went_as_its_script_says(script, case):
    assert parse_script(script).problem(replay(case)[1]) is None


@pytest.mark.parametrize(("script", "case", "problem"), [
    ("one_tool", "tool_fails_on_server", "tool risk_score failed: Error executing tool"),
    ("one_tool", "plain", "expected 1 tool calls, Hive ran 0"),
    ("tool_fails", "one_tool", "expected a tool error"),
    ("chain steps=3", "chain_of_two", "expected 3 tool calls, Hive ran 2"),
])
def test_a_turn_that_did_not_go_as_scripted_says_how(script, case, problem):
    assert problem in parse_script(script).problem(replay(case)[1])


def chat_turn(case: str, error: ReplyError | None = None) -> ChatTurn:
    reply, figures = replay(case)
    return ChatTurn(reply, RECORDED[case]["turn_s"], error, figures)


def test_a_scripted_turn_reports_its_journeys_and_its_split():
    journeys = {journey.name: journey for journey in turn_journeys(chat_turn("chain_of_two"), parse_script("chain"))}
    assert list(journeys) == ["chat time-to-reply", "agent time-to-reply [chain]", "agent time-to-first-token",
                              "tool risk_score", "agent time in model", "agent time in tools", "agent time in Hive"]
    assert all(journey.problem is None for journey in journeys.values())
    split_s = sum(journeys[name].duration_s for name in ("agent time in model", "agent time in tools", "agent time in Hive"))
    assert split_s == pytest.approx(RECORDED["chain_of_two"]["turn_s"])


def test_a_tool_that_failed_against_the_script_fails_the_reply_and_the_tool_journey():
    journeys = turn_journeys(chat_turn("tool_fails_on_server"), parse_script("one_tool"))
    failed = [journey.name for journey in journeys if journey.problem]
    assert failed == ["chat time-to-reply", "agent time-to-reply [one_tool]", "tool risk_score"]


def test_an_unscripted_turn_reports_only_chat_time_to_reply():
    assert [journey.name for journey in turn_journeys(chat_turn("plain"), None)] == ["chat time-to-reply"]


def test_a_turn_cut_short_reports_no_split():
    journeys = turn_journeys(chat_turn("one_tool", ReplyError("no reply within 30 s")), parse_script("one_tool"))
    assert not any(journey.name.startswith("agent time in") for journey in journeys)
    assert journeys[0].problem == "no reply within 30 s"
