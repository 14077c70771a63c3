"""The resilience report: promises judged from the runs, charts with data (the browser check is in e2e/)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from report_runs import chaos_run, e2e_run, load_run

from hive_resilience.loadrun.timeline import TimelineRecorder, write_timeline
from hive_resilience.reporting.html_report import write_report


def promise_rows(page: str) -> dict[str, str]:
    table = page.split("<table class='promises'>")[1].split("</table>")[0]
    rows = {}
    for row in table.split("<tr")[2:]:
        cells = [cell.split("</td>")[0] for cell in row.split("<td>")[1:]]
        rows[cells[0]] = cells[1]
    return rows


def test_promises_are_held_broken_or_not_tested_from_the_runs(tmp_path):
    runs = [load_run(tmp_path, "load-a"), load_run(tmp_path, "load-b", p99_status="fail"),
            chaos_run(tmp_path, "kill", ["process-kill"]), chaos_run(tmp_path, "crash", ["rpo"], sessions_lost=2)]
    page = write_report(runs, tmp_path / "out").read_text()
    assert promise_rows(page) == {
        "p99 under 2 s": "broken",
        "errors under 5 %": "held",
        "one pod or process lost and nobody notices": "held",
        "zero-downtime rollout": "not tested",
        "no session lost on a crash (RPO 0)": "broken",
    }


def test_nothing_is_held_without_a_run_that_tested_it(tmp_path):
    page = write_report([e2e_run(tmp_path)], tmp_path / "out").read_text()
    assert set(promise_rows(page).values()) == {"not tested"}


def test_a_deviated_experiment_breaks_its_promise(tmp_path):
    page = write_report([chaos_run(tmp_path, "kill", ["pod-kill"], deviated=True)], tmp_path / "out").read_text()
    assert promise_rows(page)["one pod or process lost and nobody notices"] == "broken"


def test_reports_are_never_overwritten(tmp_path):
    runs = [load_run(tmp_path, "load-a")]
    first, second = write_report(runs, tmp_path / "out"), write_report(runs, tmp_path / "out")
    assert first != second and first.exists() and second.exists()


def test_folders_without_run_output_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="none of the folders"):
        write_report([tmp_path / "empty"], tmp_path / "out")




def test_the_cli_writes_the_report_from_the_reports_folder_and_refuses_a_missing_folder(tmp_path):
    load_run(tmp_path / "reports", "20261127T000000Z-smoke")
    command = [sys.executable, "-m", "hive_resilience.cli", "report"]
    built = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert built.returncode == 0 and "report: reports/resilience-report-" in built.stdout
    missing = subprocess.run([*command, "nowhere"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip() == "hive-resilience: nowhere: no such run folder"


def test_a_run_that_reached_nothing_is_reported_as_not_measured(tmp_path):
    run = load_run(tmp_path, "empty", p99_status="fail")
    summary = json.loads((run / "summary.json").read_text())
    summary["slos"][0]["measured"] = None
    summary["slos"][0]["detail"] = "no request named 'Aggregated' was made"
    (run / "summary.json").write_text(json.dumps(summary))
    page = write_report([run], tmp_path / "out").read_text()
    assert promise_rows(page)["p99 under 2 s"] == "broken"
    assert "empty: not measured" in page and "<td>not measured</td>" in page


def test_the_charts_show_the_gates_windows_not_locusts_bucketed_history(tmp_path):
    run = load_run(tmp_path, "load-a")
    timeline = TimelineRecorder(window_s=1.0)
    timeline.start(1000.0)
    for second in range(5):
        timeline.record(1000.0 + second, "GET", "/api/health", 250.0 if second == 2 else 4.0, False)
        timeline.record(1000.0 + second, "JOURNEY", "chat time-to-reply", 9000.0, False)
    write_timeline(run, timeline.timeline(1004.5))
    page = write_report([run], tmp_path / "out").read_text()
    latency_chart = page.split("aria-label='latency ms (p50, p95, p99)'")[1].split("</svg>")[0]
    assert "(max 250 ms)" in latency_chart  # journeys stay out of the aggregate; Locust's CSV says 15
    rps_chart = page.split("aria-label='requests per second'")[1].split("</svg>")[0]
    assert "(max 1/s)" in rps_chart and rps_chart.count("<circle") == 5
