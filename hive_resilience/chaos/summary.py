"""A short Markdown page per chaos run: verdict, what users felt per phase, recovery times, leftover faults."""

from __future__ import annotations

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Journal

from hive_resilience.loadrun.request_log import whole_run_failures

PHASE_TITLES = {"baseline": "baseline", "during_fault": "during the fault", "after_recovery": "after recovery"}


def render_summary(journal: Journal) -> str:
    experiment = journal.get("experiment", {})
    verdict = "DEVIATED" if journal.get("deviated") else journal.get("status", "unknown").upper()
    ours = journal.get("hive_resilience", {})
    lines = [
        f"# {experiment.get('title', 'experiment')}",
        "",
        f"**Verdict: {verdict}** (Chaos Toolkit status `{journal.get('status')}`, "
        f"deviated: {bool(journal.get('deviated'))}, {journal.get('duration', 0):.1f} s)",
        "",
        experiment.get("description", ""),
        "",
    ]
    failed_runs = [run for run in journal.get("run", []) if run.get("status") == "failed"]
    if failed_runs:
        lines += ["## Failed activities", ""] + [
            f"- {run.get('activity', {}).get('name', '?')}: {_failure_text(run)}" for run in failed_runs] + [""]
    load = ours.get("load")
    if load:
        lines += [
            "## What users felt (background load)",
            "",
            "| phase | window s | requests | failed | RPS | error ratio | p50 ms | p95 ms | p99 ms | chat replies (failed) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for key, title in PHASE_TITLES.items():
            phase = load["phases"][key]
            lines.append(
                f"| {title} | {phase['end'] - phase['start']:.1f} | {phase['requests']} | {phase['failures']} | "
                f"{phase['rps']:.1f} | "
                f"{_number(phase['error_ratio'], '.3f')} | {_number(phase['p50_ms'])} | {_number(phase['p95_ms'])} | "
                f"{_number(phase['p99_ms'])} | {phase['replies']} ({phase['reply_failures']}) |"
            )
        slo = "held" if load.get("slo_passed") else f"broken: {', '.join(load.get('failed_slos', [])) or 'no verdict'}"
        failed, replies_failed = whole_run_failures(load["phases"])
        budget = ours.get("failure_budget_broken")
        lines += ["", f"Failed over the whole experiment: {failed} requests, {replies_failed} chat replies."
                  + (f" **Promise broken: {budget}.**" if budget else ""),
                  f"Load SLOs over the whole experiment: {slo}. Load report: `{load['report_dir']}`.", ""]
    recoveries = [
        (run["activity"]["name"], run.get("output"))
        for run in journal.get("run", [])
        if run.get("activity", {}).get("provider", {}).get("func") == "time_to_recover" and run.get("status") == "succeeded"
    ]
    if recoveries:
        lines += ["## Recovery", ""] + [f"- {name}: **{seconds} s**" for name, seconds in recoveries] + [""]
    lines += ["## Activities", "", "| activity | status | output |", "| --- | --- | --- |"]
    hypothesis = journal.get("steady_states", {}) or {}
    for phase in ("before", "after"):
        for probe in (hypothesis.get(phase) or {}).get("probes", []):
            lines.append(_activity_row(probe, f"steady state {phase}: "))
    for run in journal.get("run", []) + (journal.get("rollbacks") or []):
        lines.append(_activity_row(run))
    lines += ["", "## Left behind", "", left_behind(ours)]
    errors = [f"fault not undone: {error}" for error in undo_errors(journal)] + [
        f"control error: {error}" for error in ours.get("control_errors") or []]
    if errors:
        lines += ["", "## Errors (the run fails on these)", ""] + [f"- {error}" for error in errors]
    return "\n".join(lines) + "\n"


def undo_errors(journal: Journal) -> list[str]:
    """What the run failed to undo: rollbacks that failed, and faults the control's sweep left in place.

    Chaos Toolkit records a failed rollback and still ends the run "completed"; a fault left on
    the target would skew every run after it, so any of these makes the run deviated.
    """
    failed_rollbacks = [f"rollback {run.get('activity', {}).get('name', '?')}: "
                        f"{(run.get('exception') or ['failed'])[-1].strip()}"
                        for run in journal.get("rollbacks") or [] if run.get("status") != "succeeded"]
    swept = (journal.get("hive_resilience") or {}).get("faults_at_end") or []
    return failed_rollbacks + [f"{kind['kind']} at {item}" for kind in swept for item in kind["remaining"]]


def left_behind(ours: dict) -> str:
    """What the control's sweep of the fault registry found at the end of the experiment.

    "No fault was left behind." only when every check ran and passed: a check that could not
    run (nft missing, a stand-in not answering) leaves that fault not known to be gone.
    """
    swept = ours.get("faults_at_end")
    if swept is None:
        return "Leftover faults were not checked: the experiment did not run against the embedded target."
    undone = [item for kind in swept for item in kind["undone"]]
    remaining = [f"{kind['kind']} at {item}" for kind in swept for item in kind["remaining"]]
    unchecked = [f"{kind['kind']} at {item}" for kind in swept for item in kind["unchecked"]]
    if not (undone or remaining or unchecked):
        return f"No fault was left behind. Checked: {', '.join(kind['kind'] for kind in swept)}."
    parts = []
    if undone:
        parts.append("; ".join(undone) + " (undone by the control).")
    if remaining:
        parts.append("STILL IN PLACE after the control's undo: " + "; ".join(remaining) + ".")
    if unchecked:
        parts.append("NOT CHECKED, so not known to be gone: " + "; ".join(unchecked) + ".")
    return " ".join(parts)


def _activity_row(run: dict, prefix: str = "") -> str:
    output = run.get("output") if run.get("status") == "succeeded" else run.get("exception", [""])[-1:]
    text = str(output).replace("|", "/").replace("\n", " ")[:120]
    tolerance = "" if run.get("tolerance_met") is None else (" (tolerance met)" if run["tolerance_met"] else " (tolerance NOT met)")
    return f"| {prefix}{run.get('activity', {}).get('name', '?')} | {run.get('status')}{tolerance} | {text} |"


def _failure_text(run: dict) -> str:
    """The whole message of a failed activity (a broken promise names itself and its figures),
    without the exception class names Chaos Toolkit prefixes, often twice."""
    return (run.get("exception") or ["failed"])[-1].strip().replace(f"{ActivityFailed.__module__}.ActivityFailed: ", "")


def _number(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)
