"""Nothing is left behind: the chaos control always ends its load, fails on what it could not undo,
and ``hive-resilience cleanup`` ends the Locust of a run killed with SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from hive_resilience import cleanup
from hive_resilience.chaos import controls
from hive_resilience.chaos.summary import render_summary, undo_errors
from hive_resilience.loadrun.locust_process import (
    OWNER_VARIABLE,
    LocustCommand,
    LocustProcess,
)
from hive_resilience.processes import process_identity, wait_until_dead

SLEEPS = "import time; time.sleep(60)"


class StandIn(LocustCommand):
    """A Python program in Locust's place."""

    def argv(self) -> list[str]:
        return [sys.executable, "-c", SLEEPS]


def gone_process_identity() -> str:
    """The identity of a process that has ended."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(ended.pid)
    ended.wait(timeout=30)
    return identity


def started_locust(owner: str) -> subprocess.Popen:
    """A process that looks like a Locust the suite started for ``owner``, in a group of its own."""
    return subprocess.Popen([sys.executable, "-c", SLEEPS, "locust"], env={**os.environ, OWNER_VARIABLE: owner},
                            start_new_session=True)


def test_every_locust_the_suite_starts_names_the_process_that_started_it(tmp_path):
    with LocustProcess(StandIn(), tmp_path / "locust.log") as process:
        environment = psutil.Process(process.pid).environ()
    assert environment[OWNER_VARIABLE] == process_identity(os.getpid())


def test_cleanup_ends_a_locust_whose_starter_is_gone_and_spares_one_whose_starter_runs():
    stray, owned = started_locust(gone_process_identity()), started_locust(process_identity(os.getpid()))
    try:
        time.sleep(0.5)  # until both have exec'd with their environment
        ended = cleanup.end_stray_locusts()
        assert len(ended) == 1 and ended[0].startswith(f"ended stray Locust pid {stray.pid} ")
        stray.wait(timeout=10)  # it would sleep for 60 s: cleanup ended it (and reaped it, so no exit code here)
        assert owned.poll() is None
        assert cleanup.end_stray_locusts() == []
    finally:
        for process in (stray, owned):
            process.kill()
            process.wait(timeout=10)


def test_the_control_runs_its_locust_in_a_process_group_of_its_own(monkeypatch, tmp_path):
    started = {}
    monkeypatch.setattr(controls, "LocustProcess", lambda *args, **options: started.update(options))
    record = controls.ExperimentRecord(tmp_path, after_s=0)
    controls._start_load(record, {"hive_api_url": "http://127.0.0.1:9", "mcp_url": "http://127.0.0.1:9"}, "steady")
    assert started.get("own_process_group", True) is True


def record_with_load(tmp_path: Path) -> controls.ExperimentRecord:
    record = controls.ExperimentRecord(tmp_path, after_s=0)
    record.load_process = LocustProcess(StandIn(), tmp_path / "locust.log")
    return record


def test_an_error_at_the_end_of_the_experiment_fails_the_run_and_still_ends_the_load(monkeypatch, tmp_path, capsys):
    record = record_with_load(tmp_path)
    load = psutil.Process(record.load_process.pid)

    def broken_stop(_: controls.ExperimentRecord) -> dict:
        raise RuntimeError("the load would not stop")

    monkeypatch.setattr(controls, "_stop_load", broken_stop)
    monkeypatch.setattr(controls, "_RECORD", record)
    state: dict = {"status": "completed", "deviated": False}
    controls.after_experiment_control({}, state)
    assert state["deviated"] is True
    assert state[controls.JOURNAL_KEY]["control_errors"] == [
        "stopping the background load: RuntimeError: the load would not stop"]
    assert "control error: stopping the background load" in capsys.readouterr().err
    assert "RuntimeError: the load would not stop" in (tmp_path / "summary.md").read_text()
    assert wait_until_dead(load, timeout_s=10)


def test_a_failed_rollback_fails_the_run_and_is_in_the_summary(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(controls, "_RECORD", controls.ExperimentRecord(tmp_path, after_s=0))
    state: dict = {"status": "completed", "deviated": False, "rollbacks": [
        {"activity": {"name": "no-packet-loss"}, "status": "failed", "exception": ["nft delete table failed\n"]}]}
    controls.after_experiment_control({}, state)
    assert state["deviated"] is True
    assert undo_errors(state) == ["rollback no-packet-loss: nft delete table failed"]
    assert "fault not undone: rollback no-packet-loss" in (tmp_path / "summary.md").read_text()
    assert "faults not undone" in capsys.readouterr().err


def test_a_fault_the_sweep_left_in_place_is_an_undo_error():
    journal = {"hive_resilience": {"faults_at_end": [
        {"kind": "packet-loss", "undone": [], "unchecked": ["x: nft missing"], "remaining": ["table: still there"]}]}}
    assert undo_errors(journal) == ["packet-loss at table: still there"]
    assert "**Verdict" in render_summary(journal) and "fault not undone: packet-loss" in render_summary(journal)


def test_without_a_kubeconfig_the_chaos_mesh_part_is_skipped_with_one_line(monkeypatch, tmp_path):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    report = cleanup.CleanupReport()
    cleanup._delete_chaos_mesh_objects(report)
    assert report.skipped == ["Chaos Mesh: skipped, no kubeconfig (set KUBECONFIG to clean a cluster)"]
    assert report.clean and not report.undone


FAKE_KUBECTL = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls"
case "$*" in
  *" networkchaos.chaos-mesh.org "*) echo networkchaos.chaos-mesh.org/hive-resilience-llm-latency ;;
  *" stresschaos.chaos-mesh.org "*) ;;
  *) echo 'error: the server doesn'"'"'t have a resource type "x"' >&2; exit 1 ;;
esac
"""


def test_with_a_kubeconfig_it_deletes_the_suites_chaos_mesh_objects_by_label(monkeypatch, tmp_path):
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(FAKE_KUBECTL)
    kubectl.chmod(0o755)
    (tmp_path / "kubeconfig").write_text("{}")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    report = cleanup.CleanupReport()
    cleanup._delete_chaos_mesh_objects(report)
    assert report.undone == ["deleted Chaos Mesh networkchaos.chaos-mesh.org/hive-resilience-llm-latency"]
    assert report.clean and report.skipped == []
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == len(cleanup.CHAOS_MESH_RESOURCES)
    assert all("--all-namespaces --selector app.kubernetes.io/managed-by=hive-resilience" in call for call in calls)


def test_an_unreadable_state_file_is_a_problem_not_a_traceback(tmp_path):
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "target.json").write_text("{not json")
    report = cleanup.CleanupReport()
    assert cleanup.running_targets(tmp_path, [], report) == []
    assert len(report.problems) == 1 and "is not a target's state file" in report.problems[0]
    assert not report.clean
