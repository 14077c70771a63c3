"""The local chaos experiments, run for real with `chaos run` against the embedded Hive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from hive_resilience.cleanup import end_stray_locusts
from hive_resilience.clients import http_client
from hive_resilience.paths import REPO_ROOT
from hive_resilience.processes import kill_process_group, restore_ctrl_c
from hive_resilience.target import netfaults
from hive_resilience.target.embedded import EmbeddedTarget
from hive_resilience.target.fault_registry import FAULTS
from hive_resilience.target.faults import healthy_faults
from hive_resilience.target.llm_stub import LlmFaults

pytestmark = pytest.mark.embedded

CHAOS = str(Path(sys.executable).parent / "chaos")
AGENT_TAG = "agent"
"""Experiments judged on the agent's path state promises Hive may break; each has its own test
(test_chaos_agent_mcp.py) that knows which promise it breaks today."""
LOCAL_EXPERIMENTS = sorted(path for path in (REPO_ROOT / "chaos" / "experiments" / "local").glob("*.yaml")
                           if AGENT_TAG not in yaml.safe_load(path.read_text()).get("tags", []))


def chaos_command(experiment: Path, cwd: Path) -> list[str]:
    return [CHAOS, "--no-version-check", "run", str(experiment), "--journal-path", str(cwd / "journal.json")]


def chaos_env(target: EmbeddedTarget) -> dict[str, str]:
    return {**os.environ, "HIVE_RESILIENCE_TARGET_DIR": str(target.run_dir)}


def start_chaos(experiment: Path, target: EmbeddedTarget, cwd: Path, at_a_terminal: bool = False) -> subprocess.Popen:
    """`chaos run` in ``cwd`` (where the control writes reports/), in its own process group.

    By default with SIGINT ignored, as under ``nohup`` or ``command &`` in a CI script: the
    control must still stop its Locust load with SIGINT. ``at_a_terminal`` gives it Ctrl-C back.
    """
    return subprocess.Popen(chaos_command(experiment, cwd), cwd=cwd, env=chaos_env(target), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=restore_ctrl_c if at_a_terminal else ignore_ctrl_c)


def ignore_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def finish(process: subprocess.Popen, timeout_s: float) -> subprocess.CompletedProcess:
    """Wait for `chaos run` to end; a hung run is killed with its load and fails the test with its log.

    Killing the whole group and then its Locust load (in a group of its own, a stray once the run
    is gone) matters: either left running would skew every test after it.
    """
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_process_group(process.pid)
        process.wait(timeout=30)
        end_stray_locusts()
        stdout, stderr = process.communicate()
        pytest.fail(f"chaos run still running after {timeout_s:.0f} s; its log ends:\n{(stdout + stderr)[-4000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def chaos_run(experiment: Path, target: EmbeddedTarget, cwd: Path) -> subprocess.CompletedProcess:
    """`chaos run` to its end."""
    return finish(start_chaos(experiment, target, cwd), timeout_s=300)


def report(cwd: Path) -> tuple[dict, str]:
    """The journal and summary the load control wrote under reports/."""
    run_dir = next((cwd / "reports").glob("*-chaos-*"))
    return json.loads((run_dir / "journal.json").read_text()), (run_dir / "summary.md").read_text()


def assert_no_fault_left(target: EmbeddedTarget) -> None:
    target = EmbeddedTarget.attach(target.run_dir)
    assert not netfaults.table_present()
    assert http_client.call("GET", f"{target.llm_url}/admin/faults").json == healthy_faults(LlmFaults)
    assert http_client.call("GET", f"{target.proxy_admin_url}/admin/faults").json == {"latency_ms": 0, "jitter_ms": 0}
    for component, state in target.status().items():
        assert state["running"] and state["healthy"], component
        members = target.state.components[component].group_members()
        assert all(member.status() != psutil.STATUS_STOPPED for member in members), component


@pytest.mark.parametrize("experiment", LOCAL_EXPERIMENTS, ids=lambda path: path.stem)
def test_local_experiment_holds_its_steady_state_against_the_real_hive(experiment, chaos_target, tmp_path):
    result = chaos_run(experiment, chaos_target, tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    journal, summary = report(tmp_path)
    assert journal["status"] == "completed" and not journal["deviated"]
    phases = journal["hive_resilience"]["load"]["phases"]
    assert phases["baseline"]["requests"] > 0 and phases["after_recovery"]["requests"] > 0
    assert "| during the fault |" in summary and "No fault was left behind." in summary
    assert [kind["kind"] for kind in journal["hive_resilience"]["faults_at_end"]] == [kind.name for kind in FAULTS.kinds()]
    assert_no_fault_left(chaos_target)


def test_killing_a_component_without_restart_deviates_and_exits_non_zero(chaos_target, tmp_path):
    experiment = REPO_ROOT / "tests" / "chaos" / "killed-without-restart.yaml"
    result = chaos_run(experiment, chaos_target, tmp_path)
    assert result.returncode != 0
    journal, summary = report(tmp_path)
    assert journal["deviated"] and "**Verdict: DEVIATED**" in summary
    # The experiment has no rollback: the control's safety net had to bring the tools server back.
    assert "restarted tools" in journal["hive_resilience"]["undone_at_end"]
    assert_no_fault_left(chaos_target)


def test_a_method_probe_that_misses_its_tolerance_deviates_and_exits_non_zero(chaos_target, tmp_path):
    experiment = REPO_ROOT / "tests" / "chaos" / "method-probe-misses.yaml"
    result = chaos_run(experiment, chaos_target, tmp_path)
    assert result.returncode != 0
    assert "method probe 'api-is-down' missed its tolerance False: got True" in result.stderr
    journal, summary = report(tmp_path)
    assert journal["deviated"] and journal["hive_resilience"]["method_probes_missed"] == ["api-is-down"]
    assert [run["activity"]["name"] for run in journal["run"]] == ["api-is-down"], "the method went on after the miss"
    assert "(tolerance NOT met)" in summary


def test_sigint_mid_method_still_runs_the_rollbacks_and_leaves_no_fault(chaos_target, tmp_path):
    experiment = REPO_ROOT / "tests" / "chaos" / "every-fault-then-wait.yaml"
    process = start_chaos(experiment, chaos_target, tmp_path, at_a_terminal=True)
    wait_until_every_fault_is_in_place(process, chaos_target)
    assert netfaults.table_present()
    process.send_signal(signal.SIGINT)
    result = finish(process, timeout_s=120)
    journal, summary = report(tmp_path)
    assert journal["status"] == "interrupted", (result.stdout + result.stderr)[-3000:]
    assert [run["status"] for run in journal["rollbacks"]] == ["succeeded"] * 4
    assert journal["hive_resilience"]["undone_at_end"] == []
    assert_no_fault_left(chaos_target)


def test_the_safeguard_aborts_when_the_blast_radius_is_exceeded_and_rollbacks_still_run(chaos_target, tmp_path):
    experiment = REPO_ROOT / "tests" / "chaos" / "safeguard-trips.yaml"
    started = time.monotonic()
    result = chaos_run(experiment, chaos_target, tmp_path)
    assert result.returncode != 0
    assert time.monotonic() - started < 60, "over 60 s: the safeguard never tripped, or the load was not stopped at once"
    assert "Safeguard 'background load error ratio within the blast radius' triggered" in result.stderr
    journal, _ = report(tmp_path)
    assert journal["status"] == "interrupted"
    assert [run["status"] for run in journal["rollbacks"]] == ["succeeded"]
    assert journal["hive_resilience"]["undone_at_end"] == []
    assert_no_fault_left(chaos_target)


def wait_until_every_fault_is_in_place(process: subprocess.Popen, target: EmbeddedTarget) -> None:
    """Until every-fault-then-wait froze the tools server, its last fault; fails the test if it never does."""
    tools = EmbeddedTarget.attach(target.run_dir).state.components["tools"].process()
    deadline = time.monotonic() + 120
    while tools.status() != psutil.STATUS_STOPPED:
        if time.monotonic() > deadline or process.poll() is not None:
            process.send_signal(signal.SIGINT)
            output = finish(process, timeout_s=60)
            pytest.fail(f"the faults were never all in place; the log ends:\n{(output.stdout + output.stderr)[-4000:]}")
        time.sleep(0.2)


def cleanup_command(target: EmbeddedTarget, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "hive-resilience"), "cleanup", "--target-dir",
                           str(target.run_dir)], check=False, cwd=cwd, capture_output=True, text=True, timeout=180,
                          env={key: value for key, value in os.environ.items() if key != "KUBECONFIG"})


def test_after_sigkill_mid_method_cleanup_undoes_every_fault_and_ends_the_load(chaos_target, tmp_path):
    experiment = REPO_ROOT / "tests" / "chaos" / "every-fault-then-wait.yaml"
    process = start_chaos(experiment, chaos_target, tmp_path)
    wait_until_every_fault_is_in_place(process, chaos_target)
    load = [child for child in psutil.Process(process.pid).children(recursive=True) if "locust" in " ".join(child.cmdline())]
    assert load and netfaults.table_present()
    kill_process_group(process.pid)  # no rollback, no control: only what SIGKILL leaves
    process.communicate(timeout=30)
    assert all(member.is_running() for member in load), "the load must outlive a SIGKILLed run: cleanup's job"

    cleaned = cleanup_command(chaos_target, tmp_path)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    undone = cleaned.stdout
    for expected in ("ended stray Locust pid", "deleted the nftables table", "resumed frozen tools",
                     "reset the faults of llm-stub", "reset the faults of mcp-proxy"):
        assert expected in undone, undone
    assert all(not member.is_running() or member.status() == psutil.STATUS_ZOMBIE for member in load)
    assert_no_fault_left(chaos_target)

    again = cleanup_command(chaos_target, tmp_path)
    assert again.returncode == 0 and "clean: nothing was left behind" in again.stdout, again.stdout + again.stderr
    assert "undone:" not in again.stdout
