"""Any MCP server, not only aden-tools: a scenario names its tools, the client speaks every server mode.

The reference ``mcp`` SDK server (``tests/mcp_sdk_server.py``) runs in each streamable-HTTP
mode the specification allows: stateful or stateless, SSE or plain JSON replies. The suite's
blocking client and McpToolsUser (in a real headless Locust run) must work against all four,
agree with the SDK's own client, and refuse a tool the server does not offer before any load.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_sdk_server import SERVER_MODES, ServerMode

from hive_resilience.clients.mcp_client import McpClient
from hive_resilience.clients.mcp_protocol import ENDPOINT, McpHttpReply
from hive_resilience.loadrun.scenario import ScenarioError, ToolCall, load_scenario
from hive_resilience.loadrun.summary import read_summary
from hive_resilience.paths import LOAD_DIR
from hive_resilience.target.embedded import LOOPBACK, free_port

SERVER_SCRIPT = Path(__file__).with_name("mcp_sdk_server.py")
SERVER_START_TIMEOUT_S = 30.0

SDK_TOOLS_SCENARIO = """
name: sdk-tools
users: 2
spawn_rate: 2
duration: 3s
inconclusive: pass  # 3 s proves the tools work, too few samples to decide a p99
user_classes:
  McpToolsUser:
    wait_s: [0.05, 0.1]
    tools:
      - {name: add, arguments: {a: 2, b: 3}, weight: 3}
      - {name: echo, arguments: {text: hello}}
"""


@dataclass(frozen=True)
class SdkServer:
    mode: ServerMode
    url: str


@pytest.fixture(scope="module", params=SERVER_MODES, ids=lambda mode: mode.label)
def sdk_server(request) -> Iterator[SdkServer]:
    """The SDK server in one mode on a free loopback port, ready to answer."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(SERVER_SCRIPT), "--port", str(port), *request.param.argv()],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the SDK server ({request.param.label}) did not start: {process.communicate(timeout=5)[1][-2000:]}")
            time.sleep(0.1)
        yield SdkServer(request.param, f"http://{LOOPBACK}:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection((LOOPBACK, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def run_locust(scenario: Path, mcp_url: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOAD_DIR), "--headless", "--only-summary", "--scenario", str(scenario),
         "--mcp-host", mcp_url, "--report-dir", str(cwd / "report")],
        check=False, capture_output=True, text=True, timeout=90, cwd=cwd,
    )


def test_suite_client_speaks_every_server_mode(sdk_server: SdkServer) -> None:
    with McpClient(sdk_server.url) as client:
        assert (client.protocol.session_id is None) == sdk_server.mode.stateless
        assert [tool["name"] for tool in client.list_tools()] == ["add", "echo"]
        assert client.call_tool("add", {"a": 2, "b": 3})["content"][0]["text"] == "5"
        assert client.call_tool("echo", {"text": "hello"})["content"][0]["text"] == "hello"


@pytest.mark.asyncio
async def test_suite_client_sees_what_the_sdk_client_sees(sdk_server: SdkServer) -> None:
    calls = (("add", {"a": 40, "b": 2}), ("echo", {"text": "same"}))

    def ours() -> tuple[list[str], list[str]]:
        with McpClient(sdk_server.url) as client:
            return ([tool["name"] for tool in client.list_tools()],
                    [client.call_tool(name, arguments)["content"][0]["text"] for name, arguments in calls])

    async with (
        streamable_http_client(sdk_server.url + ENDPOINT) as (read, write, _),
        ClientSession(read, write) as sdk,
    ):
        await sdk.initialize()
        sdk_names = [tool.name for tool in (await sdk.list_tools()).tools]
        sdk_texts = [(await sdk.call_tool(name, arguments)).content[0].text for name, arguments in calls]
    assert await asyncio.to_thread(ours) == (sdk_names, sdk_texts)


