"""The resilience report: promises judged from the runs, charts with data, a page a browser renders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hive_resilience.reporting.html_report import write_report

HISTORY_HEADER = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"


def load_run(root: Path, name: str, p99_status: str = "pass") -> Path:
    run = root / name
    run.mkdir(parents=True)
    slos = [
        {"label": "p99_ms <= 2000 (Aggregated)", "metric": "p99_ms", "request": "Aggregated", "threshold": 2000,
         "bound": "max", "measured": 400.0 if p99_status == "pass" else 2500.0, "status": p99_status, "detail": ""},
        {"label": "error_ratio <= 0.05 (Aggregated)", "metric": "error_ratio", "request": "Aggregated", "threshold": 0.05,
         "bound": "max", "measured": 0.0, "status": "pass", "detail": ""},
    ]
    summary = {"scenario": {"name": "smoke", "compressed_from_s": 60}, "passed": p99_status == "pass", "warnings": [],
               "slos": slos, "requests": [{"name": "Aggregated", "requests": 10, "failures": 0, "p50_ms": 5.0,
                                            "p95_ms": 100.0, "p99_ms": 400.0, "rps": 2.0, "error_ratio": 0.0}]}
    (run / "summary.json").write_text(json.dumps(summary))
    rows = [f"{1000 + t},10,,Aggregated,{5 + t % 3},0,5,6,7,8,9,10,11,12,13,14,15" for t in range(20)]
    (run / "locust_stats_history.csv").write_text("\n".join([HISTORY_HEADER, *rows]) + "\n")
    return run


def chaos_run(root: Path, name: str, tags: list[str], deviated: bool = False, sessions_lost: int = 0) -> Path:
    run = root / name
    (run / "load").mkdir(parents=True)
    journal = {
        "experiment": {"title": name, "tags": tags}, "status": "completed", "deviated": deviated,
        "steady_states": {"after": {"probes": [{"activity": {"provider": {"func": "sessions_lost"}},
                                               "status": "succeeded", "output": sessions_lost}]}},
        "run": [{"activity": {"provider": {"func": "time_to_recover"}}, "status": "succeeded", "output": 3.2}],
        "hive_resilience": {"load": {"report_dir": str(run / "load"), "phases": {
            "baseline": {"start": 1000, "end": 1005, "requests": 50, "rps": 10, "error_ratio": 0, "p95_ms": 100, "p99_ms": 200},
            "during_fault": {"start": 1005, "end": 1010, "requests": 40, "rps": 8, "error_ratio": 0.2, "p95_ms": 900, "p99_ms": 999},
            "after_recovery": {"start": 1010, "end": 1019, "requests": 90, "rps": 10, "error_ratio": 0, "p95_ms": 100, "p99_ms": 200}}}},
    }
    (run / "journal.json").write_text(json.dumps(journal))
    rows = [f"{1000 + t},6,,Aggregated,10,{4 if 5 <= t < 10 else 0},5,6,7,8,9,10,11,12,13,14,15" for t in range(20)]
    (run / "load" / "locust_stats_history.csv").write_text("\n".join([HISTORY_HEADER, *rows]) + "\n")
    return run


def e2e_run(root: Path) -> Path:
    run = root / "e2e"
    run.mkdir(parents=True)
    failed = run / "test-broken"
    failed.mkdir()
    (failed / "test-failed-1.png").write_bytes(b"\x89PNG")
    results = [
        {"test": "test_reply", "outcome": "passed", "known_defect": None, "duration_s": 4.2,
         "timings": {"time-to-reply": 1.7}, "artifacts": None},
        {"test": "test_broken", "outcome": "failed", "known_defect": None, "duration_s": 9.0, "timings": {},
         "artifacts": str(failed)},
        {"test": "test_outage_error", "outcome": "xfailed", "known_defect": "spinner only", "duration_s": 50.0,
         "timings": {}, "artifacts": None},
    ]
    (run / "results.json").write_text(json.dumps(results))
    return run


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


def test_the_page_renders_in_chromium_with_charts_fault_windows_and_no_console_errors(tmp_path, browser):
    runs = [load_run(tmp_path, "load-a"), chaos_run(tmp_path, "kill", ["process-kill"]), e2e_run(tmp_path)]
    report = write_report(runs, tmp_path / "out")
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(report.as_uri())
    assert page.get_by_role("heading", name="Hive resilience report").is_visible()
    charts = page.locator("svg.chart")
    assert charts.count() == 6
    for index in range(charts.count()):
        assert charts.nth(index).locator("circle.point").count() >= 20
    assert page.locator("rect.fault").count() == 3
    assert page.get_by_role("link", name="test-failed-1.png").count() == 1
    assert page.get_by_text("spinner only").is_visible()
    assert errors == []
    page.close()


def test_the_cli_writes_the_report_from_the_reports_folder_and_refuses_a_missing_folder(tmp_path):
    load_run(tmp_path / "reports", "20261127T000000Z-smoke")
    command = [sys.executable, "-m", "hive_resilience.cli", "report"]
    built = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert built.returncode == 0 and "report: reports/resilience-report-" in built.stdout
    missing = subprocess.run([*command, "nowhere"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip() == "hive-resilience: nowhere: no such run folder"
