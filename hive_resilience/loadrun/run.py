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
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from hive_resilience.loadrun.resources import ResourceSampler
from hive_resilience.loadrun.scenario import load_scenario
from hive_resilience.loadrun.summary import SUMMARY_FILE, new_run_dir
from hive_resilience.paths import REPO_ROOT
from hive_resilience.target.embedded import (
    LOOPBACK,
    EmbeddedTarget,
    TargetPorts,
    free_port,
)

LOAD_DIR = REPO_ROOT / "load"
SHUTDOWN_ALLOWANCE_S = 120.0
"""Beyond the scenario's length, how long Locust may take to spawn, stop users and report."""
USER_STOP_TIMEOUT_S = 10
"""Lets users finish their current task (delete their session, close MCP) when the run ends."""
WORKERS_CONNECT_TIMEOUT_S = 60
"""How long a master waits for all its workers to connect before it gives up and fails the run."""
WORKERS_EXIT_TIMEOUT_S = 30
"""After the master's verdict, how long workers may take to send their last report and exit."""
INTERRUPT_GRACE_S = 30
"""After SIGINT, how long a Locust process may take to write its report before it is killed."""


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
    workers: int = 0
    """Locust workers under a master on this machine; 0 runs one standalone Locust process."""


def run(request: RunRequest) -> int:
    """Carry out one run; returns the process exit code (0 only when every SLO held)."""
    scenario = load_scenario(request.scenario, request.duration)
    if request.host and not request.mcp_host:
        mcp_config = scenario.user_classes.get("McpToolsUser")
        if mcp_config and mcp_config.weight and not mcp_config.host:
            raise RunError(f"scenario {scenario.name!r} runs McpToolsUser: give --mcp-host for a remote target")
    run_dir = new_run_dir(scenario.name, request.reports_dir)
    distribution = f", {request.workers} Locust workers" if request.workers else ""
    print(f"hive-resilience: scenario {scenario.name!r}, {scenario.duration_s:.0f} s{distribution}, report in {run_dir}",
          flush=True)
    locust_args = ["--scenario", request.scenario, "--report-dir", str(run_dir)]
    if request.duration:
        locust_args += ["--duration", request.duration]
    if request.host:
        locust_args += ["--host", request.host] + (["--mcp-host", request.mcp_host] if request.mcp_host else [])
        return _run_locust(locust_args, run_dir, scenario.duration_s, request.workers)
    target = EmbeddedTarget(run_dir / "target", request.ports)
    print(f"hive-resilience: starting the embedded Hive (logs in {target.run_dir / 'logs'})", flush=True)
    with target:
        samples_csv = run_dir / "resources.csv"
        locust_args += ["--host", target.api_url, "--mcp-host", target.mcp_url, "--resource-samples", str(samples_csv)]
        with ResourceSampler(target.processes, samples_csv):
            return _run_locust(locust_args, run_dir, scenario.duration_s, request.workers)


@dataclass(frozen=True)
class LocustRole:
    """One Locust process of a run: its own arguments, its log, and whether the console shows it."""

    name: str
    args: tuple[str, ...]
    log_name: str
    echo: bool


def locust_roles(workers: int, master_port: int) -> list[LocustRole]:
    """The process that decides the verdict first: a standalone Locust, or a master, then its workers."""
    headless = ("--headless", "--only-summary", "--stop-timeout", str(USER_STOP_TIMEOUT_S))
    if workers == 0:
        return [LocustRole("Locust", headless, "locust.log", echo=True)]
    master = LocustRole("the Locust master", (
        *headless, "--master", "--expect-workers", str(workers),
        "--expect-workers-max-wait", str(WORKERS_CONNECT_TIMEOUT_S),
        "--master-bind-host", LOOPBACK, "--master-bind-port", str(master_port),
    ), "locust.log", echo=True)
    # Workers' own output (their summaries) stays in their logs: the console shows one verdict.
    return [master, *(
        LocustRole(f"Locust worker {number}", ("--worker", "--master-host", LOOPBACK, "--master-port", str(master_port)),
                   f"locust-worker-{number}.log", echo=False)
        for number in range(1, workers + 1)
    )]


