"""MCP protocol rules shared by the Locust user and the blocking client."""

from __future__ import annotations

import json

import pytest

from hive_resilience.clients.mcp_protocol import (
    PROTOCOL_VERSION,
    McpError,
    McpHttpReply,
    McpProtocol,
    McpSessionExpired,
    tool_error,
)

SSE = "text/event-stream"


def sse_reply(message: dict, status: int = 200, session_id: str | None = None) -> McpHttpReply:
    return McpHttpReply(status, SSE, f"event: message\ndata: {json.dumps(message)}\n\n", session_id)


def initialize_result(request_id: int, version: str = PROTOCOL_VERSION) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "result": {"protocolVersion": version}}


def initialized_protocol(session_id: str | None = "s1", version: str = PROTOCOL_VERSION) -> McpProtocol:
    protocol = McpProtocol()
    request_id, _ = protocol.initialize_request()
    protocol.accept_initialize(sse_reply(initialize_result(request_id, version), session_id=session_id), request_id)
    return protocol


def test_initialize_keeps_the_session_id_and_later_requests_send_it():
    protocol = initialized_protocol()
    headers = protocol.headers()
    assert headers["Mcp-Session-Id"] == "s1"
    assert "text/event-stream" in headers["Accept"] and "application/json" in headers["Accept"]


def test_initialize_without_a_session_header_opens_a_stateless_session():
    protocol = initialized_protocol(session_id=None)
    assert protocol.initialized
    assert "Mcp-Session-Id" not in protocol.headers()


def test_later_requests_carry_the_version_the_server_chose():
    assert McpProtocol().headers().get("MCP-Protocol-Version") is None
    assert initialized_protocol(version="2025-03-26").headers()["MCP-Protocol-Version"] == "2025-03-26"


def test_initialize_without_a_protocol_version_is_an_error():
    protocol = McpProtocol()
    request_id, _ = protocol.initialize_request()
    with pytest.raises(McpError, match="protocolVersion"):
        protocol.accept_initialize(sse_reply({"jsonrpc": "2.0", "id": request_id, "result": {}}, session_id="s1"), request_id)


def test_request_ids_are_unique_within_a_session():
    protocol = McpProtocol()
    ids = [protocol.request("tools/list")[0] for _ in range(100)]
    assert len(set(ids)) == 100


def test_json_and_sse_replies_both_parse():
    protocol = initialized_protocol()
    request_id, _ = protocol.request("tools/list")
    message = {"jsonrpc": "2.0", "id": request_id, "result": {"tools": [1]}}
    assert protocol.read_result(sse_reply(message), request_id) == {"tools": [1]}
    json_reply = McpHttpReply(200, "application/json", json.dumps(message))
    assert protocol.read_result(json_reply, request_id) == {"tools": [1]}


def test_http_404_expires_the_session():
    protocol = initialized_protocol()
    request_id, _ = protocol.request("tools/list")
    with pytest.raises(McpSessionExpired):
        protocol.read_result(McpHttpReply(404, "application/json", "{}"), request_id)
    assert protocol.session_id is None and not protocol.initialized


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (McpHttpReply(406, "application/json", "Not Acceptable"), "HTTP 406"),
        (McpHttpReply(200, "text/html", "<html>"), "content type"),
        (McpHttpReply(200, SSE, "event: message\ndata: {not json\n\n"), "not JSON"),
        (sse_reply({"jsonrpc": "2.0", "id": 999, "result": {}}), "no reply to JSON-RPC id"),
        (sse_reply({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}}), "-32601"),
    ],
)
def test_anything_but_a_result_for_our_id_is_an_error(reply, message):
    protocol = McpProtocol()
    with pytest.raises(McpError, match=message):
        protocol.read_result(reply, 1)


def test_tool_errors_count_whether_flagged_or_hidden_in_the_text():
    flagged = {"content": [{"type": "text", "text": "Unknown tool: nope"}], "isError": True}
    hidden = {"content": [{"type": "text", "text": '{"error": "GitHub credentials not configured"}'}], "isError": False}
    fine = {"content": [{"type": "text", "text": '{"datetime": "2026-11-26"}'}], "isError": False}
    assert tool_error(flagged) == "Unknown tool: nope"
    assert tool_error(hidden) == "GitHub credentials not configured"
    assert tool_error(fine) is None


def test_read_tool_result_raises_on_a_hidden_tool_error():
    protocol = McpProtocol()
    hidden = {"content": [{"type": "text", "text": '{"error": "no credentials"}'}], "isError": False}
    with pytest.raises(McpError, match="tool error: no credentials"):
        protocol.read_tool_result(sse_reply({"jsonrpc": "2.0", "id": 1, "result": hidden}), 1)
