"""The report's charts: round ticks with units, gridlines, a hover value per point, a size bounded by the plot's width."""

from __future__ import annotations

import itertools
import math
import re

import pytest
from report_runs import HISTORY_HEADER, load_run

from hive_resilience.reporting.charts import (
    MAX_BUCKETS,
    MOST_TICKS,
    PERCENTILE_AXIS,
    Chart,
    Series,
    downsample,
    percentile_position,
    round_ticks,
    svg_chart,
    unit_axis,
    value_axis,
)
from hive_resilience.reporting.html_report import write_report

FOUR_HOURS_S = 4 * 3600
CHART_MAX_BYTES = 120_000
"""A chart of three series at the downsampling bound; drawing every row, the 4 h latency chart was 3.4 MB."""


def chart_svg(page: str, title: str) -> str:
    return page.split(f"aria-label='{title}'")[1].split("</svg>")[0]


def hover_titles(svg: str) -> list[str]:
    return re.findall(r"<circle class='point'[^>]*><title>([^<]*)</title></circle>", svg)


@pytest.mark.parametrize(("low", "high"), [(0, 1), (0, 250), (0, 14_399), (0.25, 2), (0, 0.07), (1000, 1019), (3, 3)])
def test_ticks_fall_on_round_steps_and_cover_the_range(low, high):
    ticks = round_ticks(low, high)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 9) in (1, 2, 2.5, 5)
    assert all(math.isclose(tick / step, round(tick / step), abs_tol=1e-9) for tick in ticks)
    assert len(ticks) <= MOST_TICKS
    assert low - 1e-9 <= ticks[0] < low + step and high - step < ticks[-1] <= max(high, low) + 1e-9


def test_the_value_axis_ends_on_the_first_round_tick_above_the_data_with_gridlines_and_units():
    rows = [{"x": second, "p95": ms} for second, ms in enumerate([120, 180, 233])]
    svg = svg_chart(Chart("latency", rows, [Series("p95", "#000")], unit_axis("s"), value_axis("ms")))
    labels = re.findall(r"<text class='tick'[^>]*>([^<]*)</text>", svg)
    assert labels == ["0 ms", "50 ms", "100 ms", "150 ms", "200 ms", "250 ms", "0 s", "0.5 s", "1 s", "1.5 s", "2 s"]
    assert svg.count("<line class='grid'") == len(labels)


def test_every_drawn_point_carries_its_value_and_position_on_hover():
    rows = [{"x": 0, "rps": 4.0}, {"x": 5, "rps": 6.5}]
    svg = svg_chart(Chart("requests per second", rows, [Series("rps", "#000")], unit_axis("s"), value_axis("/s")))
    assert hover_titles(svg) == ["rps: 4/s at 0 s", "rps: 6.5/s at 5 s"]


def test_the_percentile_axis_spreads_each_nine_evenly_and_names_it():
    positions = [percentile_position(p) for p in (90, 99, 99.9, 99.99)]
    assert [round(b - a, 9) for a, b in itertools.pairwise(positions)] == [1, 1, 1]
    ticks = PERCENTILE_AXIS.ticks(percentile_position(50), percentile_position(99.99))
    assert [PERCENTILE_AXIS.write(tick) for tick in ticks] == ["p50", "p90", "p99", "p99.9", "p99.99"]


def test_downsampling_keeps_each_buckets_lowest_and_highest_point_so_a_spike_survives():
    points = [(float(t), 10.0) for t in range(10_000)]
    points[6_543] = (6_543.0, 900.0)
    points[2_001] = (2_001.0, 1.0)
    kept = downsample(points, 0, 9_999, buckets=50)
    assert len(kept) <= 100 and (6_543.0, 900.0) in kept and (2_001.0, 1.0) in kept
    assert kept == sorted(kept)
    assert downsample(points[:80], 0, 79, buckets=50) == points[:80]


def test_a_four_hour_run_draws_charts_of_bounded_size_that_keep_its_spike(tmp_path):
    run = load_run(tmp_path, "soak")
    spike_s = 7_777
    rows = [f"{1000 + t},10,,Aggregated,{5 + t % 3},0,5,6,7,8,9,{9_999 if t == spike_s else 10},11,12,13,14,15"
            for t in range(FOUR_HOURS_S)]
    (run / "locust_stats_history.csv").write_text("\n".join([HISTORY_HEADER, *rows]) + "\n")
    page = write_report([run], tmp_path / "out").read_text()
    latency = chart_svg(page, "latency ms (p50, p95, p99)")
    assert len(latency) < CHART_MAX_BYTES
    assert len(hover_titles(latency)) <= 3 * 2 * MAX_BUCKETS
    assert f"p95: 9999 ms at {spike_s} s" in hover_titles(latency)
    for title in ("requests per second", "error ratio"):
        assert len(chart_svg(page, title)) < CHART_MAX_BYTES / 3
