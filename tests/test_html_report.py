"""The resilience report: promises judged from the runs, charts with data (the browser check is in e2e/)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from report_runs import chaos_run, e2e_run, load_run

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
