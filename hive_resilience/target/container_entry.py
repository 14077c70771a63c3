"""Entry point and health check of the container images (``integration/images``).

``serve <component>`` replaces itself (exec) with the component's own process, so that
process is PID 1 and receives ``docker stop``'s SIGTERM directly. ``health <component>``
is the image's HEALTHCHECK. Both read ``BIND_HOST`` and ``PORT``; the Hive API also reads
``LLM_URL`` (the stub's base URL) and ``EXPOSE_QUEEN_TOOLS=1`` (hand the queen every MCP
tool, as the embedded target does) and writes them into ``$HIVE_HOME/configuration.json``
with the embedded target's own functions.

``wire-tools hive-api`` registers the tools server named by ``HIVE_TOOLS_MCP_URL`` with this
container's own Hive once its API answers, exposes it to the queen and proves a new session
calls it (:func:`hive_resilience.target.agent_wiring.wire_agent_tools`). Hive's MCP registry
lives in each process's ``HIVE_HOME``, so every pod must register for itself: Kubernetes runs
this as the hive-api container's ``postStart`` hook, which runs again in every pod a
ReplicaSet creates, keeps the pod out of its Service until the hook is done, and restarts the
container when registration fails (``deploy/hive/base/hive-api.yaml``). Containers started
by the integration fixtures register through their own call to the same function instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from hive_resilience.target import agent_wiring, launch

COMPONENTS = ("hive-api", "tools", "llm-stub")
EXPOSE_QUEEN_TOOLS_ENV = "EXPOSE_QUEEN_TOOLS"
TOOLS_URL_ENV = "HIVE_TOOLS_MCP_URL"
WIRE_WITHIN_S = 150.0
"""Hive's start, the tools server's start and the proof session's lazy loading on a busy node
(a whole Hive rollout took up to 121 s on the 2-core cluster); past it the hook fails and
Kubernetes restarts the container."""
WIRE_RETRY_S = 2.0


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


def wire_tools(environment: Mapping[str, str], within_s: float = WIRE_WITHIN_S,
               wire: Callable[[str, str], agent_wiring.AgentToolsProof] = agent_wiring.wire_agent_tools) -> str:
    """Register ``HIVE_TOOLS_MCP_URL`` with this container's Hive, retrying until both answer;
    returns what was proven, exits with the last reason past ``within_s`` seconds.

    Hive and the tools server start at the same time as this hook, so refused connections and
    an unhealthy server are expected at first; ``wire`` replaces an earlier registration.
    """
    tools_url = environment.get(TOOLS_URL_ENV)
    if not tools_url:
        sys.exit(f"hive-api wire-tools: set {TOOLS_URL_ENV} (the tools server's base URL, as Hive reaches it)")
    host, port = environment.get("BIND_HOST", "127.0.0.1"), environment.get("PORT", "")
    if not port.isdigit():
        sys.exit(f"hive-api wire-tools: PORT must be the Hive API's port number, got {port!r}")
    api_url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
    deadline = time.monotonic() + within_s
    while True:
        try:
            proof = wire(api_url, tools_url)
            return (f"tools server {tools_url} registered with Hive at {api_url}: a new {proof.queen} session "
                    f"calls {len(proof.mcp_tools)} MCP tools")
        except (agent_wiring.WiringError, OSError, ValueError, KeyError) as problem:
            if time.monotonic() + WIRE_RETRY_S > deadline:
                sys.exit(f"hive-api wire-tools: not wired within {within_s:g} s: {problem}")
        time.sleep(WIRE_RETRY_S)


def health(component: str) -> None:
    host, port = _bound_address()
    try:
        launch.check_health(component, f"http://{host}:{port}")
    except (OSError, ValueError) as problem:
        sys.exit(f"{component} unhealthy: {problem}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Start a hive-resilience container's component, or check its health.")
    parser.add_argument("action", choices=("serve", "health", "wire-tools"))
    parser.add_argument("component", choices=COMPONENTS)
    args = parser.parse_args(argv)
    if args.action == "wire-tools":
        if args.component != "hive-api":
            parser.error("wire-tools applies to hive-api only")
        print(wire_tools(os.environ))
        return
    (serve if args.action == "serve" else health)(args.component)


if __name__ == "__main__":
    main()
