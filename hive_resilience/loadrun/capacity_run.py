"""``hive-resilience capacity``: the capacity search carried out against Hive.

Each step is one unjudged warm-up run and one judged run of the arrivals scenario at the step's
rate, both through :func:`hive_resilience.loadrun.run.run` (the one way this suite starts Locust),
each bounded by it. One embedded target stays up across every step, so steps measure Hive at a
rate, not Hive starting; with ``host`` the steps go to that deployment instead. A step's figures
come from its run's ``summary.json`` (the gate's SLO verdicts, the arrivals record's due and
dropped counts and lateness, generator CPU) and its request log (goodput); the search itself and
``capacity.json`` belong to :mod:`hive_resilience.loadrun.capacity`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from hive_resilience.loadrun.capacity import (
    CapacityResult,
    SearchPlan,
    StepMeasure,
    search,
    steps_bound,
    write_capacity,
)
from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE
from hive_resilience.loadrun.metrics import (
    is_arrivals_request,
    metric,
)
from hive_resilience.loadrun.request_log import LoggedRequest, read_request_log
from hive_resilience.loadrun.run import RunError, RunRequest, run
from hive_resilience.loadrun.scenario import (
    AGGREGATED,
    Scenario,
    ScenarioError,
    Slo,
    load_scenario,
)
from hive_resilience.loadrun.summary import (
    SUMMARY_FILE,
    RequestRow,
    RunSummary,
    new_run_dir,
    read_summary,
)
from hive_resilience.target.embedded import EmbeddedTarget, TargetPorts

REQUEST_LOG_FILE = "requests.csv"
STEPS_DIR = "steps"
STEP_OVERHEAD_S = 15.0
"""Per Locust run, roughly what starting and stopping it adds to its planned length (for the time estimate)."""


@dataclass(frozen=True)
class CapacityRequest:
    scenario: str
    plan: SearchPlan
    host: str | None = None
    mcp_host: str | None = None
    reports_dir: Path = Path("reports")
    ports: TargetPorts = field(default_factory=TargetPorts)
    require_rate_per_s: float | None = None
    progress_interval_s: float | None = None
    """Seconds between each step run's status lines (0: none); None: the Locust plugin's default."""


def capacity(request: CapacityRequest) -> tuple[CapacityResult, Path]:
    """Search the scenario's capacity; returns the result and the folder holding ``capacity.json`` and every step's run."""
    scenario = load_scenario(request.scenario)
    if scenario.arrivals is None:
        raise ScenarioError(f"capacity: scenario {scenario.name!r} gives users; the search needs an arrivals scenario "
                            "(arrivals: with one constant stage)")
    scenario.at_arrival_rate(request.plan.start_rate_per_s)  # one constant stage, or a ScenarioError now
    run_dir = new_run_dir(f"capacity-{scenario.name}", request.reports_dir)
    plan = request.plan
    runs_bound = plan.repeats * steps_bound(plan) * (2 if plan.warmup_s else 1)
    longest_s = plan.repeats * steps_bound(plan) * (plan.step_s + plan.warmup_s) + runs_bound * STEP_OVERHEAD_S
    print(f"hive-resilience: capacity of {scenario.name!r} from {plan.start_rate_per_s:g}/s to "
          f"{plan.max_rate_per_s:g}/s, {plan.step_s:g} s steps after {plan.warmup_s:g} s warm-ups, "
          f"{plan.repeats} repeat(s): at most {runs_bound} runs, about {longest_s / 60:.0f} min; in {run_dir}", flush=True)
    started_at = time.time()
    slos = scenario.effective_slos()
    if request.host:
        steps = StepRuns(request.scenario, slos, run_dir / STEPS_DIR, plan, request.host, request.mcp_host,
                         request.progress_interval_s)
        result = search(steps, plan, **_record(scenario, request, request.host, started_at))
    else:
        with EmbeddedTarget(run_dir / "target", request.ports) as target:
            steps = StepRuns(request.scenario, slos, run_dir / STEPS_DIR, plan, target.api_url, target.mcp_url,
                             request.progress_interval_s)
            result = search(steps, plan, **_record(scenario, request, "embedded", started_at))
    result = result.model_copy(update={"ended_at": time.time()})
    write_capacity(run_dir, result)
    return result, run_dir


def _record(scenario: Scenario, request: CapacityRequest, target: str, started_at: float) -> dict:
    return {"scenario": scenario.name, "target": target, "regression_budgets": scenario.regression_budgets, "started_at": started_at, "ended_at": started_at,
            "require_rate_per_s": request.require_rate_per_s}


@dataclass(frozen=True)
class StepRuns:
    """The real step runner: a warm-up run, then the judged run, at one rate against one target."""

    scenario: str
    slos: tuple[Slo, ...]
    steps_dir: Path
    plan: SearchPlan
    host: str
    mcp_host: str | None
    progress_interval_s: float | None = None

    def __call__(self, rate_per_s: float, repeat: int) -> StepMeasure:
        name = f"repeat{repeat}-{rate_per_s:g}-per-s"
        if self.plan.warmup_s:
            self._run(rate_per_s, self.plan.warmup_s, self.steps_dir / f"{name}-warmup")
        step_dir = self.steps_dir / name
        self._run(rate_per_s, self.plan.step_s, step_dir, request_log=step_dir / REQUEST_LOG_FILE)
        run_dir = _only_run_dir(step_dir)
        summary = read_summary(run_dir / SUMMARY_FILE)
        return step_measure(summary, rate_per_s, read_request_log(step_dir / REQUEST_LOG_FILE), self.slos, str(run_dir))

    def _run(self, rate_per_s: float, length_s: float, reports_dir: Path, request_log: Path | None = None) -> None:
        # The exit code is the verdict, which the summary holds in full; a run that could not be
        # carried out raises RunError and ends the search.
        run(RunRequest(self.scenario, self.host, self.mcp_host, duration=f"{length_s:g}s", reports_dir=reports_dir,
                       arrival_rate=rate_per_s, request_log=request_log, progress_interval_s=self.progress_interval_s))


def _only_run_dir(reports_dir: Path) -> Path:
    runs = [path for path in reports_dir.iterdir() if (path / SUMMARY_FILE).is_file()]
    if len(runs) != 1:
        raise RunError(f"{reports_dir}: expected one run folder with a {SUMMARY_FILE}, found {len(runs)}")
    return runs[0]


def step_measure(summary: RunSummary, rate_per_s: float, requests: list[LoggedRequest], slos: tuple[Slo, ...],
                 report_dir: str) -> StepMeasure:
    """A step's figures from its run: the aggregate, the arrivals record, generator CPU, SLOs on Hive, goodput."""
    total: RequestRow | None = next((row for row in summary.requests if row.name == AGGREGATED), None)
    arrivals = summary.arrivals
    # The generator's own SLOs (arrivals dropped or late) are judged as its limits, not as Hive breaking.
    on_hive = [verdict for verdict in summary.slos if not is_arrivals_request(verdict.request)]
    broken = next((verdict for verdict in on_hive if verdict.failed), None)
    return StepMeasure(
        offered_rate_per_s=rate_per_s, measured_s=_planned_s(summary),
        arrivals_due=arrivals.due if arrivals else None, dropped_arrivals=arrivals.dropped if arrivals else 0,
        arrival_lateness_p99_ms=arrivals.late_ms_p99 if arrivals else None,
        goodput_rps=goodput_rps(requests, latency_limits_ms(slos), summary.duration_s),
        p50_ms=total.figure("p50_ms") if total else None, p95_ms=total.figure("p95_ms") if total else None,
        p99_ms=total.figure("p99_ms") if total else None, error_ratio=total.figure("error_ratio") if total else None,
        generator_cpu_percent=summary.generator.cpu_percent_mean if summary.generator else None,
        slos_held=summary.completed and broken is None, first_broken_slo=broken.label if broken else None,
        report_dir=report_dir,
    )


