"""Resource figures for leak SLOs: peak, growth per hour after warm-up, growth per session."""

from __future__ import annotations

import os

import psutil
import pytest

from hive_resilience.loadrun.resources import (
    ResourceSampler,
    read_samples,
    resource_figures,
)

MB = 2**20


def linear_samples(seconds: int, start_mb: float, mb_per_s: float, components=("hive-api", "tools")) -> list[dict]:
    return [
        {"timestamp": float(t), "component": component, "rss_bytes": int((start_mb + mb_per_s * t) * MB), "cpu_percent": 1.0}
        for t in range(seconds)
        for component in components
    ]


def test_peak_is_the_highest_total_over_components():
    figures = resource_figures(linear_samples(100, 100, 0.5), sessions_created=0)
    assert figures["rss_mb"] == pytest.approx(2 * (100 + 0.5 * 99))


def test_growth_per_hour_is_the_slope_of_the_total():
    figures = resource_figures(linear_samples(600, 100, 0.01), sessions_created=0)
    assert figures["rss_growth_mb_per_hour"] == pytest.approx(2 * 0.01 * 3600, rel=1e-6)


def test_warm_up_growth_is_not_counted_as_a_leak():
    warm_up = [s for s in linear_samples(100, 100, 2) if s["timestamp"] < 100]
    steady = [dict(s, timestamp=s["timestamp"] + 100, rss_bytes=300 * MB) for s in linear_samples(400, 0, 0)]
    assert resource_figures(warm_up + steady, sessions_created=100)["rss_growth_mb_per_hour"] == pytest.approx(0, abs=1e-9)


def test_growth_per_session_divides_steady_growth_by_steady_sessions():
    # one component growing 1 MB/s for 1000 s, 1000 sessions: 800 MB over 800 sessions after warm-up
    figures = resource_figures(linear_samples(1001, 0, 1, components=("hive-api",)), sessions_created=1000)
    assert figures["rss_growth_kb_per_session"] == pytest.approx(1024, rel=1e-3)


def test_too_short_a_run_has_no_growth_figures():
    figures = resource_figures(linear_samples(5, 100, 1), sessions_created=10)
    assert figures["rss_growth_mb_per_hour"] is None and figures["rss_growth_kb_per_session"] is None


def test_sampler_writes_rows_for_a_real_process(tmp_path):
    csv_path = tmp_path / "resources.csv"
    with ResourceSampler(lambda: {"self": [psutil.Process(os.getpid())]}, csv_path, interval_s=0.05):
        psutil.Process().cpu_percent(0.2)
    samples = read_samples(csv_path)
    assert samples and all(s["component"] == "self" and s["rss_bytes"] > 10 * MB for s in samples)
