"""``hive-resilience report``: one self-contained HTML page across load, chaos and E2E runs.

It reads only what the runs wrote (``summary.json`` and ``timeline.json`` of load runs,
``journal.json`` of chaos runs, ``results.json`` of the E2E run) and draws its charts as inline
SVG (:mod:`hive_resilience.reporting.charts`), so the page opens anywhere, offline. The charts show the gate's own figures per window
(``timeline.json``), so they agree with the verdicts; only runs written before it existed fall
back to Locust's bucketed history CSV. The headline marks each promise of the deployment
plan held, broken or not tested, and never "held" without a run that tested it.
"""

from __future__ import annotations

import csv
import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from hive_resilience.loadrun.capacity import (
    CAPACITY_FILE,
    CapacityResult,
    knee_line,
    read_capacity,
)
from hive_resilience.loadrun.latency import RequestTally
from hive_resilience.loadrun.metrics import METRICS, request_metrics
from hive_resilience.loadrun.resources import COMPONENT_GROWTH
from hive_resilience.loadrun.scenario import AGGREGATED
from hive_resilience.loadrun.slo import SloVerdict
from hive_resilience.loadrun.summary import SUMMARY_FILE, RunSummary, read_summary
from hive_resilience.loadrun.timeline import TIMELINE_FILE, Timeline, read_timeline
from hive_resilience.reporting.charts import (
    CHART_STYLE,
    PERCENTILE_AXIS,
    Chart,
    Series,
    percentile_position,
    svg_chart,
    unit_axis,
    value_axis,
)
from hive_resilience.reporting.compare import COMPARISON_JSON

REPORT_FILE_PREFIX = "resilience-report"
DISTRIBUTION_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99)
"""Where a latency distribution chart reads each run's HDR histogram."""
LATENCY_SERIES = (Series("p50", "#16a34a"), Series("p95", "#d97706"), Series("p99", "#7c3aed"))
THIS_RUN, BASELINE = Series("this run", "#2563eb"), Series("baseline", "#9ca3af")


@dataclass
class Runs:
    """The run folders given, sorted by kind."""

    load: list[Path] = field(default_factory=list)
    chaos: list[Path] = field(default_factory=list)
    e2e: list[Path] = field(default_factory=list)
    capacity: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def classify(run_dirs: list[Path]) -> Runs:
    runs = Runs()
    for run_dir in run_dirs:
        if (run_dir / "journal.json").is_file():
            runs.chaos.append(run_dir)
        elif (run_dir / "results.json").is_file():
            runs.e2e.append(run_dir)
        elif (run_dir / CAPACITY_FILE).is_file():
            runs.capacity.append(run_dir)
        elif (run_dir / SUMMARY_FILE).is_file():
            runs.load.append(run_dir)
        else:
            runs.ignored.append(run_dir)
    return runs


def default_run_dirs(reports_dir: Path) -> list[Path]:
    """Every run folder under ``reports_dir`` (load, chaos, E2E), oldest first."""
    return sorted(path for path in reports_dir.iterdir() if path.is_dir() and path.name != "target")


def write_report(run_dirs: list[Path], reports_dir: Path) -> Path:
    """Build the page from ``run_dirs`` and write it as a new file in ``reports_dir``."""
    runs = classify(run_dirs)
    if not (runs.load or runs.chaos or runs.e2e or runs.capacity):
        raise ValueError("none of the folders holds a load summary, a chaos journal, E2E results or a capacity search")
    loads = [_load_run(path) for path in runs.load]
    chaos = [_chaos_run(path) for path in runs.chaos]
    e2e = [json.loads((path / "results.json").read_text()) for path in runs.e2e]
    capacity = [(path, read_capacity(path / CAPACITY_FILE)) for path in runs.capacity]
    page = _page(_promises(loads, chaos), loads, chaos, [row for rows in e2e for row in rows], capacity, runs)
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for suffix in ["", *(f"-{n}" for n in range(2, 100))]:
        path = reports_dir / f"{REPORT_FILE_PREFIX}-{stamp}{suffix}.html"
        if not path.exists():  # never overwrite an earlier report
            path.write_text(page)
            return path
    raise FileExistsError(f"cannot find a new report file name in {reports_dir}")


