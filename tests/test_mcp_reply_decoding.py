"""MCP replies are read as UTF-8, as JSON and SSE require, whatever charset the headers give."""

from __future__ import annotations

import json

from hive_resilience.clients.mcp_protocol import McpHttpReply, McpProtocol


def test_an_sse_reply_without_a_charset_is_read_as_utf8() -> None:
    message = {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "Zürich, 25 °C"}]}}
    body = f"event: message\r\ndata: {json.dumps(message, ensure_ascii=False)}\r\n\r\n".encode()
    reply = McpHttpReply.from_body(200, "text/event-stream", body, "session-1")
    assert McpProtocol().read_result(reply, 1)["content"][0]["text"] == "Zürich, 25 °C"
    assert reply.session_id == "session-1"


def test_a_body_that_is_not_utf8_is_still_read_with_replacements() -> None:
    reply = McpHttpReply.from_body(500, "text/html; charset=latin-1", "Fehler: ungültig".encode("latin-1"), None)
    assert reply.text == "Fehler: ung\ufffdltig"
