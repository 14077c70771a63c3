"""Distributed load: a Locust master and its workers, and what the report says about each worker.

The embedded tests share one compressed smoke run (`hive-resilience run ... --workers 2`) on
loopback against the real Hive; each checks one promise of it. The master's totals must be
the sum of what each worker says it sent, and the SLO verdict must be made once, by the master.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from hive_resilience.loadrun.locust_process import LocustCommand, LocustProcess
from hive_resilience.loadrun.run import locust_roles
from hive_resilience.loadrun.scenario import (
    AGGREGATED,
    SCENARIOS_DIR,
    RegressionBudgets,
)
from hive_resilience.loadrun.summary import saturation_warnings, worker_figures
from hive_resilience.target.embedded import (
    LOOPBACK,
    EmbeddedTarget,
    free_port,
    free_ports,
)

embedded = pytest.mark.embedded

WORKERS = 2
SMOKE_BUDGETS = RegressionBudgets(p95_ms_increase_percent=25)
PLAIN_SCENARIO = """
name: plain-distributed
users: 4
spawn_rate: 4
duration: 10s
inconclusive: pass  # 10 s cannot decide a p99; the test is about the totals and the one verdict
user_classes:
  HiveApiUser: {weight: 1, wait_s: [0.5, 1]}
  McpToolsUser: {weight: 1, wait_s: [0.5, 1]}
