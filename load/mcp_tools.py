"""McpToolsUser: an agent runtime calling the aden-tools MCP server over streamable HTTP."""

from __future__ import annotations

import random
from collections.abc import Callable

from locust import FastHttpUser, tag, task
from locust.contrib.fasthttp import ResponseContextManager

from hive_resilience.clients.mcp_protocol import (
    ENDPOINT,
    SESSION_HEADER,
    McpError,
    McpHttpReply,
    McpProtocol,
)
from hive_resilience.loadrun import locust_plugin  # noqa: F401  (registers the suite's Locust listeners)
from hive_resilience.target.embedded import LOOPBACK, TargetPorts
from hive_resilience.target.offline_tools import OFFLINE_TOOL_CALLS

DEFAULT_MCP_URL = f"http://{LOOPBACK}:{TargetPorts().mcp}"


class McpToolsUser(FastHttpUser):
    """Speaks MCP as Hive's agents do: initialize, list tools, call offline tools, close.

    Each user holds one MCP session (``Mcp-Session-Id``), re-initializes when the server has
    forgotten it (HTTP 404), and counts JSON-RPC errors and tool error payloads as failures,
    since the tools server answers both with HTTP 200.
    """

    mcp_host = DEFAULT_MCP_URL

    @classmethod
    def configure(cls, config, scenario, options) -> None:
        cls.mcp_host = (options.mcp_host or config.host or DEFAULT_MCP_URL).rstrip("/")
        # FastHttpUser needs a host; MCP requests use absolute URLs so Locust's --host,
        # which Locust applies to every class, cannot redirect them to the Hive API.
        cls.host = cls.mcp_host

    @classmethod
    def target_url(cls) -> str:
        return cls.mcp_host

    def on_start(self) -> None:
        self.protocol = McpProtocol(client_name="hive-resilience-locust")
        self.endpoint = self.mcp_host + ENDPOINT
        self._initialize()

    def on_stop(self) -> None:
        # The server keeps unclosed sessions for 30 minutes and refuses new ones past 10,000.
        if self.protocol.session_id:
            with self._send("DELETE", None, "mcp session delete") as response:
                if response.status_code not in (200, 202, 204, 404):
                    response.failure(f"DELETE answered HTTP {response.status_code}")
            self.protocol.session_id = None

    @tag("tools-list")
    @task(1)
    def list_tools(self) -> None:
        self._rpc("tools/list", None, "mcp tools/list", check=lambda result: None if result.get("tools") else "no tools listed")

    @tag("tools-call")
    @task(10)
    def call_offline_tool(self) -> None:
        tool, arguments = random.choice(OFFLINE_TOOL_CALLS)
        self._rpc("tools/call", {"name": tool, "arguments": arguments}, f"mcp tools/call {tool}", tool=True)

    def _initialize(self) -> bool:
        """Open an MCP session; False (and a recorded failure) when the server refuses."""
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
        if not self.protocol.session_id and not self._initialize():
            return None
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


def _reply(response) -> McpHttpReply:
    return McpHttpReply(
        response.status_code,
        response.headers.get("Content-Type", "") if response.headers else "",
        response.text or "",
        response.headers.get(SESSION_HEADER) if response.headers else None,
    )
