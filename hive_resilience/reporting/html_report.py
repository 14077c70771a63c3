"""``hive-resilience report``: one self-contained HTML page across load, chaos and E2E runs.

It reads only what the runs wrote (``summary.json`` and ``timeline.json`` of load runs,
``journal.json`` of chaos runs, ``results.json`` of the E2E run) and draws its charts as inline
SVG, so the page opens anywhere, offline. The charts show the gate's own figures per window
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

from hive_resilience.loadrun.metrics import METRICS, request_metrics
from hive_resilience.loadrun.scenario import AGGREGATED
from hive_resilience.loadrun.slo import SloVerdict
from hive_resilience.loadrun.summary import SUMMARY_FILE, RunSummary, read_summary
from hive_resilience.loadrun.timeline import TIMELINE_FILE, read_timeline

REPORT_FILE_PREFIX = "resilience-report"
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 180, 36


@dataclass
class Runs:
    """The run folders given, sorted by kind."""

    load: list[Path] = field(default_factory=list)
    chaos: list[Path] = field(default_factory=list)
    e2e: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def classify(run_dirs: list[Path]) -> Runs:
    runs = Runs()
    for run_dir in run_dirs:
        if (run_dir / "journal.json").is_file():
            runs.chaos.append(run_dir)
        elif (run_dir / "results.json").is_file():
            runs.e2e.append(run_dir)
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
    if not (runs.load or runs.chaos or runs.e2e):
        raise ValueError("none of the folders holds a load summary, a chaos journal or E2E results")
    loads = [_load_run(path) for path in runs.load]
    chaos = [_chaos_run(path) for path in runs.chaos]
    e2e = [json.loads((path / "results.json").read_text()) for path in runs.e2e]
    page = _page(_promises(loads, chaos), loads, chaos, [row for rows in e2e for row in rows], runs)
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
    return {"dir": run_dir, "summary": summary, "history": _series(run_dir)}


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


def _page(promises: list, loads: list[dict], chaos: list[dict], e2e: list[dict], runs: Runs) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Hive resilience report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Hive resilience report</h1>",
        f"<p class='meta'>Built {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} from {len(loads)} load, "
        f"{len(chaos)} chaos and {len(runs.e2e)} E2E run folder(s).</p>",
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
    )


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


def _charts(history: list[dict], fault_window: tuple[float, float] | None) -> str:
    if not history:
        return "<p class='meta'>No time series (the run wrote no timeline.json).</p>"
    return "<div class='charts'>" + "".join([
        _svg_chart("requests per second", history, [("rps", "#2563eb")], fault_window),
        _svg_chart("error ratio", history, [("error_ratio", "#dc2626")], fault_window),
        _svg_chart("latency ms (p50, p95, p99)", history, [("p50", "#16a34a"), ("p95", "#d97706"), ("p99", "#7c3aed")],
                   fault_window),
    ]) + "</div>"


def _svg_chart(title: str, history: list[dict], series: list[tuple[str, str]], window: tuple[float, float] | None) -> str:
    t0, t1 = history[0]["t"], max(history[-1]["t"], history[0]["t"] + 1)
    top = max((row[key] for row in history for key, _ in series if row[key] is not None), default=0.0) or 1.0
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD

    def x(t: float) -> float:
        return CHART_PAD + (t - t0) / (t1 - t0) * inner_w

    def y(value: float) -> float:
        return CHART_HEIGHT - CHART_PAD - value / top * inner_h

    shapes = []
    if window:
        left, right = max(x(window[0]), CHART_PAD), min(x(window[1]), CHART_WIDTH - CHART_PAD)
        if right > left:
            shapes.append(f"<rect class='fault' x='{left:.1f}' y='{CHART_PAD}' width='{right - left:.1f}' height='{inner_h}'>"
                          "<title>fault window</title></rect>")
    for key, colour in series:
        measured = [row for row in history if row[key] is not None]  # a window without requests has no latency
        points = " ".join(f"{x(row['t']):.1f},{y(row[key]):.1f}" for row in measured)
        shapes.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{points}'/>")
        shapes += [f"<circle class='point' cx='{x(row['t']):.1f}' cy='{y(row[key]):.1f}' r='1.6' fill='{colour}'/>"
                   for row in measured]
    legend = " ".join(f"<tspan fill='{colour}'>{key}</tspan>" for key, colour in series)
    return (f"<svg class='chart' width='{CHART_WIDTH}' height='{CHART_HEIGHT}' viewBox='0 0 {CHART_WIDTH} {CHART_HEIGHT}'"
            f" role='img' aria-label='{_e(title)}'><text x='{CHART_PAD}' y='20'>{_e(title)} (max {top:.3g}) {legend}</text>"
            f"<line x1='{CHART_PAD}' y1='{CHART_HEIGHT - CHART_PAD}' x2='{CHART_WIDTH - CHART_PAD}' "
            f"y2='{CHART_HEIGHT - CHART_PAD}' stroke='#999'/><text x='{CHART_PAD}' y='{CHART_HEIGHT - 12}'>0 s</text>"
            f"<text x='{CHART_WIDTH - CHART_PAD - 40}' y='{CHART_HEIGHT - 12}'>{t1 - t0:.0f} s</text>{''.join(shapes)}</svg>")


def _css(status: str) -> str:
    return {"held": "good", "pass": "good", "passed": "good", "xfailed": "known", "broken": "bad", "fail": "bad",
            "failed": "bad", "xpassed": "bad"}.get(status, "neutral")


def _measured(value: float | None) -> str:
    return "not measured" if value is None else format(value, ".4g")


def _n(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1f2937}
h1{margin-bottom:0} .meta{color:#6b7280} small{color:#6b7280;font-weight:normal}
table{border-collapse:collapse;margin:8px 0 16px} th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left}
.good td:nth-child(2),b.good{color:#15803d} .bad td:nth-child(2),b.bad{color:#b91c1c}
.known td:nth-child(2){color:#92400e} .neutral td:nth-child(2){color:#6b7280}
.warning{color:#92400e} .charts{display:flex;flex-wrap:wrap;gap:8px}
.chart{border:1px solid #e5e7eb;background:#fff} .chart text{font-size:11px;fill:#374151}
.fault{fill:#fecaca;opacity:.6}
"""
