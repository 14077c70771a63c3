"""The one way the suite starts Locust: its command line, and the life of its process.

The lifecycle tests run a tiny Python child in place of Locust (a ``LocustCommand`` whose
command line is that child), so they take seconds and need no target.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from hive_resilience.loadrun.locust_process import LocustCommand, LocustProcess
from hive_resilience.paths import LOAD_DIR
from hive_resilience.processes import wait_until_dead
from hive_resilience.target.embedded import LOOPBACK

READY_TIMEOUT_S = 20


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_by_default_it_runs_the_suites_locustfiles_headless_with_this_interpreter():
    argv = LocustCommand().argv()
    assert argv[:5] == [sys.executable, "-m", "locust", "-f", str(LOAD_DIR)]
    assert "--headless" in argv and "--only-summary" in argv


def test_options_left_unset_are_not_passed_so_locusts_and_the_scenarios_defaults_apply():
    argv = LocustCommand(headless=False).argv()
    assert argv == [sys.executable, "-m", "locust", "-f", str(LOAD_DIR)]


def test_every_option_that_is_set_reaches_the_command_line():
    argv = LocustCommand(
        locustfile=Path("bench.py"), host="http://127.0.0.1:1", stop_timeout_s=5, users=3, spawn_rate=1.5,
        run_time_s=20, json_file=Path("stats"), scenario="steady", duration="30s", mcp_host="http://127.0.0.1:2",
        report_dir=Path("out"), request_log=Path("out/requests.csv"), resource_samples=Path("out/resources.csv"),
    ).argv()
    assert option(argv, "-f") == "bench.py"
    expected = {"--host": "http://127.0.0.1:1", "--stop-timeout": "5", "--users": "3", "--spawn-rate": "1.5",
                "--run-time": "20s", "--json-file": "stats", "--scenario": "steady", "--duration": "30s",
                "--mcp-host": "http://127.0.0.1:2", "--report-dir": "out", "--request-log": str(Path("out/requests.csv")),
                "--resource-samples": str(Path("out/resources.csv"))}
    assert {name: option(argv, name) for name in expected} == expected


def test_each_tag_is_its_own_argument():
    argv = LocustCommand(tags=("tools-call", "journey")).argv()
    assert argv[argv.index("--tags"):][:3] == ["--tags", "tools-call", "journey"]


def test_a_master_expects_its_workers_on_loopback_for_a_bounded_time():
    argv = LocustCommand(stop_timeout_s=10).as_master(workers=2, master_port=5601, connect_timeout_s=60).argv()
    assert "--master" in argv and "--headless" in argv
    assert [option(argv, name) for name in ("--expect-workers", "--expect-workers-max-wait", "--master-bind-host",
                                            "--master-bind-port", "--stop-timeout")] == ["2", "60", LOOPBACK, "5601", "10"]


def test_a_worker_gets_the_suites_options_but_leaves_the_run_options_to_its_master():
    command = LocustCommand(scenario="smoke", host="http://127.0.0.1:1", report_dir=Path("out"), stop_timeout_s=10,
                            users=4, run_time_s=30, json_file=Path("stats"))
    argv = command.as_worker(master_port=5601).argv()
    assert (option(argv, "--master-host"), option(argv, "--master-port")) == (LOOPBACK, "5601")
    assert (option(argv, "--scenario"), option(argv, "--host"), option(argv, "--report-dir")) == (
        "smoke", "http://127.0.0.1:1", "out")
    for run_option in ("--headless", "--only-summary", "--stop-timeout", "--users", "--run-time", "--json-file",
                       "--master"):
        assert run_option not in argv, run_option


def test_a_process_cannot_be_both_master_and_worker():
    with pytest.raises(ValueError, match="master or a worker"):
        LocustCommand().as_master(workers=2, master_port=5601, connect_timeout_s=60).as_worker(master_port=5601)


def test_a_master_or_worker_needs_a_port():
    with pytest.raises(ValueError, match="master_port"):
        LocustCommand(worker=True)


@dataclass(frozen=True)
class StandIn(LocustCommand):
    """A tiny Python program in Locust's place."""

    program: str = ""

    def argv(self) -> list[str]:
        return [sys.executable, "-c", self.program]


