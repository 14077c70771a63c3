"""The resilience report renders in a real browser: charts with data, fault windows, no console errors.

It lives with the browser suite so the unit tests need no Chromium.
"""

from __future__ import annotations

from hive_resilience.reporting.html_report import write_report
from tests.report_runs import chaos_run, e2e_run, load_run


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
        points = charts.nth(index).locator("circle.point")
        assert points.count() >= 20 and points.locator("title").count() == points.count()  # a value on hover each
    assert page.locator("rect.fault").count() == 3
    assert page.get_by_role("link", name="test-failed-1.png").count() == 1
    assert page.get_by_text("spinner only").is_visible()
    assert errors == []
    page.close()
