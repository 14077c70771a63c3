"""The Markdown summary of a chaos run: verdict, phases, recovery time, what was left behind."""

from __future__ import annotations

from hive_resilience.chaos.summary import render_summary


def phase(start: float, end: float, requests: int, error_ratio: float | None) -> dict:
    failures = round(requests * (error_ratio or 0))
    return {"start": start, "end": end, "requests": requests, "failures": failures, "rps": requests / (end - start),
            "error_ratio": error_ratio,
            "p50_ms": 4.0, "p95_ms": 140.0, "p99_ms": 300.0, "replies": 3, "reply_failures": 1}


def journal(deviated: bool, undone: list[str]) -> dict:
    recovery = {"activity": {"name": "tools-server-recovery-time", "provider": {"func": "time_to_recover"}},
                "status": "succeeded", "output": 2.46}
    return {
        "experiment": {"title": "Tools MCP server killed", "description": "Promise: recovered within 30 s."},
        "status": "completed",
        "deviated": deviated,
        "duration": 17.7,
        "steady_states": {"before": {"probes": [{"activity": {"name": "mcp-lists-tools"}, "status": "succeeded",
                                                 "output": 270, "tolerance_met": True}]}, "after": None},
        "run": [recovery],
        "rollbacks": [],
        "hive_resilience": {
            "load": {"phases": {"baseline": phase(0, 10, 100, 0.0), "during_fault": phase(10, 12, 40, 0.455),
                                "after_recovery": phase(12, 22, 150, 0.013)},
                     "slo_passed": False, "failed_slos": ["error_ratio <= 0.05 (Aggregated)"], "report_dir": "r/load"},
            "faults_at_end": [{"kind": "killed-component", "undone": undone, "unchecked": [], "remaining": []},
                              {"kind": "llm-faults", "undone": [], "unchecked": [], "remaining": []}],
            "undone_at_end": undone,
        },
    }


def test_summary_shows_the_three_phases_and_the_recovery_time():
    text = render_summary(journal(False, []))
    assert "**Verdict: COMPLETED**" in text
    assert "| during the fault | 2.0 | 40 | 18 | 20.0 | 0.455 |" in text
    assert "Failed over the whole experiment: 20 requests, 3 chat replies." in text
    assert "tools-server-recovery-time: **2.46 s**" in text
    assert "broken: error_ratio <= 0.05 (Aggregated)" in text
    assert "| steady state before: mcp-lists-tools | succeeded (tolerance met) | 270 |" in text
    assert "No fault was left behind. Checked: killed-component, llm-faults." in text


def test_a_deviated_run_says_so_and_lists_what_the_control_undid():
    text = render_summary(journal(True, ["restarted tools"]))
    assert "**Verdict: DEVIATED**" in text
    assert "restarted tools (undone by the control)" in text


def test_a_run_whose_leftover_faults_were_not_swept_does_not_claim_none_was_left():
    swept_nothing = journal(False, [])
    del swept_nothing["hive_resilience"]["faults_at_end"]
    text = render_summary(swept_nothing)
    assert "No fault was left behind" not in text
    assert "Leftover faults were not checked" in text
