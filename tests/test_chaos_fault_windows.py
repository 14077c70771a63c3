"""The chaos control's fault window, as Prometheus scrapes it."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from hive_resilience.chaos.fault_windows import FAULT_ACTIVE_METRIC, FaultWindowExporter


def fault_active(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {sample.labels["experiment"]: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == FAULT_ACTIVE_METRIC}


def test_the_gauge_is_one_exactly_while_the_method_runs():
    exporter = FaultWindowExporter(0, "LLM provider outage")
    try:
        assert fault_active(exporter.port) == {"LLM provider outage": 0}
        exporter.fault_started()
        assert fault_active(exporter.port) == {"LLM provider outage": 1}
        exporter.fault_ended()
        assert fault_active(exporter.port) == {"LLM provider outage": 0}
    finally:
        exporter.stop()
