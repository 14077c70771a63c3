"""A short smoke run against the embedded target: the queen's scripted tool calls reach the tools
server, and the report says so with per-reply tool figures and the time split."""

from __future__ import annotations

import pytest
from test_run import hive_resilience_run, request

from hive_resilience.target.embedded import free_ports

pytestmark = pytest.mark.embedded


def test_smoke_shows_queen_tool_calls_reaching_the_tools_server_with_per_reply_figures(tmp_path):
    ports = free_ports()
    result, summary = hive_resilience_run(
        "smoke", "--duration", "30s", "--api-port", str(ports.api), "--mcp-port", str(ports.mcp),
        "--llm-port", str(ports.llm), cwd=tmp_path,
    )
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode in (0, 1), output  # a verdict, not a crash; timing SLOs may miss on shared cores
    for name in ("JOURNEY agent time-to-reply [one_tool]", "JOURNEY tool risk_score", "JOURNEY agent time-to-first-token"):
        row = request(summary, name)
        assert row["requests"] > 0 and row["failures"] == 0, (name, row)
    calls = summary["tools_server_calls"]["risk_score"]
    assert calls["from_hive"] > 0, calls
    assert calls["received"] == calls["from_hive"] + calls["from_load_users"]
    split = summary["agent_time"]
    assert split["replies"] > 0 and split["tool_calls"] >= request(summary, "JOURNEY tool risk_score")["requests"]
    assert split["model_ms_mean"] > 0 and split["tools_ms_mean"] > 0
    assert "Agent replies:" in result.stdout and "Tools server calls (from Hive / from McpToolsUser):" in result.stdout