def _load_run(run_dir: Path) -> dict:
    summary = read_summary(run_dir / SUMMARY_FILE)
    timeline = read_timeline(run_dir / TIMELINE_FILE) if (run_dir / TIMELINE_FILE).is_file() else None
    return {"dir": run_dir, "summary": summary, "history": _series(run_dir), "baseline": _baseline(run_dir),
            "timeline": timeline}


def _baseline(run_dir: Path) -> tuple[str, RunSummary] | None:
    """The run ``compare`` judged this one against (its ``comparison.json``), when that folder is still here."""
    comparison = run_dir / COMPARISON_JSON
    if not comparison.is_file():
        return None
    baseline_dir = Path(json.loads(comparison.read_text()).get("baseline_run", ""))
    if not (baseline_dir / SUMMARY_FILE).is_file():
        return None
    return baseline_dir.name, read_summary(baseline_dir / SUMMARY_FILE)


def _chaos_run(run_dir: Path) -> dict:
    journal = json.loads((run_dir / "journal.json").read_text())
    ours = journal.get("hive_resilience") or {}
    load = ours.get("load") or {}
    load_dir = Path(load["report_dir"]) if load.get("report_dir") else run_dir / "load"
    outputs = [run for run in journal.get("run", []) + _steady_state_runs(journal)]
    return {
        "dir": run_dir,
        "journal": journal,
        "title": journal.get("experiment", {}).get("title", run_dir.name),
        "tags": journal.get("experiment", {}).get("tags", []),
        "held": journal.get("status") == "completed" and not journal.get("deviated"),
        "recovery_s": [run["output"] for run in outputs if _func(run) == "time_to_recover" and run.get("status") == "succeeded"],
        "sessions_lost": [run["output"] for run in outputs if _func(run) == "sessions_lost" and run.get("status") == "succeeded"],
        "phases": load.get("phases"),
        "history": _series(load_dir),
    }


def _steady_state_runs(journal: dict) -> list[dict]:
    states = journal.get("steady_states") or {}
    return [probe for phase in ("before", "after") for probe in (states.get(phase) or {}).get("probes", [])]


def _func(run: dict) -> str | None:
    return run.get("activity", {}).get("provider", {}).get("func")


def _series(load_dir: Path) -> list[dict]:
    """Aggregate rows over time (time, RPS, error ratio, p50/p95/p99): the gate's windows, else Locust's history."""
    if (load_dir / TIMELINE_FILE).is_file():
        return _timeline_rows(load_dir / TIMELINE_FILE)
    return _history(load_dir / "locust_stats_history.csv")


def _timeline_rows(path: Path) -> list[dict]:
    """One row per window of ``timeline.json``; an empty window has no percentiles but counts as 0 RPS."""
    timeline = read_timeline(path)
    rows = []
    for window in timeline.windows:
        figures = window.requests.get(AGGREGATED)
        requests = figures.requests if figures else 0
        rows.append({"t": timeline.started_at + window.start_s, "rps": requests / timeline.window_s,
                     "error_ratio": figures.failures / requests if requests else 0.0,
                     **{key: getattr(figures, f"{key}_ms") if figures else None for key in ("p50", "p95", "p99")}})
    return rows


def _history(csv_path: Path) -> list[dict]:
    """Per-second aggregate rows of Locust's history (runs written before ``timeline.json``)."""
    if not csv_path.is_file():
        return []
    rows = []
    with open(csv_path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] != "Aggregated" or row["50%"] == "N/A":
                continue
            rps, fails = float(row["Requests/s"]), float(row["Failures/s"])
            rows.append({"t": float(row["Timestamp"]), "rps": rps, "error_ratio": fails / rps if rps else 0.0,
                         "p50": float(row["50%"]), "p95": float(row["95%"]), "p99": float(row["99%"])})
    return rows


