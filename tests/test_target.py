"""The embedded target: the real Hive, tools server and LLM stub start, answer and stop cleanly."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

import psutil
import pytest

from hive_resilience.clients.mcp_client import McpClient
from hive_resilience.target import embedded as target_module
from hive_resilience.target.embedded import EmbeddedTarget, TargetError, free_ports

pytestmark = pytest.mark.embedded


def test_up_serves_real_hive_tools_and_stub_and_down_leaves_nothing_running(tmp_path):
    target = EmbeddedTarget(tmp_path, free_ports())
    with target:
        status = target.status()
        assert all(state["running"] and state["healthy"] for state in status.values()), status
        pids = [process.pid for processes in target.processes().values() for process in processes]
        with urllib.request.urlopen(f"{target.api_url}/api/health") as response:
            assert json.loads(response.read())["status"] == "ok"
        with McpClient(target.mcp_url) as client:
            assert len(client.list_tools()) > 100
        configuration = json.loads((target.hive_home / "configuration.json").read_text())
        assert configuration["llm"]["api_base"] == f"{target.llm_url}/v1"
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert {path.name for path in (tmp_path / "logs").iterdir()} == {"hive-api.log", "tools.log", "llm-stub.log"}


def test_a_taken_port_is_named_with_its_component(tmp_path):
    ports = free_ports()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.api))
        squatter.listen()
        with pytest.raises(TargetError, match=f"port {ports.api} for hive-api is already in use"):
            EmbeddedTarget(tmp_path, ports).up()


def test_a_component_that_dies_at_start_up_is_named_with_its_log(tmp_path, monkeypatch):
    real_argv = EmbeddedTarget._argv

    def crashing_tools(self, component):
        return [sys.executable, "-c", "raise SystemExit(3)"] if component == "tools" else real_argv(self, component)

    monkeypatch.setattr(EmbeddedTarget, "_argv", crashing_tools)
    target = EmbeddedTarget(tmp_path, free_ports())
    with pytest.raises(TargetError, match=r"tools exited with code 3 during start-up; see its log: .*tools\.log"):
        target.up()
    assert not any(recorded.process() for recorded in target.state.components.values())


def test_missing_hive_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(target_module, "_hive_executable", lambda: str(tmp_path / "no-hive"))
    with pytest.raises(TargetError, match=r"the embedded Hive needs: pip install 'hive-resilience\[embedded\]'.*scripts/setup"):
        EmbeddedTarget(tmp_path, free_ports()).up()


def test_cli_up_status_down_manage_a_detached_target(tmp_path):
    ports = free_ports()
    port_args = ["--api-port", str(ports.api), "--mcp-port", str(ports.mcp), "--llm-port", str(ports.llm)]
    cli = [sys.executable, "-m", "hive_resilience.cli", "target"]
    target_dir = str(tmp_path / "target")

    def call(action: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cli, action, "--dir", target_dir, *extra], capture_output=True, text=True, timeout=120)

    up = call("up", *port_args)
    try:
        assert up.returncode == 0, up.stderr
        assert f"API http://127.0.0.1:{ports.api}" in up.stdout
        again = call("up", *port_args)
        assert again.returncode == 1 and "still running" in again.stderr
        status = call("status", "--json")
        assert status.returncode == 0
        assert all(state["healthy"] for state in json.loads(status.stdout).values())
    finally:
        down = call("down")
    assert down.returncode == 0
    stopped = call("status")
    assert stopped.returncode == 1 and stopped.stdout.count("not running") == 3