WAITS_FOR_CTRL_C = """
import sys, time
try:
    print("ready", flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    print("interrupted: report written", flush=True)
    sys.exit(3)
"""

IGNORES_CTRL_C = """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(60)
"""

LEAVES_A_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def start_when_ready(program: str, log_path: Path, **options) -> tuple[LocustProcess, list[str]]:
    """Start the stand-in and return once it printed its first line (the lines seen so far too)."""
    lines: list[str] = []
    first_line = threading.Event()

    def seen(line: str) -> None:
        lines.append(line)
        first_line.set()

    process = LocustProcess(StandIn(program=program), log_path, on_line=seen, **options)
    if not first_line.wait(READY_TIMEOUT_S):
        process.kill()
        pytest.fail(f"the stand-in printed nothing within {READY_TIMEOUT_S} s; its log: {log_path.read_text()}")
    return process, lines


@pytest.fixture
def ctrl_c_ignored():
    """This process with SIGINT ignored, as under ``nohup`` or ``command &``: its children inherit that."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGINT, previous)


def test_interrupt_stops_it_as_ctrl_c_would_even_when_its_parent_ignores_ctrl_c(tmp_path, ctrl_c_ignored):
    process, lines = start_when_ready(WAITS_FOR_CTRL_C, tmp_path / "locust.log")
    with process:
        process.interrupt()
        assert process.wait(timeout_s=10) == 3
    assert lines == ["ready\n", "interrupted: report written\n"]


def test_its_whole_output_is_in_its_log(tmp_path):
    with LocustProcess(StandIn(program="import sys; print('out'); print('err', file=sys.stderr)"),
                       tmp_path / "locust.log") as process:
        assert process.wait(timeout_s=20) == 0
    assert sorted((tmp_path / "locust.log").read_text().split()) == ["err", "out"]


def test_by_default_it_has_a_process_group_of_its_own_so_a_terminals_ctrl_c_misses_it(tmp_path):
    with start_when_ready(WAITS_FOR_CTRL_C, tmp_path / "locust.log")[0] as process:
        assert os.getpgid(process.pid) == process.pid != os.getpgid(0)


def test_in_the_callers_group_it_goes_with_that_group_and_kill_ends_only_itself(tmp_path):
    with start_when_ready(WAITS_FOR_CTRL_C, tmp_path / "locust.log", own_process_group=False)[0] as process:
        assert os.getpgid(process.pid) == os.getpgid(0)
        assert process.kill() == -signal.SIGKILL
    assert process.exit_code == -signal.SIGKILL


def test_kill_ends_its_whole_process_group_including_what_it_started(tmp_path):
    log_path = tmp_path / "locust.log"
    with LocustProcess(StandIn(program=LEAVES_A_CHILD), log_path) as process:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not log_path.read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.05)
        grandchild = psutil.Process(int(log_path.read_text()))
        process.kill()
    assert wait_until_dead(grandchild, timeout_s=5)


def test_a_process_that_ignores_the_interrupt_is_killed_after_the_grace_period(tmp_path):
    process, _ = start_when_ready(IGNORES_CTRL_C, tmp_path / "locust.log")
    started = time.monotonic()
    assert process.stop(until=time.monotonic(), interrupt_grace_s=1) == -signal.SIGKILL
    assert time.monotonic() - started < 10


def test_a_process_that_ends_by_itself_is_not_interrupted(tmp_path):
    process = LocustProcess(StandIn(program="import time; time.sleep(0.5); raise SystemExit(7)"), tmp_path / "locust.log")
    assert process.stop(until=time.monotonic() + 20, interrupt_grace_s=1) == 7


def test_wait_is_bounded_and_says_when_it_still_runs(tmp_path):
    with start_when_ready(WAITS_FOR_CTRL_C, tmp_path / "locust.log")[0] as process:
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout_s=0.2)
        assert process.exit_code is None


def test_leaving_the_with_block_kills_a_process_still_running(tmp_path):
    with start_when_ready(WAITS_FOR_CTRL_C, tmp_path / "locust.log")[0] as process:
        pass
    assert process.exit_code == -signal.SIGKILL
