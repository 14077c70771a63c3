"""The reference ``mcp`` SDK server (FastMCP) on loopback, in any streamable-HTTP server mode.

The specification lets a server be stateful (it assigns ``Mcp-Session-Id``) or stateless (it
assigns none), and answer a POST with an SSE stream or with plain JSON. The suite's MCP
client must work against all four; this module is the server the tests prove it against.
Run it as ``python tests/mcp_sdk_server.py --port N [--stateless] [--json]``; the fixture in
``tests/test_mcp_any_server.py`` starts one per mode.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import uvicorn
from mcp.server.fastmcp import FastMCP

from hive_resilience.target.embedded import LOOPBACK


@dataclass(frozen=True)
class ServerMode:
    """One of the four streamable-HTTP server modes."""

    stateless: bool
    json_response: bool

    @property
    def label(self) -> str:
        return f"{'stateless' if self.stateless else 'stateful'}-{'json' if self.json_response else 'sse'}"

    def argv(self) -> list[str]:
        return (["--stateless"] if self.stateless else []) + (["--json"] if self.json_response else [])


SERVER_MODES = tuple(ServerMode(stateless, json_response) for stateless in (False, True) for json_response in (False, True))


def build_server(mode: ServerMode) -> FastMCP:
    """A server with two deterministic tools, unrelated to aden-tools' names."""
    server = FastMCP("sdk-reference", host=LOOPBACK, stateless_http=mode.stateless, json_response=mode.json_response,
                     log_level="WARNING")

    @server.tool()
    def add(a: int, b: int) -> int:
        """The sum of two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """The text, unchanged."""
        return text

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stateless", action="store_true")
    parser.add_argument("--json", action="store_true", dest="json_response")
    args = parser.parse_args()
    app = build_server(ServerMode(args.stateless, args.json_response)).streamable_http_app()
    uvicorn.run(app, host=LOOPBACK, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
