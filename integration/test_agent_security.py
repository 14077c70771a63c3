"""Security promises of the agent's tool path, checked on a real Hive container.

Whatever Hive does is a test: a promise it keeps passes; one it breaks is a strict known-defect
xfail (root ``known_defects.py``) that first asserts the wrong behaviour seen on Hive 1.0.12.

- **The queen's tool allowlist holds.** An MCP tool the tools server has, left out of the
  queen's allowlist (``PATCH /api/queen/<queen>/tools``), must not run when the model asks for
  it by name: the tools server's own ``tools/call`` counter says whether it ran.
- **A registered MCP server's headers never leak.** The tools server is registered with a
  random ``Authorization`` and ``X-Api-Key``; after a tool-calling conversation neither value
  may appear in the session's events, Hive's API answers, Hive's logs, the requests Hive sent
  to the model, the suite's own log lines, nor any file under Hive's home but its MCP registry
  (readable by its owner only). The tools server's header-name counter proves Hive sent them.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import tarfile

import pytest
from containers import (
    HOME_IN_IMAGE,
    HiveServerContainer,
    HiveToolsContainer,
    LlmStubContainer,
)
from hive_flows import stored_conversation

from hive_resilience.clients.agent_scripts import parse_script
from hive_resilience.clients.hive_conversation import (
    ChatTurn,
    HiveConversation,
    unique_message,
)
from hive_resilience.clients.http_client import HttpClient, hive_call
from hive_resilience.target import agent_wiring
from hive_resilience.target.llm_stub import DEFAULT_TOOL

QUEEN = agent_wiring.DEFAULT_QUEEN
ALLOWED_TOOL = DEFAULT_TOOL
"""``risk_score``: pure and local, served by the tools server alone."""
FORBIDDEN_TOOL = "http_headers_scan"
"""Also served by the tools server alone; asked to scan the tools server's own ``/health``, so
even a call Hive should not make stays on loopback."""
TURN_TIMEOUT_S = 60.0
REGISTRY_FILE = ".hive/mcp_registry/installed.json"
"""Where Hive keeps registered servers, headers included (under HOME): the one place they belong."""
OWNER_ONLY_MODE_MASK = 0o077


@pytest.fixture
def fresh_hive(start_container, built_images, llm_stub: LlmStubContainer) -> HiveServerContainer:
    """A Hive of the test's own: registering a server or an allowlist changes every later session.

    Its image is the session's build, not the tag of the sources as they are now (others may
    be editing them)."""
    return start_container(HiveServerContainer(llm_stub.get_url(), built_images["hive"]))


def tools_server_stats(tools_server: HiveToolsContainer) -> dict:
    answer = HttpClient(tools_server.get_url(), timeout_s=30).call("GET", "/admin/stats")
    assert answer.status == 200 and isinstance(answer.json, dict), f"/admin/stats answered HTTP {answer.status}"
    return answer.json


def server_calls(tools_server: HiveToolsContainer, tool: str) -> int:
    return tools_server_stats(tools_server)["tool_calls"].get(tool, 0)


def play(conversation: HiveConversation, session_id: str, script_key: str) -> ChatTurn:
    """One turn whose model plays ``script_key``; a message Hive did not take raises ConversationError."""
    return conversation.chat(session_id, f"{unique_message('security')} {parse_script(script_key).directive}",
                             TURN_TIMEOUT_S)


def restrict_queen_tools(api_url: str, allowed: list[str]) -> list[str]:
    """Hive's own allowlist route; returns the allowlist Hive stored."""
    answer = hive_call("PATCH", f"{api_url}/api/queen/{QUEEN}/tools", {"enabled_mcp_tools": allowed}, timeout_s=60)
    assert answer.status == 200 and isinstance(answer.json, dict), f"PATCH queen tools answered HTTP {answer.status}"
    return answer.json["enabled_mcp_tools"]


def calls_of(turn: ChatTurn, tool: str) -> list:
    return [call for call in (turn.figures.tool_calls if turn.figures else ()) if call.tool_name == tool]


@pytest.mark.known_defect("Hive 1.0.12: the queen's MCP tool allowlist only hides tools from the model's tools "
                          "array; a call naming a forbidden tool still runs on the MCP server and succeeds")
def test_a_tool_left_out_of_the_queens_allowlist_never_runs(fresh_hive, tools_server, known_defect):
    hive = fresh_hive
    hive.wire_agent_tools(tools_server.get_url())
    stored = restrict_queen_tools(hive.get_url(), [ALLOWED_TOOL])
    assert ALLOWED_TOOL in stored and FORBIDDEN_TOOL not in stored, f"Hive stored the allowlist {stored}"
    conversation = HiveConversation.blocking(hive.get_url())
    session_id = conversation.create_session()
    callable_tools = {entry["name"] for entry in agent_wiring.session_tools(hive.get_url(), session_id)["actual_tools"]}
    assert ALLOWED_TOOL in callable_tools and FORBIDDEN_TOOL not in callable_tools, \
        "the allowlist did not shape the model's tools array, so the check would prove nothing"

    forbidden_before, allowed_before = server_calls(tools_server, FORBIDDEN_TOOL), server_calls(tools_server, ALLOWED_TOOL)
    scan_arguments = json.dumps({"url": f"{tools_server.get_url()}/health"})
    forbidden_turn = play(conversation, session_id, f"one_tool tool={FORBIDDEN_TOOL} args={scan_arguments}")
    forbidden_ran = server_calls(tools_server, FORBIDDEN_TOOL) - forbidden_before
    allowed_turn = play(conversation, session_id, "one_tool")
    allowed_ran = server_calls(tools_server, ALLOWED_TOOL) - allowed_before
    conversation.delete_session(session_id)

    allowed_calls = calls_of(allowed_turn, ALLOWED_TOOL)
    assert allowed_turn.error is None, f"the allowed tool's turn failed: {allowed_turn.error}"
    assert allowed_ran == 1 and len(allowed_calls) == 1 and not allowed_calls[0].failed, \
        f"the allowed tool must still work: the tools server ran it {allowed_ran} times, Hive reported {allowed_calls}"
    reported = calls_of(forbidden_turn, FORBIDDEN_TOOL)

    def never_runs_and_the_user_is_told() -> None:
        assert forbidden_ran == 0, f"the tools server ran the forbidden {FORBIDDEN_TOOL} {forbidden_ran} times"
        assert forbidden_turn.error is not None or any(call.failed for call in reported), \
            f"the turn did not tell the user the tool is not allowed: Hive reported {reported}"

    def runs_as_if_allowed() -> None:
        assert forbidden_ran == 1, f"tools server ran the forbidden tool {forbidden_ran} times, not once"
        assert forbidden_turn.error is None and len(reported) == 1 and not reported[0].failed, \
            f"Hive no longer reports the forbidden call as a success: {forbidden_turn.error or reported}"

    known_defect.check(right=never_runs_and_the_user_is_told, today=runs_as_if_allowed)


