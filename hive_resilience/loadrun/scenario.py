"""Scenarios: load plans and SLOs as YAML, validated when loaded.

A scenario says how many users of which classes hit which hosts for how long, in one or more
stages, and which SLOs the run must meet. Validation happens at load time so a typo fails in
a second, with the file, the key and what is allowed, not after a ten-minute run.

This module must not import Locust: the runner and the chaos process use it, and importing
Locust monkey-patches the standard library with gevent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from hive_resilience.clients.agent_scripts import parse_script
from hive_resilience.loadrun.metrics import (
    ARRIVALS_REQUEST,
    DROPPED_RATIO,
    METRICS,
    MetricSpec,
    compared_metrics,
    metric,
)
from hive_resilience.loadrun.user_discovery import discover_user_classes
from hive_resilience.paths import LOAD_DIR, REPO_ROOT

SCENARIOS_DIR = Path(os.environ.get("HIVE_RESILIENCE_SCENARIOS_DIR", REPO_ROOT / "scenarios"))

AGGREGATED = "Aggregated"
"""The request name Locust gives the total over all requests; SLOs use the same name."""

Metric = Literal[tuple(spec.name for spec in METRICS)]  # type: ignore[valid-type]
"""The metric names an SLO may use: those of the metric table, so pydantic names them all on a typo."""

InconclusiveMeans = Literal["pass", "fail"]
"""What a verdict whose confidence interval straddles its threshold counts as (default: fail)."""

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file and the key."""


def parse_duration_s(value: str | int | float) -> float:
    """Seconds from ``90``, ``"90"``, ``"90s"``, ``"5m"``, ``"1h30m"``; raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = value.strip().lower()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif text and _DURATION_PART.sub("", text) == "":
            units = {"h": 3600, "m": 60, "s": 1}
            seconds = sum(float(amount) * units[unit] for amount, unit in _DURATION_PART.findall(text))
        else:
            raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 5m, 1h30m)")
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(_Strict):
    """Hold ``users`` users (reached at ``spawn_rate`` per second) for ``duration_s``."""

    duration_s: float = Field(alias="duration")
    users: int = Field(ge=0)
    spawn_rate: float = Field(gt=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("duration_s", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration_s(value)  # type: ignore[arg-type]


Pattern = Literal["constant", "poisson", "gamma"]
"""How arrivals are spaced: evenly, as a Poisson process, or gamma-distributed gaps (bursty)."""

_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)")


def parse_rate_per_s(value: str | float) -> float:
    """Arrivals per second from ``2``, ``"0.5/s"``, ``"18/min"``, ``"600/h"``; raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a rate")
    if isinstance(value, (int, float)):
        rate = float(value)
    elif match := _RATE.fullmatch(value.strip().lower()):
        per = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
        rate = float(match[1]) / per[match[2]]
    else:
        raise ValueError(f"{value!r} is not a rate (use e.g. 2, 0.5/s, 18/min)")
    if rate < 0:
        raise ValueError(f"{value!r} must not be negative")
    return rate


