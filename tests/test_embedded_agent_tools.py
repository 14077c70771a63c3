"""The embedded target's start-up fails with an operator's message when the agent wiring fails."""

from __future__ import annotations

import pytest

from hive_resilience.target import agent_wiring
from hive_resilience.target.embedded import EmbeddedTarget, TargetError, free_ports


def test_a_wiring_failure_is_a_target_error_naming_the_queen_and_hives_log(tmp_path, monkeypatch):
    def refuse(*_: object) -> agent_wiring.AgentToolsProof:
        raise agent_wiring.WiringError("a new queen_growth session cannot call risk_score")

    monkeypatch.setattr(agent_wiring, "wire_agent_tools", refuse)
    with pytest.raises(TargetError, match=r"queen_growth sessions cannot call the tools server: .*hive-api\.log"):
        EmbeddedTarget(tmp_path, free_ports())._wire_agent_tools()