def _promises(loads: list[dict], chaos: list[dict]) -> list[tuple[str, str, str]]:
    """(promise, held / broken / not tested, evidence) for the deployment plan's promises."""

    def from_slos(metric: str) -> tuple[str, str]:
        verdicts = [(load["dir"].name, v) for load in loads for v in load["summary"].slos
                    if v.metric == metric and v.request == AGGREGATED and v.status != "not measured"]
        if not verdicts:
            return "not tested", "no load run"
        broken = [f"{name}: {_measured(v.measured)} ({v.status})" for name, v in verdicts if v.failed]
        if broken:
            return "broken", "; ".join(broken)
        worst = max((v.measured for _, v in verdicts if v.measured is not None), default=None)
        return "held", f"{len(verdicts)} load run(s), worst {_n(worst, '.4g')}"

    def from_chaos(*tags: str) -> tuple[str, str]:
        tested = [run for run in chaos if set(tags) & set(run["tags"])]
        if not tested:
            return "not tested", "no experiment tagged " + " or ".join(tags)
        broken = [run["title"] for run in tested if not run["held"]]
        if broken:
            return "broken", "; ".join(broken)
        return "held", "; ".join(run["title"] for run in tested)

    def rpo() -> tuple[str, str]:
        status, evidence = from_chaos("rpo")
        lost = [count for run in chaos if "rpo" in run["tags"] for count in run["sessions_lost"]]
        if status == "held" and any(lost):
            return "broken", f"sessions lost: {max(lost)}"
        return status, evidence + (f" (sessions lost: {max(lost)})" if lost else "")

    return [
        *((spec.promise, *from_slos(spec.name)) for spec in METRICS if spec.promise),
        ("one pod or process lost and nobody notices", *from_chaos("pod-kill", "process-kill")),
        ("zero-downtime rollout", *from_chaos("zero-downtime")),
        ("no session lost on a crash (RPO 0)", *rpo()),
    ]


def _page(promises: list, loads: list[dict], chaos: list[dict], e2e: list[dict],
          capacity: list[tuple[Path, CapacityResult]], runs: Runs) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Hive resilience report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Hive resilience report</h1>",
        (f"<p class='meta'>Built {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} from {len(loads)} load, "
         f"{len(chaos)} chaos, {len(runs.e2e)} E2E and {len(capacity)} capacity run folder(s).</p>"),
        "<h2>Promises</h2><table class='promises'><tr><th>promise</th><th>verdict</th><th>evidence</th></tr>",
        *[f"<tr class='{_css(status)}'><td>{_e(promise)}</td><td>{_e(status)}</td><td>{_e(evidence)}</td></tr>"
          for promise, status, evidence in promises],
        "</table>",
    ]
    parts += [_load_section(load) for load in loads]
    if chaos:
        parts.append("<h2>Chaos experiments</h2>")
        parts += [_chaos_section(run) for run in chaos]
    if e2e:
        parts.append(_e2e_section(e2e))
    parts += [_capacity_section(path, result) for path, result in capacity]
    parts.append("</body></html>")
    return "\n".join(parts)


def _load_section(load: dict) -> str:
    summary: RunSummary = load["summary"]
    scenario = summary.scenario
    compressed = f", compressed from {scenario.compressed_from_s:.0f} s" if scenario.compressed_from_s else ""
    metrics = request_metrics()
    # The unit only where the name does not already say it ("requests", "error ratio").
    headers = "".join(f"<th>{_e(spec.label)}{'' if spec.unit in spec.label else f' <small>{_e(spec.unit)}</small>'}</th>"
                      for spec in metrics)
    rows = "".join(
        f"<tr><td>{_e(row.name)}</td>"
        + "".join(f"<td>{_n(row.figure(spec.name), spec.display)}</td>" for spec in metrics)
        + f"<td>{row.failures}</td></tr>"
        for row in summary.requests
    )
    verdicts = "".join(
        f"<tr class='{_css(v.status)}'><td>{_e(v.label)}</td><td>{_measured(v.measured)}</td>"
        f"<td>{'-' if v.samples is None else v.samples}</td><td>{_e(v.interval_text() or '-')}</td>"
        f"<td>{_e(v.status)}{_e(_deciding(v))}</td></tr>"
        for v in summary.slos
    )
    warnings = "".join(f"<p class='warning'>{_e(w)}</p>" for w in summary.warnings)
    return (
        f"<h2>Load: {_e(scenario.name)} <small>{_e(load['dir'].name)}{compressed}</small></h2>"
        f"<p>Result: <b class='{_css('pass' if summary.passed else 'fail')}'>{'PASS' if summary.passed else 'FAIL'}</b>"
        + ("" if summary.completed else f" &middot; incomplete: {_e(summary.incomplete_reason)}") + "</p>"
        f"{warnings}<table><tr><th>request</th>{headers}<th>failures</th></tr>{rows}</table>"
        f"<table><tr><th>SLO</th><th>measured</th><th>samples</th><th>95 % CI</th><th>verdict</th></tr>{verdicts}</table>"
        + _agent_section(summary)
        + _charts(load["history"], None)
        + _growth_section(summary, load["timeline"])
        + _distributions(summary, load["baseline"])
    )


