"""The container entry point configures Hive from its environment as the embedded target does."""

from __future__ import annotations

import json

import pytest

from hive_resilience.target.container_entry import configure_hive


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
