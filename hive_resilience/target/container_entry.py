"""Entry point and health check of the container images (``integration/images``).

``serve <component>`` replaces itself (exec) with the component's own process, so that
process is PID 1 and receives ``docker stop``'s SIGTERM directly. ``health <component>``
is the image's HEALTHCHECK. Both read ``BIND_HOST`` and ``PORT``; the Hive API also reads
``LLM_URL`` (the stub's base URL) and ``EXPOSE_QUEEN_TOOLS=1`` (hand the queen every MCP
tool, as the embedded target does) and writes them into ``$HIVE_HOME/configuration.json``
with the embedded target's own functions. Registering the tools server is a call to Hive's
API once it runs (:func:`hive_resilience.target.agent_wiring.wire_agent_tools`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from hive_resilience.target import launch

COMPONENTS = ("hive-api", "tools", "llm-stub")
EXPOSE_QUEEN_TOOLS_ENV = "EXPOSE_QUEEN_TOOLS"


def _bound_address() -> tuple[str, int]:
    return os.environ.get("BIND_HOST", "127.0.0.1"), int(os.environ["PORT"])


def serve(component: str) -> None:
    host, port = _bound_address()
    home = Path(os.environ.get("HOME", "/home/hive"))
    hive_home = Path(os.environ.get("HIVE_HOME", home / ".hive"))
    if component == "hive-api":
        configure_hive(hive_home, os.environ)
    argv = launch.component_argv(component, host, port)
    os.execve(argv[0], argv, {**os.environ, **launch.hive_environment(home, hive_home)})


def configure_hive(hive_home: Path, environment: Mapping[str, str]) -> None:
    """Write Hive's ``configuration.json`` from ``LLM_URL`` and ``EXPOSE_QUEEN_TOOLS``; exit when it has no LLM."""
    llm_url = environment.get("LLM_URL")
    if llm_url:
        launch.write_hive_configuration(hive_home, llm_url)
    elif not (hive_home / "configuration.json").is_file():
        sys.exit("hive-api: set LLM_URL (an OpenAI-compatible endpoint) or provide $HIVE_HOME/configuration.json")
    if environment.get(EXPOSE_QUEEN_TOOLS_ENV) == "1":
        launch.write_queen_tool_exposure(hive_home)


def health(component: str) -> None:
    host, port = _bound_address()
    try:
        launch.check_health(component, f"http://{host}:{port}")
    except (OSError, ValueError) as problem:
        sys.exit(f"{component} unhealthy: {problem}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Start a hive-resilience container's component, or check its health.")
    parser.add_argument("action", choices=("serve", "health"))
    parser.add_argument("component", choices=COMPONENTS)
    args = parser.parse_args(argv)
    (serve if args.action == "serve" else health)(args.component)


if __name__ == "__main__":
    main()
