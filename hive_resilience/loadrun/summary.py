"""What a run leaves behind in ``reports/<timestamp>-<scenario>/`` besides Locust's own files.

``summary.json`` is the machine-readable record (scenario, target, per-request exact figures,
generator CPU, target resources, SLO verdicts). This module owns its format: :class:`RunSummary`
is the schema the Locust plugin writes with :func:`write_summary` and every reader (``compare``,
the HTML report, the chaos control) loads with :func:`read_summary`. ``junit.xml`` has one test
case per SLO so a CI system shows which promise broke; ``verdict_lines`` is what the console prints.

A run that did not finish its plan (interrupted, killed for overrunning, its target died) is
never green: ``completed`` is false with the reason, ``passed`` is false, and the JUnit file
carries an error case. Whoever learns of it (the plugin at quit, ``hive-resilience run`` after
Locust) records it with :func:`mark_incomplete`.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from xml.etree import ElementTree

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from hive_resilience.clients.agent_scripts import (
    HIVE_TIME_JOURNEY,
    MODEL_TIME_JOURNEY,
    TOOL_JOURNEY,
    TOOLS_TIME_JOURNEY,
)
from hive_resilience.clients.mcp_protocol import TOOL_CALL_REQUEST_NAME
from hive_resilience.loadrun.arrivals import planned_arrivals
from hive_resilience.loadrun.latency import (
    JOURNEY_REQUEST_TYPE,
    LatencyBook,
    encode_histogram,
)
from hive_resilience.loadrun.metrics import (
    ARRIVALS_REQUEST,
    arrivals_request,
    metric,
    request_metrics,
)
from hive_resilience.loadrun.resources import COMPONENT_GROWTH
from hive_resilience.loadrun.scenario import (
    AGGREGATED,
    Arrivals,
    ArrivalStage,
    RegressionBudgets,
    Stage,
)
from hive_resilience.loadrun.slo import SloVerdict
from hive_resilience.loadrun.trends import LatencyTrend

REPORTS_DIR = Path("reports")
SUMMARY_FILE = "summary.json"
JUNIT_FILE = "junit.xml"
COMPLETION_CASE = "run completed its plan"
"""The JUnit case, in error, of a run that did not."""
PLAN_TOLERANCE_S = 1.0
"""The scenario's shape ends the plan on a 1 s tick; a run shorter than its plan by more was stopped early."""
GENERATOR_SATURATED_PERCENT = 90.0
"""Locust uses one core per process; above this mean CPU the generator, not Hive, set the pace."""
SCHEMA_VERSION = 2
"""The ``summary.json`` format written now. Version 1 is the format from before it carried a
version (no ``schema_version``, ``workers`` or ``regression_budgets``); it still loads."""
UNVERSIONED_SCHEMA = 1


class SummaryError(ValueError):
    """A ``summary.json`` that cannot be read; the message names the file."""


class _Record(BaseModel):
    # Readers ignore what a newer writer added; the version says when that matters.
    model_config = ConfigDict(extra="ignore")


LATE_START_MS = 100.0
"""An arrival that started more than this after its intended time is counted late (a busy generator)."""


class ScenarioRecord(_Record):
    """The scenario as it ran (after any compression)."""

    name: str
    description: str = ""
    stages: list[Stage] = Field(default_factory=list)
    arrival_stages: list[ArrivalStage] = Field(default_factory=list)
    """The open model's stages, for an arrivals scenario (then ``stages`` is empty)."""
    duration_s: float | None = None
    compressed_from_s: float | None = None


class _RequestCounts(_Record):
    name: str
    requests: int
    failures: int
    intervals: dict[str, tuple[float, float | None]] = Field(default_factory=dict)
    """95 % confidence interval per metric the metric table gives an interval rule (high None:
    unbounded); empty in summaries that predate intervals."""
    histogram: str | None = None
    """The exact HDR histogram of response times (:func:`~hive_resilience.loadrun.latency.encode_histogram`),
    so readers draw any percentile by the gate's rule; None in summaries that predate it."""

    def figure(self, metric_name: str) -> float | None:
        """The row's value of a request metric of the table; None when this summary predates it."""
        return getattr(self, metric_name, None)


