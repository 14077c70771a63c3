"""McpToolsUser: an agent runtime calling an MCP server's tools over streamable HTTP.

The server is aden-tools unless the scenario says otherwise: a scenario's ``tools`` name
any server's tools, and ``--mcp-host`` (or the class's ``host``) points at it.
"""

from __future__ import annotations

import difflib
import logging
import random
from collections.abc import Callable, Iterable

from locust import FastHttpUser, tag, task
from locust.contrib.fasthttp import ResponseContextManager

from hive_resilience.clients.mcp_client import McpClient
from hive_resilience.clients.mcp_protocol import (
    ENDPOINT,
    SESSION_HEADER,
    TOOL_CALL_REQUEST_NAME,
    McpError,
    McpHttpReply,
    McpProtocol,
)
from hive_resilience.loadrun import locust_plugin  # noqa: F401  (registers the suite's Locust listeners)
from hive_resilience.loadrun.scenario import ScenarioError, ToolCall
from hive_resilience.loadrun.users import ScenarioUser
from hive_resilience.target.embedded import LOOPBACK, TargetPorts
from hive_resilience.target.offline_tools import OFFLINE_TOOL_CALLS

DEFAULT_MCP_URL = f"http://{LOOPBACK}:{TargetPorts().mcp}"
DEFAULT_TOOLS = tuple(ToolCall(name=name, arguments=arguments) for name, arguments in OFFLINE_TOOL_CALLS)
"""The mix of a scenario that names no tools: aden-tools' offline calls, equally often."""
TOOLS_CHECK_TIMEOUT_S = 10.0

logger = logging.getLogger(__name__)


class McpToolsUser(FastHttpUser, ScenarioUser):
    """Speaks MCP as Hive's agents do: initialize, list tools, call the scenario's tools, close.

    Each user holds one MCP session (``Mcp-Session-Id``, when the server is stateful),
    re-initializes when the server has forgotten it (HTTP 404), and counts JSON-RPC errors
    and tool error payloads as failures, since MCP servers answer both with HTTP 200. With the
    scenario's ``session_calls: N`` it closes its session (``DELETE``) after N calls and opens a
    new one, so a soak measures what a session costs the server, not only what a call costs;
    sessions opened and closed are the ``mcp initialize`` and ``mcp session delete`` requests.
    """

    mcp_host = DEFAULT_MCP_URL
    tools: tuple[ToolCall, ...] = DEFAULT_TOOLS
    tool_weights: tuple[int, ...] = tuple(tool.weight for tool in DEFAULT_TOOLS)
    session_calls: int | None = None
    """Calls per MCP session before it is closed and a new one opened; None: one session per user."""

    @classmethod
    def configure(cls, config, scenario, options) -> None:
        cls.mcp_host = (options.mcp_host or config.host or DEFAULT_MCP_URL).rstrip("/")
        # FastHttpUser needs a host; MCP requests use absolute URLs so Locust's --host,
        # which Locust applies to every class, cannot redirect them to the Hive API.
        cls.host = cls.mcp_host
        cls.tools = config.tools or DEFAULT_TOOLS
        cls.tool_weights = tuple(tool.weight for tool in cls.tools)
        cls.session_calls = config.session_calls
        if not getattr(options, "worker", False):  # a worker's master has checked before sending it users
            check_tools_offered(cls.mcp_host, (tool.name for tool in cls.tools))

    @classmethod
    def target_url(cls) -> str:
        return cls.mcp_host

    def on_start(self) -> None:
        self.protocol = McpProtocol(client_name="hive-resilience-locust")
        self.endpoint = self.mcp_host + ENDPOINT
        self._initialize()

    def on_stop(self) -> None:
        self._close_session()

    def _close_session(self) -> None:
        # The server keeps unclosed sessions for 30 minutes and refuses new ones past 10,000.
        # A server may refuse client-ended sessions with 405; a stateless one has no session.
        if self.protocol.session_id:
            with self._send("DELETE", None, "mcp session delete") as response:
                if response.status_code not in (200, 202, 204, 404, 405):
                    response.failure(f"DELETE answered HTTP {response.status_code}")
        self.protocol.forget_session()

    @tag("tools-list")
    @task(1)
    def list_tools(self) -> None:
        self._rpc("tools/list", None, "mcp tools/list", check=lambda result: None if result.get("tools") else "no tools listed")

    @tag("tools-call")
    @task(10)
    def call_tool(self) -> None:
        tool = random.choices(self.tools, weights=self.tool_weights)[0]
        self._rpc("tools/call", {"name": tool.name, "arguments": tool.arguments},
                  TOOL_CALL_REQUEST_NAME.format(tool=tool.name), tool=True)

    def _initialize(self) -> bool:
        """Open an MCP session; False (and a recorded failure) when the server refuses."""
        self.calls_in_session = 0
        request_id, body = self.protocol.initialize_request()
        with self._send("POST", body, "mcp initialize") as response:
            try:
                self.protocol.accept_initialize(_reply(response), request_id)
            except McpError as error:
                response.failure(str(error))
                return False
            response.success()
        with self._send("POST", self.protocol.initialized_notification(), "mcp notifications/initialized") as response:
            if response.status_code != 202:
                response.failure(f"expected HTTP 202, got {response.status_code}")
                return False
            response.success()
        return True

    def _rpc(
        self, method: str, params: dict | None, name: str, tool: bool = False,
        check: Callable[[dict], str | None] = lambda _: None,
    ) -> None:
        if self.session_calls and self.calls_in_session >= self.session_calls:
            self._close_session()
        if not self.protocol.initialized and not self._initialize():
            return None
        self.calls_in_session += 1
        request_id, body = self.protocol.request(method, params)
        with self._send("POST", body, name) as response:
            read = self.protocol.read_tool_result if tool else self.protocol.read_result
            try:
                problem = check(read(_reply(response), request_id))
            except McpError as error:  # McpSessionExpired also clears the session: next task re-initializes
                problem = str(error)
            if problem:
                response.failure(problem)
            else:
                response.success()

    def _send(self, method: str, body: str | None, name: str) -> ResponseContextManager:
        return self.client.request(
            method, self.endpoint, data=body, headers=self.protocol.headers(), name=name, catch_response=True
        )


def check_tools_offered(mcp_url: str, names: Iterable[str]) -> None:
    """Raise ScenarioError when the server's ``tools/list`` lacks a tool the scenario calls.

    A server that cannot be reached is not checked: the users then fail as they would
    without the check, and the run reports that server as down rather than the scenario
    as wrong.
    """
    try:
        with McpClient(mcp_url, timeout_s=TOOLS_CHECK_TIMEOUT_S) as client:
            offered = sorted(tool["name"] for tool in client.list_tools())
    except McpError as error:
        logger.warning("McpToolsUser: cannot check the scenario's tools against %s: %s", mcp_url, error)
        return
    unknown = sorted(set(names) - set(offered))
    if not unknown:
        return
    close = difflib.get_close_matches(unknown[0], offered, n=1)
    if close:
        hint = f"did you mean {close[0]!r}?"
    elif len(offered) <= 10:
        hint = f"it offers {', '.join(offered) or 'none'}"
    else:
        hint = f"it offers {len(offered)} others (see its tools/list)"
    raise ScenarioError(
        f"{mcp_url} offers no tool {' or '.join(map(repr, unknown))} for McpToolsUser to call; {hint}"
    )


def _reply(response) -> McpHttpReply:
    return McpHttpReply.from_body(
        response.status_code,
        response.headers.get("Content-Type", "") if response.headers else "",
        response.content or b"",
        response.headers.get(SESSION_HEADER) if response.headers else None,
    )
