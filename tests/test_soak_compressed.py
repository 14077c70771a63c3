"""A compressed soak against the real Hive produces every soak figure, and the console and the report state them.

Two and a half minutes cannot decide a 4 h soak's budgets, so it need not pass them: it must
measure each one (memory per component and per session, every request's latency trend, the
tail per second, MCP session churn) and say what it found.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hive_resilience.loadrun.metrics import METRICS
from hive_resilience.loadrun.resources import COMPONENT_GROWTH
from hive_resilience.target.embedded import free_ports

pytestmark = pytest.mark.embedded

COMPRESSED_TO = "150s"


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    """The compressed soak's console output, summary, timeline and HTML report."""
    cwd = tmp_path_factory.mktemp("soak")
    ports = free_ports()
    result = subprocess.run(
        [sys.executable, "-m", "hive_resilience.cli", "run", "soak", "--duration", COMPRESSED_TO, "--inconclusive", "pass",
         "--api-port", str(ports.api), "--mcp-port", str(ports.mcp), "--llm-port", str(ports.llm)],
        capture_output=True, text=True, timeout=600, cwd=cwd, check=False)
    run_dirs = sorted((cwd / "reports").glob("*-soak"))
    assert run_dirs and result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-3000:]
    report = subprocess.run([sys.executable, "-m", "hive_resilience.cli", "report", str(run_dirs[-1])],
                            capture_output=True, text=True, timeout=120, cwd=cwd, check=False)
    assert report.returncode == 0, report.stderr
    return {"stdout": result.stdout, "summary": json.loads((run_dirs[-1] / "summary.json").read_text()),
            "timeline": json.loads((run_dirs[-1] / "timeline.json").read_text()),
            "page": next((cwd / "reports").glob("resilience-report-*.html")).read_text()}


def test_it_plays_its_whole_compressed_plan(soak):
    assert soak["summary"]["completed"] and soak["summary"]["scenario"]["compressed_from_s"] == 4 * 3600


def test_every_component_has_its_memory_figures(soak):
    resources = soak["summary"]["resources"]
    for growth in COMPONENT_GROWTH:
        for name in growth.figure_names:
            assert resources["figures"][name] is not None, name
    assert resources["sessions_created"] > 0 and resources["mcp_sessions_opened"] > 0


def test_mcp_sessions_churn_and_are_closed(soak):
    rows = {row["name"]: row for row in soak["summary"]["requests"]}
    mcp_users = soak["summary"]["resources"]["mcp_sessions_opened"]
    closed = rows["DELETE mcp session delete"]["requests"]
    # every user closes its sessions when it stops; churn closes more while it runs
    assert closed > 0 and rows["POST mcp initialize"]["requests"] >= closed
    assert mcp_users > soak["stdout"].count("McpToolsUser") and "mcp session delete" in soak["page"]


def test_every_soak_slo_has_a_verdict_with_its_figure(soak):
    verdicts = {verdict["metric"]: verdict for verdict in soak["summary"]["slos"]}
    soak_metrics = [spec.name for spec in METRICS if spec.scope == "trend" or spec.name.startswith(
        tuple(growth.prefix + "_" for growth in COMPONENT_GROWTH))]
    for name in soak_metrics:
        if name in verdicts:
            assert verdicts[name]["measured"] is not None, verdicts[name]
    assert {"latency_trend_ms_per_hour", "latency_trend_ms_per_1k_sessions", "hive_rss_growth_kb_per_session",
            "tools_rss_growth_kb_per_mcp_session"} <= verdicts.keys()


def test_requests_made_through_the_run_have_a_latency_trend(soak):
    trends = soak["summary"]["latency_trends"]
    assert {"GET /api/health", "POST /api/sessions", "JOURNEY chat time-to-reply"} <= trends.keys()
    assert all(trend["ms_per_1k_sessions"] is not None for trend in trends.values())


def test_the_tail_is_kept_per_second_for_every_request(soak):
    timeline = soak["timeline"]
    assert timeline["tail_window_s"] == 1.0
    assert "GET /api/health" in timeline["tail"]
    every = timeline["tail"]["Aggregated"]
    assert len(every["window"]) > 100 and len(every["window"]) == len(every["p999_ms"]) == len(every["max_ms"])


def test_the_console_and_the_report_state_what_the_soak_found(soak):
    for growth in COMPONENT_GROWTH:
        assert f"Memory of the {growth.label}: peak RSS " in soak["stdout"]
    assert "Latency trend after warm-up (per-window median), fastest-growing: " in soak["stdout"]
    assert "latency_trend_ms_per_hour <= 100 (Aggregated): measured " in soak["stdout"]
    page = soak["page"]
    assert "<h3>Memory by component</h3>" in page and "<h3>Latency trend after warm-up</h3>" in page
    assert "aria-label='GET /api/health: p99.9 and max per 1 s'" in page
