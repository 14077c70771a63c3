"""The target's images as testcontainers classes, on host networking and loopback only.

Each container binds 127.0.0.1 on a port chosen at run time (never a bridge network, never a
container IP) and is ready when :func:`hive_resilience.launch.check_ready` says so: the same
check the embedded target uses, so "ready" means a real Hive session or MCP session works.
Ryuk cannot be pulled on these machines: callers disable it and stop containers themselves.
"""

from __future__ import annotations

import os
import time
from typing import Any

import docker.errors
from testcontainers.core.container import DockerContainer
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget

from hive_resilience.clients.http_client import HttpClient
from hive_resilience.clients.mcp_client import McpClient
from hive_resilience.clients.mcp_protocol import McpError
from hive_resilience.infra import images
from hive_resilience.target import agent_wiring, launch
from hive_resilience.target.container_entry import EXPOSE_QUEEN_TOOLS_ENV
from hive_resilience.target.embedded import LOOPBACK, free_port

HOME_IN_IMAGE = "/home/hive"
"""HOME, and HIVE_HOME's parent, in every image: the volume that holds state and workspace."""


class ComponentReadyWaitStrategy(WaitStrategy):
    """Ready when the component passes the embedded target's readiness check; fails fast on exit."""

    def __init__(self, component: str, timeout_s: float = 120.0):
        super().__init__()
        self.component = component
        self.with_startup_timeout(int(timeout_s)).with_poll_interval(0.25)

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        deadline = time.monotonic() + self._startup_timeout
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            container.reload()
            if container.status in ("exited", "dead"):
                raise RuntimeError(f"{self.component} container exited during start-up: {_tail(container)}")
            try:
                launch.check_ready(self.component, container.get_url())
                return
            except (OSError, ValueError, KeyError, McpError) as problem:
                last_problem = str(problem)
            time.sleep(self._poll_interval)
        raise TimeoutError(f"{self.component} not ready within {self._startup_timeout:.0f} s ({last_problem}): {_tail(container)}")


def _tail(container: WaitStrategyTarget, lines: int = 15) -> str:
    stdout, stderr = container.get_logs()
    return " | ".join((stdout + stderr).decode(errors="replace").strip().splitlines()[-lines:])


class HostNetworkContainer(DockerContainer):
    """A target container on the host's network, bound to 127.0.0.1:``port``.

    testcontainers assumes mapped ports; under host networking there are none, so the host is
    always 127.0.0.1 and the exposed port is the container's own.
    """

    component = ""
    image_name = ""

    def __init__(self, image: str | None = None, port: int | None = None, **kwargs: Any):
        super().__init__(image or images.image_tags()[self.image_name], **kwargs)
        self.port = port or free_port()
        self.with_env("BIND_HOST", LOOPBACK).with_env("PORT", str(self.port))
        self.waiting_for(ComponentReadyWaitStrategy(self.component))

    def with_home_volume(self, volume_name: str) -> HostNetworkContainer:
        """Keep HOME (and so HIVE_HOME or the tools' workspace) on a named volume."""
        return self.with_volume_mapping(volume_name, HOME_IN_IMAGE, "rw")

    def with_memory_limit(self, limit: str) -> HostNetworkContainer:
        """Cap memory as a pod's limit would (``"1g"``); swap is capped to the same figure."""
        self._kwargs.update(mem_limit=limit, memswap_limit=limit)
        return self

    def start(self) -> HostNetworkContainer:
        if not images.image_exists(self.image):
            # testcontainers would try to pull it, and no registry is reachable here.
            raise images.ImageError(f"image {self.image} is not built: run `hive-resilience images build`")
        self.ports.clear()
        self._kwargs["network_mode"] = "host"
        super().start()
        return self

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        """Remove the container (and its anonymous volumes); a second call does nothing."""
        if self._container is None:
            return
        try:
            super().stop(force, delete_volume)
        except docker.errors.NotFound:
            pass
        self._container = None

    def get_container_host_ip(self) -> str:
        return LOOPBACK

    def get_exposed_port(self, port: int) -> int:
        return port

    def get_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def peak_memory_bytes(self) -> int:
        """The most memory the container has used since it started, from its cgroup (v1 or v2)."""
        container_id = self.get_container_id()
        for candidate in (f"/sys/fs/cgroup/memory/docker/{container_id}/memory.max_usage_in_bytes",
                          f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/memory.peak",
                          f"/sys/fs/cgroup/docker/{container_id}/memory.peak"):
            if os.path.isfile(candidate):
                with open(candidate) as counter:
                    return int(counter.read())
        raise RuntimeError(f"no memory peak counter for container {container_id[:12]} in /sys/fs/cgroup")

    def wait_until_ready(self, timeout_s: float = 120.0) -> None:
        """After ``docker restart``/``start``: block until the component serves again."""
        ComponentReadyWaitStrategy(self.component, timeout_s).wait_until_ready(self)


class LlmStubContainer(HostNetworkContainer):
    """The OpenAI-compatible LLM stub; ``get_client()`` reaches its ``/admin/faults`` API."""

    component = "llm-stub"
    image_name = "llm-stub"

    def get_client(self) -> HttpClient:
        return HttpClient(self.get_url())


class HiveToolsContainer(HostNetworkContainer):
    """The aden-tools MCP server; ``get_client()`` is the suite's own MCP client."""

    component = "tools"
    image_name = "tools"

    def get_client(self, timeout_s: float = 30.0) -> McpClient:
        return McpClient(self.get_url(), timeout_s=timeout_s)


class HiveServerContainer(HostNetworkContainer):
    """The Hive API server, its LLM pointed at ``llm_url`` through Hive's own LiteLLM path.

    Its queen gets every MCP tool in her ``tools`` array (as the embedded target's); the tools
    server joins her sessions once :meth:`wire_agent_tools` registers it.
    """

    component = "hive-api"
    image_name = "hive"

    def __init__(self, llm_url: str, image: str | None = None, port: int | None = None, **kwargs: Any):
        super().__init__(image, port, **kwargs)
        self.with_env("LLM_URL", llm_url)
        self.with_env(EXPOSE_QUEEN_TOOLS_ENV, "1")

    def get_client(self) -> HttpClient:
        return HttpClient(self.get_url())

    def wire_agent_tools(self, tools_url: str, headers: dict[str, str] | None = None) -> agent_wiring.AgentToolsProof:
        """Register the tools server at ``tools_url`` (as Hive reaches it, with ``headers`` besides
        ``Accept``) and prove a new session calls it."""
        return agent_wiring.wire_agent_tools(self.get_url(), tools_url, headers=headers)
