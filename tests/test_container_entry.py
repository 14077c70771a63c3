"""The container entry point configures Hive from its environment as the embedded target does."""

from __future__ import annotations

import json

import pytest

from hive_resilience.target import agent_wiring, container_entry
from hive_resilience.target.container_entry import configure_hive, wire_tools


def configuration(hive_home) -> dict:
    return json.loads((hive_home / "configuration.json").read_text())


def test_llm_url_points_hives_llm_at_the_stub(tmp_path):
    configure_hive(tmp_path, {"LLM_URL": "http://127.0.0.1:8790"})
    assert configuration(tmp_path)["llm"]["api_base"] == "http://127.0.0.1:8790/v1"
    assert "queen_tools" not in configuration(tmp_path)


def test_expose_queen_tools_hands_the_queen_every_mcp_tool(tmp_path):
    configure_hive(tmp_path, {"LLM_URL": "http://127.0.0.1:8790", "EXPOSE_QUEEN_TOOLS": "1"})
    assert configuration(tmp_path)["queen_tools"] == {"always_enabled_categories": []}


def test_without_an_llm_or_a_configuration_it_exits_with_a_reason(tmp_path):
    with pytest.raises(SystemExit, match="set LLM_URL"):
        configure_hive(tmp_path, {"EXPOSE_QUEEN_TOOLS": "1"})


def proof() -> agent_wiring.AgentToolsProof:
    return agent_wiring.AgentToolsProof("queen_growth", "s1", ("risk_score",), ("risk_score",), 0.1)


def test_wire_tools_registers_the_configured_server_with_this_containers_hive(monkeypatch):
    monkeypatch.setattr(container_entry, "WIRE_RETRY_S", 0.01)
    calls = []

    def wire(api_url, tools_url):
        calls.append((api_url, tools_url))
        if len(calls) < 3:
            raise ConnectionRefusedError("Hive not listening yet")
        return proof()

    said = wire_tools({"HIVE_TOOLS_MCP_URL": "http://10.214.0.9:4001", "BIND_HOST": "0.0.0.0", "PORT": "8787"},
                      within_s=5, wire=wire)
    assert calls == [("http://127.0.0.1:8787", "http://10.214.0.9:4001")] * 3
    assert "registered" in said and "1 MCP tools" in said


def test_wire_tools_gives_up_past_its_bound_with_the_last_reason(monkeypatch):
    monkeypatch.setattr(container_entry, "WIRE_RETRY_S", 0.01)

    def wire(api_url, tools_url):
        raise agent_wiring.WiringError("Hive finds MCP server 'aden-tools' unhealthy")

    with pytest.raises(SystemExit, match=r"not wired within 0.05 s: Hive finds MCP server 'aden-tools' unhealthy"):
        wire_tools({"HIVE_TOOLS_MCP_URL": "http://10.214.0.9:4001", "PORT": "8787"}, within_s=0.05, wire=wire)


def test_wire_tools_without_a_tools_url_exits_with_a_reason():
    with pytest.raises(SystemExit, match="set HIVE_TOOLS_MCP_URL"):
        wire_tools({"PORT": "8787"}, wire=lambda api_url, tools_url: proof())


def test_wire_tools_is_for_the_hive_api_only(capsys):
    with pytest.raises(SystemExit):
        container_entry.main(["wire-tools", "tools"])
    assert "wire-tools applies to hive-api only" in capsys.readouterr().err


def test_wire_tools_without_a_port_number_exits_with_a_reason():
    with pytest.raises(SystemExit, match="PORT must be the Hive API's port number, got 'http'"):
        wire_tools({"HIVE_TOOLS_MCP_URL": "http://10.214.0.9:4001", "PORT": "http"}, wire=lambda api_url, tools_url: proof())
