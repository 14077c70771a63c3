"""Asking the LLM stub for a script: mix keys, directives, and validation in scenarios."""

from __future__ import annotations

import re

import pytest

from hive_resilience.clients.agent_scripts import parse_script
from hive_resilience.loadrun.scenario import ScenarioError, load_scenario


def test_the_directive_names_the_script_as_the_mix_does():
    assert parse_script("chain  steps=3").directive == "[[script:chain steps=3]]"
    assert parse_script("one_tool").directive == "[[script:one_tool]]"


def test_the_expected_tool_calls_come_from_the_stubs_script_table():
    keys = ("plain", "one_tool", "chain", "chain steps=3", "parallel calls=5", "malformed_args")
    assert [parse_script(key).expected_tool_calls for key in keys] == [0, 1, 2, 3, 5, 0]
    assert [parse_script(key).tool_error_expected for key in ("tool_fails", "unknown_tool", "one_tool")] \
        == [True, True, False]


@pytest.mark.parametrize(("key", "message"), [
    ("one_tol", "unknown script 'one_tol'; known: plain, one_tool"),
    ("chain calls=2", "script 'chain' does not take options ['calls']"),
    ("chain steps=x", "steps must be a whole number from 1 to 20"),
    ("parallel calls=100", "calls must be a whole number from 1 to 20"),
    (" ", "a script key names a script"),
])
def test_a_bad_key_says_what_is_allowed(key, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_script(key)


def write(tmp_path, scripts: str):
    path = tmp_path / "s.yaml"
    path.write_text(f"users: 1\nspawn_rate: 1\nduration: 5s\nuser_classes:\n  HiveApiUser: {{scripts: {scripts}}}\n")
    return path


def test_a_scenario_carries_its_script_mix(tmp_path):
    scenario = load_scenario(str(write(tmp_path, "{one_tool: 2, chain steps=3: 1}")))
    assert scenario.user_classes["HiveApiUser"].scripts == {"one_tool": 2, "chain steps=3": 1}


def test_a_misspelt_script_fails_at_load_naming_the_file_and_key(tmp_path):
    path = write(tmp_path, "{one_tol: 1}")
    with pytest.raises(ScenarioError, match=rf"{path}: key 'user_classes.HiveApiUser.scripts': unknown script 'one_tol'"):
        load_scenario(str(path))


def test_a_mix_without_weight_fails_at_load(tmp_path):
    with pytest.raises(ScenarioError, match="at least one entry with a weight above 0"):
        load_scenario(str(write(tmp_path, "{one_tool: 0}")))