RequestRow = create_model(
    "RequestRow",
    __base__=_RequestCounts,
    __module__=__name__,
    __doc__="""Exact figures of one request name (or ``Aggregated``): its counts and every request
    metric of the metric table, None where a summary written before the metric existed lacks it.""",
    **{spec.name: (spec.value_type | None, None)
       for spec in request_metrics() if spec.name not in _RequestCounts.model_fields},
)


class GeneratorFigures(_Record):
    """CPU of a load generator process while users ran."""

    cpu_percent_mean: float | None
    cpu_percent_max: float | None
    samples: int
    saturated: bool


class WorkerFigures(GeneratorFigures):
    """One Locust worker's own running totals, as it reported them to the master."""

    requests: int
    requests_by_name: dict[str, int]


class ResourceRecord(_Record):
    """The embedded target's sampled processes: SLO figures and per-component peaks."""

    figures: dict[str, float | None]
    components: dict[str, dict[str, float]]
    sessions_created: int
    mcp_sessions_opened: int | None = None
    """McpToolsUser's sessions opened (``mcp initialize``); None in summaries from before it was counted."""
    samples_csv: str


class AgentTimeSplit(_Record):
    """Where scripted agent replies' time went, as a mean per whole reply: in model calls, in
    tool calls and in Hive itself (the rest); means add up, so the parts sum to the reply."""

    replies: int
    model_ms_mean: float
    tools_ms_mean: float
    hive_ms_mean: float
    tool_calls: int
    """Tool calls the queen ran during those replies and the failed ones (``JOURNEY tool ...`` entries)."""

    @property
    def reply_ms_mean(self) -> float:
        return self.model_ms_mean + self.tools_ms_mean + self.hive_ms_mean

    def parts(self) -> list[tuple[str, float, float]]:
        """``(part, mean ms, percent of the reply)`` for the model, the tools and Hive."""
        reply_ms = self.reply_ms_mean or 1.0
        return [(label, value, 100 * value / reply_ms) for label, value in (
            ("model", self.model_ms_mean), ("tools", self.tools_ms_mean), ("Hive", self.hive_ms_mean))]

    def line(self) -> str:
        parts = ", ".join(f"{label} {ms:.0f} ms ({percent:.0f} %)" for label, ms, percent in self.parts())
        return f"Agent replies: {self.replies}, mean {self.reply_ms_mean:.0f} ms = {parts}; {self.tool_calls} tool calls"


class ToolServerCalls(_Record):
    """One tool's ``tools/call`` requests the embedded tools server received during the run, and from whom."""

    received: int
    from_load_users: int
    """Sent by McpToolsUser itself (its ``mcp tools/call`` requests, failed ones included)."""
    from_hive: int
    """The rest: Hive's queen (and Hive's own per-session manifest check) calling the server."""


class ArrivalCounts(_Record):
    """Arrivals due, started and dropped (at the ``max_in_flight`` ceiling), and how late they started."""

    due: int
    started: int
    dropped: int
    late: int
    """Started more than :data:`LATE_START_MS` after their intended time."""
    late_ms_p99: float | None
    late_ms_max: float | None


class ArrivalStageFigures(ArrivalCounts):
    """One stage of an arrivals plan: the rate it planned and the rate its arrivals started at."""

    duration_s: float
    target_rate_per_s: float
    """Planned arrivals over the stage's length (a ramp's mean counts)."""
    achieved_rate_per_s: float
    """Arrivals started over the stage's length."""
    broken_slos: list[str] = Field(default_factory=list)
    """SLOs whose verdict on this stage's own requests was a decided fail (a request the stage
    did not make is no breach: it may simply have ended in the next stage)."""


