"""Supervision of the processes the suite starts: start them, find them again, signal and end them.

One owner for the rules every supervisor here follows: a started process is recorded with its
creation time, so a recycled pid is never mistaken for it (or killed); ending a process means
SIGTERM, a grace period, then SIGKILL, and reaping what we can; a process counts as dead once it
is gone or a zombie, because its parent may be another process that reaps it later. Used by the
embedded target, the single-node cluster, the chaos actions and the Locust process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REAP_TIMEOUT_S = 5.0
"""How long to wait for SIGKILLed processes to disappear; SIGKILL cannot be refused, so this is plenty."""
DEATH_POLL_S = 0.05


@dataclass
class ComponentProcess:
    """A started process, recorded well enough to find it again and not kill a stranger."""

    pid: int
    create_time: float
    argv: list[str]
    log: str

    def process(self) -> psutil.Process | None:
        """The live process if it is still the one we started, else None."""
        try:
            process = psutil.Process(self.pid)
            if abs(process.create_time() - self.create_time) > 0.01 or process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process
        except psutil.NoSuchProcess:
            return None

    def group_members(self) -> list[psutil.Process]:
        """Processes still in the component's process group, its children included."""
        members = []
        for process in psutil.process_iter(["pid", "create_time"]):
            try:
                if os.getpgid(process.pid) == self.pid and process.info["create_time"] >= self.create_time - 0.01:
                    members.append(process)
            except (ProcessLookupError, psutil.NoSuchProcess):
                continue
        return members


def process_identity(pid: int) -> str:
    """``<pid>:<create time>``: names a process so that a later process with the same pid is not taken for it."""
    return f"{pid}:{psutil.Process(pid).create_time()}"


def identified_process_runs(identity: str) -> bool:
    """Whether the process named by :func:`process_identity` still runs (False for a malformed name)."""
    pid, _, create_time = identity.partition(":")
    try:
        return ComponentProcess(int(pid), float(create_time), [], "").process() is not None
    except ValueError:
        return False


def start_logged(argv: list[str], log_path: Path, cwd: Path,
                 env: dict[str, str] | None = None) -> tuple[subprocess.Popen, ComponentProcess]:
    """Start ``argv`` in a session of its own, output appended to ``log_path``, stdin closed.

    Its own session keeps a terminal's Ctrl-C away from it (its supervisor decides when it
    stops) and gives it a process group that can be signalled as a whole.
    """
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                 cwd=cwd, start_new_session=True)
    return popen, ComponentProcess(popen.pid, psutil.Process(popen.pid).create_time(), argv, str(log_path))


def process_tree(process: psutil.Process) -> list[psutil.Process]:
    """The process and all its descendants; empty when it is already gone."""
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def signal_quietly(process: psutil.Process, signum: int) -> None:
    """Send ``signum``; a process that is already gone is not an error."""
    try:
        process.send_signal(signum)
    except psutil.NoSuchProcess:
        pass


def kill_processes(members: list[psutil.Process], reap_timeout_s: float = REAP_TIMEOUT_S) -> None:
    """SIGKILL every process, then wait up to ``reap_timeout_s`` for them to go (ours are reaped)."""
    for process in members:
        signal_quietly(process, signal.SIGKILL)
    psutil.wait_procs(members, timeout=reap_timeout_s)


def terminate_processes(members: list[psutil.Process], grace_s: float) -> None:
    """SIGTERM every process, SIGKILL those still alive after ``grace_s``, and reap them."""
    for process in members:
        signal_quietly(process, signal.SIGTERM)
    _, alive = psutil.wait_procs(members, timeout=grace_s)
    kill_processes(alive)


def kill_process_group(pgid: int) -> None:
    """SIGKILL every process in the group ``pgid``; an empty or vanished group is not an error."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until_dead(process: psutil.Process, timeout_s: float) -> bool:
    """Wait until the process is gone or a zombie; False when it still runs after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(DEATH_POLL_S)


def restore_ctrl_c() -> None:
    """In a child before exec: SIGINT back to its default, so a Python child raises KeyboardInterrupt.

    A process started with SIGINT ignored (``nohup``, ``command &`` in a script, some CI
    runners) passes that on to its children, and a Python child then never raises
    KeyboardInterrupt: SIGINT, the suite's way to ask Locust to report and quit, would be lost.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