def _distributions(summary: RunSummary, baseline: tuple[str, RunSummary] | None) -> str:
    """Per request with an HDR histogram, latency against percentile (log tail), the baseline's on the same chart."""
    baseline_rows = {row.name: row for row in baseline[1].requests if row.histogram} if baseline else {}
    charts = []
    for row in (row for row in summary.requests if row.histogram):
        runs = [(THIS_RUN, RequestTally.from_encoded(row.histogram))]
        if row.name in baseline_rows:
            runs.append((BASELINE, RequestTally.from_encoded(baseline_rows[row.name].histogram)))
        points = [{"x": percentile_position(p), **{series.key: tally.percentile_ms(p) for series, tally in runs}}
                  for p in DISTRIBUTION_PERCENTILES]
        charts.append(svg_chart(Chart(f"{row.name}: latency by percentile", points, [series for series, _ in runs],
                                      PERCENTILE_AXIS, value_axis("ms"))))
    if not charts:
        return ""
    against = f" against the baseline {_e(baseline[0])}" if baseline_rows else ""
    return f"<h3>Latency distribution{against}</h3><div class='charts'>{''.join(charts)}</div>"


TAIL_SERIES = (Series("p999", "#7c3aed", "p99.9"), Series("max", "#dc2626"))


def _growth_section(summary: RunSummary, timeline: Timeline | None) -> str:
    """What grows over a soak: memory per component, each request's latency trend, and the tail per second."""
    parts = []
    if summary.resources is not None:
        figures, cells = summary.resources.figures, []
        for growth in COMPONENT_GROWTH:
            values = [_n(figures.get(name), ".3g") for name in growth.figure_names]
            cells.append(f"<tr><td>{_e(growth.label)}</td>" + "".join(f"<td>{value}</td>" for value in values)
                         + ("" if growth.sessions else "<td>-</td>") + "</tr>")
        parts.append(f"<h3>Memory by component</h3><p>Growth after warm-up, attributed to "
                     f"{summary.resources.sessions_created} Hive sessions created and "
                     f"{summary.resources.mcp_sessions_opened or 0} MCP sessions opened.</p><table><tr><th>component</th>"
                     "<th>peak MB</th><th>growth MB/h</th><th>growth KB per session (Hive / MCP)</th></tr>"
                     + "".join(cells) + "</table>")
    if summary.latency_trends:
        cells = "".join(
            f"<tr><td>{_e(key)}</td><td>{trend.windows}</td><td>{trend.p50_ms_first:.0f} &rarr; {trend.p50_ms_last:.0f}</td>"
            f"<td>{trend.ms_per_hour:+,.1f}</td><td>{_n(trend.ms_per_1k_sessions, '+,.1f')}</td></tr>"
            for key, trend in sorted(summary.latency_trends.items(), key=lambda item: -item[1].ms_per_hour))
        parts.append("<h3>Latency trend after warm-up</h3><p>Least-squares slope of each request's per-window median."
                     "</p><table><tr><th>request</th><th>windows</th><th>fitted median ms</th><th>ms/h</th>"
                     f"<th>ms/1k sessions</th></tr>{cells}</table>")
    if timeline is not None and timeline.tail and timeline.tail_window_s:
        window_s = timeline.tail_window_s
        charts = [svg_chart(Chart(f"{key}: p99.9 and max per {window_s:g} s", [
            {"x": index * window_s, "p999": p999, "max": most}
            for index, p999, most in zip(series.window, series.p999_ms, series.max_ms, strict=True)],
            TAIL_SERIES, unit_axis("s"), value_axis("ms"))) for key, series in timeline.tail.items()]
        parts.append(f"<h3>Tail per {window_s:g} s</h3><div class='charts'>{''.join(charts)}</div>")
    return "".join(parts)