class ArrivalsRecord(ArrivalCounts):
    """An open-model run: target vs achieved arrival rate, dropped and late starts, in all, per stage, per class."""

    pattern: str
    seed: int | None
    max_in_flight: int
    target_rate_per_s: float
    achieved_rate_per_s: float
    """Arrivals started per second of the plan: what a capacity search reads as the offered load."""
    stages: list[ArrivalStageFigures]
    by_class: dict[str, ArrivalCounts]
    first_broken_stage: int | None = None
    """1-based number of the first stage on which an SLO broke; None when none did."""

    def lines(self) -> list[str]:
        """The console's account: totals, then target vs achieved per stage."""
        lines = [(f"Arrivals ({self.pattern}): target {self.target_rate_per_s:.3g}/s, achieved "
                  f"{self.achieved_rate_per_s:.3g}/s; {self.due} due, {self.started} started, {self.dropped} dropped, "
                  f"{self.late} late (max {self.late_ms_max or 0:.0f} ms)")]
        lines += [(f"  stage {number}: target {stage.target_rate_per_s:.3g}/s, achieved "
                   f"{stage.achieved_rate_per_s:.3g}/s, {stage.dropped} dropped")
                  + (f"; broke {', '.join(stage.broken_slos)}" if stage.broken_slos else "")
                  for number, stage in enumerate(self.stages, start=1)]
        if self.first_broken_stage is not None:
            lines.append(f"  first stage where an SLO broke: {self.first_broken_stage}")
        return lines


def arrival_counts(book: LatencyBook, user_class: str | None = None) -> ArrivalCounts:
    """The arrivals entry of ``book`` (all classes, or ``user_class``'s) as counts."""
    tally = book.tallies.get(f"{JOURNEY_REQUEST_TYPE} {arrivals_request(user_class)}")
    if tally is None:
        return ArrivalCounts(due=0, started=0, dropped=0, late=0, late_ms_p99=None, late_ms_max=None)
    return ArrivalCounts(due=tally.requests, started=tally.requests - tally.failures, dropped=tally.failures,
                         late=tally.requests - tally.count_at_or_under(LATE_START_MS),
                         late_ms_p99=tally.percentile_ms(99), late_ms_max=tally.max_ms())


def arrivals_record(plan: Arrivals, book: LatencyBook, stage_books: list[LatencyBook],
                    stage_verdicts: list[list[SloVerdict]]) -> ArrivalsRecord:
    """The run's arrivals from the whole ``book``, and per stage from each stage's own book and SLO verdicts."""
    planned = planned_arrivals(plan.stages)
    stages = [
        ArrivalStageFigures(**arrival_counts(stage_book).model_dump(), duration_s=stage.duration_s,
                            target_rate_per_s=expected / stage.duration_s,
                            achieved_rate_per_s=arrival_counts(stage_book).started / stage.duration_s,
                            broken_slos=[verdict.label for verdict in verdicts
                                         if verdict.status == "fail" and verdict.measured is not None])
        for stage, expected, stage_book, verdicts in zip(plan.stages, planned, stage_books, stage_verdicts, strict=True)
    ]
    class_prefix = f"{JOURNEY_REQUEST_TYPE} {ARRIVALS_REQUEST} ["
    classes = sorted(key.removeprefix(class_prefix).rstrip("]") for key in book.tallies if key.startswith(class_prefix))
    total = arrival_counts(book)
    return ArrivalsRecord(
        **total.model_dump(), pattern=plan.pattern, seed=plan.seed, max_in_flight=plan.max_in_flight,
        target_rate_per_s=sum(planned) / plan.duration_s, achieved_rate_per_s=total.started / plan.duration_s,
        stages=stages, by_class={name: arrival_counts(book, name) for name in classes},
        first_broken_stage=next((number for number, stage in enumerate(stages, start=1) if stage.broken_slos), None),
    )


