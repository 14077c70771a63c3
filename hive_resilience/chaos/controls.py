"""Chaos Toolkit control: load during the whole experiment, and the report of what users felt.

Declared in an experiment's ``controls`` block, it
- brings up the embedded target when no ``hive_api_url`` is configured and none is running
  (and brings it down again at the end);
- runs the suite's Locust users in a subprocess (Locust's gevent monkey-patching must not enter
  the Chaos Toolkit process) from before the steady-state check until the experiment ends,
  logging every request with its time;
- cuts that log into baseline / during-fault / after-recovery windows (RPS, error ratio, exact
  p50/p95/p99) and adds them to the journal, so every experiment answers "what did users feel?";
- enforces the tolerances of probes inside the method, which Chaos Toolkit itself only records:
  a method probe that fails or misses its tolerance interrupts the experiment (rollbacks still
  run) and marks the journal deviated, so `chaos run` exits non-zero;
- as a safety net, sweeps the fault registry at the end (:mod:`hive_resilience.target.fault_registry`):
  every registered kind is checked in every place, whatever is still in place is undone and
  checked again, and the journal records per kind what was undone, what could not be checked
  and what is still there; "no fault left behind" only when every check ran and passed;
- fails the run (deviated, `chaos run` exits non-zero) when a fault could not be undone (a
  rollback failed, the sweep left one in place) or when one of its own end-of-experiment steps
  raised: Chaos Toolkit logs a control's exception at debug level and carries on, so the
  control records it in the journal and on stderr itself;
- runs its Locust in a process group of its own and kills that group when the experiment
  ends, whatever happened; a Locust left by a `chaos run` killed with SIGKILL is ended by
  ``hive-resilience cleanup``;
- writes the journal and a Markdown summary to ``reports/<timestamp>-chaos-<title>/``.

Arguments (all optional): ``scenario`` (default ``steady``), ``baseline_s`` (10), ``after_s``
(10), ``load`` (true), ``fault_proxy`` (true, when it starts the target itself), ``max_failed``
(none): the promise's budget of failed requests plus failed chat replies over the whole run,
``after_s`` included; more marks the run deviated, so failures after the last steady-state
check still break a zero-failure promise; ``prometheus_port`` (none): the load exposes its live
figures for Prometheus on this loopback port; ``fault_window_port`` (none): the method's window
is exposed there (:mod:`hive_resilience.chaos.fault_windows`; both in docs/prometheus.md);
``progress_interval_s`` (:data:`LOAD_PROGRESS_INTERVAL_S`): seconds between the load's status lines,
which go to ``load/locust.log`` in the report folder (0: none).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chaoslib.exceptions import InterruptExecution
from chaoslib.hypothesis import within_tolerance
from chaoslib.types import Activity, Configuration, Experiment, Journal, Run, Secrets

from hive_resilience.chaos.context import api_url, mcp_url, target_dir
from hive_resilience.chaos.fault_windows import FaultWindowExporter
from hive_resilience.chaos.summary import left_behind, render_summary, undo_errors
from hive_resilience.loadrun.locust_process import LocustCommand, LocustProcess
from hive_resilience.loadrun.request_log import (
    read_request_log,
    whole_run_failures,
    window_figures,
)
from hive_resilience.loadrun.summary import SUMMARY_FILE, new_run_dir, read_summary
from hive_resilience.target import fault_registry
from hive_resilience.target.embedded import EmbeddedTarget, TargetError

LOAD_STOP_TIMEOUT_S = 60
LOAD_USER_STOP_TIMEOUT_S = 5
LOAD_PROGRESS_INTERVAL_S = 10.0
"""Seconds between the load's status lines in its log: what users feel while the fault is in place, as it happens."""
JOURNAL_KEY = "hive_resilience"


@dataclass
class ExperimentRecord:
    """What this control knows about the running experiment."""

    run_dir: Path
    after_s: float
    started_at: float = field(default_factory=time.time)
    method_started_at: float | None = None
    method_ended_at: float | None = None
    load_process: LocustProcess | None = None
    request_log: Path | None = None
    target_dir: Path | None = None
    """The embedded target's folder; its state file, not a cached object, says what runs now."""
    started_target: bool = False
    method_misses: list[str] = field(default_factory=list)
    method_activities: frozenset[str] = frozenset()
    fault_window: FaultWindowExporter | None = None


_RECORD: ExperimentRecord | None = None


def current_run_dir(default: Path) -> Path:
    """This experiment's report folder, where probes keep what they compare across the fault."""
    return _RECORD.run_dir if _RECORD else default


def current_request_log() -> Path | None:
    """The running background load's request log, for the safeguard probe."""
    return _RECORD.request_log if _RECORD else None


