"""The production alert rules and the Grafana dashboard, checked by Debian's promtool offline."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from hive_resilience.chaos.fault_windows import FAULT_ACTIVE_METRIC
from hive_resilience.infra import prometheus
from hive_resilience.infra.prometheus import (
    ALERTS_FILE,
    ALERTS_TEST_FILE,
    PrometheusError,
    alert_rules,
    promtool,
)
from hive_resilience.loadrun.prometheus_exporter import LiveFigures
from hive_resilience.loadrun.slo import SloVerdict
from hive_resilience.paths import REPO_ROOT

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "hive-resilience.json"
GRAFANA_INTERVALS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
"""Grafana's interval variables, set to durations so that promtool can parse the queries."""

uses_promtool = pytest.mark.prometheus


@uses_promtool
def test_the_alert_rules_pass_their_promtool_unit_tests():
    done = promtool("test", "rules", ALERTS_TEST_FILE.name, cwd=ALERTS_TEST_FILE.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@uses_promtool
@pytest.mark.parametrize(("alert", "bound", "loosened"), [
    ("HiveErrorRatioHigh", "> 0.05", "> 0.15"),
    ("HiveChatReplyErrorRatioHigh", "> 0.05", "> 0.25"),
    ("HiveLatencyP99High", "> 2", "> 3"),
])
def test_the_unit_tests_catch_a_loosened_bound(tmp_path, alert, bound, loosened):
    groups = yaml.safe_load(ALERTS_FILE.read_text())
    (rule,) = [rule for rule in groups["groups"][0]["rules"] if rule["alert"] == alert]
    assert rule["expr"].endswith(bound)
    rule["expr"] = rule["expr"].removesuffix(bound) + loosened
    (tmp_path / ALERTS_FILE.name).write_text(yaml.safe_dump(groups))
    shutil.copy(ALERTS_TEST_FILE, tmp_path)
    done = promtool("test", "rules", ALERTS_TEST_FILE.name, cwd=tmp_path)
    assert done.returncode != 0 and f"alertname: {alert}" in done.stdout + done.stderr


@uses_promtool
def test_the_rules_rendered_with_a_short_window_are_the_same_valid_rules(tmp_path):
    production, short = alert_rules(), alert_rules("20s", hold="0s")
    rendered = tmp_path / "rules.yml"
    rendered.write_text(yaml.safe_dump(short))
    done = promtool("check", "rules", str(rendered))
    assert done.returncode == 0, done.stdout + done.stderr
    pairs = zip(production["groups"][0]["rules"], short["groups"][0]["rules"], strict=True)
    for rule, short_rule in pairs:
        assert short_rule["expr"] == rule["expr"].replace("[5m]", "[20s]") != rule["expr"]
        assert short_rule["for"] == "0s" and short_rule["labels"] == rule["labels"]


def test_a_rule_without_the_production_window_is_refused(tmp_path, monkeypatch):
    rules = tmp_path / "alerts.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [{"alert": "Odd", "expr": "up == 0"}]}]}))
    monkeypatch.setattr(prometheus, "ALERTS_FILE", rules)
    with pytest.raises(PrometheusError, match="rule 'Odd' does not use the 5m window"):
        alert_rules("20s")


def test_a_missing_prometheus_fails_saying_what_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PrometheusError, match="promtool is not installed: install Debian's prometheus package"):
        promtool("--version")


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    return queries + [annotation["expr"] for annotation in dashboard["annotations"]["list"] if "expr" in annotation]


def exported_metric_names() -> set[str]:
    """Every sample name the load's exporter and the chaos control can expose."""
    live = LiveFigures(lambda: 1, lambda: 1.0, lambda: [SloVerdict("s", "error_ratio", "r", 1, "max", 0, "pass")])
    live.record("GET", "/", 1.0, False)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(live)
    names = {line.split("{")[0].split(" ")[0] for line in generate_latest(registry).decode().splitlines()
             if line and not line.startswith("#")}
    return names | {FAULT_ACTIVE_METRIC, "ALERTS"}


@uses_promtool
def test_every_dashboard_query_is_promql_that_promtool_parses(tmp_path):
    queries = dashboard_queries()
    assert len(queries) >= 8
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{number}", "expr": _with_intervals(query)} for number, query in enumerate(queries)]}]}
    rendered = tmp_path / "dashboard-rules.yml"
    rendered.write_text(yaml.safe_dump(rules))
    done = promtool("check", "rules", str(rendered))
    assert done.returncode == 0, done.stdout + done.stderr


@uses_promtool
def test_promtool_refuses_a_broken_query(tmp_path):
    rendered = tmp_path / "broken.yml"
    rendered.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [
        {"record": "r:broken", "expr": "sum(rate(hive_resilience_requests_total[1m])"}]}]}))
    assert promtool("check", "rules", str(rendered)).returncode != 0


def test_the_dashboard_reads_only_metrics_that_are_exposed():
    exposed = exported_metric_names()
    used = {name for query in dashboard_queries() for name in re.findall(r"\b(hive_resilience_\w+|ALERTS)\b", query)}
    assert used and used <= exposed, used - exposed


def test_the_dashboard_draws_the_chaos_fault_windows_and_the_alerts_thresholds():
    dashboard = json.loads(DASHBOARD.read_text())
    annotations = [annotation for annotation in dashboard["annotations"]["list"] if FAULT_ACTIVE_METRIC in annotation.get("expr", "")]
    assert len(annotations) == 1 and annotations[0]["enable"]
    thresholds = {step["value"] for panel in dashboard["panels"]
                  for step in panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])}
    assert {0.05, 2} <= thresholds


def _with_intervals(query: str) -> str:
    for variable, duration in GRAFANA_INTERVALS.items():
        query = query.replace(variable, duration)
    return query
