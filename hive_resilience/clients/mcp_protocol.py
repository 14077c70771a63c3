"""MCP over streamable HTTP, the protocol half: messages, session ids, replies, errors.

It holds no HTTP library so that the Locust user (gevent, FastHttpSession) and the blocking
client used by chaos probes and tests share one implementation of the protocol rules:
``Accept`` both JSON and SSE, keep ``Mcp-Session-Id`` when ``initialize`` assigns one (a
stateless server assigns none), send the negotiated ``MCP-Protocol-Version`` after it, unique
JSON-RPC ids (with a duplicate in flight the earlier request never gets its answer), replies that may arrive as SSE or plain
JSON, and tool failures that arrive as HTTP 200.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

from hive_resilience.clients.sse import parse_sse

PROTOCOL_VERSION = "2025-06-18"
ENDPOINT = "/mcp"
SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
TOOL_CALL_REQUEST_NAME = "mcp tools/call {tool}"
"""How a load user names a ``tools/call`` in the statistics; the run summary finds them by it."""


class McpError(Exception):
    """A reply that is not a successful JSON-RPC result: HTTP status, protocol or tool error."""


class McpSessionExpired(McpError):
    """The server no longer knows our session (HTTP 404): initialize again."""


@dataclass(frozen=True)
class McpHttpReply:
    """What any HTTP client got back, reduced to what the protocol needs."""

    status: int
    content_type: str
    text: str
    session_id: str | None = None

    @classmethod
    def from_body(cls, status: int, content_type: str, body: bytes, session_id: str | None) -> McpHttpReply:
        """A reply from the raw body: JSON and SSE are UTF-8 by their specs, whatever the headers say
        (a ``text/event-stream`` without a charset would otherwise be read as Latin-1)."""
        return cls(status, content_type, body.decode("utf-8", "replace"), session_id)


class McpProtocol:
    """The protocol state of one client session."""

    def __init__(self, client_name: str = "hive-resilience") -> None:
        self.client_name = client_name
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        """The version the server chose in ``initialize``; None until then."""
        self._ids = itertools.count(1)

    @property
    def initialized(self) -> bool:
        return self.protocol_version is not None

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.session_id:
            headers[SESSION_HEADER] = self.session_id
        if self.protocol_version:
            headers[VERSION_HEADER] = self.protocol_version
        return headers

    def forget_session(self) -> None:
        """Back to uninitialized: the next request must be ``initialize``."""
        self.session_id = None
        self.protocol_version = None

    def request(self, method: str, params: dict | None = None) -> tuple[int, str]:
        """A JSON-RPC request body with a fresh id; returns (id, body)."""
        request_id = next(self._ids)
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        return request_id, json.dumps(message)

    def initialize_request(self) -> tuple[int, str]:
        self.forget_session()
        return self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": self.client_name, "version": "1"},
            },
        )

    @staticmethod
    def initialized_notification() -> str:
        return json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def accept_initialize(self, reply: McpHttpReply, request_id: int) -> dict:
        """Check an ``initialize`` reply; keep the version it chose and the session id it assigns, if any."""
        result = self.read_result(reply, request_id)
        version = result.get("protocolVersion")
        if not isinstance(version, str) or not version:
            raise McpError("initialize result has no protocolVersion")
        self.session_id = reply.session_id or None
        self.protocol_version = version
        return result

    def read_result(self, reply: McpHttpReply, request_id: int) -> dict:
        """The ``result`` of the reply to ``request_id``; raises McpError for anything else."""
        if reply.status == 404 and self.session_id:
            self.forget_session()
            raise McpSessionExpired("HTTP 404: the server does not know this MCP session")
        if reply.status != 200:
            raise McpError(f"HTTP {reply.status}: {reply.text[:200]}")
        message = _reply_message(reply, request_id)
        if "error" in message:
            error = message["error"]
            raise McpError(f"JSON-RPC error {error.get('code')}: {error.get('message')}")
        if "result" not in message:
            raise McpError("JSON-RPC reply has neither result nor error")
        return message["result"]

    def read_tool_result(self, reply: McpHttpReply, request_id: int) -> dict:
        """Like :meth:`read_result`, and a tool that reports an error also raises McpError."""
        result = self.read_result(reply, request_id)
        problem = tool_error(result)
        if problem:
            raise McpError(f"tool error: {problem}")
        return result


def tool_error(result: dict) -> str | None:
    """The error a ``tools/call`` result carries, or None.

    aden-tools report many failures with ``isError: false`` and a JSON text whose ``error``
    key says what went wrong, so both forms count.
    """
    texts = [item.get("text", "") for item in result.get("content", []) if item.get("type") == "text"]
    if result.get("isError"):
        return (texts[0] if texts else "isError is true")[:200]
    for text in texts:
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(payload, dict) and payload.get("error"):
            return str(payload["error"])[:200]
    return None


def _reply_message(reply: McpHttpReply, request_id: int) -> dict:
    if reply.content_type.startswith("text/event-stream"):
        candidates = [event.data for event in parse_sse(reply.text) if event.event == "message"]
    elif reply.content_type.startswith("application/json"):
        candidates = [reply.text]
    else:
        raise McpError(f"unexpected content type {reply.content_type!r}")
    for candidate in candidates:
        try:
            message = json.loads(candidate)
        except json.JSONDecodeError:
            raise McpError(f"reply is not JSON: {candidate[:100]!r}") from None
        for item in message if isinstance(message, list) else [message]:
            if isinstance(item, dict) and item.get("id") == request_id:
                return item
    raise McpError(f"no reply to JSON-RPC id {request_id} in the response")
