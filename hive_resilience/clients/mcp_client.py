"""A blocking MCP client over the standard library, for probes, tests and tools.

The Locust user speaks the same protocol through :mod:`hive_resilience.clients.mcp_protocol` on
Locust's own HTTP session; this client is for code that must not load gevent (Chaos
Toolkit probes, the target launcher's readiness check, tests).
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request

from hive_resilience.clients.mcp_protocol import (
    ENDPOINT,
    SESSION_HEADER,
    McpError,
    McpHttpReply,
    McpProtocol,
    McpSessionExpired,
)

MAX_LIST_PAGES = 100
"""A server whose cursor never ends must not hang a probe."""


class McpClient:
    """One MCP session against ``base_url`` (e.g. ``http://127.0.0.1:4001``)."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + ENDPOINT
        self.timeout_s = timeout_s
        self.protocol = McpProtocol()

    def __enter__(self) -> McpClient:
        self.initialize()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def initialize(self) -> dict:
        request_id, body = self.protocol.initialize_request()
        result = self.protocol.accept_initialize(self._send("POST", body), request_id)
        reply = self._send("POST", self.protocol.initialized_notification())
        if reply.status != 202:
            raise McpError(f"notifications/initialized answered HTTP {reply.status}, expected 202")
        return result

    def list_tools(self) -> list[dict]:
        """Every tool the server offers, following ``nextCursor`` across pages."""
        tools: list[dict] = []
        params: dict | None = None
        for _ in range(MAX_LIST_PAGES):
            page = self._call("tools/list", params)
            tools += page.get("tools", [])
            if not page.get("nextCursor"):
                return tools
            params = {"cursor": page["nextCursor"]}
        raise McpError(f"tools/list did not end within {MAX_LIST_PAGES} pages")

    def call_tool(self, name: str, arguments: dict | None = None) -> dict:
        """The tool's result; a tool that reports an error raises McpError."""
        return self._call("tools/call", {"name": name, "arguments": arguments or {}}, tool=True)

    def close(self) -> None:
        """End the session on the server (it keeps unclosed ones for 30 minutes); a stateless one has none."""
        if self.protocol.session_id:
            try:
                self._send("DELETE", None)
            finally:
                self.protocol.forget_session()

    def _call(self, method: str, params: dict | None, tool: bool = False) -> dict:
        if not self.protocol.initialized:
            self.initialize()
        for attempt in (1, 2):
            request_id, body = self.protocol.request(method, params)
            reply = self._send("POST", body)
            try:
                read = self.protocol.read_tool_result if tool else self.protocol.read_result
                return read(reply, request_id)
            except McpSessionExpired:
                if attempt == 2:
                    raise
                self.initialize()
        raise AssertionError("unreachable")

    def _send(self, method: str, body: str | None) -> McpHttpReply:
        request = urllib.request.Request(
            self.url, data=body.encode() if body is not None else None, headers=self.protocol.headers(), method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return _reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return _reply(error.code, error.headers, error.read())
        except (urllib.error.URLError, OSError) as error:
            raise McpError(f"cannot reach {self.url}: {getattr(error, 'reason', error)}") from None
        except http.client.HTTPException as error:
            # The server went away mid-answer (a killed pod): the session is lost with it.
            raise McpError(f"connection to {self.url} broke: {error!r}") from None


def _reply(status: int, headers, body: bytes) -> McpHttpReply:
    return McpHttpReply.from_body(status, headers.get("Content-Type", ""), body, headers.get(SESSION_HEADER))
