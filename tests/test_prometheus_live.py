"""A real Prometheus (Debian's, on loopback, data in a temporary folder) watching real runs.

It scrapes a compressed smoke run and must count what the run's summary counts; during the local
LLM-outage experiment it evaluates the production rules (rendered with a short window) and the
chat replies' error-ratio alert must fire while the provider is down and clear once it is back,
with the load still running, and the experiment's steady state is also checked in Prometheus through
chaostoolkit-prometheus's PromQL probe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from test_chaos_local import finish, report, start_chaos
from test_run import hive_resilience_run

from hive_resilience.infra.prometheus import PrometheusServer, alert_rules
from hive_resilience.paths import REPO_ROOT
from hive_resilience.target.embedded import (
    LOOPBACK,
    EmbeddedTarget,
    free_port,
    free_ports,
)

pytestmark = [pytest.mark.embedded, pytest.mark.prometheus]

SCRAPE_INTERVAL_S = 1.0
SHORT_WINDOW = "10s"
"""The production rules' 5m window, shortened so that an outage of some seconds moves them."""
LLM_OUTAGE = REPO_ROOT / "chaos" / "experiments" / "local" / "llm-outage.yaml"
REPLY_ERROR_RATIO_ALERT = "HiveChatReplyErrorRatioHigh"
"""Hive answers a chat's HTTP requests with 2xx during an LLM outage: only the replies fail."""
AFTER_RECOVERY_S = 40
"""How long the load runs on after the outage: the short window must empty of its errors meanwhile."""
OUTAGE_HELD_S = 30
"""How long the outage is held after Hive told the client: beyond the steady load's 20 s reply
timeout, so turns sent early in the outage fail. Hive's retries ride out a shorter outage (on a
quiet machine it told the client at once, the outage lasted 19 s and every reply came late, not
failed), and then no reply alert should fire."""
CHAOS_TIMEOUT_S = 360
HTTP_ERROR_RATIO_BELOW_5_PERCENT = (
    '(sum(rate(hive_resilience_requests_total{outcome="failure",request_type!="JOURNEY"}[5s])) '
    '/ sum(rate(hive_resilience_requests_total{request_type!="JOURNEY"}[5s]))) < bool 0.05')


def test_prometheus_counts_the_requests_the_runs_summary_reports(tmp_path):
    exporter_port, ports = free_port(), free_ports()
    with PrometheusServer(tmp_path / "prometheus", [f"{LOOPBACK}:{exporter_port}"], SCRAPE_INTERVAL_S) as server:
        result, summary = hive_resilience_run(
            "smoke", "--duration", "20s", "--inconclusive", "pass", "--api-port", str(ports.api), "--mcp-port",
            str(ports.mcp), "--llm-port", str(ports.llm), "--prometheus-port", str(exporter_port), cwd=tmp_path)
        assert f"Prometheus metrics on http://{LOOPBACK}:{exporter_port}/metrics" in result.stdout, result.stdout[-3000:]
        scraped = {(row["metric"]["request_type"], row["metric"]["name"]): float(row["value"][1]) for row in server.query(
            "sum by (request_type, name) (last_over_time(hive_resilience_requests_total[10m]))")}
    rows = {row["name"]: row for row in summary["requests"]}
    aggregated = rows.pop("Aggregated")
    # The run's end waits for a final scrape, so Prometheus has every request the summary counts,
    # the users' on_stop calls (MCP session deletes) included.
    http_total = sum(count for (request_type, _), count in scraped.items() if request_type != "JOURNEY")
    assert http_total == aggregated["requests"]
    assert {f"{request_type} {name}": count for (request_type, name), count in scraped.items()} == \
        {name: row["requests"] for name, row in rows.items()}


@dataclass(frozen=True)
class Observation:
    """What Prometheus said at one moment of the experiment."""

    at: float
    fault_active: bool
    alert_state: str
    load_running: bool


def observe(server: PrometheusServer) -> Observation:
    return Observation(at=time.time(), fault_active=any(float(row["value"][1]) == 1 for row in server.query(
        "hive_resilience_chaos_fault_active")), alert_state=server.alert_state(REPLY_ERROR_RATIO_ALERT),
        load_running=bool(server.query("hive_resilience_users")))


def experiment_with_prometheus(tmp_path: Path, server: PrometheusServer, load_port: int, fault_port: int) -> Path:
    """The LLM-outage experiment, its load and fault window exposed, its steady state also checked in Prometheus."""
    experiment = yaml.safe_load(LLM_OUTAGE.read_text())
    control = next(control for control in experiment["controls"] if control["name"] == "hive-resilience-load")
    control["provider"]["arguments"] = {"prometheus_port": load_port, "fault_window_port": fault_port,
                                        "after_s": AFTER_RECOVERY_S}
    experiment["configuration"]["prometheus_base_url"] = server.url
    told = next(activity for activity in experiment["method"] if activity["name"] == "chat-reports-the-provider-error")
    told["pauses"] = {"after": OUTAGE_HELD_S}
    experiment["steady-state-hypothesis"]["probes"].append({
        "name": "http-error-ratio-below-5-percent-in-prometheus", "type": "probe",
        "tolerance": {"type": "jsonpath", "path": "$.data.result[0].value[1]", "expect": "1"},
        "provider": {"type": "python", "module": "chaosprometheus.probes", "func": "query",
                     "arguments": {"query": HTTP_ERROR_RATIO_BELOW_5_PERCENT}},
    })
    path = tmp_path / "llm-outage-prometheus.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


def test_the_reply_error_ratio_alert_fires_during_an_llm_outage_and_clears_after_recovery(
        chaos_target: EmbeddedTarget, tmp_path):
    load_port, fault_port = free_port(), free_port()
    targets = [f"{LOOPBACK}:{load_port}", f"{LOOPBACK}:{fault_port}"]
    rules = alert_rules(SHORT_WINDOW, hold="0s")
    with PrometheusServer(tmp_path / "prometheus", targets, SCRAPE_INTERVAL_S, rules) as server:
        experiment = experiment_with_prometheus(tmp_path, server, load_port, fault_port)
        process = start_chaos(experiment, chaos_target, tmp_path)
        observations = []
        deadline = time.monotonic() + CHAOS_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            observations.append(observe(server))
            time.sleep(SCRAPE_INTERVAL_S)
        result = finish(process, timeout_s=max(1.0, deadline - time.monotonic()))
    assert result.returncode == 0, result.stderr[-4000:]
    journal, _ = report(tmp_path)
    before = {probe["activity"]["name"]: probe for probe in journal["steady_states"]["before"]["probes"]}
    assert before["http-error-ratio-below-5-percent-in-prometheus"]["tolerance_met"]
    states = "".join("F" if o.alert_state == "firing" else "-" for o in observations if o.load_running)
    faulted = [o for o in observations if o.fault_active]
    assert faulted, "Prometheus never saw the fault window"
    firing = [o for o in observations if o.alert_state == "firing"]
    assert firing, f"the alert never fired; states while the load ran: {states}"
    assert faulted[0].at <= firing[0].at
    cleared = [o for o in observations if o.at > firing[-1].at and o.alert_state == "inactive" and o.load_running]
    assert cleared, f"the alert did not clear while the load still ran; states: {states}"
    assert not cleared[0].fault_active