def _agent_section(summary: RunSummary) -> str:
    """Where agent replies' time went, and which tool calls reached the tools server from Hive."""
    parts = []
    split = summary.agent_time
    if split is not None:
        cells = "".join(f"<tr><td>{label}</td><td>{ms:.0f}</td><td>{percent:.0f} %</td></tr>"
                        for label, ms, percent in split.parts())
        parts.append(f"<h3>Agent replies: where the time went</h3><p>{split.replies} whole replies, mean "
                     f"{split.reply_ms_mean:.0f} ms, {split.tool_calls} tool calls</p>"
                     f"<table><tr><th>part</th><th>mean ms</th><th>share</th></tr>{cells}</table>")
    if summary.tools_server_calls:
        cells = "".join(f"<tr><td>{_e(tool)}</td><td>{calls.received}</td><td>{calls.from_hive}</td>"
                        f"<td>{calls.from_load_users}</td></tr>" for tool, calls in summary.tools_server_calls.items())
        parts.append("<h3>Tools server calls</h3><table><tr><th>tool</th><th>received</th><th>from Hive</th>"
                     f"<th>from McpToolsUser</th></tr>{cells}</table>")
    return "".join(parts)


def _deciding(verdict: SloVerdict) -> str:
    """For an inconclusive verdict: what it counts as and roughly how many samples would decide it."""
    if verdict.status != "inconclusive":
        return ""
    more = f"~{verdict.samples_to_decide}" if verdict.samples_to_decide else "over a million"
    return f" (counts as {verdict.inconclusive_means}; {more} samples would decide)"


def _chaos_section(run: dict) -> str:
    phases = run["phases"] or {}
    phase_rows = "".join(
        f"<tr><td>{_e(name.replace('_', ' '))}</td><td>{p['requests']}</td><td>{_n(p['rps'], '.1f')}</td>"
        f"<td>{_n(p['error_ratio'], '.3f')}</td><td>{_n(p['p95_ms'])}</td><td>{_n(p['p99_ms'])}</td></tr>"
        for name, p in phases.items()
    )
    fault = phases.get("during_fault")
    window = (fault["start"], fault["end"]) if fault else None
    verdict = "held" if run["held"] else ("deviated" if run["journal"].get("deviated") else run["journal"].get("status"))
    recovery = ", ".join(f"{seconds} s" for seconds in run["recovery_s"]) or "not measured"
    lost = ", ".join(str(count) for count in run["sessions_lost"][-1:]) or "not measured"
    return (
        f"<h3>{_e(run['title'])} <small>{_e(run['dir'].name)}</small></h3>"
        f"<p>Verdict: <b class='{_css('held' if run['held'] else 'broken')}'>{_e(verdict)}</b> &middot; "
        f"recovery time: {_e(recovery)} &middot; sessions lost: {_e(lost)}</p>"
        + (f"<table><tr><th>phase</th><th>requests</th><th>RPS</th><th>error ratio</th><th>p95 ms</th>"
           f"<th>p99 ms</th></tr>{phase_rows}</table>" if phase_rows else "")
        + _charts(run["history"], window)
    )


def _e2e_section(results: list[dict]) -> str:
    rows = []
    for result in results:
        timings = "; ".join(f"{what}: {seconds:.2f} s" for what, seconds in result["timings"].items())
        links = ""
        if result.get("artifacts"):
            folder = Path(result["artifacts"]).resolve()
            links = " ".join(f"<a href='{_e(folder.joinpath(name).as_uri())}'>{name}</a>"
                             for name in ("test-failed-1.png", "trace.zip", "console.log") if folder.joinpath(name).exists())
        note = f" ({_e(result['known_defect'])})" if result.get("known_defect") else ""
        rows.append(f"<tr class='{_css(result['outcome'])}'><td>{_e(result['test'])}</td><td>{_e(result['outcome'])}{note}</td>"
                    f"<td>{_e(timings)}</td><td>{links}</td></tr>")
    return ("<h2>Dashboard E2E</h2><table><tr><th>flow</th><th>outcome</th><th>timings</th><th>artifacts</th></tr>"
            + "".join(rows) + "</table>")


