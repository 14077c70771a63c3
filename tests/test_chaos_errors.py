"""Chaos activities fail with messages an operator can act on."""

from __future__ import annotations

import pytest
from chaoslib.exceptions import ActivityFailed

from hive_resilience.chaos import actions, probes
from hive_resilience.target import fault_registry
from hive_resilience.target.embedded import EmbeddedTarget, TargetPorts


@pytest.fixture
def stopped_target(tmp_path) -> dict:
    """A target folder whose state says nothing runs (as after `target down`)."""
    target = EmbeddedTarget(tmp_path, TargetPorts(), fault_proxy=False)
    target.state.save(target.state_path)
    return {"target_dir": str(tmp_path)}


def test_no_target_says_how_to_start_one(tmp_path):
    with pytest.raises(ActivityFailed, match="hive-resilience target up"):
        actions.kill_component("tools", configuration={"target_dir": str(tmp_path / "none")})


def test_unknown_component_lists_the_known_ones(stopped_target):
    with pytest.raises(ActivityFailed, match="this target runs llm-stub, tools, hive-api"):
        actions.restart_component("database", configuration=stopped_target)


def test_killing_a_component_that_is_not_running_says_so(stopped_target):
    with pytest.raises(ActivityFailed, match="tools is not running"):
        actions.kill_component("tools", configuration=stopped_target)


def test_unknown_signal_names_the_good_ones(stopped_target, monkeypatch):
    monkeypatch.setattr(fault_registry, "live_process", lambda target, component: None)
    with pytest.raises(ActivityFailed, match="unknown signal 'SIGKIL'"):
        actions.kill_component("tools", signal="SIGKIL", configuration=stopped_target)


def test_latency_without_the_fault_proxy_says_how_to_get_it(stopped_target):
    with pytest.raises(ActivityFailed, match="--fault-proxy"):
        actions.set_proxy_faults(latency_ms=100, configuration=stopped_target)


def test_resetting_latency_without_the_fault_proxy_says_how_to_get_it(stopped_target):
    with pytest.raises(ActivityFailed, match="--fault-proxy"):
        actions.reset_proxy_faults(configuration=stopped_target)


def test_recovery_of_an_unknown_component_is_refused(stopped_target):
    with pytest.raises(ActivityFailed, match="unknown component 'db'"):
        probes.time_to_recover("db", configuration=stopped_target)


def test_recovery_past_the_budget_fails_with_the_budget(stopped_target):
    with pytest.raises(ActivityFailed, match="hive-api did not recover within the 0.5 s budget"):
        probes.time_to_recover("hive-api", budget_s=0.5, configuration={**stopped_target, "hive_api_url": "http://127.0.0.1:9"})


def test_probes_report_an_unreachable_target_as_unhealthy_not_as_an_error():
    staging = {"hive_api_url": "http://127.0.0.1:9", "mcp_url": "http://127.0.0.1:9"}
    assert probes.api_healthy(configuration=staging) is False
    assert probes.mcp_tools_listed(timeout_s=1, configuration=staging) == 0
