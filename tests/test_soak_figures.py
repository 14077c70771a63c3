"""What a soak finds grows: memory per component, latency trend per request, the tail per second."""

from __future__ import annotations

import pytest

from hive_resilience.loadrun.latency import LatencyBook, RequestTally
from hive_resilience.loadrun.resources import resource_figures
from hive_resilience.loadrun.scenario import (
    ScenarioError,
    Slo,
    UserClassConfig,
    load_scenario,
)
from hive_resilience.loadrun.slo import evaluate_request_slos, evaluate_trend_slos
from hive_resilience.loadrun.timeline import TimelineRecorder
from hive_resilience.loadrun.trends import (
    MIN_TREND_WINDOWS,
    LatencyTrend,
    latency_trends,
)

MB = 2**20
START = 1000.0


def samples(seconds: int, mb_per_s: dict[str, float]) -> list[dict]:
    """Each component starting at 100 MB and growing at its own rate, one sample per second."""
    return [{"timestamp": float(t), "component": component, "rss_bytes": int((100 + rate * t) * MB), "cpu_percent": 1.0}
            for t in range(seconds) for component, rate in mb_per_s.items()]


def test_each_component_has_its_own_growth_so_a_leak_is_pinned_on_the_process_that_leaks():
    figures = resource_figures(samples(1001, {"hive-api": 1.0, "tools": 0.0, "llm-stub": 0.0}),
                               sessions_created=1000, mcp_sessions_opened=500)
    assert figures["hive_rss_growth_mb_per_hour"] == pytest.approx(3600, rel=1e-6)
    assert figures["tools_rss_growth_mb_per_hour"] == pytest.approx(0, abs=1e-9)
    assert figures["llm_stub_rss_growth_mb_per_hour"] == pytest.approx(0, abs=1e-9)
    assert figures["hive_rss_mb"] == pytest.approx(1100) and figures["tools_rss_mb"] == pytest.approx(100)
    # 800 MB after warm-up over the 800 Hive sessions made then
    assert figures["hive_rss_growth_kb_per_session"] == pytest.approx(1024, rel=1e-3)
    assert figures["tools_rss_growth_kb_per_mcp_session"] == pytest.approx(0, abs=1e-9)
    assert "llm_stub_rss_growth_kb_per_session" not in figures


def test_the_tools_servers_growth_is_divided_by_the_mcp_sessions_opened_not_the_hive_sessions():
    figures = resource_figures(samples(1001, {"hive-api": 0.0, "tools": 0.5}), sessions_created=10,
                               mcp_sessions_opened=400)
    assert figures["tools_rss_growth_kb_per_mcp_session"] == pytest.approx(400 * 1024 / 320, rel=1e-3)


def test_a_component_not_sampled_has_no_figures_and_its_slo_fails_unmeasured():
    figures = resource_figures(samples(100, {"hive-api": 0.0}), sessions_created=10)
    assert figures["tools_rss_mb"] is None and figures["tools_rss_growth_kb_per_mcp_session"] is None


def timeline_of(seconds: int, p50_ms_at, sessions_per_s: int = 2) -> TimelineRecorder:
    """One chat and ``sessions_per_s`` session creations per 1 s window, the chat taking ``p50_ms_at(second)``."""
    recorder = TimelineRecorder(window_s=1.0)
    recorder.start(START)
    for second in range(seconds):
        recorder.record(START + second + 0.5, "JOURNEY", "chat time-to-reply", p50_ms_at(second), False)
        for _ in range(sessions_per_s):
            recorder.record(START + second + 0.5, "POST", "/api/sessions", 10.0, False)
    return recorder


def test_a_request_getting_slower_has_its_slope_in_ms_per_hour_and_per_1k_sessions():
    timeline = timeline_of(50, lambda second: 1000.0 + 2.0 * second).timeline(START + 49.9)
    trend = latency_trends(timeline)["JOURNEY chat time-to-reply"]
    assert trend.ms_per_hour == pytest.approx(7200, rel=0.01)
    # 2 sessions a second: 2 ms per 2 sessions, 1000 ms per 1,000 sessions
    assert trend.ms_per_1k_sessions == pytest.approx(1000, rel=0.01)
    assert trend.windows == 40 and trend.p50_ms_last > trend.p50_ms_first


def test_warm_up_slowness_is_not_a_trend():
    timeline = timeline_of(50, lambda second: 5000.0 - 400 * second if second < 10 else 1000.0).timeline(START + 49.9)
    assert latency_trends(timeline)["JOURNEY chat time-to-reply"].ms_per_hour == pytest.approx(0, abs=1e-6)


