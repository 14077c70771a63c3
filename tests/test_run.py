"""The main job end to end against the real Hive, and the no-false-green promise."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from hive_resilience.target.embedded import EmbeddedTarget, free_ports

pytestmark = pytest.mark.embedded

SHORT_SCENARIO = """
name: {name}
description: a short run for the no-false-green tests
users: 4
spawn_rate: 4
duration: 15s
reply_timeout_s: 5
user_classes:
  HiveApiUser: {{weight: 1, wait_s: [0.5, 1]}}
  McpToolsUser: {{weight: 1, wait_s: [0.5, 1]}}
slos:
  - {{metric: error_ratio, request: "chat time-to-reply", max: 0.05}}
  - {{metric: requests, request: "mcp tools/call get_current_time", min: 1}}
"""


def hive_resilience_run(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, dict]:
    result = subprocess.run([sys.executable, "-m", "hive_resilience.cli", "run", *args],
                            capture_output=True, text=True, timeout=300, cwd=cwd)
    run_dirs = sorted((cwd / "reports").glob("*"))
    assert run_dirs, result.stdout + result.stderr
    return result, json.loads((run_dirs[-1] / "summary.json").read_text())


def request(summary: dict, name: str) -> dict:
    return next(row for row in summary["requests"] if row["name"] == name)


def failed_slos(summary: dict) -> set[str]:
    return {verdict["label"] for verdict in summary["slos"] if verdict["status"] == "fail"}


def test_smoke_against_the_embedded_hive_passes_with_traffic_on_both_servers(tmp_path):
    # 20 s cannot decide a p99: the quick look counts inconclusive verdicts as pass, and only
    # an SLO whose whole interval is beyond its threshold fails it.
    ports = free_ports()
    result, summary = hive_resilience_run(
        "smoke", "--duration", "20s", "--inconclusive", "pass", "--api-port", str(ports.api), "--mcp-port", str(ports.mcp),
        "--llm-port", str(ports.llm), cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "RESULT: PASS" in result.stdout
    assert summary["passed"] and summary["scenario"]["compressed_from_s"] == 300
    for name in ("POST /api/sessions", "JOURNEY chat time-to-reply", "POST mcp tools/call get_current_time", "Aggregated"):
        assert request(summary, name)["requests"] > 0 and request(summary, name)["failures"] == 0, name
    assert summary["resources"]["sessions_created"] > 0
    assert set(summary["resources"]["components"]) == {"hive-api", "tools", "llm-stub"}
    run_dir = Path(summary["report_dir"])
    if not run_dir.is_absolute():
        run_dir = tmp_path / run_dir
    for name in ("locust.html", "locust_stats.csv", "locust_stats_history.csv", "junit.xml", "resources.csv"):
        assert (run_dir / name).is_file(), name
    hive_log = (run_dir / "target" / "logs" / "hive-api.log").read_text()
    assert "/api/sessions" in hive_log


@pytest.fixture
def stub_faults(embedded_target: EmbeddedTarget):
    def put(faults: dict) -> None:
        request_ = urllib.request.Request(f"{embedded_target.llm_url}/admin/faults", data=json.dumps(faults).encode(),
                                          method="PUT")
        urllib.request.urlopen(request_, timeout=5).close()

    yield put
    urllib.request.urlopen(urllib.request.Request(f"{embedded_target.llm_url}/admin/faults/reset", method="POST")).close()


def test_llm_failing_every_call_fails_the_run_and_names_the_broken_slo(tmp_path, embedded_target, stub_faults,
                                                                      write_scenario):
    stub_faults({"failure_ratio": 1.0})
    scenario = write_scenario(SHORT_SCENARIO.format(name="llm-down"))
    result, summary = hive_resilience_run(str(scenario), "--host", embedded_target.api_url, "--mcp-host",
                                          embedded_target.mcp_url, cwd=tmp_path)
    assert result.returncode == 1
    assert "error_ratio <= 0.05 (chat time-to-reply)" in failed_slos(summary)
    assert "RESULT: FAIL" in result.stdout and "FAIL         error_ratio <= 0.05 (chat time-to-reply)" in result.stdout


def test_tools_server_down_fails_the_run_and_names_the_broken_slo(tmp_path, embedded_target, write_scenario):
    embedded_target.stop_component("tools")
    try:
        scenario = write_scenario(SHORT_SCENARIO.format(name="mcp-down"))
        result, summary = hive_resilience_run(str(scenario), "--host", embedded_target.api_url, "--mcp-host",
                                              embedded_target.mcp_url, cwd=tmp_path)
    finally:
        embedded_target.start_component("tools")
        embedded_target.wait_until_ready("tools")
    assert result.returncode == 1
    assert {"error_ratio <= 0.05 (Aggregated)", "requests >= 1 (mcp tools/call get_current_time)"} <= failed_slos(summary)
    assert request(summary, "POST mcp initialize")["failures"] > 0
