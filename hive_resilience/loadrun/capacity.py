"""The capacity search: the highest arrival rate Hive serves within its SLOs, and its spread.

Pure logic, no Locust and no Hive: each step is carried out by a :class:`StepRunner` that
returns a :class:`StepMeasure`, so the search order is testable with a fake and the real runner
(:mod:`hive_resilience.loadrun.capacity_run`) only measures. This module owns ``capacity.json``
(:class:`CapacityResult`, versioned) and the rule that says whether a step held, broke or
measured nothing about Hive at all.

A search starts at ``start_rate_per_s`` and multiplies the rate by ``growth`` until a step
breaks or ``max_rate_per_s`` held, then bisects between the last rate that held and the first
that did not until the gap is at most ``precision`` of the held rate. A step whose load
generator could not offer its rate (its CPU saturated, arrivals late or dropped, or clearly
fewer started than offered) is *invalid*: it never counts as held, and it bounds the search from
above without being blamed on Hive, so the knee is then reported as a lower bound set by the
generator.
``repeats`` runs the whole search again; the knee is their median with min..max as its spread.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    field_validator,
    model_validator,
)

from hive_resilience.loadrun.intervals import poisson_rate_interval
from hive_resilience.loadrun.scenario import RegressionBudgets
from hive_resilience.loadrun.summary import GENERATOR_SATURATED_PERCENT

CAPACITY_FILE = "capacity.json"
CAPACITY_SCHEMA_VERSION = 1
MAX_DROPPED_SHARE = 0.05
"""Arrivals the generator dropped (no free slot under ``max_in_flight``), as a share of those due."""
MAX_ARRIVAL_LATENESS_MS = 500.0
"""A generator that starts its arrivals later than this (p99) no longer keeps the rate it offers."""
MAX_STEPS_PER_REPEAT = 24
"""However the plan is set, one repeat of the search runs at most this many steps."""

StepVerdict = Literal["held", "broke", "invalid"]
UpperBound = Literal["broke", "invalid", "max_rate"]
"""What ended a repeat's search from above: a step that broke an SLO, a step the generator could
not offer (the knee is then a lower bound), or the maximum rate holding."""


class CapacityError(ValueError):
    """A search plan or a ``capacity.json`` that cannot be used; the message names the option or file."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SearchPlan(_Model):
    """How the rates are chosen and how long each step runs."""

    start_rate_per_s: float = Field(gt=0)
    max_rate_per_s: float = Field(gt=0)
    step_s: float = Field(gt=0)
    warmup_s: float = Field(ge=0)
    precision: float = Field(gt=0, le=1)
    """Bisection stops when the gap between held and broken rates is at most this share of the held rate."""
    repeats: int = Field(ge=1, le=20)
    growth: float = Field(default=2.0, gt=1)

    @model_validator(mode="after")
    def _ordered(self) -> SearchPlan:
        if self.max_rate_per_s < self.start_rate_per_s:
            raise ValueError("--max-rate must be at or above --start-rate")
        return self


class StepMeasure(_Model):
    """What one bounded step measured, before it is judged."""

    offered_rate_per_s: float
    measured_s: float = Field(gt=0)
    """The judged part of the step (its warm-up excluded)."""
    arrivals_due: int | None = None
    """Arrivals the generator's schedule called for; None when the run did not say (not an arrivals run)."""
    dropped_arrivals: int = 0
    """Arrivals that were due but not started (no free slot under the generator's ``max_in_flight``)."""
    arrival_lateness_p99_ms: float | None = None
    """How late the generator started its arrivals against their schedule."""
    goodput_rps: float | None = None
    """Requests per second that succeeded within their latency SLO."""
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    error_ratio: float | None = None
    generator_cpu_percent: float | None = None
    slos_held: bool
    """Whether every SLO on Hive held; the generator's own (arrivals dropped) are judged by :func:`judge_step`."""
    first_broken_slo: str | None = None
    report_dir: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def achieved_rate_per_s(self) -> float | None:
        """Arrivals actually started per second."""
        if self.arrivals_due is None:
            return None
        return (self.arrivals_due - self.dropped_arrivals) / self.measured_s