def test_a_request_made_in_too_few_windows_has_no_trend():
    timeline = timeline_of(MIN_TREND_WINDOWS, lambda _: 1000.0).timeline(START + MIN_TREND_WINDOWS - 0.1)
    assert "JOURNEY chat time-to-reply" not in latency_trends(timeline)


def trend(ms_per_hour: float) -> LatencyTrend:
    return LatencyTrend(windows=10, p50_ms_first=1, p50_ms_last=2, ms_per_hour=ms_per_hour, ms_per_1k_sessions=None)


def test_a_trend_slo_on_aggregated_fails_on_the_fastest_growing_request_and_names_it():
    trends = {"GET /api/health": trend(5), "JOURNEY chat time-to-reply": trend(340)}
    (verdict,) = evaluate_trend_slos((Slo(metric="latency_trend_ms_per_hour", max=100),), trends)
    assert verdict.status == "fail" and verdict.measured == 340
    assert "measured 340 - fastest-growing: JOURNEY chat time-to-reply" in verdict.line()


def test_a_trend_slo_on_one_request_judges_its_own_trend_and_fails_when_it_has_none():
    trends = {"GET /api/health": trend(5), "JOURNEY chat time-to-reply": trend(340)}
    health, missing, per_session = evaluate_trend_slos((
        Slo(metric="latency_trend_ms_per_hour", request="/api/health", max=100),
        Slo(metric="latency_trend_ms_per_hour", request="/nowhere", max=100),
        Slo(metric="latency_trend_ms_per_1k_sessions", max=100)), trends)
    assert health.status == "pass" and health.measured == 5
    assert missing.status == "fail" and "not made in enough windows" in missing.detail
    assert per_session.status == "fail" and per_session.measured is None


def test_request_slos_leave_trend_slos_to_their_own_evaluation():
    slos = (Slo(metric="latency_trend_ms_per_hour", max=100), Slo(metric="requests", min=1))
    assert [verdict.metric for verdict in evaluate_request_slos(slos, LatencyBook(), 10.0)] == ["requests"]


def test_the_tail_keeps_each_seconds_p999_and_max_so_a_stall_is_not_averaged_away():
    recorder = TimelineRecorder(window_s=10.0)
    recorder.start(START)
    stalled = RequestTally()
    for second in range(20):
        for request in range(50):
            latency_ms = 3000.0 if second == 7 and request == 0 else 10.0 + request / 10
            recorder.record(START + second + 0.5, "GET", "/api/health", latency_ms, False)
            if second == 7:
                stalled.record(latency_ms, False)
    timeline = recorder.timeline(START + 19.9)
    series = timeline.tail["GET /api/health"]
    assert timeline.tail_window_s == 1.0 and series.window == list(range(20))
    assert series.max_ms[7] == pytest.approx(3000, rel=1e-3) and max(series.max_ms[:7]) < 20
    assert series.p999_ms[7] == round(stalled.percentile_ms(99.9), 1)
    # the 10 s window's p99 of 500 requests does not show the one stall
    assert timeline.windows[0].requests["GET /api/health"].p99_ms < 20


def test_the_tail_keeps_only_the_seconds_a_request_was_made_in():
    recorder = TimelineRecorder(window_s=10.0)
    recorder.start(START)
    for second in (0, 5, 9):
        recorder.record(START + second, "GET", "/a", 1.0, False)
    assert recorder.timeline(START + 9.5).tail["GET /a"].window == [0, 5, 9]


def test_session_churn_is_a_user_class_setting_of_at_least_one_call():
    assert UserClassConfig(session_calls=20).session_calls == 20
    with pytest.raises(ValueError, match="session_calls"):
        UserClassConfig(session_calls=0)


def test_the_soak_scenario_churns_mcp_sessions_and_budgets_every_soak_figure():
    soak = load_scenario("soak")
    assert soak.user_classes["McpToolsUser"].session_calls
    gated = {slo.metric for slo in soak.slos}
    assert {"hive_rss_growth_kb_per_session", "tools_rss_growth_kb_per_mcp_session", "hive_rss_growth_mb_per_hour",
            "tools_rss_growth_mb_per_hour", "llm_stub_rss_growth_mb_per_hour", "latency_trend_ms_per_hour",
            "latency_trend_ms_per_1k_sessions"} <= gated


def test_a_misspelt_soak_metric_is_one_error_naming_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("users: 1\nspawn_rate: 1\nduration: 10s\nslos:\n  - {metric: latency_trend_ms_per_day, max: 1}\n")
    with pytest.raises(ScenarioError, match="bad.yaml.*latency_trend_ms_per_hour"):
        load_scenario(str(path))
