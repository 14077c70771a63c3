"""The queen calls the tools MCP server: wired through Hive's API, driven by the scripted LLM stub.

The embedded target wires the tools server into the queen's sessions at start-up, and its
LLM stub (:mod:`hive_resilience.target.llm_stub`) asks for the tool calls a chat message's
``[[script:...]]`` or ``[[tool:...]]`` directive names. What Hive does with them is observed
where a client sees it (the session's event stream), where the model sees it (the requests
it receives) and where the tools run (the tools server's ``tools/call`` counter).
"""

from __future__ import annotations

import pytest

from hive_resilience.clients import http_client
from hive_resilience.clients.hive_events import SessionEventStream
from hive_resilience.target import agent_wiring
from hive_resilience.target.embedded import EmbeddedTarget, free_ports

pytestmark = pytest.mark.embedded

TURN_TIMEOUT_S = 60.0
MALFORMED_TURN_TIMEOUT_S = 120.0
"""Hive retries a stream whose tool arguments do not parse 5 times, backing off 2-32 s (~63 s)."""


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> EmbeddedTarget:
    with EmbeddedTarget(tmp_path_factory.mktemp("agent-target"), free_ports()) as started:
        yield started


@pytest.fixture(scope="module")
def proof(target) -> agent_wiring.AgentToolsProof:
    """What the target proved at start-up: ``up()`` wires the tools server before it returns."""
    assert target.agent_tools_proof is not None
    return target.agent_tools_proof


@pytest.fixture(scope="module")
def session_id(target, proof) -> str:
    """A wired queen session whose greeting turn is over, so chat messages are not queued behind it."""
    created = http_client.hive_call("POST", f"{target.api_url}/api/sessions", {"queen_name": proof.queen}, timeout_s=60)
    assert created.status == 201, created.body
    new_id = created.json["session_id"]
    with SessionEventStream(target.api_url, new_id, TURN_TIMEOUT_S) as stream:
        next(event for event in stream.events() if event.get("type") == "client_input_requested")
    return new_id


def run_turn(target, session_id: str, message: str, timeout_s: float = TURN_TIMEOUT_S) -> list[dict]:
    """Send ``message`` and return the events of its turn, up to the queen waiting for input again."""
    with SessionEventStream(target.api_url, session_id, timeout_s) as stream:
        sent = http_client.hive_call("POST", f"{target.api_url}/api/sessions/{session_id}/chat", {"message": message})
        assert sent.status == 200, sent.body
        turn: list[dict] = []
        for event in stream.events():
            if turn or (event.get("type") == "client_input_received" and event["data"].get("content") == message):
                turn.append(event)
            if turn and event.get("type") == "client_input_requested":
                return turn
    raise AssertionError("unreachable: events() raises at its deadline")


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [event["data"] for event in events if event.get("type") == kind]


def server_calls(target, tool: str) -> int:
    return http_client.call("GET", f"{target.mcp_url}/admin/stats").json["tool_calls"].get(tool, 0)


def model_requests(target) -> list[dict]:
    return http_client.call("GET", f"{target.llm_url}/admin/requests", timeout_s=30).json


def test_a_new_session_of_the_wired_queen_can_call_the_tools_servers_own_tool(proof):
    assert proof.queen == agent_wiring.DEFAULT_QUEEN
    assert "risk_score" in proof.mcp_tools


def test_a_target_started_without_agent_tools_leaves_them_out(tmp_path):
    with EmbeddedTarget(tmp_path, free_ports(), agent_tools=False) as bare:
        assert bare.agent_tools_proof is None
        with pytest.raises(agent_wiring.WiringError, match="cannot call risk_score"):
            agent_wiring.prove_session_sees_tools(bare.api_url)


def test_a_queen_left_on_her_role_default_cannot_call_it(target, proof):
    with pytest.raises(agent_wiring.WiringError, match="queen_legal session cannot call risk_score"):
        agent_wiring.prove_session_sees_tools(target.api_url, "queen_legal")


def test_registering_again_replaces_the_server_so_it_can_be_pointed_elsewhere(target, proof):
    summary = agent_wiring.register_tools_server(target.api_url, target.mcp_url)
    assert summary["transport"] == "http"
    assert agent_wiring.check_registered_server(target.api_url) > 100