class StepResult(StepMeasure):
    """One step, judged: held, broke (an SLO failed) or invalid (the generator, not Hive, limited it)."""

    repeat: int
    verdict: StepVerdict
    invalid_reason: str | None = None


def judge_step(measure: StepMeasure, repeat: int) -> StepResult:
    """Invalid when the generator's CPU saturated or it kept no schedule; else broke when an SLO on
    Hive failed; else invalid when the generator did not start the offered arrivals; else held.

    Saturation comes before the SLOs: a saturated generator inflates the latencies it measures,
    so its broken SLOs would blame Hive for the generator's pace. Dropped or missing arrivals
    come after them: with every SLO held they mean the generator's bound, not Hive, capped the rate.
    """
    fields = measure.model_dump(exclude={"achieved_rate_per_s"})
    if (saturated := _saturation(measure)) is not None:
        return StepResult(**fields, repeat=repeat, verdict="invalid", invalid_reason=saturated)
    if not measure.slos_held:
        return StepResult(**fields, repeat=repeat, verdict="broke")
    if (undelivered := _undelivered(measure)) is not None:
        return StepResult(**fields, repeat=repeat, verdict="invalid", invalid_reason=undelivered)
    return StepResult(**fields, repeat=repeat, verdict="held")


def _saturation(measure: StepMeasure) -> str | None:
    cpu, late_ms = measure.generator_cpu_percent, measure.arrival_lateness_p99_ms
    if cpu is not None and cpu >= GENERATOR_SATURATED_PERCENT:
        return f"the load generator averaged {cpu:.0f} % of a core"
    if late_ms is not None and late_ms > MAX_ARRIVAL_LATENESS_MS:
        return f"the load generator started arrivals {late_ms:.0f} ms late (p99): it could not keep the schedule"
    return None


def _undelivered(measure: StepMeasure) -> str | None:
    if measure.arrivals_due is None:
        return None
    due, dropped, offered = measure.arrivals_due, measure.dropped_arrivals, measure.offered_rate_per_s
    if due and dropped / due > MAX_DROPPED_SHARE:
        return f"the generator dropped {dropped} of {due} arrivals (all of its max_in_flight slots were busy)"
    # Poisson arrivals vary: only a rate whose whole 95 % interval is below the offer was not offered.
    if poisson_rate_interval(due - dropped, measure.measured_s)[1] < offered:
        return f"the generator started {measure.achieved_rate_per_s:.3g}/s of the {offered:.3g}/s offered"
    return None


class StepRunner(Protocol):
    """Carries out one bounded step at ``rate_per_s`` (warm-up, then the judged part) and measures it."""

    def __call__(self, rate_per_s: float, repeat: int) -> StepMeasure: ...


class RepeatResult(_Model):
    """One whole search: its steps in the order they ran, the knee and what bounded it from above."""

    repeat: int
    steps: list[StepResult]
    knee_rate_per_s: float | None
    """The highest rate that held; None when even the start rate did not."""
    upper_bound: UpperBound | None
    """None when the search ran out of steps (``MAX_STEPS_PER_REPEAT``)."""


