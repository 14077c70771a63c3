"""Process supervision shared by the embedded target, the cluster and the chaos actions.

Each test starts small Python children on this machine and ends them within seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from hive_resilience.processes import (
    ComponentProcess,
    kill_process_group,
    process_tree,
    start_logged,
    terminate_processes,
    wait_until_dead,
)

SLEEPS = "import time; time.sleep(60)"
IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"


@pytest.fixture
def children():
    """Start Python children; any still running at the end of the test is killed."""
    started: list[subprocess.Popen] = []

    def start(program: str, **options) -> subprocess.Popen:
        started.append(subprocess.Popen([sys.executable, "-c", program], **options))
        return started[-1]

    yield start
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=5)


def test_a_recorded_process_is_found_again_while_it_runs_and_not_after(children):
    child = children(SLEEPS)
    recorded = ComponentProcess(child.pid, psutil.Process(child.pid).create_time(), [], "")
    assert recorded.process().pid == child.pid
    child.kill()
    assert wait_until_dead(psutil.Process(child.pid), timeout_s=5)
    assert recorded.process() is None  # a zombie awaiting its parent is not running


def test_a_recycled_pid_is_not_taken_for_the_recorded_process():
    me = psutil.Process()
    assert ComponentProcess(me.pid, me.create_time() - 100, [], "").process() is None


def test_start_logged_appends_output_to_the_log_in_a_session_of_its_own(tmp_path):
    log_path = tmp_path / "component.log"
    log_path.write_text("earlier run\n")
    popen, recorded = start_logged([sys.executable, "-c", "import os, sys; print(os.getsid(0)); print(sys.stdin.read() == '')"],
                                   log_path, tmp_path)
    assert popen.wait(timeout=20) == 0
    assert recorded.pid == popen.pid and recorded.log == str(log_path)
    assert log_path.read_text().split("\n")[:3] == ["earlier run", str(popen.pid), "True"]


def test_group_members_include_what_the_component_started(tmp_path):
    log_path = tmp_path / "component.log"
    program = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    popen, recorded = start_logged([sys.executable, "-c", program], log_path, tmp_path)
    try:
        deadline = time.monotonic() + 20
        while len(recorded.group_members()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {member.pid for member in recorded.group_members()} == {popen.pid, *(
            child.pid for child in psutil.Process(popen.pid).children())}
        assert len(recorded.group_members()) == 2
    finally:
        kill_process_group(popen.pid)
        popen.wait(timeout=5)


def test_terminate_processes_sigkills_what_ignores_sigterm_after_the_grace_period(children):
    polite = children(SLEEPS)
    stubborn = children(IGNORES_SIGTERM, stdout=subprocess.PIPE, text=True)
    assert stubborn.stdout.readline() == "ready\n"
    members = [psutil.Process(polite.pid), psutil.Process(stubborn.pid)]
    started = time.monotonic()
    terminate_processes(members, grace_s=1)
    assert time.monotonic() - started < 8
    assert [member.returncode for member in members] == [-signal.SIGTERM, -signal.SIGKILL]  # reaped by psutil


def test_a_zombie_counts_as_dead_and_a_running_process_times_out(children):
    running = children(SLEEPS)
    assert not wait_until_dead(psutil.Process(running.pid), timeout_s=0.3)
    exited = children("pass")
    watched = psutil.Process(exited.pid)
    deadline = time.monotonic() + 20
    while watched.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)  # not reaped: it stays a zombie until its parent (this test) waits for it
    assert wait_until_dead(watched, timeout_s=1)


def test_a_process_tree_of_a_process_that_is_gone_is_empty(children):
    child = children("pass")
    watched = psutil.Process(child.pid)
    child.wait(timeout=20)
    assert process_tree(watched) == []


def test_killing_a_group_that_no_longer_exists_is_not_an_error(children):
    child = children("pass", process_group=0)
    child.wait(timeout=20)
    kill_process_group(child.pid)
    assert os.getpgid(0) != child.pid
