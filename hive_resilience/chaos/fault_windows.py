"""An experiment's fault window for Prometheus, so dashboards can draw it over the load's figures.

The load control knows when the method (the fault and its checks) runs; given
``fault_window_port`` it serves ``hive_resilience_chaos_fault_active{experiment}`` on
``127.0.0.1:PORT/metrics``: 1 while the method runs, 0 before and after. The Grafana dashboard
in ``deploy/grafana/`` turns its 1-runs into annotations. It lives in the ``chaos`` process, in
a thread of prometheus_client's own server: Locust's exporter cannot know the method's bounds.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, start_http_server

from hive_resilience.target.embedded import LOOPBACK

FAULT_ACTIVE_METRIC = "hive_resilience_chaos_fault_active"


class FaultWindowExporter:
    """Serves one experiment's fault-active gauge on loopback ``port`` (0: a free one, see :attr:`port`)."""

    def __init__(self, port: int, experiment: str) -> None:
        registry = CollectorRegistry(auto_describe=True)
        self._active = Gauge(FAULT_ACTIVE_METRIC, "1 while the chaos experiment's method (its fault) runs",
                             ("experiment",), registry=registry).labels(experiment)
        self._active.set(0)
        self._server, self._thread = start_http_server(port, addr=LOOPBACK, registry=registry)

    @property
    def port(self) -> int:
        return self._server.server_port

    def fault_started(self) -> None:
        self._active.set(1)

    def fault_ended(self) -> None:
        self._active.set(0)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
