"""The aden-tools MCP server over streamable HTTP, started as Hive's repository starts it.

The aden-tools wheel ships the tools but no server script; Hive's repository runs one that
registers every verified tool on a FastMCP server with a credential store, serves MCP at
``/mcp`` and a plain ``GET /health``. This module is that script for the embedded target.
It uses the ``mcp`` SDK's FastMCP because the fastmcp release that Hive's LiteLLM pin allows
has no streamable HTTP transport.

Hive's own ``http`` MCP transport is not streamable HTTP: it posts bare JSON-RPC (no
``initialize``, no session id) to ``/mcp/v1`` and reads a JSON body. So the same server
also answers there, statelessly and in JSON, which is how the queen reaches these tools.
``GET /admin/stats`` counts the ``tools/call`` requests per tool, so a test can prove that a
call the agent made reached this server and not Hive's in-process tool of the same name.
It also counts, per header name, the MCP requests that carried it (names only: the values of
``Authorization`` or ``X-Api-Key`` are secrets), so a test can prove that the headers Hive
registered for this server reach it.

Run it with ``python -m hive_resilience.target.tools_server --port 4001``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

import uvicorn
from aden_tools.credentials import CredentialError, CredentialStoreAdapter
from aden_tools.tools import register_all_tools
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.server import StreamableHTTPASGIApp
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("hive_resilience.target.tools_server")

HIVE_HTTP_PATH = "/mcp/v1"
"""Where Hive's ``http`` MCP transport posts its JSON-RPC (``framework.loader.mcp_client``)."""
SERVER_KEEP_ALIVE_S = 5.0
"""uvicorn's default idle-connection timeout, which Hive's repository runs its MCP server with;
the embedded target passes a longer one (``launch.TOOLS_KEEP_ALIVE_S``)."""
MCP_PATH_PREFIX = "/mcp"
"""Both MCP routes (streamable HTTP and Hive's) start with it; ``/health`` and ``/admin`` do not."""


class CountingFastMCP(FastMCP):
    """FastMCP that counts ``tools/call`` per tool name, whichever route the call came on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.tool_calls: Counter[str] = Counter()
        self.requests_by_header: Counter[str] = Counter()
        super().__init__(*args, **kwargs)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        self.tool_calls[name] += 1
        return await super().call_tool(name, arguments)


class HeaderNameCounter:
    """ASGI middleware: counts each MCP request once per (lower-cased) header name it carries; never a value."""

    def __init__(self, app: ASGIApp, counts: Counter[str]) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(MCP_PATH_PREFIX):
            self.counts.update({name.decode("latin-1").lower() for name, _ in scope["headers"]})
        await self.app(scope, receive, send)


def build_server(host: str, port: int) -> CountingFastMCP:
    """Register the aden-tools on a FastMCP server bound to ``host:port``."""
    credentials = CredentialStoreAdapter.default()
    try:
        credentials.validate_startup()
    except CredentialError as error:
        # As upstream: tools check their own credentials when called.
        logger.warning("%s", error)
    server = CountingFastMCP("tools", host=host, port=port, log_level="WARNING")
    include_unverified = os.getenv("INCLUDE_UNVERIFIED_TOOLS", "").lower() in ("true", "1", "yes")
    tools = register_all_tools(server, credentials=credentials, include_unverified=include_unverified)
    logger.info("registered %d tools", len(tools))

    @server.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("OK")

    @server.custom_route("/admin/stats", methods=["GET"])
    async def stats(_: Request) -> JSONResponse:
        return JSONResponse({"tool_calls": dict(server.tool_calls), "requests_by_header": dict(server.requests_by_header)})

    return server


def build_app(server: CountingFastMCP) -> Starlette:
    """Streamable HTTP at ``/mcp`` plus Hive's stateless JSON-RPC route at ``/mcp/v1``, header names counted."""
    app = server.streamable_http_app()
    hive_manager = StreamableHTTPSessionManager(
        app=server._mcp_server,
        stateless=True,
        json_response=True,
        security_settings=server.settings.transport_security,
    )
    app.router.routes.append(Route(HIVE_HTTP_PATH, endpoint=StreamableHTTPASGIApp(hive_manager)))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with server.session_manager.run(), hive_manager.run():
            yield

    app.router.lifespan_context = lifespan
    app.add_middleware(HeaderNameCounter, counts=server.requests_by_header)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="aden-tools MCP server over streamable HTTP.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=int(os.getenv("MCP_PORT", "4001")), help="port to bind (default $MCP_PORT or 4001)"
    )
    parser.add_argument("--keep-alive-s", type=float, default=SERVER_KEEP_ALIVE_S, metavar="SECONDS",
                        help="close a client's connection after this many idle seconds (default 5, uvicorn's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[tools] %(message)s")
    app = build_app(build_server(args.host, args.port))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_keep_alive=args.keep_alive_s)


if __name__ == "__main__":
    main()
