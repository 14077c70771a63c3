"""``hive-resilience run``: the main job in one command.

Brings the embedded target up unless a host is given, samples its processes, runs Locust
headless on ``load/`` with the scenario (in subprocesses, so gevent's monkey-patching stays
out of this process), lets the plugin gate the SLOs and write the report, brings the target
down and returns Locust's exit code, which is the verdict.

Locust runs as one process, or with ``workers`` as a master and that many workers on
loopback; either way the same arguments reach every process, the first process (the
standalone one or the master) decides the verdict, and every process is bounded in time and
stopped when the run ends, however it ends. The Locust processes have a process group of
their own, so Ctrl-C reaches this process only, which then interrupts the master once and
lets it quit its workers: a terminal's signal to all of them at once would race that.

What only this process knows - Ctrl-C, the overrun kill, the embedded target dying under the
load - is added to the run's summary and JUnit file afterwards, so neither stays green.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from hive_resilience.loadrun.locust_process import LocustCommand, LocustProcess
from hive_resilience.loadrun.resources import ResourceSampler
from hive_resilience.loadrun.scenario import load_scenario
from hive_resilience.loadrun.summary import SUMMARY_FILE, mark_incomplete, new_run_dir
from hive_resilience.target.embedded import EmbeddedTarget, TargetPorts, free_port

SHUTDOWN_ALLOWANCE_S = 120.0
"""Beyond the scenario's length, how long Locust may take to spawn, stop users and report."""
USER_STOP_TIMEOUT_S = 10
"""Lets users finish their current task (delete their session, close MCP) when the run ends."""
WORKERS_CONNECT_TIMEOUT_S = 60
"""How long a master waits for all its workers to connect before it gives up and fails the run."""
WORKERS_EXIT_TIMEOUT_S = 30
"""After the master's verdict, how long workers may take to send their last report and exit."""


class RunError(RuntimeError):
    """The run could not be carried out (as opposed to a run whose SLOs failed)."""


@dataclass(frozen=True)
class RunRequest:
    scenario: str
    host: str | None = None
    mcp_host: str | None = None
    duration: str | None = None
    ports: TargetPorts = TargetPorts()
    inconclusive: str | None = None
    """Count inconclusive verdicts as ``pass`` or ``fail`` whatever the scenario says."""
    reports_dir: Path = Path("reports")
    workers: int = 0
    """Locust workers under a master on this machine; 0 runs one standalone Locust process."""
    arrival_rate: float | None = None
    """Arrivals per second replacing the rate of an arrivals scenario's single constant stage
    (``--arrival-rate``); a users scenario, or one of several stages, is an error."""
    request_log: Path | None = None
    """Where Locust logs every request with its time (``--request-log``), e.g. for the capacity search's goodput."""
    prometheus_port: int | None = None
    """Where the deciding Locust process exposes live figures for Prometheus (0: a free port); None: not exposed."""
    progress_interval_s: float | None = None
    """Seconds between the deciding process's status lines (0: none, ``--quiet``); None: the plugin's default."""


