"""The one way the suite starts, interrupts and ends a Locust process.

``LocustCommand`` says what a Locust process runs (locustfile, target, scenario, headless
options, its place in a distributed run, where reports go) and is the only place a Locust
command line is built. ``LocustProcess`` runs one in a subprocess, so gevent's
monkey-patching stays out of the caller, and follows these rules:

- SIGINT is how Locust is asked to stop: it is Locust's Ctrl-C path, which still gates the
  SLOs and writes the report. SIGTERM would kill a headless shape run outright (Locust installs
  its SIGTERM handler only once the shape has ended).
- The child gets SIGINT's default back before it starts: a parent started with SIGINT ignored
  (``nohup``, ``command &``) passes that on, and Locust would then never stop on SIGINT.
- By default it has a process group of its own, so a terminal's Ctrl-C reaches the caller
  only, which decides when to interrupt it; a hung one is killed with its whole group.
- Its output goes to a log file, and optionally line by line to a callback (the console).
- Every wait is bounded.
- It carries :data:`OWNER_VARIABLE` in its environment: the process that started it. A Locust
  whose owner is gone (killed with SIGKILL, say) is a stray that ``hive-resilience cleanup``
  finds by that mark and ends.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self

from hive_resilience.paths import LOAD_DIR
from hive_resilience.processes import (
    REAP_TIMEOUT_S,
    kill_process_group,
    process_identity,
    restore_ctrl_c,
)
from hive_resilience.target.embedded import LOOPBACK

INTERRUPT_GRACE_S = 30.0
"""After SIGINT, how long a Locust process may take to write its report before it is killed."""
OUTPUT_DRAIN_TIMEOUT_S = 5.0
"""After the process ended, how long its last output lines may take to reach the log."""
OWNER_VARIABLE = "HIVE_RESILIENCE_LOCUST_OWNER"
"""Set in every Locust process the suite starts: ``<pid>:<create time>`` of the process that started it."""


@dataclass(frozen=True)
class LocustCommand:
    """What one Locust process runs; :meth:`argv` is its command line.

    Options left at None are not passed, so Locust's own defaults (or the scenario's, through
    the suite's plugin) apply. ``expect_workers`` makes it a master, ``worker`` a worker of the
    master on ``master_port``; both on loopback only. A worker takes no run options (headless,
    users, run time, stop timeout, JSON stats): its master decides those.
    """

    locustfile: Path = LOAD_DIR
    host: str | None = None
    headless: bool = True
    """Headless with only the summary at the end, not the periodic stats tables."""
    stop_timeout_s: int | None = None
    """How long users may finish their current task when the run ends."""
    users: int | None = None
    spawn_rate: float | None = None
    run_time_s: int | None = None
    json_file: Path | None = None
    """Locust's JSON stats, written to this path plus ``.json``."""
    tags: tuple[str, ...] = ()
    expect_workers: int = 0
    expect_workers_max_wait_s: int | None = None
    worker: bool = False
    master_port: int = 0
    # The suite's own plugin options (hive_resilience.loadrun.locust_plugin).
    scenario: str | None = None
    duration: str | None = None
    inconclusive: str | None = None
    arrival_rate: float | None = None
    mcp_host: str | None = None
    report_dir: Path | None = None
    request_log: Path | None = None
    resource_samples: Path | None = None
    prometheus_port: int | None = None
    """Expose live figures for Prometheus on this loopback port (0: a free one); not on a worker."""
    progress_interval_s: float | None = None
    """Seconds between status lines (0: none; None: the plugin's default); a worker prints none."""

    def __post_init__(self) -> None:
        if self.worker and self.expect_workers:
            raise ValueError("a Locust process is a master or a worker, not both")
        if (self.worker or self.expect_workers) and not self.master_port:
            raise ValueError("a Locust master or worker needs a master_port")

    def as_master(self, workers: int, master_port: int, connect_timeout_s: int) -> LocustCommand:
        """This command for a master that waits up to ``connect_timeout_s`` for ``workers`` workers."""
        return dataclasses.replace(self, expect_workers=workers, expect_workers_max_wait_s=connect_timeout_s,
                                   master_port=master_port)

    def as_worker(self, master_port: int) -> LocustCommand:
        """This command for a worker of the master listening on loopback ``master_port``."""
        return dataclasses.replace(self, worker=True, master_port=master_port, prometheus_port=None)

    def argv(self) -> list[str]:
        """``python -m locust`` with this interpreter and every option that is set."""
        argv = [sys.executable, "-m", "locust", "-f", str(self.locustfile)]
        if self.worker:
            argv += ["--worker", "--master-host", LOOPBACK, "--master-port", str(self.master_port)]
        else:
            argv += _flags(
                ("--headless", self.headless), ("--only-summary", self.headless),
                ("--master", bool(self.expect_workers)),
            )
            argv += _options(
                ("--stop-timeout", self.stop_timeout_s), ("--users", self.users), ("--spawn-rate", self.spawn_rate),
                ("--run-time", f"{self.run_time_s}s" if self.run_time_s is not None else None),
                ("--json-file", self.json_file),
                ("--expect-workers", self.expect_workers or None),
                ("--expect-workers-max-wait", self.expect_workers_max_wait_s if self.expect_workers else None),
                ("--master-bind-host", LOOPBACK if self.expect_workers else None),
                ("--master-bind-port", self.master_port if self.expect_workers else None),
                ("--prometheus-port", self.prometheus_port),
                ("--progress-interval", self.progress_interval_s),
            )
        argv += _options(
            ("--host", self.host), ("--scenario", self.scenario), ("--duration", self.duration),
            ("--inconclusive", self.inconclusive), ("--arrival-rate", self.arrival_rate), ("--mcp-host", self.mcp_host),
            ("--report-dir", self.report_dir), ("--request-log", self.request_log),
            ("--resource-samples", self.resource_samples),
        )
        if self.tags:
            argv += ["--tags", *self.tags]
        return argv