"""


RUN_COMMAND = LocustCommand(scenario="smoke", host="http://127.0.0.1:8787", report_dir=Path("reports/run"))


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_without_workers_one_standalone_locust_process_runs():
    (only,) = locust_roles(RUN_COMMAND, workers=0, master_port=0)
    argv = only.command.argv()
    assert "--master" not in argv and "--worker" not in argv and only.echo


def test_workers_connect_to_their_master_on_loopback_only():
    master, *workers = locust_roles(RUN_COMMAND, workers=3, master_port=5601)
    assert len(workers) == 3
    master_argv = master.command.argv()
    assert "--master" in master_argv and option(master_argv, "--expect-workers") == "3"
    assert (option(master_argv, "--master-bind-host"), option(master_argv, "--master-bind-port")) == (LOOPBACK, "5601")
    for worker in workers:
        argv = worker.command.argv()
        assert "--worker" in argv and "--master" not in argv
        assert (option(argv, "--master-host"), option(argv, "--master-port")) == (LOOPBACK, "5601")


def test_every_process_of_a_run_gets_the_runs_scenario_target_and_report_folder():
    for role in locust_roles(RUN_COMMAND, workers=2, master_port=5601):
        argv = role.command.argv()
        assert option(argv, "--scenario") == "smoke" and option(argv, "--host") == "http://127.0.0.1:8787"
        assert option(argv, "--report-dir") == str(Path("reports/run"))


def test_only_the_master_is_shown_on_the_console_and_each_process_has_its_own_log():
    roles = locust_roles(RUN_COMMAND, workers=2, master_port=5601)
    assert [role.echo for role in roles] == [True, False, False]
    assert [role.log_name for role in roles] == ["locust.log", "locust-worker-1.log", "locust-worker-2.log"]


@pytest.mark.parametrize("count", ["0", "-1", "two"])
def test_a_worker_count_that_is_not_one_or_more_is_refused_with_exit_code_2(tmp_path, count):
    result = subprocess.run([sys.executable, "-m", "hive_resilience.cli", "run", "smoke", "--workers", count],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert f"{count!r} is not a number of workers (1 or more)" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "reports").exists()


def test_saturation_is_judged_per_worker_not_on_the_pooled_mean():
    workers = {"busy": worker_figures({}, [96.0, 98.0]), "idle": worker_figures({}, [10.0, 12.0])}
    pooled = {"saturated": False, "cpu_percent_mean": 54.0}
    (warning,) = saturation_warnings(pooled, workers)
    assert warning.startswith("Locust worker busy averaged 97 % of a core")


def test_a_standalone_generator_is_judged_on_its_own_samples():
    assert saturation_warnings({"saturated": True, "cpu_percent_mean": 93.0}, {})[0].startswith(
        "the load generator averaged 93 % of a core")
    assert saturation_warnings({"saturated": False, "cpu_percent_mean": 40.0}, {}) == []


def test_a_workers_total_is_its_aggregated_count_and_excludes_journeys():
    figures = worker_figures({"Aggregated": 40, "GET /api/health": 40, "JOURNEY chat time-to-reply": 7}, [])
    assert figures["requests"] == 40 and figures["requests_by_name"]["JOURNEY chat time-to-reply"] == 7


@dataclass(frozen=True)
class DistributedRun:
    result: subprocess.CompletedProcess
    cwd: Path
    summary: dict

    @property
    def run_dir(self) -> Path:
        return self.cwd / self.summary["report_dir"]


@pytest.fixture(scope="module")
def distributed(tmp_path_factory) -> DistributedRun:
    cwd = tmp_path_factory.mktemp("distributed")
    # The smoke scenario with a budget of its own, so the summary shows it records the scenario's;
    # 15 s cannot decide its percentiles, so only decided misses fail (inconclusive: pass).
    scenario = cwd / "smoke-with-budgets.yaml"
    scenario.write_text((SCENARIOS_DIR / "smoke.yaml").read_text() + "inconclusive: pass\n"
                        + f"regression_budgets: {{p95_ms_increase_percent: {SMOKE_BUDGETS.p95_ms_increase_percent}}}\n")
    ports = free_ports()
    result = subprocess.run(
        [sys.executable, "-m", "hive_resilience.cli", "run", str(scenario), "--duration", "15s", "--workers", str(WORKERS),
         "--api-port", str(ports.api), "--mcp-port", str(ports.mcp), "--llm-port", str(ports.llm)],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )
    summaries = sorted(cwd.glob("reports/*/summary.json"))
    assert summaries, result.stdout[-3000:] + result.stderr[-3000:]
    return DistributedRun(result, cwd, json.loads(summaries[-1].read_text()))


@embedded
def test_the_distributed_smoke_run_passes(distributed):
    assert distributed.result.returncode == 0, distributed.result.stdout[-3000:] + distributed.result.stderr[-3000:]
    assert distributed.summary["passed"]


@embedded
def test_the_slo_verdict_is_computed_once(distributed):
    assert len(list(distributed.cwd.rglob("summary.json"))) == 1
    assert distributed.result.stdout.count("RESULT:") == 1
    assert distributed.result.stdout.count("SLO verdicts for scenario") == 1


@embedded
def test_exactly_two_workers_reported_and_both_generated_load(distributed):
    workers = distributed.summary["workers"]
    assert len(workers) == WORKERS
    assert all(figures["requests"] > 0 for figures in workers.values()), workers


@embedded
def test_the_masters_total_is_the_sum_of_the_workers_reported_totals(distributed):
    aggregated = next(row for row in distributed.summary["requests"] if row["name"] == AGGREGATED)
    assert aggregated["requests"] == sum(figures["requests"] for figures in distributed.summary["workers"].values())


@embedded
def test_every_request_names_total_is_the_sum_over_the_workers(distributed):
    summed: dict[str, int] = {}
    for figures in distributed.summary["workers"].values():
        for name, requests in figures["requests_by_name"].items():
            summed[name] = summed.get(name, 0) + requests
    assert {row["name"]: row["requests"] for row in distributed.summary["requests"]} == summed


@embedded
def test_each_worker_reports_its_own_generator_cpu(distributed):
    for figures in distributed.summary["workers"].values():
        assert figures["samples"] > 0 and figures["cpu_percent_mean"] is not None
        assert figures["saturated"] == (figures["cpu_percent_mean"] >= 90)


@embedded
def test_each_worker_keeps_its_own_log_out_of_the_console(distributed):
    for number in range(1, WORKERS + 1):
        assert "Got quit message from master" in (distributed.run_dir / f"locust-worker-{number}.log").read_text()
    assert "Got quit message from master" not in distributed.result.stdout


@embedded
def test_the_summary_records_the_scenarios_regression_budgets(distributed):
    assert distributed.summary["regression_budgets"] == SMOKE_BUDGETS.model_dump()


@embedded
def test_no_locust_process_of_the_run_is_left(distributed):
    run_dir = str(distributed.run_dir)
    left = [process.pid for process in psutil.process_iter(["cmdline"]) if any(run_dir in part for part in process.info["cmdline"] or ())]
    assert left == []


@embedded
def test_plain_locust_master_and_workers_give_one_verdict_with_per_worker_totals(tmp_path, write_scenario):
    scenario = write_scenario(PLAIN_SCENARIO)
    port = free_port()
    with EmbeddedTarget(tmp_path / "target", free_ports()) as target:
        common = LocustCommand(scenario=str(scenario), host=target.api_url, mcp_host=target.mcp_url,
                               report_dir=tmp_path / "report")
        # Plain Locust, without `hive-resilience run`: the workers start first, as an operator would.
        workers = [LocustProcess(common.as_worker(port), tmp_path / f"worker-{number}.log") for number in range(WORKERS)]
        try:
            with LocustProcess(common.as_master(WORKERS, port, connect_timeout_s=60), tmp_path / "master.log") as master:
                master_exit_code = master.wait(timeout_s=180)
        finally:
            for worker in workers:  # they quit on the master's word; this only catches a stray one
                worker.stop(until=time.monotonic() + 30)
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    master_output = (tmp_path / "master.log").read_text()
    assert master_exit_code == 0, master_output[-3000:]
    assert master_output.count("RESULT:") == 1
    aggregated = next(row for row in summary["requests"] if row["name"] == AGGREGATED)
    assert len(summary["workers"]) == WORKERS
    assert aggregated["requests"] == sum(figures["requests"] for figures in summary["workers"].values()) > 0
