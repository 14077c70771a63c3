"""``summary.json`` keeps each request's exact HDR histogram; the report draws it as a percentile distribution."""

from __future__ import annotations

import json
import re
from pathlib import Path

from report_runs import load_run

from hive_resilience.loadrun.latency import LatencyBook, RequestTally
from hive_resilience.loadrun.scenario import AGGREGATED
from hive_resilience.loadrun.summary import SUMMARY_FILE, read_summary, request_rows
from hive_resilience.reporting.compare import compare_runs, write_comparison
from hive_resilience.reporting.html_report import DISTRIBUTION_PERCENTILES, write_report

HEALTH = "GET /api/health"


def book_of(latencies_ms: list[float]) -> LatencyBook:
    book = LatencyBook()
    for ms in latencies_ms:
        book.record("GET", "/api/health", ms, failed=False)
    return book


def run_with(root: Path, name: str, book: LatencyBook) -> Path:
    """A load run folder whose summary rows are the plugin's own, histograms included."""
    run = load_run(root, name)
    summary = json.loads((run / SUMMARY_FILE).read_text())
    summary["requests"] = [row.model_dump() for row in request_rows(book, 60.0)]
    (run / SUMMARY_FILE).write_text(json.dumps(summary))
    return run


def distribution_points(page: str, request: str) -> dict[str, list[tuple[str, str]]]:
    """(percentile, value) per series from the hover titles of ``request``'s distribution chart."""
    svg = page.split(f"aria-label='{request}: latency by percentile'")[1].split("</svg>")[0]
    points: dict[str, list[tuple[str, str]]] = {}
    for series, value, percentile in re.findall(r"<title>([^:<]+): ([^<]+) ms at (p[\d.]+)</title>", svg):
        points.setdefault(series, []).append((percentile, value))
    return points


def expected(tally: RequestTally) -> list[tuple[str, str]]:
    return [(f"p{p:g}", f"{tally.percentile_ms(p):g}") for p in DISTRIBUTION_PERCENTILES]


def spread(slow_ms: float) -> list[float]:
    return [5.0 + i % 40 for i in range(990)] + [slow_ms + i for i in range(10)]


def test_the_summary_keeps_each_requests_exact_histogram_and_reads_the_same_percentiles_back(tmp_path):
    book = book_of(spread(1_800.0))
    run = run_with(tmp_path, "new", book)
    rows = {row.name: row for row in read_summary(run / SUMMARY_FILE).requests}
    for key in (HEALTH, AGGREGATED):
        kept = RequestTally.from_encoded(rows[key].histogram)
        assert kept.requests == 1_000
        assert [kept.percentile_ms(p) for p in (50, 99, 99.9, 100)] == [
            book.tallies[key].percentile_ms(p) for p in (50, 99, 99.9, 100)]


def test_a_summary_written_before_histograms_were_kept_loads_and_draws_no_distribution(tmp_path):
    run = load_run(tmp_path, "old")
    assert read_summary(run / SUMMARY_FILE).requests[0].histogram is None
    assert "latency by percentile" not in write_report([run], tmp_path / "out").read_text()


def test_the_distribution_charts_points_are_the_hdr_percentiles_of_each_request(tmp_path):
    book = book_of(spread(1_800.0))
    page = write_report([run_with(tmp_path, "new", book)], tmp_path / "out").read_text()
    for key in (HEALTH, AGGREGATED):
        assert distribution_points(page, key) == {"this run": expected(book.tallies[key])}


def test_a_compared_run_draws_its_baselines_distribution_on_the_same_chart(tmp_path):
    baseline_book, new_book = book_of(spread(300.0)), book_of(spread(1_800.0))
    baseline, new = run_with(tmp_path, "baseline", baseline_book), run_with(tmp_path, "new", new_book)
    write_comparison(compare_runs(baseline, new))
    page = write_report([new], tmp_path / "out").read_text()
    assert "Latency distribution against the baseline baseline" in page
    assert distribution_points(page, HEALTH) == {"this run": expected(new_book.tallies[HEALTH]),
                                                 "baseline": expected(baseline_book.tallies[HEALTH])}
