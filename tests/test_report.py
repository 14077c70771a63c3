"""Report files: run folders never overwrite, JUnit has one case per SLO."""

from __future__ import annotations

from xml.etree import ElementTree

from hive_resilience.loadrun.scenario import Slo
from hive_resilience.loadrun.slo import judge
from hive_resilience.loadrun.summary import (
    RunSummary,
    generator_figures,
    new_run_dir,
    verdict_lines,
    write_junit,
)


def test_run_folders_are_new_even_within_the_same_second(tmp_path):
    first, second = new_run_dir("smoke", tmp_path), new_run_dir("smoke", tmp_path)
    assert first != second and first.is_dir() and second.is_dir()


def test_junit_has_a_case_per_slo_with_failures_and_skips(tmp_path):
    verdicts = [
        judge(Slo(metric="p99_ms", max=2000), 2500, "fail", ""),
        judge(Slo(metric="error_ratio", max=0.05), 0.0, "fail", ""),
        judge(Slo(metric="rss_mb", max=100), None, "not measured", "remote target"),
    ]
    suite = ElementTree.parse(write_junit(tmp_path, "smoke", verdicts)).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = suite.find("testcase/failure")
    assert "measured 2500" in failure.get("message") and "p99_ms <= 2000" in failure.get("message")


def test_generator_is_saturated_when_it_averages_ninety_percent_of_a_core():
    assert generator_figures([95, 92, 99])["saturated"]
    assert not generator_figures([40, 60])["saturated"]
    assert generator_figures([])["cpu_percent_mean"] is None


def test_verdict_lines_say_compression_and_the_result():
    summary = RunSummary(
        scenario={"name": "smoke", "compressed_from_s": 60},
        duration_s=1.0,
        requests=[],
        slos=[judge(Slo(metric="p99_ms", max=2000), 2500, "fail", "")],
        warnings=["generator saturated"],
        passed=False,
        report_dir="reports/x",
    )
    lines = verdict_lines(summary)
    assert "compressed from 60 s" in lines[0]
    assert lines[1].strip().startswith("FAIL") and "WARNING: generator saturated" in lines
    assert lines[-1] == "RESULT: FAIL - report in reports/x"