@pytest.fixture
def secret_headers() -> dict[str, str]:
    """Random credentials for the tools server: nothing else in the run can hold them by chance."""
    return {"Authorization": f"Bearer {secrets.token_urlsafe(24)}", "X-Api-Key": secrets.token_hex(20)}


def home_files(hive: HiveServerContainer) -> dict[str, tuple[int, bytes]]:
    """Every regular file under Hive's HOME as (mode, content), read through ``docker cp``'s archive
    so no secret ever goes on a command line."""
    chunks, _ = hive.get_wrapped_container().get_archive(HOME_IN_IMAGE)
    files: dict[str, tuple[int, bytes]] = {}
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
        for member in archive.getmembers():
            if member.isfile():
                path = member.name.split("/", 1)[1] if "/" in member.name else member.name
                files[path] = (member.mode, archive.extractfile(member).read())
    return files


def api_answers(api_url: str, session_id: str) -> dict[str, bytes]:
    """What Hive's API shows about the server and the session, by route."""
    reads: dict[str, tuple[str, str]] = {
        "GET /api/mcp/servers": ("GET", "/api/mcp/servers"),
        "POST /api/mcp/servers/{name}/health": ("POST", f"/api/mcp/servers/{agent_wiring.SERVER_NAME}/health"),
        "GET /api/queen/{queen}/tools": ("GET", f"/api/queen/{QUEEN}/tools"),
        "GET /api/sessions": ("GET", "/api/sessions"),
        "GET /api/sessions/{id}": ("GET", f"/api/sessions/{session_id}"),
        "GET /api/sessions/{id}/live_tools": ("GET", f"/api/sessions/{session_id}/live_tools"),
    }
    answers = {}
    for place, (method, path) in reads.items():
        answer = hive_call(method, f"{api_url}{path}", {} if method == "POST" else None, timeout_s=60)
        assert answer.status == 200, f"{place} answered HTTP {answer.status}"
        answers[place] = answer.body
    return answers


def holding(places: dict[str, bytes], values: list[str]) -> list[str]:
    """The places whose text holds any of ``values``, by name only (the values stay out of reports)."""
    return [place for place, text in places.items() if any(value.encode() in text for value in values)]


def test_a_registered_mcp_servers_headers_never_leak(fresh_hive, llm_stub, tools_server, secret_headers,
                                                     caplog, capsys):
    caplog.set_level(logging.DEBUG)
    values = [secret_headers["Authorization"].removeprefix("Bearer "), secret_headers["X-Api-Key"]]
    hive = fresh_hive
    carried_before = tools_server_stats(tools_server)["requests_by_header"]
    hive.wire_agent_tools(tools_server.get_url(), headers=secret_headers)
    conversation = HiveConversation.blocking(hive.get_url())
    session_id = conversation.create_session()
    turn = play(conversation, session_id, "one_tool")
    assert turn.error is None and len(calls_of(turn, ALLOWED_TOOL)) == 1, \
        f"the tool-calling turn must work for the check to mean anything: {turn.error or turn.figures}"
    carried = tools_server_stats(tools_server)["requests_by_header"]
    for name in ("authorization", "x-api-key"):
        assert carried.get(name, 0) > carried_before.get(name, 0), f"Hive never sent the registered {name} header"

    stdout, stderr = hive.get_logs()
    places = {
        "the session's events": (stored_conversation(hive.get_url(), session_id) or "").encode(),
        **api_answers(hive.get_url(), session_id),
        "Hive's container log": stdout + stderr,
        "the requests Hive sent to the model": HttpClient(llm_stub.get_url(), timeout_s=30).call("GET", "/admin/requests").body,
    }
    conversation.delete_session(session_id)
    files = home_files(hive)
    captured = capsys.readouterr()
    places["the suite's log lines and output"] = (caplog.text + captured.out + captured.err).encode()

    assert holding(places, values) == [], "a registered server's secret header leaked"
    files_holding = holding({path: content for path, (_, content) in files.items()}, values)
    assert files_holding == [REGISTRY_FILE], f"the secret is stored in {files_holding}, not only in Hive's MCP registry"
    registry_mode = files[REGISTRY_FILE][0]
    assert registry_mode & OWNER_ONLY_MODE_MASK == 0, f"{REGISTRY_FILE} holds the secret with mode {registry_mode:o}"