class RunSummary(_Record):
    """The contents of ``summary.json``: one load run, its figures and its verdicts."""

    schema_version: int = Field(default=SCHEMA_VERSION, ge=UNVERSIONED_SCHEMA)
    scenario: ScenarioRecord
    targets: dict[str, str] = Field(default_factory=dict)
    embedded_target: bool = False
    started_at: float | None = None
    ended_at: float | None = None
    duration_s: float
    requests: list[RequestRow]
    generator: GeneratorFigures | None = None
    workers: dict[str, WorkerFigures] = Field(default_factory=dict)
    resources: ResourceRecord | None = None
    slos: list[SloVerdict]
    warnings: list[str] = Field(default_factory=list)
    regression_budgets: RegressionBudgets = Field(default_factory=RegressionBudgets)
    """Summaries written before budgets were recorded are judged by the defaults."""
    passed: bool
    report_dir: str
    latency_trends: dict[str, LatencyTrend] = Field(default_factory=dict)
    """Per request key, its latency trend after warm-up (:mod:`~hive_resilience.loadrun.trends`); only
    requests made in enough windows; empty in summaries from before trends."""
    agent_time: AgentTimeSplit | None = None
    """Absent when no scripted agent reply completed, and in summaries from before scripts."""
    tools_server_calls: dict[str, ToolServerCalls] | None = None
    """By tool; only against the embedded target, whose tools server counts the calls it serves."""
    arrivals: ArrivalsRecord | None = None
    """An open-model run's arrivals (``arrivals.achieved_rate_per_s``, ``arrivals.dropped``...); None for users scenarios."""
    service_requests: list[RequestRow] = Field(default_factory=list)
    """An open-model run's figures per request measured from each request's actual start (service
    time); ``requests`` measures from the arrival's intended start (response time), as the SLOs do."""
    completed: bool = True
    """Whether the run played its whole plan; summaries written before this was recorded say nothing of it."""
    incomplete_reason: str | None = None

    @model_validator(mode="after")
    def _no_green_without_a_whole_run(self) -> RunSummary:
        if not self.completed and self.passed:
            raise ValueError("a run that did not complete its plan cannot have passed")
        if self.completed != (self.incomplete_reason is None):
            raise ValueError("completed is false exactly when there is an incomplete_reason")
        return self


def new_run_dir(scenario_name: str, base: Path = REPORTS_DIR) -> Path:
    """A fresh ``<base>/<UTC timestamp>-<scenario>`` folder; never reuses an existing one."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", scenario_name)
    for suffix in ["", *(f"-{n}" for n in range(2, 100))]:
        run_dir = base / f"{stamp}-{safe_name}{suffix}"
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a new run folder under {base}")


def request_rows(book: LatencyBook, duration_s: float) -> list[RequestRow]:
    """Exact per-request figures, aggregate last, measured as the gate measures them (the metric table)."""
    return [
        RequestRow(name=key, failures=tally.failures, histogram=encode_histogram(tally.histogram),
                   intervals={spec.name: interval for spec in request_metrics()
                              if spec.interval and spec.applies_to(key) and (interval := spec.interval.interval(tally, duration_s)) is not None},
                   **{spec.name: spec.measure(tally, duration_s) if spec.applies_to(key) else None
                      for spec in request_metrics()})
        for key, tally in sorted(book.tallies.items(), key=lambda item: (item[0] == AGGREGATED, item[0]))
    ]


def agent_time_split(book: LatencyBook) -> AgentTimeSplit | None:
    """The mean split of whole scripted replies, from the journeys the load user reported."""
    parts = [book.tallies.get(f"{JOURNEY_REQUEST_TYPE} {name}")
             for name in (MODEL_TIME_JOURNEY, TOOLS_TIME_JOURNEY, HIVE_TIME_JOURNEY)]
    if not all(parts):
        return None
    model, tools, hive = (tally.histogram.get_mean_value() / 1000 for tally in parts)
    tool_prefix = f"{JOURNEY_REQUEST_TYPE} {TOOL_JOURNEY.format(tool='')}"
    return AgentTimeSplit(
        replies=parts[0].requests, model_ms_mean=model, tools_ms_mean=tools, hive_ms_mean=hive,
        tool_calls=sum(tally.requests for key, tally in book.tallies.items() if key.startswith(tool_prefix)),
    )


MCP_TOOL_CALL_REQUEST = f"POST {TOOL_CALL_REQUEST_NAME}"
"""McpToolsUser's tool calls in the book: Locust puts the HTTP method before the request name."""


def tools_server_calls(before: dict[str, int], after: dict[str, int], book: LatencyBook) -> dict[str, ToolServerCalls]:
    """Per tool, the server's count during the run (``after - before`` of its ``/admin/stats``)
    split into McpToolsUser's own calls and the rest, which came from Hive."""
    calls = {}
    for tool in sorted(after):
        received = after[tool] - before.get(tool, 0)
        tally = book.tallies.get(MCP_TOOL_CALL_REQUEST.format(tool=tool))
        from_load_users = tally.requests if tally else 0
        if received:
            calls[tool] = ToolServerCalls(received=received, from_load_users=from_load_users,
                                          from_hive=max(0, received - from_load_users))
    return calls