def _flags(*flags: tuple[str, bool]) -> list[str]:
    return [flag for flag, wanted in flags if wanted]


def _options(*options: tuple[str, object]) -> list[str]:
    return [part for option, value in options if value is not None for part in (option, str(value))]


class LocustProcess:
    """A running Locust process; ends by itself, on :meth:`interrupt`, or killed with :meth:`kill`.

    ``own_process_group=False`` leaves it in the caller's process group: for a caller whose
    own supervisor ends it by its group (``chaos run`` under a test or CI job), so that the load
    goes with it. :meth:`kill` then kills the Locust process alone, never the caller's group.
    Usable as a context manager, which kills it on the way out if it still runs.
    """

    def __init__(self, command: LocustCommand, log_path: Path, *, on_line: Callable[[str], object] | None = None,
                 own_process_group: bool = True, cwd: Path | None = None) -> None:
        self.command = command
        self.log_path = log_path
        self._own_process_group = own_process_group
        self._log = open(log_path, "w")  # noqa: SIM115 -- open as long as the process runs; kill() closes it
        self._reader: threading.Thread | None = None
        output: dict = {"stdout": subprocess.PIPE, "text": True, "bufsize": 1} if on_line else {"stdout": self._log}
        try:
            # stdin closed: Locust's key listener on a terminal would be stopped (SIGTTOU) in a background group.
            # preexec_fn only resets a signal disposition, which takes no lock a thread could hold.
            self._popen = subprocess.Popen(command.argv(), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                                           preexec_fn=restore_ctrl_c,  # noqa: PLW1509
                                           process_group=0 if own_process_group else None,
                                           env={**os.environ, OWNER_VARIABLE: process_identity(os.getpid())}, **output)
        except BaseException:
            self._log.close()
            raise
        if on_line:
            self._reader = threading.Thread(target=_copy_lines, args=(self._popen.stdout, self._log, on_line),
                                            daemon=True)
            self._reader.start()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def exit_code(self) -> int | None:
        """Its exit code, or None while it runs."""
        return self._popen.poll()

    def interrupt(self) -> None:
        """Ask it to stop as Ctrl-C would: it stops its users, gates the SLOs, reports and exits."""
        if self._popen.poll() is None:
            self._popen.send_signal(signal.SIGINT)

    def wait(self, timeout_s: float) -> int:
        """Its exit code; raises subprocess.TimeoutExpired when it still runs after ``timeout_s``.

        With ``on_line``, every line has been passed on before it returns, and before the process
        is reaped: a callback may still look at the process (its CPU times, say) on its last line.
        """
        deadline = time.monotonic() + timeout_s
        if self._reader is not None:
            self._reader.join(timeout_s)  # its output ends when it exits
        return self._popen.wait(timeout=max(0.0, deadline - time.monotonic()))

    def stop(self, until: float, interrupt_grace_s: float = INTERRUPT_GRACE_S) -> int:
        """Let it end by itself until the monotonic time ``until``, then interrupt it, then kill it
        if it still runs ``interrupt_grace_s`` later; its exit code."""
        try:
            self.wait(max(0.0, until - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.interrupt()
            try:
                self.wait(interrupt_grace_s)
            except subprocess.TimeoutExpired:
                pass
        return self.kill()

    def kill(self) -> int:
        """End it now, with its whole process group when it has its own (anything it left behind
        too), and close its log; its exit code. Harmless when it has ended already."""
        try:
            if self._own_process_group:
                kill_process_group(self._popen.pid)
            elif self._popen.poll() is None:
                self._popen.kill()
            return self._popen.wait(timeout=REAP_TIMEOUT_S)
        finally:
            if self._reader is not None:
                self._reader.join(timeout=OUTPUT_DRAIN_TIMEOUT_S)
            self._log.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.kill()


def _copy_lines(stream: IO[str], log: IO[str], on_line: Callable[[str], object]) -> None:
    for line in stream:
        log.write(line)
        on_line(line)