def before_experiment_control(context: Experiment, configuration: Configuration = None, scenario: str = "steady",
                              baseline_s: float = 10, after_s: float = 10, load: bool = True,
                              fault_proxy: bool = True, prometheus_port: int | None = None,
                              fault_window_port: int | None = None,
                              progress_interval_s: float = LOAD_PROGRESS_INTERVAL_S, **_: object) -> None:
    global _RECORD
    slug = re.sub(r"[^a-z0-9]+", "-", context.get("title", "experiment").lower()).strip("-")[:40]
    record = _RECORD = ExperimentRecord(new_run_dir(f"chaos-{slug}", Path("reports")).resolve(), after_s)
    if fault_window_port is not None:
        record.fault_window = FaultWindowExporter(fault_window_port, context.get("title", slug))
    if not (configuration or {}).get("hive_api_url"):
        record.started_target = _ensure_embedded_target(target_dir(configuration), fault_proxy)
        record.target_dir = target_dir(configuration)
    if load:
        _start_load(record, configuration, scenario, prometheus_port, progress_interval_s)
        try:
            time.sleep(baseline_s)
            if record.load_process.exit_code is not None:
                raise InterruptExecution(f"the background load exited early; see {record.run_dir / 'load' / 'locust.log'}")
        except BaseException:
            record.load_process.kill()
            raise


def before_method_control(context: Experiment, **_: object) -> None:
    if _RECORD:
        _RECORD.method_started_at = time.time()
        if _RECORD.fault_window:
            _RECORD.fault_window.fault_started()
        # Safeguard probes also run during the method, in their own thread: not ours to judge.
        _RECORD.method_activities = frozenset(activity.get("name") for activity in context.get("method", []))


def after_method_control(context: Experiment, **_: object) -> None:
    if _RECORD:
        _RECORD.method_ended_at = time.time()
        if _RECORD.fault_window:
            _RECORD.fault_window.fault_ended()


def after_activity_control(context: Activity, state: Run, configuration: Configuration = None,
                           secrets: Secrets = None, **_: object) -> None:
    """Hold a method probe to its tolerance: a miss is a deviation, not a footnote."""
    record = _RECORD
    in_method = record and record.method_started_at is not None and record.method_ended_at is None
    if not in_method or context.get("type") != "probe" or "tolerance" not in context:
        return
    if context.get("name") not in record.method_activities:
        return
    met = state.get("status") == "succeeded" and within_tolerance(
        context["tolerance"], state.get("output"), configuration=configuration, secrets=secrets
    )
    state["tolerance_met"] = met
    if not met:
        record.method_misses.append(context["name"])
        outcome = state.get("output") if state.get("status") == "succeeded" else state.get("exception", ["?"])[-1].strip()
        raise InterruptExecution(
            f"method probe '{context['name']}' missed its tolerance {context['tolerance']}: got {outcome!r}"
        )


def after_experiment_control(context: Experiment, state: Journal, configuration: Configuration = None,
                             max_failed: int | None = None, **_: object) -> None:
    global _RECORD
    record, _RECORD = _RECORD, None
    if record is None:
        return
    errors: list[str] = []
    try:
        _end_experiment(record, state, max_failed, errors)
    except Exception as error:  # noqa: BLE001 -- Chaos Toolkit would log it at debug level and carry on
        errors.append(f"reporting the experiment: {type(error).__name__}: {error}")
    finally:
        if record.load_process:
            record.load_process.kill()
        if record.fault_window:
            record.fault_window.stop()
    if errors:
        state["deviated"] = True
        state.setdefault(JOURNAL_KEY, {})["control_errors"] = errors
        for error in errors:
            print(f"hive-resilience: control error: {error}", file=sys.stderr)
        _write_report(record, state)


def _end_experiment(record: ExperimentRecord, state: Journal, max_failed: int | None, errors: list[str]) -> None:
    """Sweep the faults, stop the load and the target it started, judge and report; every step runs
    even when one before it failed, and a failed step is recorded in ``errors``."""
    faults = _attempt(errors, "sweeping leftover faults", _sweep_leftover_faults, record.target_dir)
    load = _attempt(errors, "stopping the background load", _stop_load, record) if record.load_process else None
    if record.started_target:
        _attempt(errors, "stopping the embedded target", lambda: EmbeddedTarget.attach(record.target_dir).down())
    if record.method_misses:
        state["deviated"] = True
    missed_before = _steady_state_missed_before(state)
    if missed_before:
        # Chaos Toolkit ends such a run "completed" (exit 0) when the probes ran but missed their
        # tolerance: a system that does not meet its promise must not look green.
        state["deviated"] = True
        print(f"hive-resilience: steady state not met before the method: {', '.join(missed_before)}", file=sys.stderr)
    broken = _failure_budget_broken(load, max_failed)
    if broken:
        state["deviated"] = True
        print(f"hive-resilience: promise broken: {broken}", file=sys.stderr)
    state[JOURNAL_KEY] = {"report_dir": str(record.run_dir), "load": load, "faults_at_end": faults,
                          "undone_at_end": [item for kind in faults or [] for item in kind["undone"]],
                          "method_probes_missed": record.method_misses, "failure_budget_broken": broken,
                          "steady_state_missed_before": missed_before, "control_errors": errors}
    not_undone = undo_errors(state)
    if not_undone:
        state["deviated"] = True
        print(f"hive-resilience: faults not undone: {'; '.join(not_undone)}", file=sys.stderr)
    _write_report(record, state)
    print(f"hive-resilience: {left_behind(state[JOURNAL_KEY])}", file=sys.stderr)
    print(f"hive-resilience: chaos report in {record.run_dir}", file=sys.stderr)