def run(request: RunRequest) -> int:
    """Carry out one run; returns the process exit code (0 only when every SLO held)."""
    scenario = load_scenario(request.scenario, request.duration, inconclusive=request.inconclusive,
                             arrival_rate_per_s=request.arrival_rate)
    if request.host and not request.mcp_host:
        mcp_config = scenario.user_classes.get("McpToolsUser")
        if mcp_config and mcp_config.weight and not mcp_config.host:
            raise RunError(f"scenario {scenario.name!r} runs McpToolsUser: give --mcp-host for a remote target")
    run_dir = new_run_dir(scenario.name, request.reports_dir)
    distribution = f", {request.workers} Locust workers" if request.workers else ""
    print(f"hive-resilience: scenario {scenario.name!r}, {scenario.duration_s:.0f} s{distribution}, report in {run_dir}",
          flush=True)
    command = LocustCommand(scenario=request.scenario, duration=request.duration,
                            inconclusive=request.inconclusive, arrival_rate=request.arrival_rate, report_dir=run_dir,
                            request_log=request.request_log, stop_timeout_s=USER_STOP_TIMEOUT_S,
                            prometheus_port=request.prometheus_port, progress_interval_s=request.progress_interval_s)
    if request.host:
        command = replace(command, host=request.host, mcp_host=request.mcp_host)
        return _run_locust(command, run_dir, scenario.duration_s, request.workers)
    target = EmbeddedTarget(run_dir / "target", request.ports)
    print(f"hive-resilience: starting the embedded Hive (logs in {target.run_dir / 'logs'})", flush=True)
    with target:
        samples_csv = run_dir / "resources.csv"
        command = replace(command, host=target.api_url, mcp_host=target.mcp_url,
                                      resource_samples=samples_csv)
        with ResourceSampler(target.processes, samples_csv):
            exit_code = _run_locust(command, run_dir, scenario.duration_s, request.workers)
        died = [component for component in target.components if component not in target.processes()]
        if died:
            reason = f"the embedded target's {', '.join(died)} died during the run (see {target.run_dir / 'logs'})"
            mark_incomplete(run_dir, reason)
            raise RunError(reason)
        return exit_code


@dataclass(frozen=True)
class LocustRole:
    """One Locust process of a run: its command, its log, and whether the console shows it."""

    name: str
    command: LocustCommand
    log_name: str
    echo: bool


def locust_roles(command: LocustCommand, workers: int, master_port: int) -> list[LocustRole]:
    """The process that decides the verdict first: a standalone Locust, or a master, then its workers."""
    if workers == 0:
        return [LocustRole("Locust", command, "locust.log", echo=True)]
    master = LocustRole("the Locust master", command.as_master(workers, master_port, WORKERS_CONNECT_TIMEOUT_S),
                        "locust.log", echo=True)
    # Workers' own output (their summaries) stays in their logs: the console shows one verdict.
    return [master, *(
        LocustRole(f"Locust worker {number}", command.as_worker(master_port), f"locust-worker-{number}.log", echo=False)
        for number in range(1, workers + 1)
    )]


def _start(role: LocustRole, run_dir: Path) -> LocustProcess:
    return LocustProcess(role.command, run_dir / role.log_name, on_line=_echo if role.echo else None)


def _echo(line: str) -> None:
    sys.stdout.write(line)
    sys.stdout.flush()


def _run_locust(command: LocustCommand, run_dir: Path, duration_s: float, workers: int) -> int:
    """Locust headless (standalone, or a master and ``workers`` workers), bounded in time; its exit code."""
    roles = locust_roles(command, workers, free_port() if workers else 0)
    time_limit_s = duration_s + SHUTDOWN_ALLOWANCE_S
    processes: list[LocustProcess] = []
    incomplete_reason = "the run failed to start"
    try:
        for role in roles:
            processes.append(_start(role, run_dir))
        try:
            exit_code = processes[0].wait(time_limit_s)
            incomplete_reason = None
        except subprocess.TimeoutExpired:
            incomplete_reason = f"{roles[0].name} did not finish within {time_limit_s:.0f} s and was stopped"
            raise RunError(f"{incomplete_reason}; see {processes[0].log_path}") from None
        except KeyboardInterrupt:
            incomplete_reason = "interrupted (Ctrl-C)"
            raise
    finally:
        try:
            _stop_in_order(processes)
        finally:  # a second Ctrl-C while stopping ends them all at once
            for process in processes:
                process.kill()
            if incomplete_reason is not None:  # the deciding process has written what it measured by now
                mark_incomplete(run_dir, incomplete_reason)
    if not (run_dir / SUMMARY_FILE).is_file():
        raise RunError(f"Locust exited with code {exit_code} without a verdict; see {processes[0].log_path}")
    return exit_code


def _stop_in_order(processes: list[LocustProcess]) -> None:
    """The deciding process at once (it has ended, or the run was interrupted or timed out), then
    the workers, which quit on the master's word after sending their last report."""
    if processes:
        processes[0].stop(until=time.monotonic())
    until = time.monotonic() + WORKERS_EXIT_TIMEOUT_S
    for worker in processes[1:]:
        worker.stop(until)
