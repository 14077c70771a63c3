"""Scenario files: validation names the file, the key and what is allowed; stages and compression."""

from __future__ import annotations

import pytest

from hive_resilience.loadrun.scenario import (
    AGGREGATED,
    ScenarioError,
    Slo,
    available_scenarios,
    load_scenario,
    parse_duration_s,
    stage_at,
)

MINIMAL = "users: 10\nspawn_rate: 2\nduration: 60s\n"


def test_shipped_scenarios_are_the_seed_plan():
    plans = {name: load_scenario(name) for name in available_scenarios()}
    assert {"smoke", "load", "stress", "spike", "soak"} <= set(plans)
    # Long enough that every gated percentile is decided (tests/test_scenario_samples.py).
    assert [(s.users, s.spawn_rate, s.duration_s) for s in plans["smoke"].stages] == [(12, 2, 300)]
    assert [(s.users, s.spawn_rate, s.duration_s) for s in plans["load"].stages] == [(100, 10, 300)]
    assert [(s.rate_per_s, s.duration_s) for s in plans["stress"].arrivals.stages] == [
        (0.25, 100), (0.5, 100), (1, 100), (1.5, 100), (2, 100), (4, 100)]
    assert [(s.users, s.duration_s) for s in plans["spike"].stages] == [(10, 60), (500, 30), (10, 60)]
    assert plans["soak"].duration_s >= 3600


@pytest.mark.parametrize("text", ["90", "90s", "1m30s", "1.5m", 90])
def test_durations_accept_seconds_and_units(text):
    assert parse_duration_s(text) == 90


@pytest.mark.parametrize("text", ["", "abc", "10x", "0s", "-5", True])
def test_durations_reject_garbage(text):
    with pytest.raises(ValueError):
        parse_duration_s(text)


def test_unknown_key_names_file_key_and_allowed_keys(write_scenario):
    path = write_scenario(MINIMAL + "userz: 3\n")
    with pytest.raises(ScenarioError) as error:
        load_scenario(str(path))
    message = str(error.value)
    assert str(path) in message and "'userz'" in message and "user_classes" in message


def test_unknown_key_inside_an_slo_lists_slo_keys(write_scenario):
    path = write_scenario(MINIMAL + "slos:\n  - {metric: p99_ms, maximum: 5}\n")
    with pytest.raises(ScenarioError, match=r"slos\.0\.maximum.*metric, request, max, min"):
        load_scenario(str(path))


def test_wrong_value_names_the_key_and_what_is_allowed(write_scenario):
    path = write_scenario(MINIMAL + "slos:\n  - {metric: p42_ms, max: 5}\n")
    with pytest.raises(ScenarioError, match=r"slos\.0\.metric.*'p99_ms'"):
        load_scenario(str(path))


def test_negative_users_are_refused(write_scenario):
    path = write_scenario("users: -1\nspawn_rate: 2\nduration: 60s\n")
    with pytest.raises(ScenarioError, match=r"stages\.0\.users"):
        load_scenario(str(path))


def test_unknown_user_class_lists_the_known_ones(write_scenario):
    path = write_scenario(MINIMAL + "user_classes:\n  BrowserUser: {weight: 1}\n")
    with pytest.raises(ScenarioError, match="HiveApiUser, McpToolsUser"):
        load_scenario(str(path))


def test_bad_host_is_refused(write_scenario):
    path = write_scenario(MINIMAL + "user_classes:\n  HiveApiUser: {host: '127.0.0.1:8787'}\n")
    with pytest.raises(ScenarioError, match="base URL"):
        load_scenario(str(path))


def test_stages_and_simple_form_together_are_refused(write_scenario):
    path = write_scenario(MINIMAL + "stages:\n  - {duration: 5s, users: 1, spawn_rate: 1}\n")
    with pytest.raises(ScenarioError, match="not both"):
        load_scenario(str(path))


def test_unknown_scenario_name_lists_the_available_ones():
    with pytest.raises(ScenarioError, match="available: .*smoke"):
        load_scenario("smok")


def test_slo_needs_exactly_one_bound():
    with pytest.raises(ValueError):
        Slo(metric="p99_ms")
    with pytest.raises(ValueError):
        Slo(metric="p99_ms", max=1, min=0)


def test_scenario_slos_override_defaults_with_the_same_metric_and_request(write_scenario):
    path = write_scenario(MINIMAL + "slos:\n  - {metric: p99_ms, max: 500}\n  - {metric: p99_ms, request: x, max: 9}\n")
    slos = {(slo.metric, slo.request): slo for slo in load_scenario(str(path)).effective_slos()}
    assert slos[("p99_ms", AGGREGATED)].max == 500
    assert slos[("error_ratio", AGGREGATED)].max == 0.05
    assert slos[("requests", AGGREGATED)].min == 1
    assert slos[("p99_ms", "x")].max == 9


def test_compression_scales_every_stage_and_remembers_the_original_length():
    spike = load_scenario("spike", duration="30s")
    assert spike.compressed_from_s == 150
    assert [round(stage.duration_s) for stage in spike.stages] == [12, 6, 12]
    assert [stage.users for stage in spike.stages] == [10, 500, 10]


def test_bad_compression_duration_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="--duration"):
        load_scenario("smoke", duration="soon")


def test_shape_ticks_follow_the_stages_then_stop():
    stages = load_scenario("spike").stages
    assert (stage_at(stages, 0).users, stage_at(stages, 59.9).users) == (10, 10)
    assert stage_at(stages, 60).users == 500
    assert stage_at(stages, 89.9).users == 500
    assert stage_at(stages, 90).users == 10
    assert stage_at(stages, 150) is None


def test_inconclusive_override_applies_to_every_slo_including_ones_that_set_their_own(write_scenario):
    path = write_scenario(MINIMAL + "inconclusive: fail\nslos:\n  - {metric: p99_ms, max: 500, inconclusive: fail}\n")
    slos = load_scenario(str(path), inconclusive="pass").effective_slos()
    assert {slo.inconclusive for slo in slos} == {"pass"}
    assert {slo.inconclusive for slo in load_scenario(str(path)).effective_slos()} == {"fail"}


def test_a_bad_inconclusive_override_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="--inconclusive: 'maybe' is not one of pass, fail"):
        load_scenario("smoke", inconclusive="maybe")