def start_locust(locust_args: list[str], **popen_options) -> subprocess.Popen:
    """``locust -f load/`` with this interpreter, in a subprocess that Ctrl-C's SIGINT can stop.

    SIGINT is how the suite asks Locust to gate the SLOs, write its report and quit. A process
    started with SIGINT ignored (``nohup``, ``command &`` in a script, some CI runners) passes
    that on, and Python then never raises KeyboardInterrupt: Locust would run on until killed
    and the report would be lost. So the child gets SIGINT's default back before it starts.
    """
    argv = [sys.executable, "-m", "locust", "-f", str(LOAD_DIR), *locust_args]
    return subprocess.Popen(argv, preexec_fn=restore_ctrl_c, **popen_options)


def restore_ctrl_c() -> None:
    """In a child before exec: SIGINT back to its default, so a Python child raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class LocustProcess:
    """``locust -f load/`` in a subprocess with a role's arguments, its output in the role's log."""

    def __init__(self, role: LocustRole, locust_args: list[str], run_dir: Path) -> None:
        self.role = role
        self.log_path = run_dir / role.log_name
        self._log = open(self.log_path, "w")
        args = [*role.args, *locust_args]
        self._tee: threading.Thread | None = None
        if role.echo:
            self.process = start_locust(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                        process_group=0)
            self._tee = threading.Thread(target=_tee, args=(self.process.stdout, self._log), daemon=True)
            self._tee.start()
        else:
            self.process = start_locust(args, stdout=self._log, stderr=subprocess.STDOUT, process_group=0)

    def wait(self, timeout_s: float) -> int:
        """Its exit code; raises subprocess.TimeoutExpired when it is still running after ``timeout_s``."""
        return self.process.wait(timeout=timeout_s)

    def stop(self, until: float) -> None:
        """Let it end by itself until the monotonic time ``until``, then interrupt it, then kill it."""
        try:
            self.process.wait(timeout=max(0.0, until - time.monotonic()))
        except subprocess.TimeoutExpired:
            # SIGINT is Locust's Ctrl-C path, which still gates and writes the report. SIGTERM
            # would kill a headless shape run outright: Locust installs its SIGTERM handler
            # only once the shape has ended.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=INTERRUPT_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        """End it now if it still runs, and close its log; harmless when already done."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self._tee is not None:
            self._tee.join(timeout=5)
        self._log.close()


def _run_locust(locust_args: list[str], run_dir: Path, duration_s: float, workers: int) -> int:
    """Locust headless (standalone, or a master and ``workers`` workers), bounded in time; its exit code."""
    roles = locust_roles(workers, free_port() if workers else 0)
    time_limit_s = duration_s + SHUTDOWN_ALLOWANCE_S
    processes: list[LocustProcess] = []
    try:
        for role in roles:
            processes.append(LocustProcess(role, locust_args, run_dir))
        deciding = processes[0]
        try:
            exit_code = deciding.wait(time_limit_s)
        except subprocess.TimeoutExpired:
            raise RunError(f"{deciding.role.name} did not finish within {time_limit_s:.0f} s; see {deciding.log_path}") from None
    finally:
        try:
            _stop_in_order(processes)
        finally:  # a second Ctrl-C while stopping ends them all at once
            for process in processes:
                process.kill()
    if not (run_dir / SUMMARY_FILE).is_file():
        raise RunError(f"Locust exited with code {exit_code} without a verdict; see {deciding.log_path}")
    return exit_code


def _stop_in_order(processes: list[LocustProcess]) -> None:
    """The deciding process at once (it has ended, or the run was interrupted or timed out), then
    the workers, which quit on the master's word after sending their last report."""
    if processes:
        processes[0].stop(until=time.monotonic())
    until = time.monotonic() + WORKERS_EXIT_TIMEOUT_S
    for worker in processes[1:]:
        worker.stop(until)


def _tee(stream: IO[str], log: IO[str]) -> None:
    for line in stream:
        sys.stdout.write(line)
        log.write(line)
    sys.stdout.flush()
