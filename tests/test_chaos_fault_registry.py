"""One fault registry: a kind registered there alone is applied by the actions and swept by the control."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from chaoslib.exceptions import ActivityFailed

from hive_resilience.chaos import actions, controls
from hive_resilience.processes import start_logged
from hive_resilience.target import fault_registry
from hive_resilience.target.embedded import EmbeddedTarget, TargetPorts
from hive_resilience.target.fault_registry import FaultError, FaultKind, FaultRegistry


@dataclass
class FakeDisk:
    """A pretend component whose fault is added write latency; zero is healthy."""

    write_latency_ms: dict[str, float] = field(default_factory=lambda: {"disk-a": 0.0, "disk-b": 0.0})
    undo_works: bool = True
    check_works: bool = True

    def kind(self) -> FaultKind:
        def apply(target: EmbeddedTarget, disk: str, latency_ms: float) -> float:
            self.write_latency_ms[disk] = latency_ms
            return latency_ms

        def undo(target: EmbeddedTarget, disk: str) -> None:
            if self.undo_works:
                self.write_latency_ms[disk] = 0.0

        def present(target: EmbeddedTarget, disk: str) -> bool:
            if not self.check_works:
                raise FaultError("the disk controller does not answer")
            return self.write_latency_ms[disk] > 0

        return FaultKind("slow-disk", lambda target: tuple(self.write_latency_ms), apply, undo, present,
                         "sped up {place}")


@pytest.fixture
def disk(monkeypatch) -> FakeDisk:
    """A fresh registry holding only the fake kind: the built-in kinds would act on real processes."""
    registry = FaultRegistry()
    monkeypatch.setattr(fault_registry, "FAULTS", registry)
    fake = FakeDisk()
    registry.register(fake.kind())
    return fake


@pytest.fixture
def configuration(tmp_path, monkeypatch) -> dict:
    """A target folder with a state file (nothing started), reports written under the test's folder."""
    target = EmbeddedTarget(tmp_path / "target", TargetPorts())
    target.run_dir.mkdir()
    target.state.save(target.state_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(controls, "_ensure_embedded_target", lambda run_dir, fault_proxy: False)
    return {"target_dir": str(target.run_dir)}


def interrupted_run(configuration: dict, *method: tuple[str, dict]) -> tuple[dict, str]:
    """Drive the control's hooks around a method that injects faults and is interrupted: no rollback runs."""
    experiment = {"title": "interrupted", "method": [{"name": name} for name, _ in method]}
    controls.before_experiment_control(experiment, configuration, load=False, baseline_s=0)
    controls.before_method_control(experiment)
    for _, arguments in method:
        actions.inject_fault("slow-disk", arguments, configuration=configuration)
    journal = {"experiment": experiment, "status": "interrupted", "deviated": False, "run": [], "rollbacks": []}
    controls.after_experiment_control(experiment, journal, configuration)
    run_dir = next(Path("reports").glob("*-chaos-interrupted"))
    return json.loads((run_dir / "journal.json").read_text()), (run_dir / "summary.md").read_text()


def test_a_kind_registered_alone_is_undone_by_the_control_after_an_interrupted_experiment(disk, configuration):
    journal, summary = interrupted_run(configuration, ("slow-disk-a", {"disk": "disk-a", "latency_ms": 300}))
    assert disk.write_latency_ms == {"disk-a": 0.0, "disk-b": 0.0}
    ours = journal["hive_resilience"]
    assert ours["undone_at_end"] == ["sped up disk-a"]
    assert ours["faults_at_end"] == [{"kind": "slow-disk", "undone": ["sped up disk-a"], "unchecked": [], "remaining": []}]
    assert "sped up disk-a (undone by the control)." in summary
    assert "No fault was left behind" not in summary


def test_a_clean_end_is_reported_with_the_kinds_checked(disk, configuration):
    journal, summary = interrupted_run(configuration)
    assert journal["hive_resilience"]["undone_at_end"] == []
    assert "No fault was left behind. Checked: slow-disk." in summary


def test_a_check_that_cannot_run_is_reported_not_taken_as_clean(disk, configuration):
    disk.check_works = False
    _, summary = interrupted_run(configuration)
    assert "No fault was left behind" not in summary
    assert "NOT CHECKED, so not known to be gone: slow-disk at disk-a: the disk controller does not answer" in summary


def test_an_undo_that_does_not_work_is_reported_as_still_in_place(disk, configuration):
    disk.undo_works = False
    journal, summary = interrupted_run(configuration, ("slow-disk-b", {"disk": "disk-b", "latency_ms": 50}))
    assert journal["hive_resilience"]["faults_at_end"][0]["remaining"] == ["disk-b: still there after the undo"]
    assert "STILL IN PLACE after the control's undo: slow-disk at disk-b: still there after the undo." in summary


def test_undo_fault_reaches_a_registered_kind_by_name(disk, configuration):
    actions.inject_fault("slow-disk", {"disk": "disk-b", "latency_ms": 20}, configuration=configuration)
    actions.undo_fault("slow-disk", "disk-b", configuration=configuration)
    assert disk.write_latency_ms["disk-b"] == 0.0


def test_undo_without_a_place_is_refused_when_the_kind_has_several(disk, configuration):
    with pytest.raises(ActivityFailed, match="can be in disk-a, disk-b; say which"):
        actions.undo_fault("slow-disk", configuration=configuration)


def test_an_unknown_kind_lists_the_registered_ones(disk, configuration):
    with pytest.raises(ActivityFailed, match="unknown fault kind 'slow-net'; registered: slow-disk"):
        actions.inject_fault("slow-net", configuration=configuration)


def test_a_kind_cannot_be_registered_twice(disk):
    with pytest.raises(ValueError, match="already registered"):
        fault_registry.FAULTS.register(disk.kind())


def test_the_built_in_kinds_are_swept_network_first_and_stand_ins_last():
    names = [kind.name for kind in fault_registry.FAULTS.kinds()]
    assert names == ["packet-loss", "frozen-component", "killed-component", "llm-faults", "proxy-faults"]


@pytest.fixture
def sleeping_tools(tmp_path) -> EmbeddedTarget:
    """A target whose ``tools`` component is a harmless sleeping process, to signal for real."""
    target = EmbeddedTarget(tmp_path, TargetPorts())
    (tmp_path / "logs").mkdir()
    popen, recorded = start_logged([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "logs" / "tools.log",
                                   tmp_path)
    target.state.components["tools"] = recorded
    target.state.save(target.state_path)
    yield target
    popen.kill()
    popen.wait(timeout=10)


def test_a_frozen_component_is_present_until_thawed(sleeping_tools):
    registry = fault_registry.FAULTS
    registry.apply("frozen-component", sleeping_tools, component="tools")
    assert registry.get("frozen-component").present(sleeping_tools, "tools")
    assert registry.undo("frozen-component", sleeping_tools, "tools") is True
    assert not registry.get("frozen-component").present(sleeping_tools, "tools")
    assert sleeping_tools.state.components["tools"].process().status() != psutil.STATUS_STOPPED


def test_inject_fault_freezes_with_a_result_the_journal_can_hold(sleeping_tools):
    configuration = {"target_dir": str(sleeping_tools.run_dir)}
    stopped = actions.inject_fault("frozen-component", {"component": "tools"}, configuration)
    try:
        assert json.loads(json.dumps(stopped)) == [sleeping_tools.state.components["tools"].process().pid]
    finally:
        actions.thaw_component("tools", configuration)


def test_a_killed_component_is_present_once_dead(sleeping_tools):
    killed = fault_registry.FAULTS.get("killed-component")
    assert not killed.present(sleeping_tools, "tools")
    fault_registry.FAULTS.apply("killed-component", sleeping_tools, component="tools", signal="SIGKILL")
    assert killed.present(sleeping_tools, "tools")


def test_a_component_that_is_not_running_cannot_be_frozen(sleeping_tools):
    with pytest.raises(FaultError, match="hive-api is not running; nothing to act on"):
        fault_registry.FAULTS.apply("frozen-component", sleeping_tools, component="hive-api")


def test_target_code_can_use_the_registry_without_chaoslib():
    code = ("import sys, hive_resilience.target.fault_registry, hive_resilience.target.embedded; "
            "sys.exit('chaoslib' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60, check=False).returncode == 0
