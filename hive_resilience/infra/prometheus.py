"""A real Prometheus on loopback, promtool, and the production alert rules at any window.

Debian's ``prometheus`` package provides both binaries (``scripts/setup --needs prometheus``;
tests marked ``prometheus`` get it). A missing binary is an error that says what to install,
never a skip: a test of the alert rules that does not run must not look green.

:class:`PrometheusServer` runs one server on 127.0.0.1 with its data in a folder of the caller
(a temporary one in tests), scraping given loopback targets and evaluating given rules; in the
manner of testcontainers, it waits for real readiness and hides the port behind :meth:`query`
and :meth:`alerts`. :func:`alert_rules` renders ``deploy/prometheus/alerts.yml``, the one rule
source, with a shorter window and hold for a test that cannot wait five minutes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any, Self

import yaml

from hive_resilience.clients import http_client
from hive_resilience.paths import REPO_ROOT
from hive_resilience.processes import REAP_TIMEOUT_S, kill_process_group
from hive_resilience.target.embedded import LOOPBACK, free_port

ALERTS_FILE = REPO_ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERTS_TEST_FILE = REPO_ROOT / "deploy" / "prometheus" / "alerts_test.yml"
PRODUCTION_WINDOW = "5m"
"""The rate window of every rule in ALERTS_FILE; :func:`alert_rules` replaces it."""
INSTALL_HINT = ("install Debian's prometheus package: apt-get install -y --no-install-recommends prometheus "
                "(or bash scripts/setup --needs prometheus)")
READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0
POLL_S = 0.5


class PrometheusError(RuntimeError):
    """Prometheus is missing, did not start, or answered a query with an error."""


def binary(name: str) -> str:
    """The path of ``prometheus`` or ``promtool``; raises PrometheusError saying what to install."""
    path = shutil.which(name)
    if path is None:
        raise PrometheusError(f"{name} is not installed: {INSTALL_HINT}")
    return path


def promtool(*args: str, cwd: Path | None = None, timeout_s: float = 60) -> subprocess.CompletedProcess:
    """``promtool ARGS`` to its end, output captured (it runs offline)."""
    return subprocess.run([binary("promtool"), *args], cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=timeout_s)


def alert_rules(window: str = PRODUCTION_WINDOW, hold: str | None = None) -> dict:
    """The rule groups of ALERTS_FILE with every ``[5m]`` window set to ``window`` and, given ``hold``,
    every rule's ``for`` set to it."""
    groups = yaml.safe_load(ALERTS_FILE.read_text())
    for group in groups["groups"]:
        for rule in group["rules"]:
            if f"[{PRODUCTION_WINDOW}]" not in rule["expr"]:
                raise PrometheusError(f"{ALERTS_FILE}: rule {rule.get('alert')!r} does not use the "
                                      f"{PRODUCTION_WINDOW} window the renderer replaces")
            rule["expr"] = rule["expr"].replace(f"[{PRODUCTION_WINDOW}]", f"[{window}]")
            if hold is not None:
                rule["for"] = hold
    return groups


class PrometheusServer:
    """Prometheus on 127.0.0.1 scraping ``targets`` (``host:port``, path /metrics) every
    ``scrape_interval_s``, with ``rules`` (rule groups as :func:`alert_rules` returns them)
    evaluated as often; its configuration, data and log live in ``data_dir``."""

    def __init__(self, data_dir: Path, targets: list[str], scrape_interval_s: float = 1.0,
                 rules: dict | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_path = data_dir / "prometheus.log"
        self._targets = targets
        self._interval = f"{int(scrape_interval_s * 1000)}ms"
        self._rules = rules
        self._popen: subprocess.Popen | None = None

    def start(self) -> Self:
        """Start it and wait until its API answers; raises PrometheusError with its log's end otherwise."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "global": {"scrape_interval": self._interval, "evaluation_interval": self._interval},
            "scrape_configs": [{"job_name": "hive-resilience", "static_configs": [{"targets": self._targets}]}],
        }
        if self._rules is not None:
            (self.data_dir / "rules.yml").write_text(yaml.safe_dump(self._rules))
            config["rule_files"] = [str(self.data_dir / "rules.yml")]
        (self.data_dir / "prometheus.yml").write_text(yaml.safe_dump(config))
        argv = [binary("prometheus"), f"--config.file={self.data_dir / 'prometheus.yml'}",
                f"--web.listen-address={LOOPBACK}:{self.port}", f"--storage.tsdb.path={self.data_dir / 'tsdb'}"]
        with open(self.log_path, "wb") as log:
            self._popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                break
            try:
                if http_client.call("GET", f"{self.url}/-/ready", timeout_s=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(POLL_S)
        self.stop()
        raise PrometheusError(f"Prometheus did not become ready within {READY_TIMEOUT_S:.0f} s; its log ends:\n"
                              f"{self.log_path.read_text()[-2000:]}")

    def query(self, promql: str) -> list[dict]:
        """The instant vector ``promql`` evaluates to now: ``[{"metric": {...}, "value": [t, "v"]}, ...]``."""
        answer = http_client.call("GET", f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
        body = answer.json if isinstance(answer.json, dict) else {}
        if answer.status != 200 or body.get("status") != "success":
            raise PrometheusError(f"query {promql!r} failed: HTTP {answer.status} {json.dumps(body)[:500]}")
        return body["data"]["result"]

    def alerts(self) -> list[dict]:
        """Alerts pending or firing now, as ``/api/v1/alerts`` lists them (``labels``, ``state``...)."""
        return http_client.call("GET", f"{self.url}/api/v1/alerts").json["data"]["alerts"]

    def alert_state(self, alert_name: str) -> str:
        """``firing``, ``pending`` or ``inactive`` (not listed)."""
        states = [alert["state"] for alert in self.alerts() if alert["labels"].get("alertname") == alert_name]
        return "firing" if "firing" in states else states[0] if states else "inactive"

    def stop(self) -> None:
        """SIGTERM, then its group killed if it still runs after a grace period; harmless twice."""
        if self._popen is None:
            return
        if self._popen.poll() is None:
            self._popen.terminate()
            try:
                self._popen.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                kill_process_group(self._popen.pid)
                self._popen.wait(timeout=REAP_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
