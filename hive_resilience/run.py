"""``hive-resilience run``: the main job in one command.

Brings the embedded target up unless a host is given, samples its processes, runs Locust
headless on ``load/`` with the scenario (in a subprocess, so gevent's monkey-patching stays
out of this process), lets the plugin gate the SLOs and write the report, brings the target
down and returns Locust's exit code, which is the verdict.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from hive_resilience.report import SUMMARY_FILE, new_run_dir
from hive_resilience.resources import ResourceSampler
from hive_resilience.scenario import REPO_ROOT, load_scenario
from hive_resilience.target import EmbeddedTarget, TargetPorts

LOAD_DIR = REPO_ROOT / "load"
SHUTDOWN_ALLOWANCE_S = 120.0
"""Beyond the scenario's length, how long Locust may take to spawn, stop users and report."""
USER_STOP_TIMEOUT_S = 10
"""Lets users finish their current task (delete their session, close MCP) when the run ends."""


class RunError(RuntimeError):
    """The run could not be carried out (as opposed to a run whose SLOs failed)."""


@dataclass(frozen=True)
class RunRequest:
    scenario: str
    host: str | None = None
    mcp_host: str | None = None
    duration: str | None = None
    ports: TargetPorts = TargetPorts()
    reports_dir: Path = Path("reports")


def run(request: RunRequest) -> int:
    """Carry out one run; returns the process exit code (0 only when every SLO held)."""
    scenario = load_scenario(request.scenario, request.duration)
    if request.host and not request.mcp_host:
        mcp_config = scenario.user_classes.get("McpToolsUser")
        if mcp_config and mcp_config.weight and not mcp_config.host:
            raise RunError(f"scenario {scenario.name!r} runs McpToolsUser: give --mcp-host for a remote target")
    run_dir = new_run_dir(scenario.name, request.reports_dir)
    print(f"hive-resilience: scenario {scenario.name!r}, {scenario.duration_s:.0f} s, report in {run_dir}", flush=True)
    locust_args = ["--scenario", request.scenario, "--report-dir", str(run_dir)]
    if request.duration:
        locust_args += ["--duration", request.duration]
    if request.host:
        locust_args += ["--host", request.host] + (["--mcp-host", request.mcp_host] if request.mcp_host else [])
        return _run_locust(locust_args, run_dir, scenario.duration_s)
    target = EmbeddedTarget(run_dir / "target", request.ports)
    print(f"hive-resilience: starting the embedded Hive (logs in {target.run_dir / 'logs'})", flush=True)
    with target:
        samples_csv = run_dir / "resources.csv"
        locust_args += ["--host", target.api_url, "--mcp-host", target.mcp_url, "--resource-samples", str(samples_csv)]
        with ResourceSampler(target.processes, samples_csv):
            return _run_locust(locust_args, run_dir, scenario.duration_s)


def _run_locust(locust_args: list[str], run_dir: Path, duration_s: float) -> int:
    """Locust headless, its output shown and kept in ``locust.log``, bounded in time."""
    argv = [sys.executable, "-m", "locust", "-f", str(LOAD_DIR), "--headless", "--only-summary",
            "--stop-timeout", str(USER_STOP_TIMEOUT_S), *locust_args]
    log_path = run_dir / "locust.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        tee = threading.Thread(target=_tee, args=(process.stdout, log), daemon=True)
        tee.start()
        try:
            exit_code = process.wait(timeout=duration_s + SHUTDOWN_ALLOWANCE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RunError(f"Locust did not finish within {duration_s + SHUTDOWN_ALLOWANCE_S:.0f} s; see {log_path}") from None
        except KeyboardInterrupt:
            process.wait(timeout=30)
            raise
        finally:
            tee.join(timeout=5)
    if not (run_dir / SUMMARY_FILE).is_file():
        raise RunError(f"Locust exited with code {exit_code} without a verdict; see {log_path}")
    return exit_code


def _tee(stream, log) -> None:
    for line in stream:
        sys.stdout.write(line)
        log.write(line)
    sys.stdout.flush()