def _planned_s(summary: RunSummary) -> float:
    """The length of the step's arrivals plan: the rate its arrivals started at is over the plan,
    not over the run's wall time, which grows by the drain of replies still running at its end."""
    if summary.arrivals and summary.arrivals.stages:
        return sum(stage.duration_s for stage in summary.arrivals.stages)
    return summary.duration_s


def latency_limits_ms(slos: tuple[Slo, ...]) -> dict[str, float]:
    """Per request name of the SLOs, the tightest bound on a latency (a percentile or the maximum)."""
    limits: dict[str, float] = {}
    for slo in slos:
        if slo.max is not None and metric(slo.metric).unit == "ms":
            limits[slo.request] = min(slo.max, limits.get(slo.request, slo.max))
    return limits


def goodput_rps(requests: list[LoggedRequest], limits_ms: dict[str, float], duration_s: float) -> float | None:
    """HTTP requests per second that succeeded within their latency SLO (their own name's, else
    ``Aggregated``'s); None when no SLO bounds their latency."""
    if not limits_ms or duration_s <= 0:
        return None
    good = 0
    for request in requests:
        if request.request_type == JOURNEY_REQUEST_TYPE or request.failed:
            continue
        limit = limits_ms.get(f"{request.request_type} {request.name}", limits_ms.get(request.name,
                                                                                      limits_ms.get(AGGREGATED)))
        good += limit is not None and request.response_time_ms <= limit
    return good / duration_s