def generator_figures(cpu_samples: list[float]) -> dict:
    mean = sum(cpu_samples) / len(cpu_samples) if cpu_samples else None
    return {
        "cpu_percent_mean": mean,
        "cpu_percent_max": max(cpu_samples) if cpu_samples else None,
        "samples": len(cpu_samples),
        "saturated": bool(mean is not None and mean >= GENERATOR_SATURATED_PERCENT),
    }


def worker_figures(requests_by_name: dict[str, int], cpu_samples: list[float]) -> dict:
    """One Locust worker's own totals and CPU, as it reported them to the master."""
    return {
        "requests": requests_by_name.get(AGGREGATED, 0),
        "requests_by_name": dict(sorted(requests_by_name.items())),
        **generator_figures(cpu_samples),
    }


def saturation_warnings(generator: dict, workers: dict[str, dict]) -> list[str]:
    """A warning per load generator process that saturated its core: each worker's own, or the only process's.

    Judged per worker because each Locust process has one core: pooled over workers, one
    saturated worker averages out with idle ones and its pace goes unnoticed.
    """
    processes = {f"Locust worker {worker_id}": figures for worker_id, figures in workers.items()} if workers else {
        "the load generator": generator}
    return [
        f"{name} averaged {figures['cpu_percent_mean']:.0f} % of a core: it, not the target, may have set the pace "
        "(use more Locust workers or a bigger machine)"
        for name, figures in processes.items()
        if figures["saturated"]
    ]


def write_summary(run_dir: Path, summary: RunSummary) -> Path:
    path = Path(run_dir) / SUMMARY_FILE
    path.write_text(summary.model_dump_json(indent=2))
    return path