def test_a_tool_call_from_the_model_runs_on_the_tools_server_and_its_result_returns_to_the_model(target, session_id):
    calls_before = server_calls(target, "risk_score")
    requests_before = len(model_requests(target))
    events = run_turn(target, session_id, 'score it [[script:one_tool args={"ssl_results": ""}]]')
    [started] = of_type(events, "tool_call_started")
    [completed] = of_type(events, "tool_call_completed")
    assert (started["tool_name"], started["tool_input"]) == ("risk_score", {"ssl_results": ""})
    assert completed["tool_use_id"] == started["tool_use_id"] and completed["is_error"] is False
    assert '"overall_grade"' in completed["result"]
    assert of_type(events, "llm_turn_complete")[-1]["stop_reason"] == "stop"
    assert server_calls(target, "risk_score") == calls_before + 1
    streamed = [r["body"] for r in model_requests(target)[requests_before:] if r["body"].get("stream")]
    assert "risk_score" in {tool["function"]["name"] for tool in streamed[0]["tools"]}
    tool_message = streamed[1]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == started["tool_use_id"]


def test_a_tool_that_fails_on_the_server_comes_back_as_a_result_not_an_error(target, session_id):
    # Over Hive's http transport the MCP isError flag is dropped: only the text says it failed.
    calls_before = server_calls(target, "risk_score")
    events = run_turn(target, session_id, "bad type [[script:tool_fails]]")
    [completed] = of_type(events, "tool_call_completed")
    assert completed["is_error"] is False
    assert completed["result"].startswith("Error executing tool risk_score: 1 validation error")
    assert server_calls(target, "risk_score") == calls_before + 1


def test_an_unknown_tool_is_an_error_that_never_reaches_the_server(target, session_id):
    events = run_turn(target, session_id, "no such tool [[script:unknown_tool]]")
    [completed] = of_type(events, "tool_call_completed")
    assert completed["is_error"] is True
    assert completed["result"] == "{\"error\": \"Unknown tool: no_such_tool. Did you mean 'search_tools'?\"}"
    assert server_calls(target, "no_such_tool") == 0


def test_two_calls_in_one_turn_run_side_by_side(target, session_id):
    calls_before = server_calls(target, "risk_score")
    events = run_turn(target, session_id, 'two at once [[tool:risk_score {} && risk_score {"dns_results": ""}]]')
    kinds = [event["type"] for event in events if event["type"].startswith("tool_call_")]
    assert kinds == ["tool_call_started", "tool_call_started", "tool_call_completed", "tool_call_completed"]
    assert [data["tool_input"] for data in of_type(events, "tool_call_started")] == [{}, {"dns_results": ""}]
    assert server_calls(target, "risk_score") == calls_before + 2


def test_a_chain_of_two_calls_runs_one_after_the_other(target, session_id):
    calls_before = server_calls(target, "risk_score")
    events = run_turn(target, session_id, "one then another [[script:chain steps=2]]")
    kinds = [event["type"] for event in events if event["type"].startswith("tool_call_")]
    assert kinds == ["tool_call_started", "tool_call_completed", "tool_call_started", "tool_call_completed"]
    assert server_calls(target, "risk_score") == calls_before + 2
    assert of_type(events, "client_output_delta")[-1]["snapshot"].endswith("Tool results received: 2.")


def test_a_script_mix_set_at_run_time_makes_a_plain_message_call_a_tool_but_not_the_greeting(target, session_id):
    calls_before = server_calls(target, "risk_score")
    http_client.call("PUT", f"{target.llm_url}/admin/scripts", {"mix": {"one_tool": 1}, "seed": 3})
    try:
        events = run_turn(target, session_id, "no directive here")
        greeted = http_client.hive_call("POST", f"{target.api_url}/api/sessions", {"queen_name": agent_wiring.DEFAULT_QUEEN},
                                   timeout_s=60)
        with SessionEventStream(target.api_url, greeted.json["session_id"], TURN_TIMEOUT_S) as stream:
            greeting = []
            for event in stream.events():
                greeting.append(event)
                if event.get("type") == "client_input_requested":
                    break
    finally:
        http_client.call("PUT", f"{target.llm_url}/admin/scripts", {"mix": {}})
    assert [data["tool_name"] for data in of_type(events, "tool_call_started")] == ["risk_score"]
    assert not of_type(greeting, "tool_call_started")
    assert server_calls(target, "risk_score") == calls_before + 1


def test_malformed_arguments_are_retried_then_the_turn_parks_on_an_llm_error(target, session_id):
    calls_before = server_calls(target, "risk_score")
    events = run_turn(target, session_id, "broken [[script:malformed_args]]", MALFORMED_TURN_TIMEOUT_S)
    retries = of_type(events, "node_retry")
    assert [retry["retry_count"] for retry in retries] == [1, 2, 3, 4, 5, 5]
    assert "Failed to parse tool call arguments for 'risk_score'" in retries[0]["error"]
    assert not of_type(events, "tool_call_started") and not of_type(events, "llm_turn_complete")
    assert of_type(events, "client_input_requested")[-1]["park_reason"] == "llm_error"
    assert server_calls(target, "risk_score") == calls_before
