"""How each component of the target is started and judged ready, wherever it runs.

The embedded target (processes on loopback) and the container images (``container_entry``)
both start the real Hive, the tools server and the LLM stub from these functions, so a
container runs exactly what the load suite measures on loopback. Standard library only:
the images import it without the suite's own dependencies.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

from hive_resilience.clients import http_client
from hive_resilience.clients.mcp_client import McpClient

LLM_MODEL = "fake-model"
LLM_API_KEY = "sk-local-stub"
"""Not a secret: the stub accepts any key, and LiteLLM's OpenAI path insists on one."""

HEALTH_PATHS = {"hive-api": "/api/health", "tools": "/health", "llm-stub": "/health", "mcp-proxy": "/health"}
TOOLS_KEEP_ALIVE_S = 65.0
"""How long the tools server keeps an idle connection: longer than Hive's MCP client keeps one
(httpx's 5 s ``keepalive_expiry``), so Hive never sends a tool call on a connection the server
is closing. With the server's default 5 s and some network latency Hive does, and the call
fails (``tests/test_hive_mcp_keepalive.py`` pins it); 65 s is the usual advice for servers
behind a client or balancer with a 60 s idle timeout."""


def component_argv(component: str, host: str, port: int, python: str = sys.executable,
                   tools_keep_alive_s: float = TOOLS_KEEP_ALIVE_S) -> list[str]:
    """The command line of ``hive-api``, ``tools`` or ``llm-stub`` bound to ``host:port``."""
    if component == "llm-stub":
        return [python, "-m", "hive_resilience.target.llm_stub", "--host", host, "--port", str(port)]
    if component == "tools":
        return [python, "-m", "hive_resilience.target.tools_server", "--host", host, "--port", str(port),
                "--keep-alive-s", f"{tools_keep_alive_s:g}"]
    if component == "hive-api":
        return [str(Path(python).parent / "hive"), "serve", "--host", host, "--port", str(port)]
    raise ValueError(f"unknown component {component!r}; expected hive-api, tools or llm-stub")


INHERITED_VARIABLES = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH",
                                 "SSL_CERT_FILE", "SSL_CERT_DIR", "INCLUDE_UNVERIFIED_TOOLS"})
"""What a component keeps of the caller's environment: how to find programs, locale, time zone.
Proxy settings are not among them: every component talks to loopback only."""
INHERITED_PREFIXES = ("LC_",)
HIVE_ONLY_PREFIX = "HIVE_"
"""Hive's own settings, ``HIVE_DESKTOP_TOKEN`` among them: for the Hive API alone."""


def component_environment(component: str, home: Path, hive_home: Path, parent: Mapping[str, str]) -> dict[str, str]:
    """The whole environment of one embedded component, built from the caller's ``parent``.

    Only what the component needs: a tools server or an LLM stub handed the caller's whole
    environment would hold Hive's desktop token and any other secret the caller has.
    """
    kept = {name: value for name, value in parent.items()
            if name in INHERITED_VARIABLES or name.startswith(INHERITED_PREFIXES)
            or (component == "hive-api" and name.startswith(HIVE_ONLY_PREFIX))}
    return {**kept, **hive_environment(home, hive_home)}


def hive_environment(home: Path, hive_home: Path) -> dict[str, str]:
    """Environment entries every component needs on top of what it inherits."""
    return {
        "HOME": str(home),
        "HIVE_HOME": str(hive_home),
        # Without this LiteLLM fetches its cost map from the internet at start-up.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "PYTHONUNBUFFERED": "1",
    }


def write_hive_configuration(hive_home: Path, llm_url: str) -> None:
    """Point Hive's own LiteLLM path at the stub (``llm_url`` without ``/v1``); keep the rest."""
    _set_configuration(hive_home, "llm", {"provider": "openai", "model": LLM_MODEL, "api_base": f"{llm_url}/v1", "api_key": LLM_API_KEY})


def write_queen_tool_exposure(hive_home: Path) -> None:
    """Hand every MCP tool a queen allows to the model in its ``tools`` array; keep the rest.

    By default Hive lists most MCP tools by name only ("searchable": the model must call
    ``search_tools`` first). An empty ``always_enabled_categories`` makes them all callable.
    Hive reads it per session, so it applies to the next session without a restart.
    """
    _set_configuration(hive_home, "queen_tools", {"always_enabled_categories": []})


def _set_configuration(hive_home: Path, key: str, value: dict) -> None:
    hive_home.mkdir(parents=True, exist_ok=True)
    configuration_path = hive_home / "configuration.json"
    configuration = json.loads(configuration_path.read_text()) if configuration_path.is_file() else {}
    configuration[key] = value
    configuration_path.write_text(json.dumps(configuration, indent=2))


def check_health(component: str, url: str) -> None:
    """Raise ValueError (or OSError when unreachable) unless the health route says healthy."""
    path = HEALTH_PATHS[component]
    answer = (http_client.hive_call if component == "hive-api" else http_client.call)("GET", url + path)
    healthy = answer.body.strip() == b"OK" if component == "tools" else (answer.json or {}).get("status") == "ok"
    if answer.status != 200 or not healthy:
        raise ValueError(f"{path} answered HTTP {answer.status} {answer.content_type} {answer.body[:80]!r}")


def check_ready(component: str, url: str) -> None:
    """Health, then proof of real service: an MCP session for tools, a Hive session for the API."""
    check_health(component, url)
    if component == "tools":
        with McpClient(url, timeout_s=10) as client:
            client.list_tools()
    elif component == "hive-api":
        # Health answers before sessions work; the first session also pays lazy loading.
        created = http_client.hive_call("POST", f"{url}/api/sessions", {}, timeout_s=60)
        if created.status != 201:
            raise ValueError(f"POST /api/sessions answered HTTP {created.status}")
        http_client.hive_call("DELETE", f"{url}/api/sessions/{created.json['session_id']}")
