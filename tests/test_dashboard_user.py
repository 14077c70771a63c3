"""DashboardUser against the embedded Hive: every call the recorded dashboard makes is replayed and answered right."""

from __future__ import annotations

import pytest
from test_run import hive_resilience_run

from hive_resilience.loadrun.dashboard_recording import load_recording
from hive_resilience.target.embedded import free_ports

pytestmark = pytest.mark.embedded

SCENARIO = """
name: dashboard
description: a few dashboard visits
users: 3
spawn_rate: 3
duration: 45s
user_classes:
  DashboardUser: {weight: 1, wait_s: [1, 2]}
slos:
  - {metric: error_ratio, max: 0}
"""


def test_dashboard_visits_replay_every_recorded_call_without_a_failure(tmp_path, write_scenario):
    ports = free_ports()
    result, summary = hive_resilience_run(
        str(write_scenario(SCENARIO)), "--inconclusive", "pass", "--api-port", str(ports.api),
        "--mcp-port", str(ports.mcp), "--llm-port", str(ports.llm), cwd=tmp_path)
    output = result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row["name"]: row for row in summary["requests"]}
    assert rows["Aggregated"]["requests"] > 0 and rows["Aggregated"]["failures"] == 0, output
    expected = {f"{call.method} {call.name}" for call in load_recording().calls}
    assert expected - set(rows) == set(), output
    polled = rows["GET /api/sessions/[id]/workers"]["requests"]
    # Three visits poll workers every 2 s for 20 s: about 30 polls beside the conversation's own.
    assert polled >= 15, rows["GET /api/sessions/[id]/workers"]
    assert result.returncode == 0, output
