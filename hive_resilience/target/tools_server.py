"""The aden-tools MCP server over streamable HTTP, started as Hive's repository starts it.

The aden-tools wheel ships the tools but no server script; Hive's repository runs one that
registers every verified tool on a FastMCP server with a credential store, serves MCP at
``/mcp`` and a plain ``GET /health``. This module is that script for the embedded target.
It uses the ``mcp`` SDK's FastMCP because the fastmcp release that Hive's LiteLLM pin allows
has no streamable HTTP transport.

Run it with ``python -m hive_resilience.target.tools_server --port 4001``.
"""

from __future__ import annotations

import argparse
import logging
import os

from aden_tools.credentials import CredentialError, CredentialStoreAdapter
from aden_tools.tools import register_all_tools
from mcp.server.fastmcp import FastMCP
from starlette.requests import Request
from starlette.responses import PlainTextResponse

logger = logging.getLogger("hive_resilience.target.tools_server")


def build_server(host: str, port: int) -> FastMCP:
    """Register the aden-tools on a FastMCP server bound to ``host:port``."""
    credentials = CredentialStoreAdapter.default()
    try:
        credentials.validate_startup()
    except CredentialError as error:
        # As upstream: tools check their own credentials when called.
        logger.warning("%s", error)
    server = FastMCP("tools", host=host, port=port, log_level="WARNING")
    include_unverified = os.getenv("INCLUDE_UNVERIFIED_TOOLS", "").lower() in ("true", "1", "yes")
    tools = register_all_tools(server, credentials=credentials, include_unverified=include_unverified)
    logger.info("registered %d tools", len(tools))

    @server.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("OK")

    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="aden-tools MCP server over streamable HTTP.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=int(os.getenv("MCP_PORT", "4001")), help="port to bind (default $MCP_PORT or 4001)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[tools] %(message)s")
    build_server(args.host, args.port).run(transport="streamable-http")


if __name__ == "__main__":
    main()
