"""Every shipped scenario gives each request its SLOs judge enough samples to decide on a healthy Hive.

A unit test rather than a run: it models HiveApiUser's pace from the scenario (users, class
weights, think time, stages) and the task weights in ``load/hive_api.py``, with task durations
measured on the 2-core CI machine (a 60 s smoke run: 107 iterations of 7 users, so about 1.7 s of
work per iteration besides the think time), and asks the interval math how many samples a
healthy Hive needs: one whose tail beyond each threshold is at most a quarter of what the SLO
allows, and that answers every chat. A real ``hive-resilience run smoke`` confirms the figures
(see docs/load.md).
"""

from __future__ import annotations

import ast
import math

import pytest

from hive_resilience.clients.agent_scripts import (
    FIRST_TOKEN_JOURNEY,
    REPLY_JOURNEY,
    TOOL_JOURNEY,
    parse_script,
)
from hive_resilience.loadrun.arrivals import planned_arrivals
from hive_resilience.loadrun.intervals import order_statistic_ranks, ratio_decided
from hive_resilience.loadrun.metrics import ARRIVALS_REQUEST, metric
from hive_resilience.loadrun.scenario import (
    AGGREGATED,
    Scenario,
    UserClassConfig,
    available_scenarios,
    load_scenario,
)
from hive_resilience.paths import LOAD_DIR

TASK_S = {"health": 0.1, "session_lifecycle": 2.5}
"""Mean seconds of work per task, measured (session_lifecycle: five requests and a chat reply)."""
LIFECYCLE_HTTP_REQUESTS = 5
"""create, read, chat, list and delete; McpToolsUser's calls only add to the aggregate."""
HEALTHY_TAIL_SHARE = 0.25
"""A healthy Hive puts at most this share of the tail an SLO allows beyond its threshold."""
MAX_SAMPLES = 100_000


def hive_api_task_weights() -> dict[str, int]:
    """``@task(n)`` weights of HiveApiUser, read from its source (importing Locust here would patch the test run)."""
    tree = ast.parse((LOAD_DIR / "hive_api.py").read_text())
    user = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "HiveApiUser")
    return {function.name: decorator.args[0].value
            for function in user.body if isinstance(function, ast.FunctionDef)
            for decorator in function.decorator_list
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "task"}


def requests_per_task(config: UserClassConfig, request: str) -> dict[str, float]:
    """How many ``request`` entries one run of each HiveApiUser task records, on average over the script mix.

    Every scripted tool call is counted for each tool journey the scenario gates (the stub's
    scripts call one tool); a request the model does not know fails the test rather than being guessed.
    """
    mix = config.scripts or {}
    scripts = {key: parse_script(key) for key in mix}
    total = sum(mix.values()) or 1
    per_lifecycle = {
        "chat time-to-reply": 1.0,
        FIRST_TOKEN_JOURNEY: 1.0 if mix else 0.0,
        **{REPLY_JOURNEY.format(script=script.key): mix[key] / total for key, script in scripts.items()},
    }
    if request == "GET /api/health":
        return {"health": 1}
    if request == AGGREGATED:
        return {"health": 1, "session_lifecycle": LIFECYCLE_HTTP_REQUESTS}
    if request.startswith(TOOL_JOURNEY.format(tool="")):
        return {"session_lifecycle": sum(mix[key] * script.expected_tool_calls for key, script in scripts.items()) / total}
    return {"session_lifecycle": per_lifecycle[request]}


def expected_samples(scenario: Scenario, request: str) -> float:
    """HiveApiUser iterations over the scenario's stages (the first ramp counted as idle) times the request's share."""
    config = scenario.user_classes["HiveApiUser"]
    weights = hive_api_task_weights()
    share = config.weight / sum(user.weight for user in scenario.user_classes.values())
    if scenario.arrivals is not None:  # the open model: its planned arrivals, each one HiveApiUser task
        arrivals = sum(planned_arrivals(scenario.arrivals.stages))
        if request == ARRIVALS_REQUEST:
            return arrivals
        iterations = arrivals * share
    else:
        iteration_s = sum(config.wait_s) / 2 + sum(weight * TASK_S[task] for task, weight in weights.items()) / sum(
            weights.values())
        first = scenario.stages[0]
        user_seconds = sum(math.floor(stage.users * share) * stage.duration_s for stage in scenario.stages)
        user_seconds -= math.floor(first.users * share) * min(first.duration_s, first.users / first.spawn_rate)
        iterations = user_seconds / iteration_s
    per_iteration = sum(weights[task] * count for task, count in requests_per_task(config, request).items()) / sum(weights.values())
    return iterations * per_iteration


def samples_needed(slo) -> int:
    """The fewest samples with which a healthy Hive's verdict on ``slo`` is decided, not inconclusive."""
    rule = metric(slo.metric).interval
    for samples in range(2, MAX_SAMPLES):
        if rule.kind == "ratio":
            decided = ratio_decided(0, samples, slo.max)
        elif rule.kind != "percentile":
            raise AssertionError(f"{slo.label}: no model of a healthy {rule.kind}; extend this test")
        else:
            quantile = rule.percentile / 100
            beyond = math.ceil(samples * (1 - quantile) * HEALTHY_TAIL_SHARE)
            decided = samples - beyond >= order_statistic_ranks(samples, quantile)[1]
        if decided:
            return samples
    raise AssertionError(f"{slo.label} is never decided")


@pytest.mark.parametrize("name", available_scenarios())
def test_every_gated_request_gets_enough_samples_to_decide(name):
    scenario = load_scenario(name)
    # A scenario that lets inconclusive verdicts pass (burst) asks only for the misses it can decide.
    gated = [slo for slo in scenario.effective_slos()
             if not slo.is_resource and metric(slo.metric).interval and slo.inconclusive == "fail"]
    short = [f"{slo.label}: ~{expected_samples(scenario, slo.request):.0f} samples expected, {samples_needed(slo)} needed"
             for slo in gated if expected_samples(scenario, slo.request) < samples_needed(slo)]
    assert not short, f"scenario {name}: " + "; ".join(short)


def test_the_model_finds_the_old_60_s_smoke_too_short():
    short_smoke = load_scenario("smoke").model_copy(update={"stages": (load_scenario("smoke").stages[0].model_copy(
        update={"duration_s": 60.0}),)})
    health = next(slo for slo in short_smoke.effective_slos() if slo.request == "GET /api/health")
    assert expected_samples(short_smoke, "GET /api/health") < samples_needed(health)
