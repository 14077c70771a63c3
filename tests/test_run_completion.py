"""No green from an interrupted or empty run: a run that did not finish its plan never passes.

The Locust tests run plain ``locust -f load/ --headless`` against a loopback port where nothing
listens, with SLOs so permissive that every finished run would pass: whatever fails, the plan
not being finished did it.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Self
from xml.etree import ElementTree

import pytest
from test_run_summary import current_summary

from hive_resilience.loadrun import run as run_module
from hive_resilience.loadrun.locust_process import LocustCommand, LocustProcess
from hive_resilience.loadrun.run import RunError, RunRequest
from hive_resilience.loadrun.summary import (
    COMPLETION_CASE,
    JUNIT_FILE,
    SUMMARY_FILE,
    unfinished_plan,
    write_junit,
    write_summary,
)
from hive_resilience.target.embedded import LOOPBACK, free_port

PERMISSIVE_SCENARIO = """
name: permissive
description: passes whatever the target answers, as long as the plan is played
users: 2
spawn_rate: 2
duration: {duration}
inconclusive: pass
user_classes:
  HiveApiUser: {{weight: 1, wait_s: [0.2, 0.5]}}
slos:
  - {{metric: error_ratio, max: 1.0}}
  - {{metric: requests, min: 0}}
{extra_slos}
"""
LOCUST_TIMEOUT_S = 90
STARTED_TIMEOUT_S = 60


def plain_locust(tmp_path: Path, duration: str, extra_slos: str = "", interrupt: bool = False) -> tuple[int, str, Path]:
    """Run plain headless Locust on ``load/``; with ``interrupt``, Ctrl-C it once users run."""
    scenario = tmp_path / "permissive.yaml"
    scenario.write_text(PERMISSIVE_SCENARIO.format(duration=duration, extra_slos=extra_slos))
    report_dir = tmp_path / "report"
    command = LocustCommand(scenario=str(scenario), host=f"http://{LOOPBACK}:{free_port()}", report_dir=report_dir)
    running = threading.Event()
    with LocustProcess(command, tmp_path / "locust.log", cwd=tmp_path,
                       on_line=lambda line: "Ramping to" in line and running.set()) as locust:
        if interrupt:
            assert running.wait(STARTED_TIMEOUT_S), (tmp_path / "locust.log").read_text()[-3000:]
            locust.interrupt()
        exit_code = locust.wait(LOCUST_TIMEOUT_S)
    return exit_code, (tmp_path / "locust.log").read_text(), report_dir


def completion_case(report_dir: Path) -> ElementTree.Element | None:
    suite = ElementTree.parse(report_dir / JUNIT_FILE).getroot()
    return suite.find(f"testcase[@name='{COMPLETION_CASE}']/error")


def test_a_run_that_stopped_before_its_planned_duration_did_not_finish_its_plan():
    assert "stopped after 10 s of the planned 60 s" in unfinished_plan(60.0, 1000.0, 1010.0)


def test_a_run_that_played_its_plan_is_complete():
    assert unfinished_plan(60.0, 1000.0, 1060.4) is None


def test_a_run_that_never_started_its_load_did_not_finish_its_plan():
    assert unfinished_plan(60.0, None, 1010.0) == "no load was started"


def test_plain_locust_interrupted_with_ctrl_c_exits_non_zero_and_records_the_run_as_incomplete(tmp_path):
    exit_code, output, report_dir = plain_locust(tmp_path, "60s", interrupt=True)
    summary = json.loads((report_dir / SUMMARY_FILE).read_text())
    assert exit_code != 0, output[-3000:]
    assert summary["completed"] is False and summary["passed"] is False
    assert "of the planned 60 s" in summary["incomplete_reason"] and "INCOMPLETE:" in output
    error = completion_case(report_dir)
    assert error is not None and "of the planned 60 s" in error.get("message")


def test_a_finished_plain_locust_run_on_loopback_fails_unsampled_resource_slos_and_charts_the_gate(tmp_path):
    exit_code, output, report_dir = plain_locust(tmp_path, "3s", extra_slos="  - {metric: rss_mb, max: 2048}")
    summary = json.loads((report_dir / SUMMARY_FILE).read_text())
    assert summary["completed"] is True and completion_case(report_dir) is None
    (rss,) = [verdict for verdict in summary["slos"] if verdict["metric"] == "rss_mb"]
    assert rss["status"] == "fail" and "no samples of the embedded target's processes" in rss["detail"]
    assert exit_code == 1 and summary["embedded_target"] is True, output[-3000:]
    timeline = json.loads((report_dir / "timeline.json").read_text())
    aggregated = next(row for row in summary["requests"] if row["name"] == "Aggregated")
    charted = sum(window["requests"].get("Aggregated", {}).get("requests", 0) for window in timeline["windows"])
    assert charted == aggregated["requests"] > 0


class FakeLocust:
    """Stands for the deciding Locust process: writes a passing report when it stops, as the plugin would."""

    def __init__(self, run_dir: Path, wait_raises: BaseException) -> None:
        self.run_dir, self.wait_raises, self.log_path = run_dir, wait_raises, run_dir / "locust.log"

    def wait(self, timeout_s: float) -> int:
        raise self.wait_raises

    def stop(self, until: float) -> int:
        summary = current_summary(str(self.run_dir))
        write_summary(self.run_dir, summary)
        write_junit(self.run_dir, "smoke", summary.slos)
        return 0

    def kill(self) -> int:
        return 0


@pytest.mark.parametrize(("raised", "reason"), [
    (subprocess.TimeoutExpired("locust", 1), "did not finish within"),
    (KeyboardInterrupt(), "interrupted (Ctrl-C)"),
], ids=["overrun-kill", "ctrl-c"])
def test_a_passing_report_of_a_locust_that_was_stopped_is_marked_incomplete(tmp_path, monkeypatch, raised, reason):
    monkeypatch.setattr(run_module, "_start", lambda role, run_dir: FakeLocust(run_dir, raised))
    with pytest.raises((RunError, KeyboardInterrupt)):
        run_module._run_locust(run_module.LocustCommand(), tmp_path, 10.0, workers=0)
    summary = json.loads((tmp_path / SUMMARY_FILE).read_text())
    assert (summary["completed"], summary["passed"]) == (False, False) and reason in summary["incomplete_reason"]
    assert reason in completion_case(tmp_path).get("message")


class FakeTarget:
    """An embedded target whose Hive died during the run; only its tools server is left."""

    components = ("hive", "tools")

    def __init__(self, run_dir: Path, *_: object) -> None:
        self.run_dir, self.api_url, self.mcp_url = run_dir, "http://127.0.0.1:1", "http://127.0.0.1:2"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def processes(self) -> dict[str, list]:
        return {"tools": []}


class NoSampler:
    def __init__(self, *_: object) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        pass


def test_a_run_whose_embedded_target_died_fails_and_its_report_says_so(tmp_path, monkeypatch):
    def passing_locust(command, run_dir: Path, duration_s: float, workers: int) -> int:
        FakeLocust(run_dir, KeyboardInterrupt()).stop(0.0)
        return 0

    monkeypatch.setattr(run_module, "EmbeddedTarget", FakeTarget)
    monkeypatch.setattr(run_module, "ResourceSampler", NoSampler)
    monkeypatch.setattr(run_module, "_run_locust", passing_locust)
    with pytest.raises(RunError, match="hive died during the run"):
        run_module.run(RunRequest(scenario="smoke", reports_dir=tmp_path))
    (summary_path,) = tmp_path.glob(f"*/{SUMMARY_FILE}")
    summary = json.loads(summary_path.read_text())
    assert summary["passed"] is False and "hive died" in summary["incomplete_reason"]
