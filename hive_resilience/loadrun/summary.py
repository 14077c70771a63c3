"""What a run leaves behind in ``reports/<timestamp>-<scenario>/`` besides Locust's own files.

``summary.json`` is the machine-readable record (scenario, target, per-request exact figures,
generator CPU, target resources, SLO verdicts). This module owns its format: :class:`RunSummary`
is the schema the Locust plugin writes with :func:`write_summary` and every reader (``compare``,
the HTML report, the chaos control) loads with :func:`read_summary`. ``junit.xml`` has one test
case per SLO so a CI system shows which promise broke; ``verdict_lines`` is what the console prints.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from xml.etree import ElementTree

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from hive_resilience.loadrun.latency import LatencyBook
from hive_resilience.loadrun.metrics import request_metrics
from hive_resilience.loadrun.scenario import AGGREGATED, RegressionBudgets, Stage
from hive_resilience.loadrun.slo import SloVerdict

REPORTS_DIR = Path("reports")
SUMMARY_FILE = "summary.json"
JUNIT_FILE = "junit.xml"
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


class ScenarioRecord(_Record):
    """The scenario as it ran (after any compression)."""

    name: str
    description: str = ""
    stages: list[Stage] = Field(default_factory=list)
    duration_s: float | None = None
    compressed_from_s: float | None = None


class _RequestCounts(_Record):
    name: str
    requests: int
    failures: int

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
    samples_csv: str


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
        RequestRow(name=key, failures=tally.failures,
                   **{spec.name: spec.measure(tally, duration_s) for spec in request_metrics()})
        for key, tally in sorted(book.tallies.items(), key=lambda item: (item[0] == AGGREGATED, item[0]))
    ]


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


def write_junit(run_dir: Path, suite_name: str, verdicts: list[SloVerdict]) -> Path:
    """One test case per SLO: failed ones carry measured vs threshold, unmeasured ones are skipped."""
    suite = ElementTree.Element(
        "testsuite",
        name=f"slo.{suite_name}",
        tests=str(len(verdicts)),
        failures=str(sum(v.status == "fail" for v in verdicts)),
        skipped=str(sum(v.status == "not measured" for v in verdicts)),
    )
    for verdict in verdicts:
        case = ElementTree.SubElement(suite, "testcase", classname=f"slo.{suite_name}", name=verdict.label)
        if verdict.status == "fail":
            ElementTree.SubElement(case, "failure", message=verdict.line()).text = verdict.line()
        elif verdict.status == "not measured":
            ElementTree.SubElement(case, "skipped", message=verdict.detail)
    path = Path(run_dir) / JUNIT_FILE
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    return path


def verdict_lines(summary: RunSummary) -> list[str]:
    """The console verdict: one line per SLO, warnings, the overall result and the report folder."""
    scenario = summary.scenario
    lines = [f"SLO verdicts for scenario {scenario.name!r}"
             + (f" (compressed from {scenario.compressed_from_s:.0f} s)" if scenario.compressed_from_s else "")
             + ":"]
    lines += [f"  {verdict.line()}" for verdict in summary.slos]
    lines += [f"WARNING: {warning}" for warning in summary.warnings]
    lines.append(f"RESULT: {'PASS' if summary.passed else 'FAIL'} - report in {summary.report_dir}")
    return lines