class ArrivalStage(_Strict):
    """Offer ``rate_per_s`` arrivals per second for ``duration_s``, reached linearly over the first ``ramp_s``
    from the previous stage's rate (0 before the first stage); no ramp is a step."""

    duration_s: float = Field(alias="duration")
    rate_per_s: float = Field(alias="rate")
    ramp_s: float = Field(default=0.0, alias="ramp")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("duration_s", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration_s(value)  # type: ignore[arg-type]

    @field_validator("rate_per_s", mode="before")
    @classmethod
    def _rate(cls, value: object) -> float:
        return parse_rate_per_s(value)  # type: ignore[arg-type]

    @field_validator("ramp_s", mode="before")
    @classmethod
    def _ramp(cls, value: object) -> float:
        return 0.0 if value in (0, "0") else parse_duration_s(value)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _ramp_within(self) -> ArrivalStage:
        if self.ramp_s > self.duration_s:
            raise ValueError(f"ramp {self.ramp_s:g} s is longer than its stage ({self.duration_s:g} s)")
        return self


class Arrivals(_Strict):
    """An open-model load plan: arrivals on a schedule, each one iteration of a user class's task.

    Latency is measured from each arrival's intended start, so a slow target cannot slow the
    load down and hide its own slowness (coordinated omission). At most ``max_in_flight``
    arrivals run at once (over all Locust processes); one due while that many run is dropped.
    """

    pattern: Pattern = "poisson"
    burstiness: float | None = Field(default=None, gt=0)
    """gamma only: the coefficient of variation of the gaps (1 is Poisson, above 1 burstier)."""
    max_in_flight: int = Field(default=100, ge=1)
    seed: int | None = None
    """Makes the arrival times (and which class each arrival runs) reproducible; None: new each run."""
    stages: tuple[ArrivalStage, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _one_stage_shorthand(cls, raw: object) -> object:
        """``rate`` and ``duration`` (and ``ramp``) in place of ``stages``: one stage."""
        single = {"rate", "duration", "ramp"}
        if not isinstance(raw, dict) or not single & set(raw):
            return raw
        if "stages" in raw:
            raise ValueError("use either 'stages' or rate/duration, not both")
        return {**{key: value for key, value in raw.items() if key not in single},
                "stages": [{key: raw[key] for key in single if key in raw}]}

    @model_validator(mode="after")
    def _burstiness_for_gamma(self) -> Arrivals:
        if (self.pattern == "gamma") != (self.burstiness is not None):
            raise ValueError("burstiness is given with pattern gamma, and only then")
        return self

    @property
    def duration_s(self) -> float:
        return sum(stage.duration_s for stage in self.stages)

    def at_rate(self, rate_per_s: float) -> Arrivals:
        """This plan with ``rate_per_s`` instead of its single stage's rate (``--arrival-rate``)."""
        if len(self.stages) != 1 or self.stages[0].ramp_s:
            raise ScenarioError("--arrival-rate replaces the rate of a single constant stage; "
                                f"this plan has {len(self.stages)} stages" + (" with a ramp" if self.stages[0].ramp_s else ""))
        if rate_per_s <= 0:
            raise ScenarioError(f"--arrival-rate: {rate_per_s:g} must be above 0")
        return self.model_copy(update={"stages": (self.stages[0].model_copy(update={"rate_per_s": float(rate_per_s)}),)})

    def compressed_by(self, factor: float) -> Arrivals:
        """The same rates over stages ``factor`` times as long (at least 1 s each)."""
        return self.model_copy(update={"stages": tuple(
            stage.model_copy(update={"duration_s": (duration_s := max(1.0, stage.duration_s * factor)),
                                     "ramp_s": min(stage.ramp_s * factor, duration_s)})
            for stage in self.stages)})


class ToolCall(_Strict):
    """One entry of McpToolsUser's tool mix: call ``name`` with ``arguments``, in proportion to ``weight``.

    The names are checked against the server's ``tools/list`` before the load starts, so a
    scenario written for one MCP server fails at once against another.
    """

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    weight: int = Field(default=1, ge=0)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value or value.split() != [value]:
            raise ValueError("a tool name is one word, spelled as tools/list spells it")
        return value


class UserClassConfig(_Strict):
    """How much of the load one user class carries, where it sends it and how long it thinks."""

    weight: int = Field(default=1, ge=0)
    host: str | None = None
    wait_s: tuple[float, float] = (1.0, 3.0)
    tools: tuple[ToolCall, ...] | None = None
    """For user classes that call MCP tools (McpToolsUser): the tools and their mix; None means
    the class's default (McpToolsUser: the offline aden-tools mix). Other classes ignore it."""
    session_calls: int | None = Field(default=None, ge=1)
    """For McpToolsUser: MCP calls per session before it closes the session (``DELETE``) and opens a
    new one, so a soak measures the cost of sessions; None keeps one session per user."""
    scripts: dict[str, int] | None = None
    """For user classes that chat with Hive's queen (HiveApiUser): the conversation scripts the
    LLM stub plays (``one_tool``, ``chain steps=3``...) and their weights; None sends plain
    messages without a script, as against a real model."""

    @field_validator("scripts")
    @classmethod
    def _scripts(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        if value is None:
            return value
        for key, weight in value.items():
            parse_script(key)
            if weight < 0:
                raise ValueError(f"script {key!r}: weight must be 0 or more")
        if not any(value.values()):
            raise ValueError("scripts needs at least one entry with a weight above 0")
        return value

    @field_validator("tools")
    @classmethod
    def _tools(cls, value: tuple[ToolCall, ...] | None) -> tuple[ToolCall, ...] | None:
        if value is not None and not any(tool.weight for tool in value):
            raise ValueError("tools needs at least one entry with a weight above 0")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/\s]+/?", value):
            raise ValueError(f"{value!r} is not a base URL like http://127.0.0.1:8787")
        return value.rstrip("/") if value else value

    @field_validator("wait_s")
    @classmethod
    def _wait(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] < 0 or value[1] < value[0]:
            raise ValueError("wait_s must be [min, max] with 0 <= min <= max")
        return value


class Slo(_Strict):
    """One objective: ``metric`` of ``request`` must stay at or under ``max`` (or over ``min``).

    Request metrics use the gate's exact response times; resource metrics are sampled from
    the embedded target's processes and are not measured against a remote host.
    """

    metric: Metric
    request: str = AGGREGATED
    max: float | None = None
    min: float | None = None
    inconclusive: InconclusiveMeans | None = None
    """What this SLO's verdict counts as when its interval straddles the bound; None: the scenario's setting."""
    abort: bool = False
    """Stop the run early once this SLO is clearly broken (k6's ``abortOnFail``): its running verdict is a
    decided fail, the whole confidence interval beyond the bound; the run then fails as incomplete."""
    abort_after_s: Annotated[float, BeforeValidator(parse_duration_s)] = Field(default=30.0, alias="abort_after")
    """The grace from the run's start before ``abort`` may stop it: a warming target is not a broken one."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_bound(self) -> Slo:
        if (self.max is None) == (self.min is None):
            raise ValueError(f"SLO on {self.metric} needs exactly one of 'max' or 'min'")
        if self.abort and metric(self.metric).interval is None:
            # Without an interval a running figure cannot be "clearly" broken: a count or a
            # resource figure is only decided at the end.
            raise ValueError(f"abort needs a metric judged by its confidence interval "
                             f"({', '.join(spec.name for spec in METRICS if spec.interval)}); {self.metric} is judged "
                             "at the end of the run")
        if self.is_resource and self.request != AGGREGATED:
            raise ValueError(f"resource metric {self.metric} applies to the whole target; drop 'request'")
        if not metric(self.metric).applies_to(self.request):
            raise ValueError(f"{self.metric} is measured on {ARRIVALS_REQUEST!r} or '{ARRIVALS_REQUEST} [<user class>]', "
                             f"not on {self.request!r}")
        return self

    @property
    def is_resource(self) -> bool:
        """Whether it is measured on the target's processes rather than on a request's response times."""
        return metric(self.metric).scope == "resource"

    @property
    def key(self) -> tuple[str, str]:
        return (self.metric, self.request)

    @property
    def label(self) -> str:
        bound = f"<= {self.max:g}" if self.max is not None else f">= {self.min:g}"
        scope = "embedded target" if self.is_resource else self.request
        return f"{self.metric} {bound} ({scope})"


DEFAULT_SLOS: tuple[Slo, ...] = (
    # The production alert rules: errors under 5 %, p99 under 2 s; and a run that made no
    # request at all is never green.
    Slo(metric="error_ratio", max=0.05),
    Slo(metric="p99_ms", max=2000),
    Slo(metric="requests", min=1),
)
DEFAULT_ARRIVAL_SLOS: tuple[Slo, ...] = (
    # An open-model run that could not start its arrivals measured less load than it claims.
    Slo(metric=DROPPED_RATIO, request=ARRIVALS_REQUEST, max=0.01),
)


class _Budgets(_Strict):
    """What every set of regression budgets offers; its fields come from the metric table."""

    def allowance(self, spec: MetricSpec) -> float:
        """How much worse ``spec`` may get: percent of the baseline, or points for a ratio."""
        return getattr(self, spec.budget_key)


def _budget_field(spec: MetricSpec) -> tuple[type, object]:
    # A drop cannot exceed 100 %, nor a ratio 100 points; an increase in percent can.
    bounded = spec.better == "higher" or spec.budget.in_points
    return (float, Field(default=spec.budget.default, ge=0, le=100 if bounded else None))


RegressionBudgets = create_model(
    "RegressionBudgets",
    __base__=_Budgets,
    __module__=__name__,
    __doc__="""How much worse than a baseline run a new run may be before ``compare`` calls it a regression.

    One key per metric the metric table gives a budget (``rps_drop_percent``,
    ``p99_ms_increase_percent``, ``error_ratio_increase_points``...), defaulting to the table's,
    and ``min_requests``, deprecated: ``compare`` judges percentiles and ratios by their
    confidence intervals now and uses it only for summaries that predate them; still accepted
    so old scenario files load.
    """,
    **{spec.budget_key: _budget_field(spec) for spec in compared_metrics()},
    min_requests=(int, Field(default=50, ge=1)),
)


class Scenario(_Strict):
    """A validated load plan. Build it with :func:`load_scenario`."""

    name: str
    description: str = ""
    stages: tuple[Stage, ...] = ()
    """The closed model: how many users, each waiting for its answer and thinking before the next."""
    arrivals: Arrivals | None = None
    """The open model, instead of ``stages``: arrivals at a rate, whatever the target's pace."""
    user_classes: dict[str, UserClassConfig] = Field(default_factory=lambda: {"HiveApiUser": UserClassConfig()})
    slos: tuple[Slo, ...] = ()
    reply_timeout_s: float = Field(default=30.0, gt=0)
    inconclusive: InconclusiveMeans = "fail"
    """What an SLO verdict counts as when its interval straddles the threshold, unless the SLO says otherwise."""
    regression_budgets: RegressionBudgets = Field(default_factory=RegressionBudgets)
    compressed_from_s: float | None = None

    @field_validator("user_classes")
    @classmethod
    def _known_classes(cls, value: dict[str, UserClassConfig], info: ValidationInfo) -> dict[str, UserClassConfig]:
        """Names of ScenarioUser classes in the locustfiles (``locustfiles`` in the validation
        context, by default ``load/``): whatever the folder defines, no list to keep up to date."""
        locustfiles = (info.context or {}).get("locustfiles", (LOAD_DIR,))
        unknown = sorted(set(value) - set(known := discover_user_classes(locustfiles)))
        if unknown:
            where = ", ".join(str(path) for path in locustfiles)
            raise ValueError(f"unknown user class {unknown[0]!r}; ScenarioUser classes in {where}: "
                             f"{', '.join(known) or 'none'}")
        if not value or all(config.weight == 0 for config in value.values()):
            raise ValueError("at least one user class needs a weight above 0")
        return value

    @model_validator(mode="after")
    def _one_model(self) -> Scenario:
        if bool(self.stages) == (self.arrivals is not None):
            raise ValueError("give either stages (users) or arrivals, exactly one of them")
        for slo in self.slos:
            if slo.metric == DROPPED_RATIO and self.arrivals is None:
                raise ValueError(f"{DROPPED_RATIO} applies to arrivals scenarios only")
        return self

    @property
    def duration_s(self) -> float:
        return self.arrivals.duration_s if self.arrivals else sum(stage.duration_s for stage in self.stages)

    @property
    def peak_users(self) -> int:
        """The most users at once: for an arrivals plan, its ceiling of arrivals in flight."""
        return self.arrivals.max_in_flight if self.arrivals else max(stage.users for stage in self.stages)

    def at_arrival_rate(self, rate_per_s: float) -> Scenario:
        """This arrivals scenario at ``rate_per_s`` (``--arrival-rate``); ScenarioError for a users scenario."""
        if self.arrivals is None:
            raise ScenarioError(f"--arrival-rate: scenario {self.name!r} gives users, not arrivals")
        return self.model_copy(update={"arrivals": self.arrivals.at_rate(rate_per_s)})

    def effective_slos(self) -> tuple[Slo, ...]:
        """The production defaults, each replaced by a scenario SLO on the same metric and request,
        each with the scenario's ``inconclusive`` setting unless it has its own."""
        own = {slo.key: slo for slo in self.slos}
        defaults = tuple(slo for slo in DEFAULT_SLOS + (DEFAULT_ARRIVAL_SLOS if self.arrivals else ())
                         if slo.key not in own)
        return tuple(slo if slo.inconclusive else slo.model_copy(update={"inconclusive": self.inconclusive})
                     for slo in defaults + self.slos)

    def judging_inconclusive_as(self, meaning: str) -> Scenario:
        """Every SLO's inconclusive verdict counted as ``meaning`` (``--inconclusive``: a quick
        compressed look cannot decide a p99, and says so instead of failing)."""
        if meaning not in ("pass", "fail"):
            raise ScenarioError(f"--inconclusive: {meaning!r} is not one of pass, fail")
        slos = tuple(slo.model_copy(update={"inconclusive": meaning}) for slo in self.slos)
        return self.model_copy(update={"inconclusive": meaning, "slos": slos})

    def compressed_to(self, total_s: float) -> Scenario:
        """The same stages scaled to ``total_s`` seconds in all, for short CI runs."""
        factor = total_s / self.duration_s
        stages = tuple(stage.model_copy(update={"duration_s": max(1.0, stage.duration_s * factor)}) for stage in self.stages)
        arrivals = self.arrivals.compressed_by(factor) if self.arrivals else None
        return self.model_copy(update={"stages": stages, "arrivals": arrivals,
                                       "compressed_from_s": self.compressed_from_s or self.duration_s})


def resolve_scenario_path(name_or_path: str) -> Path:
    """A scenario file from a name in ``scenarios/`` or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.parent != Path("."):
        if not candidate.is_file():
            raise ScenarioError(f"scenario file {candidate} does not exist")
        return candidate
    path = SCENARIOS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ScenarioError(f"unknown scenario {name_or_path!r}; available: {', '.join(available_scenarios()) or 'none'}")
    return path


def available_scenarios() -> list[str]:
    return sorted(path.stem for path in SCENARIOS_DIR.glob("*.yaml"))


def load_scenario(name_or_path: str, duration: str | None = None, locustfiles: Sequence[Path] = (LOAD_DIR,),
                  inconclusive: str | None = None, arrival_rate_per_s: float | None = None) -> Scenario:
    """Load and validate a scenario, optionally compressed to ``duration`` (e.g. ``"30s"``) and,
    for an arrivals scenario of one constant stage, at ``arrival_rate_per_s`` instead of its own rate.

    ``locustfiles`` (files or folders, as given to ``locust -f``) hold the user classes the
    scenario may name.
    """
    path = resolve_scenario_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: must be a mapping of keys such as name, stages, slos")
    raw.setdefault("name", path.stem)
    simple_keys = {"users", "spawn_rate", "duration"} & set(raw)
    if simple_keys and "stages" in raw:
        raise ScenarioError(f"{path}: use either 'stages' or users/spawn_rate/duration, not both")
    if simple_keys and "arrivals" in raw:
        raise ScenarioError(f"{path}: give either users (users/spawn_rate/duration or stages) or arrivals, "
                            "exactly one of them")
    if simple_keys:
        raw["stages"] = [{key: raw.pop(key) for key in ("duration", "users", "spawn_rate") if key in raw}]
    try:
        scenario = Scenario.model_validate(raw, context={"locustfiles": tuple(locustfiles)})
    except ValidationError as error:
        raise ScenarioError(f"{path}: {_first_problem(error)}") from None
    if duration is not None:
        try:
            scenario = scenario.compressed_to(parse_duration_s(duration))
        except ValueError as error:
            raise ScenarioError(f"--duration: {error}") from None
    if inconclusive is not None:
        scenario = scenario.judging_inconclusive_as(inconclusive)
    if arrival_rate_per_s is not None:
        scenario = scenario.at_arrival_rate(arrival_rate_per_s)
    return scenario


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "extra_forbidden":
        return f"unknown key {key!r}; allowed here: {_allowed_keys(problem['loc'])}"
    if problem["type"] == "literal_error":
        return f"key {key!r}: {message}"
    return f"key {key!r}: {message}" + (f" (got {problem['input']!r})" if "input" in problem and not isinstance(problem["input"], dict) else "")


def _allowed_keys(location: tuple) -> str:
    models = {"stages": Stage, "user_classes": UserClassConfig, "slos": Slo, "regression_budgets": RegressionBudgets,
              "arrivals": Arrivals}
    if len(location) > 1:
        model = ToolCall if "tools" in location[:-1] else ArrivalStage if location[:2] == ("arrivals", "stages") \
            else models[str(location[0])]
        names = [field.alias or name for name, field in model.model_fields.items()]
    else:
        names = [name for name in Scenario.model_fields if name != "compressed_from_s"]
        names[names.index("stages")] = "stages (or users, spawn_rate, duration)"
        names[names.index("arrivals")] = "arrivals (instead of stages)"
    return ", ".join(names)


def stage_at(stages: tuple[Stage, ...], run_time_s: float) -> Stage | None:
    """The stage that is active ``run_time_s`` seconds into the run, or None when it is over."""
    elapsed = 0.0
    for stage in stages:
        elapsed += stage.duration_s
        if run_time_s < elapsed:
            return stage
    return None