def test_scenario_tools_drive_the_server_with_no_failures(sdk_server: SdkServer, tmp_path: Path, write_scenario) -> None:
    result = run_locust(write_scenario(SDK_TOOLS_SCENARIO), sdk_server.url, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row.name: row for row in read_summary(tmp_path / "report" / "summary.json").requests}
    for name in ("POST mcp tools/call add", "POST mcp tools/call echo", "POST mcp initialize"):
        assert rows[name].requests > 0, name
    assert all(row.failures == 0 for row in rows.values()), {name: row.failures for name, row in rows.items()}
    assert ("DELETE mcp session delete" in rows) != sdk_server.mode.stateless, "only a stateful session is deleted"


# One mode is enough: the check is the blocking client's tools/list, proven in every mode above.
@pytest.mark.parametrize("sdk_server", [ServerMode(stateless=True, json_response=True)], indirect=True,
                         ids=lambda mode: mode.label)
def test_unknown_tool_stops_the_run_before_any_load(sdk_server: SdkServer, tmp_path: Path, write_scenario) -> None:
    scenario = write_scenario(SDK_TOOLS_SCENARIO.replace("name: echo", "name: ecco"))
    result = run_locust(scenario, sdk_server.url, tmp_path)
    assert result.returncode == 2
    assert (f"hive-resilience: {sdk_server.url} offers no tool 'ecco' for McpToolsUser to call; "
            "did you mean 'echo'?") in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "report").exists(), "no load ran, so no report"


def test_scenario_tools_default_to_none_meaning_the_offline_mix(write_scenario) -> None:
    scenario = load_scenario(str(write_scenario("users: 1\nspawn_rate: 1\nduration: 1s\n"
                                                "user_classes: {McpToolsUser: {weight: 1}}\n")))
    assert scenario.user_classes["McpToolsUser"].tools is None


def test_scenario_tools_keep_names_arguments_and_weights(write_scenario) -> None:
    scenario = load_scenario(str(write_scenario(SDK_TOOLS_SCENARIO)))
    assert scenario.user_classes["McpToolsUser"].tools == (
        ToolCall(name="add", arguments={"a": 2, "b": 3}, weight=3), ToolCall(name="echo", arguments={"text": "hello"}),
    )


@pytest.mark.parametrize(
    ("tools", "problem"),
    [
        ("[]", "key 'user_classes.McpToolsUser.tools': tools needs at least one entry with a weight above 0"),
        ("[{name: add, weight: 0}]", "tools needs at least one entry with a weight above 0"),
        ("[{name: add, weight: -1}]", "key 'user_classes.McpToolsUser.tools.0.weight'"),
        ("[{name: 'add two'}]", "key 'user_classes.McpToolsUser.tools.0.name': a tool name is one word"),
        ("[{name: add, arguments: [1, 2]}]", "key 'user_classes.McpToolsUser.tools.0.arguments'"),
        ("[{name: add, args: {}}]", "unknown key 'user_classes.McpToolsUser.tools.0.args'; allowed here: name, arguments, weight"),
    ],
)
def test_bad_scenario_tools_name_the_file_and_the_key(write_scenario, tools: str, problem: str) -> None:
    path = write_scenario(f"users: 1\nspawn_rate: 1\nduration: 1s\nuser_classes:\n  McpToolsUser: {{tools: {tools}}}\n")
    with pytest.raises(ScenarioError, match="^" + str(path)) as raised:
        load_scenario(str(path))
    assert problem in str(raised.value)


def test_list_tools_follows_the_cursor_across_pages(monkeypatch) -> None:
    pages = {None: {"tools": [{"name": "a"}], "nextCursor": "p2"}, "p2": {"tools": [{"name": "b"}]}}
    client = McpClient(f"http://{LOOPBACK}:9")
    client.protocol.protocol_version = "2025-06-18"

    def answer(method: str, body: str | None) -> McpHttpReply:
        message = json.loads(body)
        result = pages[(message.get("params") or {}).get("cursor")]
        return McpHttpReply(200, "application/json", json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}))

    monkeypatch.setattr(client, "_send", answer)
    assert [tool["name"] for tool in client.list_tools()] == ["a", "b"]
