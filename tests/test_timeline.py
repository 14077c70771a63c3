"""The gate's own figures per time window: what the report charts, bounded however long the run."""

from __future__ import annotations

import pytest

from hive_resilience.loadrun.latency import LatencyBook, RequestTally
from hive_resilience.loadrun.timeline import (
    MAX_WINDOWS,
    OVERRUN_WINDOWS,
    TimelineError,
    TimelineRecorder,
    read_timeline,
    window_s_for,
    write_timeline,
)

START = 1000.0


def recorder(window_s: float = 1.0) -> TimelineRecorder:
    timeline = TimelineRecorder(window_s)
    timeline.start(START)
    return timeline


def test_each_window_has_the_gates_exact_figures_per_request_and_aggregate():
    timeline, tally = recorder(), RequestTally()
    for value in range(1, 101):
        timeline.record(START + 0.5, "GET", "/api/health", float(value), value > 98)
        tally.record(float(value), value > 98)
    (window,) = timeline.timeline(START + 0.9).windows
    figures = window.requests["GET /api/health"]
    assert (figures.requests, figures.failures) == (100, 2)
    assert (figures.p50_ms, figures.p99_ms) == (tally.percentile_ms(50), tally.percentile_ms(99))
    assert window.requests["Aggregated"] == figures


def test_a_window_without_requests_is_kept_so_an_outage_shows_as_zero():
    timeline = recorder()
    timeline.record(START + 0.1, "GET", "/a", 5.0, False)
    timeline.record(START + 3.2, "GET", "/a", 5.0, False)
    windows = timeline.timeline(START + 3.5).windows
    assert [w.start_s for w in windows] == [0, 1, 2, 3]
    assert [sum(f.requests for key, f in w.requests.items() if key != "Aggregated") for w in windows] == [1, 0, 0, 1]


def test_a_workers_report_counts_in_the_window_it_arrived_in():
    worker_book, master = LatencyBook(), recorder(3.0)
    worker_book.record("GET", "/a", 5.0, True)
    master.merge(START + 4.0, worker_book.export())
    windows = master.timeline(START + 4.0).windows
    assert windows[0].requests == {} and windows[1].requests["GET /a"].failures == 1


@pytest.mark.parametrize("planned_s", [15, 60, 600, 14_400])
def test_a_planned_run_has_at_most_max_windows(planned_s):
    assert planned_s / window_s_for(planned_s, 1.0) <= MAX_WINDOWS
    assert window_s_for(planned_s, 3.0) >= 3


def test_a_run_without_end_stops_adding_windows_and_says_so():
    timeline = recorder()
    timeline.record(START + 10 * OVERRUN_WINDOWS, "GET", "/a", 5.0, False)
    result = timeline.timeline(START + 10 * OVERRUN_WINDOWS)
    assert result.truncated and len(result.windows) == OVERRUN_WINDOWS


def test_a_written_timeline_reads_back_and_a_broken_one_names_the_file(tmp_path):
    timeline = recorder()
    timeline.record(START, "GET", "/a", 5.0, False)
    written = timeline.timeline(START + 1.5)
    assert read_timeline(write_timeline(tmp_path, written)) == written
    (tmp_path / "timeline.json").write_text("{")
    with pytest.raises(TimelineError, match="timeline.json"):
        read_timeline(tmp_path / "timeline.json")