def search_once(run_step: StepRunner, plan: SearchPlan, repeat: int) -> RepeatResult:
    """Geometric steps from the start rate until one does not hold or the maximum held, then bisection."""
    steps: list[StepResult] = []

    def step(rate: float) -> StepResult:
        result = judge_step(run_step(rate, repeat), repeat)
        steps.append(result)
        return result

    held: float | None = None
    above: StepResult | None = None
    rate = plan.start_rate_per_s
    while len(steps) < MAX_STEPS_PER_REPEAT:
        result = step(rate)
        if result.verdict != "held":
            above = result
            break
        held = rate
        if rate >= plan.max_rate_per_s:
            return RepeatResult(repeat=repeat, steps=steps, knee_rate_per_s=held, upper_bound="max_rate")
        rate = min(rate * plan.growth, plan.max_rate_per_s)
    if held is None or above is None:
        return RepeatResult(repeat=repeat, steps=steps, knee_rate_per_s=held,
                            upper_bound=above.verdict if above else None)  # type: ignore[arg-type]
    while above.offered_rate_per_s - held > plan.precision * held and len(steps) < MAX_STEPS_PER_REPEAT:
        middle = _round_rate((held + above.offered_rate_per_s) / 2)
        if not held < middle < above.offered_rate_per_s:
            break
        result = step(middle)
        if result.verdict == "held":
            held = middle
        else:
            above = result
    return RepeatResult(repeat=repeat, steps=steps, knee_rate_per_s=held, upper_bound=above.verdict)  # type: ignore[arg-type]


def _round_rate(rate: float) -> float:
    """Three significant digits: rates people can read and repeat, not 0.34375."""
    return float(f"{rate:.3g}")


class FirstBreak(_Model):
    """The lowest rate at which an SLO broke across all repeats, and which one."""

    rate_per_s: float
    slo: str | None


class CapacityResult(_Model):
    """The contents of ``capacity.json``: the plan, every step of every repeat and the knee."""

    schema_version: int = Field(default=CAPACITY_SCHEMA_VERSION, ge=1)
    scenario: str
    target: str
    """``embedded`` or the ``--host`` URL."""
    started_at: float
    ended_at: float
    plan: SearchPlan
    require_rate_per_s: float | None = None
    regression_budgets: RegressionBudgets = Field(default_factory=RegressionBudgets)
    """The scenario's budgets; ``compare`` judges a lower knee by ``rps_drop_percent``."""
    repeats: list[RepeatResult]

    @field_validator("schema_version")
    @classmethod
    def _readable(cls, version: int) -> int:
        if version > CAPACITY_SCHEMA_VERSION:
            raise ValueError(f"format {version} is newer than this hive-resilience reads (up to "
                             f"{CAPACITY_SCHEMA_VERSION}); update hive-resilience")
        return version

    @computed_field  # type: ignore[prop-decorator]
    @property
    def knee_rate_per_s(self) -> float | None:
        """Median knee across repeats (a repeat where nothing held counts 0); None when nothing held at all."""
        knees = self._knees()
        return statistics.median(knees) if any(knees) else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def knee_spread_per_s(self) -> tuple[float, float] | None:
        """Lowest and highest knee across repeats."""
        knees = self._knees()
        return (min(knees), max(knees)) if any(knees) else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def first_break(self) -> FirstBreak | None:
        broken = [step for repeat in self.repeats for step in repeat.steps if step.verdict == "broke"]
        lowest = min(broken, key=lambda step: step.offered_rate_per_s, default=None)
        return FirstBreak(rate_per_s=lowest.offered_rate_per_s, slo=lowest.first_broken_slo) if lowest else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def generator_limited(self) -> bool:
        """Whether any repeat was bounded by a step the generator could not offer: its knee is a lower bound."""
        return any(repeat.upper_bound == "invalid" for repeat in self.repeats)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """A knee was found, and every repeat's knee is at or above ``require_rate_per_s`` when one is set."""
        spread = self.knee_spread_per_s
        return spread is not None and spread[0] > 0 and (
            self.require_rate_per_s is None or spread[0] >= self.require_rate_per_s)

    def _knees(self) -> list[float]:
        return [repeat.knee_rate_per_s or 0.0 for repeat in self.repeats]

    def steps(self) -> list[StepResult]:
        return [step for repeat in self.repeats for step in repeat.steps]


