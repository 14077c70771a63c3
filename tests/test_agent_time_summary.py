"""The agent sections of summary.json: where scripted replies' time went, and who called the tools
server; the console verdict and the HTML report show both, and summaries without them still load."""

from __future__ import annotations

import json

import pytest

from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE, LatencyBook
from hive_resilience.loadrun.summary import (
    SUMMARY_FILE,
    RunSummary,
    agent_time_split,
    read_summary,
    request_rows,
    tools_server_calls,
    verdict_lines,
    write_summary,
)
from hive_resilience.reporting.html_report import write_report


def scripted_book() -> LatencyBook:
    """Two whole replies of 1000 and 2000 ms, and three tool calls, as HiveApiUser reports them."""
    book = LatencyBook()
    for model_ms, tools_ms, hive_ms in ((600, 100, 300), (1200, 300, 500)):
        book.record(JOURNEY_REQUEST_TYPE, "agent time in model", model_ms, False)
        book.record(JOURNEY_REQUEST_TYPE, "agent time in tools", tools_ms, False)
        book.record(JOURNEY_REQUEST_TYPE, "agent time in Hive", hive_ms, False)
    for tool_ms in (40, 60, 200):
        book.record(JOURNEY_REQUEST_TYPE, "tool risk_score", tool_ms, False)
    for _ in range(5):
        book.record("POST", "mcp tools/call risk_score", 5, False)
    return book


def test_the_split_is_the_mean_per_reply_and_its_parts_sum_to_the_reply():
    split = agent_time_split(scripted_book())
    assert split.replies == 2 and split.tool_calls == 3
    assert (split.model_ms_mean, split.tools_ms_mean, split.hive_ms_mean) == pytest.approx((900, 200, 400), rel=1e-3)
    assert split.reply_ms_mean == pytest.approx(1500, rel=1e-3)
    assert [round(percent) for _, _, percent in split.parts()] == [60, 13, 27]


def test_no_split_without_scripted_replies():
    book = LatencyBook()
    book.record(JOURNEY_REQUEST_TYPE, "chat time-to-reply", 500, False)
    assert agent_time_split(book) is None


def test_tools_server_calls_during_the_run_are_split_between_hive_and_the_load_user():
    calls = tools_server_calls({"risk_score": 10, "__aden_verified_manifest": 2},
                               {"risk_score": 22, "__aden_verified_manifest": 5, "csv_read": 3}, scripted_book())
    assert {tool: (c.received, c.from_load_users, c.from_hive) for tool, c in calls.items()} == {
        "__aden_verified_manifest": (3, 0, 3), "csv_read": (3, 0, 3), "risk_score": (12, 5, 7)}


def summary_with_agent_sections(report_dir: str) -> RunSummary:
    book = scripted_book()
    return RunSummary(scenario={"name": "smoke"}, duration_s=30.0, requests=request_rows(book, 30.0), slos=[],
                      passed=True, report_dir=report_dir, agent_time=agent_time_split(book),
                      tools_server_calls=tools_server_calls({}, {"risk_score": 12}, book))


def test_the_sections_survive_summary_json_and_reach_the_console_verdict(tmp_path):
    summary = summary_with_agent_sections(str(tmp_path))
    assert read_summary(write_summary(tmp_path, summary)) == summary
    lines = verdict_lines(summary)
    assert "Agent replies: 2, mean 1500 ms = model 900 ms (60 %), tools 200 ms (13 %), Hive 400 ms (27 %); 3 tool calls" \
        in lines
    assert "Tools server calls (from Hive / from McpToolsUser): risk_score 7/5" in lines


def test_a_summary_without_agent_sections_still_loads(tmp_path):
    raw = json.loads(summary_with_agent_sections(str(tmp_path)).model_dump_json())
    del raw["agent_time"], raw["tools_server_calls"]
    (tmp_path / SUMMARY_FILE).write_text(json.dumps(raw))
    summary = read_summary(tmp_path / SUMMARY_FILE)
    assert summary.agent_time is None and summary.tools_server_calls is None
    assert not any(line.startswith(("Agent replies", "Tools server")) for line in verdict_lines(summary))


def test_the_html_report_shows_the_split_and_the_tools_server_calls(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_summary(run_dir, summary_with_agent_sections(str(run_dir)))
    page = write_report([run_dir], tmp_path / "out").read_text()
    assert "<tr><td>model</td><td>900</td><td>60 %</td></tr>" in page
    assert "<tr><td>risk_score</td><td>12</td><td>7</td><td>5</td></tr>" in page
