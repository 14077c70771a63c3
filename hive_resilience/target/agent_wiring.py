"""Wire the tools MCP server into Hive's agent, as the deployment plan does, and prove it.

Hive's queen reaches MCP servers registered in its own registry. ``wire_agent_tools``
registers the tools server through Hive's HTTP API (``POST /api/mcp/servers``, transport
``http``), lets the queen use every MCP tool (``PATCH /api/queen/<queen>/tools``), and proves
that a NEW session of that queen can call them: registration takes effect on the next session,
never on live ones. The embedded target, the container fixtures and the Kubernetes
manifests all reach Hive by URL, so everything here is a function of URLs.

One setting has no API: ``queen_tools.always_enabled_categories`` in Hive's
``configuration.json`` (:func:`hive_resilience.target.launch.write_queen_tool_exposure`).
Without it the tools are only "searchable" (listed by name; the model must call
``search_tools`` first) and the proof says so.

Every call here goes to the Hive API, so each is a ``hive_call``: it carries ``X-Hive-Token``
when ``HIVE_DESKTOP_TOKEN`` is set.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hive_resilience.clients import http_client

__all__ = [
    "ACCEPT_HEADER",
    "DEFAULT_QUEEN",
    "PROOF_TOOLS",
    "SERVER_NAME",
    "AgentToolsProof",
    "WiringError",
    "check_registered_server",
    "expose_mcp_tools",
    "prove_session_sees_tools",
    "register_tools_server",
    "session_tools",
    "wire_agent_tools",
]

SERVER_NAME = "aden-tools"
DEFAULT_QUEEN = "queen_growth"
"""The queen ``POST /api/sessions {}`` picks."""
ACCEPT_HEADER = "application/json, text/event-stream"
"""The tools server answers 406 without it; Hive sends the registered headers on every call."""
PROOF_TOOLS = ("risk_score",)
"""Tools only the tools server provides (Hive's in-process tools shadow ``get_current_time``, ``csv_*``...)."""
SESSION_TIMEOUT_S = 60.0
"""The first session of a Hive process pays lazy loading (~3 s measured, much more under load)."""


class WiringError(RuntimeError):
    """Hive cannot reach or expose the tools server; the message says what to fix."""


@dataclass(frozen=True)
class AgentToolsProof:
    """What a new session of ``queen`` can call, from ``GET /api/sessions/{id}/live_tools``."""

    queen: str
    session_id: str
    callable_tools: tuple[str, ...]
    """Every name the model gets in its ``tools`` array (``actual_tools``)."""
    mcp_tools: tuple[str, ...]
    """The callable ones Hive counts as MCP tools (the registered server's and its own MCP groups)."""
    session_create_s: float


def register_tools_server(api_url: str, tools_url: str, name: str = SERVER_NAME, timeout_s: float = 30.0,
                          headers: Mapping[str, str] | None = None) -> dict:
    """Register ``tools_url`` as Hive's ``http`` MCP server ``name``; returns Hive's summary.

    ``headers`` (an ``Authorization``, say) are registered with it, besides the ``Accept``
    every call needs; Hive sends them on each request to the server.

    A server already registered under ``name`` is replaced, so pointing Hive at another URL
    (the fault proxy instead of the server itself) is the same call. Hive's ``http``
    transport posts JSON-RPC to ``{tools_url}/mcp/v1`` and checks ``{tools_url}/health``.
    """
    entry = {"name": name, "transport": "http", "url": tools_url.rstrip("/"),
             "headers": {"Accept": ACCEPT_HEADER, **(headers or {})}}
    answer = http_client.hive_call("POST", f"{api_url}/api/mcp/servers", entry, timeout_s=timeout_s)
    if answer.status == 409:
        removed = http_client.hive_call("DELETE", f"{api_url}/api/mcp/servers/{name}", timeout_s=timeout_s)
        if removed.status != 200:
            raise WiringError(f"DELETE /api/mcp/servers/{name} answered HTTP {removed.status}: {_said(removed)}")
        answer = http_client.hive_call("POST", f"{api_url}/api/mcp/servers", entry, timeout_s=timeout_s)
    if answer.status != 201 or not isinstance(answer.json, dict):
        raise WiringError(f"POST /api/mcp/servers answered HTTP {answer.status}: {_said(answer)}")
    return answer.json["server"]


def check_registered_server(api_url: str, name: str = SERVER_NAME, timeout_s: float = 60.0) -> int:
    """Hive's own health probe of server ``name`` (``GET /health`` + ``tools/list``); returns its tool count."""
    answer = http_client.hive_call("POST", f"{api_url}/api/mcp/servers/{name}/health", {}, timeout_s=timeout_s)
    result = answer.json if isinstance(answer.json, dict) else {}
    if answer.status != 200 or result.get("status") != "healthy":
        raise WiringError(
            f"Hive finds MCP server {name!r} unhealthy (HTTP {answer.status}): {result.get('error') or _said(answer)}; "
            "is the registered URL reachable from Hive, and does it serve /health and /mcp/v1?"
        )
    return int(result.get("tools") or 0)


def expose_mcp_tools(api_url: str, queen: str = DEFAULT_QUEEN, timeout_s: float = 60.0) -> None:
    """Allow every MCP tool for ``queen`` (her role default hides most of them)."""
    answer = http_client.hive_call("PATCH", f"{api_url}/api/queen/{queen}/tools", {"enabled_mcp_tools": None}, timeout_s=timeout_s)
    if answer.status != 200 or not isinstance(answer.json, dict) or answer.json.get("enabled_mcp_tools") is not None:
        raise WiringError(f"PATCH /api/queen/{queen}/tools answered HTTP {answer.status}: {_said(answer)}")


def session_tools(api_url: str, session_id: str, timeout_s: float = 30.0) -> dict:
    """``GET /api/sessions/{id}/live_tools``: what the model can call on the session's next turn."""
    answer = http_client.hive_call("GET", f"{api_url}/api/sessions/{session_id}/live_tools", timeout_s=timeout_s)
    if answer.status != 200 or not isinstance(answer.json, dict):
        raise WiringError(f"GET /api/sessions/{session_id}/live_tools answered HTTP {answer.status}: {_said(answer)}")
    return answer.json


def prove_session_sees_tools(api_url: str, queen: str = DEFAULT_QUEEN, required: Sequence[str] = PROOF_TOOLS,
                             keep_session: bool = False) -> AgentToolsProof:
    """Create a session of ``queen`` and check that ``required`` tools are callable in it.

    The session is deleted afterwards unless ``keep_session``. Raises WiringError naming
    the missing tools and, when they are only searchable, the configuration that fixes it.
    """
    started = time.monotonic()
    created = http_client.hive_call("POST", f"{api_url}/api/sessions", {"queen_name": queen}, timeout_s=SESSION_TIMEOUT_S)
    if created.status != 201 or not isinstance(created.json, dict):
        raise WiringError(f"POST /api/sessions for {queen} answered HTTP {created.status}: {_said(created)}")
    session_id = created.json["session_id"]
    create_s = time.monotonic() - started
    try:
        live = session_tools(api_url, session_id)
    finally:
        if not keep_session:
            http_client.hive_call("DELETE", f"{api_url}/api/sessions/{session_id}", timeout_s=SESSION_TIMEOUT_S)
    actual = live.get("actual_tools") or []
    callable_tools = tuple(entry["name"] for entry in actual)
    missing = [name for name in required if name not in callable_tools]
    if missing:
        status = {entry["name"]: entry.get("status") for entry in live.get("expected_tools") or []}
        searchable = [name for name in missing if status.get(name) == "searchable"]
        hint = (
            "they are only searchable: set queen_tools.always_enabled_categories to [] in Hive's configuration.json "
            "(launch.write_queen_tool_exposure)" if searchable else
            "Hive does not list them at all: is the server registered, healthy and allowed for this queen?"
        )
        raise WiringError(f"a new {queen} session cannot call {', '.join(missing)}; {hint}")
    return AgentToolsProof(
        queen=queen,
        session_id=session_id,
        callable_tools=callable_tools,
        mcp_tools=tuple(entry["name"] for entry in actual if entry.get("kind") == "mcp"),
        session_create_s=create_s,
    )


def wire_agent_tools(api_url: str, tools_url: str, queen: str = DEFAULT_QUEEN, name: str = SERVER_NAME,
                     required: Sequence[str] = PROOF_TOOLS, headers: Mapping[str, str] | None = None) -> AgentToolsProof:
    """Register, health-check and expose the tools server for ``queen``, then prove a new session calls it.

    ``tools_url`` is what Hive will call: the tools server itself, or the MCP fault proxy in
    front of it so that MCP faults reach the agent's path.
    """
    register_tools_server(api_url, tools_url, name, headers=headers)
    check_registered_server(api_url, name)
    expose_mcp_tools(api_url, queen)
    return prove_session_sees_tools(api_url, queen, required)


def _said(answer: http_client.HttpAnswer) -> str:
    return answer.body[:200].decode("utf-8", "replace")