def search(run_step: StepRunner, plan: SearchPlan, **record: object) -> CapacityResult:
    """Every repeat of the search; ``record`` fills the rest of :class:`CapacityResult` (scenario, target, times...)."""
    repeats = [search_once(run_step, plan, repeat) for repeat in range(1, plan.repeats + 1)]
    return CapacityResult(plan=plan, repeats=repeats, **record)  # type: ignore[arg-type]


def verdict_lines(result: CapacityResult) -> list[str]:
    """The console verdict: one line per step, the knee with its spread, the first break, the result."""
    lines = [f"Capacity of scenario {result.scenario!r} ({result.target}), {len(result.repeats)} repeat(s):"]
    for step in result.steps():
        figures = ", ".join(f"{label} {_figure(value, spec)}" for label, value, spec in (
            ("achieved", step.achieved_rate_per_s, ".3g"), ("goodput", step.goodput_rps, ".3g"),
            ("p95", step.p95_ms, ".0f"), ("p99", step.p99_ms, ".0f"), ("errors", step.error_ratio, ".3f"),
            ("generator CPU", step.generator_cpu_percent, ".0f")))
        why = step.first_broken_slo if step.verdict == "broke" else step.invalid_reason
        lines.append(f"  repeat {step.repeat} {step.offered_rate_per_s:>7.3g}/s {step.verdict.upper():<8} {figures}"
                     + (f" - {why}" if why else ""))
    lines.append(knee_line(result))
    if result.first_break:
        lines.append(f"First SLO to break: {result.first_break.slo} at {result.first_break.rate_per_s:.3g}/s")
    lines.append(f"RESULT: {'PASS' if result.passed else 'FAIL'}" + (
        f" (required {result.require_rate_per_s:g}/s)" if result.require_rate_per_s is not None else ""))
    return lines


def knee_line(result: CapacityResult) -> str:
    """The knee with its spread, and why it is only a lower bound when it is one."""
    if result.knee_rate_per_s is None and result.generator_limited:
        return f"KNEE: none measured - the load generator could not offer even {result.plan.start_rate_per_s:g}/s"
    if result.knee_rate_per_s is None:
        return f"KNEE: none - even {result.plan.start_rate_per_s:g}/s did not hold every SLO"
    low, high = result.knee_spread_per_s or (0.0, 0.0)
    line = f"KNEE: {result.knee_rate_per_s:.3g}/s (repeats {low:.3g}..{high:.3g}/s)"
    if all(repeat.upper_bound == "max_rate" for repeat in result.repeats):
        line += f"; every SLO held up to the maximum rate {result.plan.max_rate_per_s:g}/s"
    if result.generator_limited:
        line += "; a lower bound: the load generator could not offer the next rate (see the invalid steps)"
    return line


def _figure(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def write_capacity(run_dir: Path, result: CapacityResult) -> Path:
    path = Path(run_dir) / CAPACITY_FILE
    path.write_text(result.model_dump_json(indent=2))
    return path


def read_capacity(path: Path) -> CapacityResult:
    """A ``capacity.json``; raises CapacityError naming the file and the key otherwise."""
    try:
        return CapacityResult.model_validate_json(Path(path).read_bytes())
    except OSError as error:
        raise CapacityError(f"{path}: cannot be read: {error.strerror}") from None
    except ValidationError as error:
        problem = error.errors()[0]
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        raise CapacityError(f"{path}: not a capacity result: key {key!r}: "
                            f"{problem['msg'].removeprefix('Value error, ')}") from None


def steps_bound(plan: SearchPlan) -> int:
    """At most how many steps one repeat runs: the geometric climb plus the bisection, capped."""
    climb = math.ceil(math.log(plan.max_rate_per_s / plan.start_rate_per_s, plan.growth)) + 1
    bisect = math.ceil(math.log2(1 / plan.precision)) + 1
    return min(climb + bisect, MAX_STEPS_PER_REPEAT)