def _attempt(errors: list[str], what: str, step: Callable[..., Any], *args: Any) -> Any:
    """``step(*args)``, or None with its exception recorded in ``errors``: the next step still runs."""
    try:
        return step(*args)
    except Exception as error:  # noqa: BLE001 -- recorded, and it fails the run
        errors.append(f"{what}: {type(error).__name__}: {error}")
        return None


def _write_report(record: ExperimentRecord, state: Journal) -> None:
    (record.run_dir / "journal.json").write_text(json.dumps(state, indent=2, default=str))
    (record.run_dir / "summary.md").write_text(render_summary(state))


def _steady_state_missed_before(state: Journal) -> list[str]:
    """The steady-state probes that missed their tolerance before the method ran."""
    before = (state.get("steady_states") or {}).get("before")
    if not before or before.get("steady_state_met", True):
        return []
    return [probe["activity"]["name"] for probe in before.get("probes", []) if not probe.get("tolerance_met", True)]


def _failure_budget_broken(load: dict | None, max_failed: int | None) -> str | None:
    """What broke the whole-run failure budget, or None when there is none or it held."""
    if load is None or max_failed is None:
        return None
    failed, replies_failed = whole_run_failures(load["phases"])
    if failed + replies_failed <= max_failed:
        return None
    return f"{failed} requests and {replies_failed} chat replies failed; the budget is {max_failed}"


def _ensure_embedded_target(run_dir: Path, fault_proxy: bool) -> bool:
    """Use the embedded target running in ``run_dir``, or start one; True when started here."""
    try:
        if all(state["running"] and state["healthy"] for state in EmbeddedTarget.attach(run_dir).status().values()):
            return False
    except TargetError:
        pass
    try:
        EmbeddedTarget(run_dir, fault_proxy=fault_proxy).up()
    except TargetError as error:
        raise InterruptExecution(f"cannot start the embedded target: {error}") from None
    return True


def _start_load(record: ExperimentRecord, configuration: Configuration, scenario: str,
                prometheus_port: int | None = None, progress_interval_s: float = LOAD_PROGRESS_INTERVAL_S) -> None:
    load_dir = record.run_dir / "load"
    load_dir.mkdir()
    record.request_log = load_dir / "requests.csv"
    command = LocustCommand(scenario=scenario, host=api_url(configuration), mcp_host=mcp_url(configuration),
                            stop_timeout_s=LOAD_USER_STOP_TIMEOUT_S, report_dir=load_dir,
                            request_log=record.request_log, prometheus_port=prometheus_port,
                            progress_interval_s=progress_interval_s)
    # A group of its own, killed by after_experiment_control; a SIGKILLed run leaves it to `cleanup`.
    record.load_process = LocustProcess(command, load_dir / "locust.log")


def _stop_load(record: ExperimentRecord) -> dict:
    """Let the load run ``after_s`` more, stop it as Ctrl-C would, and cut the phase windows."""
    record.load_process.stop(until=time.monotonic() + record.after_s, interrupt_grace_s=LOAD_STOP_TIMEOUT_S)
    stopped_at = time.time()
    requests = read_request_log(record.request_log) if record.request_log.is_file() else []
    method_start = record.method_started_at or stopped_at
    method_end = record.method_ended_at or stopped_at
    summary_path = record.run_dir / "load" / SUMMARY_FILE
    verdict = read_summary(summary_path) if summary_path.is_file() else None
    return {
        "phases": {
            "baseline": window_figures(requests, record.started_at, method_start),
            "during_fault": window_figures(requests, method_start, method_end),
            "after_recovery": window_figures(requests, method_end, stopped_at),
        },
        "slo_passed": verdict.passed if verdict else None,
        "failed_slos": [v.label for v in verdict.slos if v.failed] if verdict else [],
        "report_dir": str(record.run_dir / "load"),
    }


def _sweep_leftover_faults(target_dir: Path | None) -> list[dict] | None:
    """Every registered fault kind checked, what is still in place (an interrupted run, a missing
    rollback) undone; per kind what was undone, not checked, or is still there. None without an
    embedded target."""
    if target_dir is None:
        return None
    return [asdict(outcome) for outcome in fault_registry.FAULTS.sweep(EmbeddedTarget.attach(target_dir))]
