"""The embedded target: the real Hive, its tools MCP server and the LLM stub on loopback.

``EmbeddedTarget`` starts the three processes in a run folder (logs, throwaway ``HOME`` and
``HIVE_HOME``, a state file), waits until they really serve (health, an MCP session, one Hive
session created and deleted), and stops only what it started: gracefully, then by force.
The state file lets ``hive-resilience target down`` stop a target that another process
brought up, and lets chaos actions find the process of a component.
"""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from hive_resilience.clients.mcp_protocol import McpError
from hive_resilience.processes import (
    ComponentProcess,
    process_tree,
    start_logged,
    terminate_processes,
)
from hive_resilience.target import agent_wiring, launch

LOOPBACK = "127.0.0.1"
STATE_FILE = "target.json"
STARTUP_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0
COMPONENTS = ("llm-stub", "tools", "mcp-proxy", "hive-api")
"""Start order; stop order is the reverse. ``mcp-proxy`` runs only with ``fault_proxy``."""


class TargetError(RuntimeError):
    """The target cannot be started, reached or stopped; the message says what to do."""


@dataclass(frozen=True)
class TargetPorts:
    """Loopback ports; defaults follow Hive's own (8787 API, 4001 MCP).

    With the fault proxy, clients still use ``mcp``: the proxy listens there and forwards to
    the tools server on ``mcp_upstream``; its fault settings are served on ``proxy_admin``.
    """

    api: int = 8787
    mcp: int = 4001
    llm: int = 8790
    mcp_upstream: int = 4002
    proxy_admin: int = 8791


@dataclass
class TargetState:
    ports: TargetPorts
    fault_proxy: bool = False
    components: dict[str, ComponentProcess] = field(default_factory=dict)
    tools_keep_alive_s: float = launch.TOOLS_KEEP_ALIVE_S
    """Kept so that a tools server restarted by a chaos action runs as the first one did."""

    def save(self, path: Path) -> None:
        data = {
            "ports": asdict(self.ports),
            "fault_proxy": self.fault_proxy,
            "components": {name: asdict(c) for name, c in self.components.items()},
            "tools_keep_alive_s": self.tools_keep_alive_s,
        }
        path.write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, path: Path) -> TargetState:
        data = json.loads(path.read_text())
        components = {name: ComponentProcess(**c) for name, c in data["components"].items()}
        return cls(TargetPorts(**data["ports"]), data.get("fault_proxy", False), components,
                   data.get("tools_keep_alive_s", launch.TOOLS_KEEP_ALIVE_S))


