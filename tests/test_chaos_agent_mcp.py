"""The MCP chaos experiments judged on the agent's path, run for real with `chaos run`.

Hive reaches the tools server through the fault proxy, so the queen's tool calls cross each
fault; each experiment states a promise in its description and these tests check what it found
on the real Hive. Where Hive 1.0.12 breaks a promise the test is a strict known-defect xfail
that pins the figures it breaks it with.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from test_chaos_local import assert_no_fault_left, chaos_run, report

from hive_resilience.paths import REPO_ROOT
from hive_resilience.target.embedded import EmbeddedTarget

pytestmark = pytest.mark.embedded

EXPERIMENTS = REPO_ROOT / "chaos" / "experiments" / "local"


def activity(journal: dict, name: str) -> dict:
    """The journal's record of the method activity or steady-state-after probe called ``name``."""
    after = (journal.get("steady_states") or {}).get("after") or {}
    runs = journal["run"] + after.get("probes", [])
    return next(run for run in runs if run["activity"]["name"] == name)


def held(journal: dict, name: str) -> dict:
    """The figures of the promise probe ``name``, which must have held."""
    run = activity(journal, name)
    assert run["status"] == "succeeded", run.get("exception", ["?"])[-1]
    assert run["output"]["verdict"] == "held"
    return run["output"]


def run_experiment(name: str, target, cwd) -> tuple[object, dict, str]:
    """`chaos run` of the local experiment ``name``: its result, journal and summary; no fault may be left."""
    result = chaos_run(EXPERIMENTS / f"{name}.yaml", target, cwd)
    journal, summary = report(cwd)
    assert_no_fault_left(target)
    return result, journal, summary


def pin_broken_promise(known_defect, run: tuple[object, dict, str], probe: str, figures_pattern: str,
                       figures: Callable[[re.Match], None] | None = None) -> None:
    """The experiment should hold; today it deviates at the promise probe ``probe`` only, and the
    promise's ActivityFailed message, in the journal and the summary, matches ``figures_pattern``;
    ``figures`` checks the numbers the pattern's groups caught."""
    result, journal, summary = run

    def right():
        assert result.returncode == 0 and not journal["deviated"], "the experiment deviated"

    def today():
        assert result.returncode != 0 and journal["hive_resilience"]["method_probes_missed"] == [probe]
        failed = activity(journal, probe)
        assert failed["status"] == "failed", failed.get("output")
        message = failed["exception"][-1]
        found = re.search(figures_pattern, message)
        assert found, message
        if figures is not None:
            figures(found)
        assert "**Verdict: DEVIATED**" in summary and re.search(rf"- {probe}: {figures_pattern}", summary), summary

    known_defect.check(right, today)


def hive_pid(target: EmbeddedTarget) -> int:
    return EmbeddedTarget.attach(target.run_dir).state.components["hive-api"].process().pid


def test_mcp_latency_slows_each_agent_tool_call_by_about_the_injected_latency(chaos_target, tmp_path):
    result = chaos_run(EXPERIMENTS / "mcp-latency.yaml", chaos_target, tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    journal, _ = report(tmp_path)
    assert not journal["deviated"]
    during = held(journal, "agent-tool-calls-500ms-slower")
    assert 350 <= during["added_ms_per_call"] <= 1500 and during["replied"] == during["as_scripted"] == 5
    after = held(journal, "agent-tool-calls-at-baseline")
    assert abs(after["added_ms_per_call"]) <= 150
    assert_no_fault_left(chaos_target)


@pytest.mark.known_defect("Hive 1.0.12 calls its MCP server on its event loop while it creates a session: "
                          "with 2 s of MCP latency every other request waits 2 s")
def test_opening_a_session_through_a_slow_mcp_path_leaves_the_rest_of_hive_responsive(chaos_target, tmp_path,
                                                                                    known_defect):
    run = run_experiment("mcp-latency-2s", chaos_target, tmp_path)
    baseline = run[1]["steady_states"]["before"]["probes"][0]["output"]
    assert baseline["verdict"] == "held" and baseline["health_calls"] >= 1

    def one_round_trip_stall(found: re.Match) -> None:
        # One MCP round trip (the injected 2 s) on the event loop, plus the session's own CPU work.
        stall_s, session_s = float(found.group(1)), float(found.group(2))
        assert 2.0 <= stall_s <= 4.0 and 2.0 <= session_s <= 5.0, found.group(0)

    pin_broken_promise(known_defect, run, "api-answers-while-a-session-opens-through-the-slow-path",
                       r"promise 'API answers within 1 s while a session opens' broken: GET /api/health took "
                       r"([\d.]+) s while a session opened in ([\d.]+) s \(bound 1 s\)", one_round_trip_stall)


def test_a_killed_tools_server_gives_a_quick_tool_error_and_hive_recovers_without_restart(chaos_target, tmp_path):
    pid_before = hive_pid(chaos_target)
    result = chaos_run(EXPERIMENTS / "tools-server-killed.yaml", chaos_target, tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    journal, _ = report(tmp_path)
    assert not journal["deviated"]
    tool_turn, plain_turn = held(journal, "clear-tool-error-and-session-usable")["each"]
    assert tool_turn["tool_errors"] == 1 and tool_turn["reply_s"] <= 15
    assert plain_turn["outcome"] == "replied" and plain_turn["problem"] is None
    assert held(journal, "agent-tool-calls-work-again-without-restarting-hive")["tool_errors"] == 0
    assert hive_pid(chaos_target) == pid_before
    assert_no_fault_left(chaos_target)


@pytest.mark.known_defect("Hive 1.0.12: while its registered MCP server hangs, every new session waits out "
                          "the 30 s MCP timeout before Hive answers POST /api/sessions")
def test_a_hung_tools_server_gives_a_tool_error_and_leaves_new_sessions_unaffected(chaos_target, tmp_path, known_defect):
    run = run_experiment("tools-server-slow", chaos_target, tmp_path)
    journal = run[1]
    # What holds today: the hung tool call ends in a tool error after Hive's 30 s timeout, the
    # same session answers, and tool calls work once the server does.
    tool_turn, plain_turn = held(journal, "tool-error-within-45s-and-session-usable")["each"]
    assert tool_turn["tool_errors"] == 1 and 25 <= tool_turn["reply_s"] <= 45
    assert plain_turn["outcome"] == "replied"
    assert held(journal, "agent-tool-calls-work-again")["tool_errors"] == 0

    def waited_out_the_mcp_timeout(found: re.Match) -> None:
        # The probe's session waits out Hive's 30 s MCP timeout, or longer queued behind the load's.
        assert found.group(2) is None or float(found.group(2)) >= 29, found.group(0)

    pin_broken_promise(known_defect, run, "new-session-and-plain-reply-unaffected",
                       r"promise 'plain replies as scripted' broken: (a session took ([\d.]+) s to create "
                       r"\(bound 5 s\)|Hive gave no new session after 45\.\d s)", waited_out_the_mcp_timeout)