def _capacity_section(run_dir: Path, result: CapacityResult) -> str:
    """Every step of the search, the knee with its spread, the first SLO to break, and latency against offered rate."""
    steps = sorted(result.steps(), key=lambda step: (step.offered_rate_per_s, step.repeat))
    rows = "".join(
        f"<tr class='{_css({'held': 'held', 'broke': 'broken'}.get(step.verdict, step.verdict))}'>"
        f"<td>{step.offered_rate_per_s:.3g}</td><td>{_e(step.verdict)}</td><td>{step.repeat}</td>"
        + "".join(f"<td>{_n(value, spec)}</td>" for value, spec in (
            (step.achieved_rate_per_s, ".3g"), (step.goodput_rps, ".3g"), (step.p50_ms, ".0f"), (step.p95_ms, ".0f"),
            (step.p99_ms, ".0f"), (step.error_ratio, ".3f"), (step.dropped_arrivals, "d"),
            (step.generator_cpu_percent, ".0f")))
        + f"<td>{_e(step.first_broken_slo or step.invalid_reason or '')}</td></tr>"
        for step in steps
    )
    first = result.first_break
    measured = [{"x": step.offered_rate_per_s, "p50": step.p50_ms, "p95": step.p95_ms, "p99": step.p99_ms}
                for step in steps if step.verdict != "invalid"]
    chart = svg_chart(Chart("latency ms (p50, p95, p99) against offered arrivals/s", measured, LATENCY_SERIES,
                            unit_axis("/s", ".3g"), value_axis("ms"))) if measured else ""
    return (
        f"<h2>Capacity: {_e(result.scenario)} <small>{_e(run_dir.name)}, {_e(result.target)}</small></h2>"
        f"<p>Result: <b class='{_css('pass' if result.passed else 'fail')}'>{'PASS' if result.passed else 'FAIL'}</b>"
        f" &middot; {_e(knee_line(result))}"
        + (f" &middot; first SLO to break: {_e(first.slo)} at {first.rate_per_s:.3g}/s" if first else "") + "</p>"
        "<table><tr><th>offered /s</th><th>verdict</th><th>repeat</th><th>achieved /s</th><th>goodput /s</th>"
        "<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>error ratio</th><th>dropped</th><th>generator CPU %</th>"
        f"<th>why</th></tr>{rows}</table><div class='charts'>{chart}</div>"
    )


def _charts(history: list[dict], fault_window: tuple[float, float] | None) -> str:
    """RPS, error ratio and latency over the run's elapsed seconds, ``fault_window`` (epoch seconds) shaded."""
    if not history:
        return "<p class='meta'>No time series (the run wrote no timeline.json).</p>"
    start = history[0]["t"]
    rows = [{**row, "x": row["t"] - start} for row in history]
    shaded = (fault_window[0] - start, fault_window[1] - start) if fault_window else None
    elapsed = unit_axis("s")
    return "<div class='charts'>" + "".join(svg_chart(Chart(title, rows, series, elapsed, y_axis, shaded)) for title, series, y_axis in [
        ("requests per second", [Series("rps", "#2563eb")], value_axis("/s")),
        ("error ratio", [Series("error_ratio", "#dc2626", "error ratio")], value_axis("")),
        ("latency ms (p50, p95, p99)", LATENCY_SERIES, value_axis("ms")),
    ]) + "</div>"


def _css(status: str) -> str:
    return {"held": "good", "pass": "good", "passed": "good", "xfailed": "known", "broken": "bad", "fail": "bad",
            "failed": "bad", "xpassed": "bad"}.get(status, "neutral")


def _measured(value: float | None) -> str:
    return "not measured" if value is None else format(value, ".4g")


def _n(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


STYLE = CHART_STYLE + """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1f2937}
h1{margin-bottom:0} .meta{color:#6b7280} small{color:#6b7280;font-weight:normal}
table{border-collapse:collapse;margin:8px 0 16px} th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left}
.good td:nth-child(2),b.good{color:#15803d} .bad td:nth-child(2),b.bad{color:#b91c1c}
.known td:nth-child(2){color:#92400e} .neutral td:nth-child(2){color:#6b7280}
.warning{color:#92400e} .charts{display:flex;flex-wrap:wrap;gap:8px}
.chart{border:1px solid #e5e7eb;background:#fff}
.fault{fill:#fecaca;opacity:.6}
"""