class EmbeddedTarget:
    """The real Hive on loopback. Use as a context manager, or ``up()`` / ``down()``.

    ``fault_proxy=True`` puts :mod:`hive_resilience.target.fault_proxy` in front of the tools server,
    so chaos experiments can add latency to MCP traffic.

    ``agent_tools=True`` wires the tools server into ``queen``'s sessions as the deployment plan
    does (:func:`hive_resilience.target.agent_wiring.wire_agent_tools`, through the fault proxy
    when it runs, so MCP faults reach the agent's path); readiness then includes proof that a
    new session of that queen can call the server's tools (``agent_tools_proof``).

    ``tools_keep_alive_s`` is how long the tools server keeps an idle connection
    (:data:`hive_resilience.target.launch.TOOLS_KEEP_ALIVE_S` unless a test needs the server default).
    """

    def __init__(self, run_dir: Path, ports: TargetPorts = TargetPorts(), startup_timeout_s: float = STARTUP_TIMEOUT_S,
                 fault_proxy: bool = False, agent_tools: bool = True, queen: str = agent_wiring.DEFAULT_QUEEN,
                 tools_keep_alive_s: float = launch.TOOLS_KEEP_ALIVE_S):
        self.run_dir = Path(run_dir).resolve()
        self.ports = ports
        self.startup_timeout_s = startup_timeout_s
        self.state = TargetState(ports, fault_proxy, tools_keep_alive_s=tools_keep_alive_s)
        self.agent_tools = agent_tools
        self.queen = queen
        self.agent_tools_proof: agent_wiring.AgentToolsProof | None = None
        self._popen: dict[str, subprocess.Popen] = {}

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(c for c in COMPONENTS if c != "mcp-proxy" or self.state.fault_proxy)

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.api}"

    @property
    def mcp_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.mcp}"

    @property
    def llm_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.llm}"

    @property
    def proxy_admin_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.proxy_admin}"

    @property
    def home(self) -> Path:
        return self.run_dir / "home"

    @property
    def hive_home(self) -> Path:
        return self.home / ".hive"

    @property
    def state_path(self) -> Path:
        return self.run_dir / STATE_FILE

    def __enter__(self) -> EmbeddedTarget:
        self.up()
        return self

    def __exit__(self, *_: object) -> None:
        self.down()

    @classmethod
    def attach(cls, run_dir: Path) -> EmbeddedTarget:
        """The target whose state file is in ``run_dir``, started by this or another process."""
        state_path = Path(run_dir) / STATE_FILE
        if not state_path.is_file():
            raise TargetError(f"no embedded target was started in {run_dir} (no {STATE_FILE} there)")
        state = TargetState.load(state_path)
        target = cls(run_dir, state.ports, fault_proxy=state.fault_proxy)
        target.state = state
        return target

    def up(self) -> None:
        """Start all components and wait until each one really serves; on failure stop them all."""
        _require_installed()
        if self.state_path.is_file() and any(c.process() for c in TargetState.load(self.state_path).components.values()):
            raise TargetError(f"a target started from {self.run_dir} is still running; run `hive-resilience target down` first")
        for component in self.components:
            for port in self._ports_of(component):
                _require_free_port(component, port)
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.hive_home.mkdir(parents=True, exist_ok=True)
        self._write_hive_configuration()
        if self.agent_tools:
            launch.write_queen_tool_exposure(self.hive_home)
        try:
            for component in self.components:
                self.start_component(component)
            for component in self.components:
                self.wait_until_ready(component)
            if self.agent_tools:
                self._wire_agent_tools()
        except BaseException:
            self.down()
            raise

    def start_component(self, component: str) -> None:
        """Start one component (again) with its recorded command line and environment."""
        log_path = self.run_dir / "logs" / f"{component}.log"
        popen, recorded = start_logged(self._argv(component), log_path, self.run_dir, self._environment(component))
        self._popen[component] = popen
        self.state.components[component] = recorded
        self.state.save(self.state_path)

    def wait_until_ready(self, component: str, timeout_s: float | None = None) -> float:
        """Block until ``component`` serves for real; returns the seconds it took."""
        started = time.monotonic()
        deadline = started + (timeout_s or self.startup_timeout_s)
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            self._fail_if_exited(component)
            try:
                self._check_ready(component)
                return time.monotonic() - started
            except (OSError, McpError, ValueError, KeyError) as problem:
                last_problem = str(problem)
            time.sleep(0.25)
        raise TargetError(
            f"{component} did not become ready on port {self._ports_of(component)[0]} within "
            f"{timeout_s or self.startup_timeout_s:.0f} s ({last_problem}); see its log: {self._log(component)}"
        )

    def refresh(self) -> None:
        """Reload the state file: chaos actions in other processes restart components."""
        if self.state_path.is_file():
            self.state = TargetState.load(self.state_path)

    def stop_component(self, component: str, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM the component's process group, SIGKILL what is left after ``grace_s``."""
        self.refresh()
        recorded = self.state.components.get(component)
        if recorded is None:
            return
        terminate_processes(recorded.group_members(), grace_s)
        if component in self._popen:
            self._popen.pop(component).poll()  # reap it if it was our child

    def down(self) -> None:
        """Stop only what this target started, newest first, and forget it."""
        for component in reversed(self.components):
            self.stop_component(component)
        self.state.components.clear()
        if self.state_path.exists():
            self.state.save(self.state_path)

    def status(self) -> dict[str, dict]:
        """Per component: pid, whether it runs and answers, its URL and log."""
        self.refresh()
        report = {}
        for component in self.components:
            recorded = self.state.components.get(component)
            running = bool(recorded and recorded.process())
            try:
                self._check_health(component)
                healthy = True
            except (OSError, ValueError, McpError):
                healthy = False
            report[component] = {
                "pid": recorded.pid if recorded else None,
                "running": running,
                "healthy": healthy,
                "url": self._url(component),
                "log": recorded.log if recorded else None,
            }
        return report

    def processes(self) -> dict[str, list[psutil.Process]]:
        """Live processes per component (children included), for resource sampling."""
        self.refresh()
        found = {}
        for component, recorded in self.state.components.items():
            process = recorded.process()
            tree = process_tree(process) if process is not None else []
            if tree:
                found[component] = tree
        return found

    def _ports_of(self, component: str) -> tuple[int, ...]:
        """The ports a component binds; the first one is where its health is checked."""
        ports = self.ports
        return {
            "hive-api": (ports.api,),
            "tools": (ports.mcp_upstream if self.state.fault_proxy else ports.mcp,),
            "llm-stub": (ports.llm,),
            "mcp-proxy": (ports.proxy_admin, ports.mcp),
        }[component]

    def _url(self, component: str) -> str:
        return f"http://{LOOPBACK}:{self._ports_of(component)[0]}"

    def _argv(self, component: str) -> list[str]:
        if component == "mcp-proxy":
            return [sys.executable, "-m", "hive_resilience.target.fault_proxy", "--listen-port", str(self.ports.mcp),
                    "--upstream-port", str(self.ports.mcp_upstream), "--admin-port", str(self.ports.proxy_admin)]
        return launch.component_argv(component, LOOPBACK, self._ports_of(component)[0], python=sys.executable,
                                     tools_keep_alive_s=self.state.tools_keep_alive_s)

    def _environment(self, component: str) -> dict[str, str]:
        return launch.component_environment(component, self.home, self.hive_home, os.environ)

    def _write_hive_configuration(self) -> None:
        """Point Hive's own LiteLLM path at the stub, so no provider key is needed."""
        launch.write_hive_configuration(self.hive_home, self.llm_url)

    def _wire_agent_tools(self) -> None:
        try:
            self.agent_tools_proof = agent_wiring.wire_agent_tools(self.api_url, self.mcp_url, self.queen)
        except (agent_wiring.WiringError, OSError) as problem:
            raise TargetError(f"Hive runs but its {self.queen} sessions cannot call the tools server: {problem}; "
                              f"see {self._log('hive-api')}") from None

    def _check_health(self, component: str) -> None:
        launch.check_health(component, self._url(component))

    def _check_ready(self, component: str) -> None:
        if component == "mcp-proxy":
            launch.check_health(component, self._url(component))
            # Through the proxy: proves the forwarding path too.
            launch.check_ready("tools", self.mcp_url)
        else:
            launch.check_ready(component, self._url(component))

    def _fail_if_exited(self, component: str) -> None:
        popen = self._popen.get(component)
        recorded = self.state.components.get(component)
        exit_code = popen.poll() if popen else (None if recorded and recorded.process() else "unknown")
        if exit_code is not None:
            raise TargetError(f"{component} exited with code {exit_code} during start-up; see its log: {self._log(component)}")

    def _log(self, component: str) -> str:
        return str(self.run_dir / "logs" / f"{component}.log")


def free_port() -> int:
    """A loopback port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def free_ports() -> TargetPorts:
    """Ports chosen at run time, so tests and benchmarks never collide with a target left up."""
    return TargetPorts(api=free_port(), mcp=free_port(), llm=free_port(), mcp_upstream=free_port(),
                       proxy_admin=free_port())


def _require_free_port(component: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError as error:
            reason = "is already in use" if error.errno == errno.EADDRINUSE else f"cannot be bound ({error.strerror})"
            raise TargetError(f"port {port} for {component} {reason}; stop what holds it or choose another port") from None


def _hive_executable() -> str:
    return launch.component_argv("hive-api", LOOPBACK, 0)[0]


def _require_installed() -> None:
    missing = [name for name in ("framework", "aden_tools", "mcp") if importlib.util.find_spec(name) is None]
    if missing or not Path(_hive_executable()).exists():
        raise TargetError(
            f"the embedded Hive needs: pip install 'hive-resilience[embedded]' (not installed in {sys.prefix}; "
            "`bash scripts/setup` installs it)"
        )