def read_summary(path: Path) -> RunSummary:
    """A ``summary.json`` of any version; raises SummaryError naming the file and the key otherwise."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SummaryError(f"{path}: cannot be read as JSON: {error}") from None
    if isinstance(raw, dict):
        raw.setdefault("schema_version", UNVERSIONED_SCHEMA)
        if isinstance(raw["schema_version"], int) and raw["schema_version"] > SCHEMA_VERSION:
            raise SummaryError(f"{path}: summary format {raw['schema_version']} is newer than this hive-resilience "
                               f"reads (up to {SCHEMA_VERSION}); update hive-resilience")
    try:
        return RunSummary.model_validate(raw)
    except ValidationError as error:
        problem = error.errors()[0]
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        raise SummaryError(f"{path}: not a run summary: key {key!r}: {problem['msg']}") from None


def unfinished_plan(planned_s: float, started_at: float | None, ended_at: float) -> str | None:
    """Why a run that stopped at ``ended_at`` did not play its plan of ``planned_s``; None when it did."""
    if started_at is None:
        return "no load was started"
    ran_s = ended_at - started_at
    if ran_s < planned_s - PLAN_TOLERANCE_S:
        return f"stopped after {ran_s:.0f} s of the planned {planned_s:.0f} s (interrupted)"
    return None


def mark_incomplete(run_dir: Path, reason: str) -> RunSummary | None:
    """Record in the run's ``summary.json`` and ``junit.xml`` that it did not finish its plan.

    An earlier reason is kept and this one added; returns the summary, or None when the run
    left none (there is then no green file to correct).
    """
    path = Path(run_dir) / SUMMARY_FILE
    if not path.is_file():
        return None
    summary = read_summary(path)
    if summary.incomplete_reason and reason in summary.incomplete_reason:
        return summary
    reasons = "; ".join(filter(None, (summary.incomplete_reason, reason)))
    summary = RunSummary.model_validate(
        {**summary.model_dump(), "completed": False, "incomplete_reason": reasons, "passed": False})
    write_summary(run_dir, summary)
    write_junit(run_dir, summary.scenario.name, summary.slos, incomplete_reason=reasons)
    return summary


def write_junit(run_dir: Path, suite_name: str, verdicts: list[SloVerdict], incomplete_reason: str | None = None) -> Path:
    """One test case per SLO: failed ones carry measured vs threshold, unmeasured ones are skipped.

    A run that did not complete its plan gets one more case, in error, so a CI system reading
    only this file never shows it green.
    """
    suite = ElementTree.Element(
        "testsuite",
        name=f"slo.{suite_name}",
        tests=str(len(verdicts) + (incomplete_reason is not None)),
        failures=str(sum(v.failed for v in verdicts)),
        errors=str(int(incomplete_reason is not None)),
        skipped=str(sum(v.status == "not measured" for v in verdicts)),
    )
    if incomplete_reason is not None:
        case = ElementTree.SubElement(suite, "testcase", classname=f"slo.{suite_name}", name=COMPLETION_CASE)
        ElementTree.SubElement(case, "error", message=incomplete_reason).text = incomplete_reason
    for verdict in verdicts:
        case = ElementTree.SubElement(suite, "testcase", classname=f"slo.{suite_name}", name=verdict.label)
        if verdict.failed:  # an inconclusive verdict too, unless its scenario lets it pass
            ElementTree.SubElement(case, "failure", message=verdict.line()).text = verdict.line()
        elif verdict.status == "not measured":
            ElementTree.SubElement(case, "skipped", message=verdict.detail)
        else:  # the sample count and interval behind a pass
            ElementTree.SubElement(case, "system-out").text = verdict.line()
    path = Path(run_dir) / JUNIT_FILE
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    return path


TRENDS_SHOWN = 3
"""The console names the fastest-growing requests only; the summary and the report have them all."""


def growth_lines(summary: RunSummary) -> list[str]:
    """What a soak found: each component's memory figures and the requests whose latency grows fastest."""
    lines = []
    if summary.resources is not None:
        figures = summary.resources.figures
        for growth in COMPONENT_GROWTH:
            specs = [metric(name) for name in growth.figure_names]
            lines.append(f"Memory of the {growth.label}: " + ", ".join(
                f"{spec.label.removeprefix(growth.label + ' ')} {_figure(figures.get(spec.name), spec.display)} {spec.unit}"
                for spec in specs))
        lines.append(f"  attributed to {summary.resources.sessions_created} Hive sessions created and "
                     f"{summary.resources.mcp_sessions_opened or 0} MCP sessions opened")
    if summary.latency_trends:
        fastest = sorted(summary.latency_trends.items(), key=lambda item: -item[1].ms_per_hour)[:TRENDS_SHOWN]
        lines.append("Latency trend after warm-up (per-window median), fastest-growing: " + "; ".join(
            f"{key} {trend.ms_per_hour:+,.1f} ms/h, {_figure(trend.ms_per_1k_sessions, '+,.1f')} ms/1k sessions "
            f"({trend.p50_ms_first:.0f} -> {trend.p50_ms_last:.0f} ms)" for key, trend in fastest))
    return lines


def _figure(value: float | None, spec: str) -> str:
    return "not measured" if value is None else format(value, spec)


def verdict_lines(summary: RunSummary) -> list[str]:
    """The console verdict: one line per SLO, warnings, the overall result and the report folder."""
    scenario = summary.scenario
    lines = [f"SLO verdicts for scenario {scenario.name!r}"
             + (f" (compressed from {scenario.compressed_from_s:.0f} s)" if scenario.compressed_from_s else "")
             + ":"]
    lines += [f"  {verdict.line()}" for verdict in summary.slos]
    if summary.arrivals is not None:
        lines += summary.arrivals.lines()
    if summary.agent_time is not None:
        lines.append(summary.agent_time.line())
    lines += growth_lines(summary)
    if summary.tools_server_calls:
        lines.append("Tools server calls (from Hive / from McpToolsUser): " + ", ".join(
            f"{tool} {calls.from_hive}/{calls.from_load_users}" for tool, calls in summary.tools_server_calls.items()))
    lines += [f"WARNING: {warning}" for warning in summary.warnings]
    if not summary.completed:
        lines.append(f"INCOMPLETE: {summary.incomplete_reason}")
    lines.append(f"RESULT: {'PASS' if summary.passed else 'FAIL'} - report in {summary.report_dir}")
    return lines
