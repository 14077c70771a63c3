"""The refresh command for DashboardUser's recording works against the real dashboard."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

from hive_resilience.loadrun.dashboard_recording import load_recording


def test_record_dashboard_records_the_page_load_the_conversation_and_the_polling(tmp_path):
    output = tmp_path / "dashboard_recording.json"
    result = subprocess.run(
        [sys.executable, "-m", "hive_resilience.cli", "record-dashboard", "--output", str(output),
         "--polling-s", "8", "--dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    recording = load_recording(output)
    assert recording.hive_version == importlib.metadata.version("aden-hive")
    page_load = {f"{call.method} {call.path}" for call in recording.in_phase("page_load")}
    assert {"GET /api/sessions", "GET /api/queen/profiles"} <= page_load, page_load
    conversation = {f"{call.method} {call.path}" for call in recording.in_phase("conversation_open")}
    assert "POST /api/sessions/[id]/chat" in conversation, conversation
    assert any(call.interval_s for call in recording.in_phase("polling")), recording.calls
    assert f"written: {output}" in result.stdout
