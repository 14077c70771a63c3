"""The suite's Locust plugin: scenario options, exact latencies, generator CPU and the SLO gate.

It extends Locust through its events, as Locust intends: ``init_command_line_parser`` adds
``--scenario`` and friends, ``init`` applies the scenario to the user classes and the shape,
``request`` feeds exact histograms, ``report_to_master``/``worker_report`` merge them across
workers (each worker also reports its own running request totals and CPU, so the master's
report shows per-worker figures that can be checked against the merged totals), and
``quitting`` evaluates the SLOs, writes the report and sets the exit code. While users run, the
deciding process prints status lines and applies the scenario's abort rule
(:mod:`hive_resilience.loadrun.progress`); an aborted run is recorded as not completed.

A run that stopped before its planned duration (Ctrl-C, ``--run-time`` shorter than the plan)
is recorded as not completed and fails, however its SLOs look. Resource SLOs are judged
against the embedded target: a run given ``--resource-samples`` (``hive-resilience run``) or
aimed at a loopback Hive, which is this machine's and so could be sampled; only a remote
``--host`` may leave them "not measured".
The user classes in ``load/`` import this module, which registers the listeners once.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import gevent
import psutil
from locust import between, events
from locust.env import Environment
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner, WorkerRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter

from hive_resilience.clients import http_client
from hive_resilience.loadrun import prometheus_exporter
from hive_resilience.loadrun.arrivals import Share
from hive_resilience.loadrun.latency import LatencyBook
from hive_resilience.loadrun.open_model import SHARE_MESSAGE, ArrivalUser
from hive_resilience.loadrun.progress import (
    CHECK_INTERVAL_S,
    PROGRESS_INTERVAL_S,
    LiveRun,
)
from hive_resilience.loadrun.request_log import RequestLogWriter
from hive_resilience.loadrun.resources import (
    MCP_SESSIONS_OPENED_KEY,
    SESSIONS_CREATED_KEY,
    per_component_summary,
    read_samples,
    resource_figures,
)
from hive_resilience.loadrun.scenario import Scenario, ScenarioError, load_scenario
from hive_resilience.loadrun.slo import (
    all_held,
    evaluate_request_slos,
    evaluate_resource_slos,
    evaluate_trend_slos,
)
from hive_resilience.loadrun.summary import (
    SCHEMA_VERSION,
    RunSummary,
    ScenarioRecord,
    agent_time_split,
    arrivals_record,
    generator_figures,
    new_run_dir,
    request_rows,
    saturation_warnings,
    tools_server_calls,
    unfinished_plan,
    verdict_lines,
    worker_figures,
    write_junit,
    write_summary,
)
from hive_resilience.loadrun.timeline import (
    TimelineRecorder,
    window_s_for,
    write_timeline,
)
from hive_resilience.loadrun.trends import latency_trends
from hive_resilience.paths import LOAD_DIR
from hive_resilience.target.embedded import LOOPBACK

CPU_SAMPLE_INTERVAL_S = 2.0
REPORT_KEY = "hive_resilience"
LOOPBACK_HOSTS = frozenset({LOOPBACK, "localhost", "::1"})


@dataclass
class RunRecord:
    """What this Locust process has measured so far (on a worker: since its last report)."""

    scenario: Scenario | None = None
    report_dir: Path | None = None
    book: LatencyBook = field(default_factory=LatencyBook)
    request_log: RequestLogWriter | None = None
    cpu_samples: list[float] = field(default_factory=list)
    started_at: float | None = None
    targets: dict[str, str] = field(default_factory=dict)
    reported_requests: dict[str, int] = field(default_factory=dict)
    """On a worker: requests per name sent to the master so far (running totals, never cleared by a report)."""
    worker_requests: dict[str, dict[str, int]] = field(default_factory=dict)
    """On a master: each worker's latest running totals, by worker id."""
    worker_cpu_samples: dict[str, list[float]] = field(default_factory=dict)
    """On a master: each worker's CPU samples, by worker id, to judge saturation per process."""
    service_book: LatencyBook = field(default_factory=LatencyBook)
    """Open model: each request timed from its actual start (``book`` times it from its arrival's intended start)."""
    stage_books: list[LatencyBook] = field(default_factory=list)
    """Open model: the requests of each arrivals stage (by when they ended), to find the first stage that broke an SLO."""
    tools_calls_before: dict[str, int] | None = None
    """The embedded tools server's ``/admin/stats`` counts when the load started; None elsewhere."""
    timeline: TimelineRecorder | None = None
    """Where the verdict is decided (standalone or master): the same figures per time window."""
    live: LiveRun | None = None
    """Where the verdict is decided: the status lines and the abort rule, when either is wanted."""

    def clear_measurements(self) -> None:
        self.book.clear()
        self.service_book.clear()
        for stage_book in self.stage_books:
            stage_book.clear()
        self.cpu_samples.clear()
        self.reported_requests.clear()
        self.worker_requests.clear()
        self.worker_cpu_samples.clear()


RUN = RunRecord()


@events.init_command_line_parser.add_listener
def add_arguments(parser) -> None:
    parser.add_argument("--scenario", default="smoke", env_var="HIVE_RESILIENCE_SCENARIO",
                       help="Scenario name in scenarios/ or a path to a scenario YAML file (default: smoke)")
    parser.add_argument("--duration", default=None, env_var="HIVE_RESILIENCE_DURATION",
                       help="Compress the scenario's stages to this total length, e.g. 30s (the report says so)")
    parser.add_argument("--inconclusive", default=None, choices=("pass", "fail"), env_var="HIVE_RESILIENCE_INCONCLUSIVE",
                        help="Count every inconclusive SLO verdict as pass or fail (default: the scenario's, fail), "
                        "e.g. pass for a quick compressed look")
    parser.add_argument("--arrival-rate", default=None, type=float, env_var="HIVE_RESILIENCE_ARRIVAL_RATE",
                        help="Arrivals per second instead of the rate of an arrivals scenario's single constant stage")
    parser.add_argument("--mcp-host", default=None, env_var="HIVE_RESILIENCE_MCP_HOST",
                       help="Base URL of the tools MCP server, e.g. http://127.0.0.1:4001 (default: the scenario's)")
    parser.add_argument("--report-dir", default=None, env_var="HIVE_RESILIENCE_REPORT_DIR",
                       help="Folder for this run's report (default: reports/<timestamp>-<scenario>)")
    parser.add_argument("--resource-samples", default=None, env_var="HIVE_RESILIENCE_RESOURCE_SAMPLES",
                       include_in_web_ui=False,
                       help="CSV of target process samples for resource SLOs (written by `hive-resilience run`)")
    parser.add_argument("--request-log", default=None, env_var="HIVE_RESILIENCE_REQUEST_LOG", include_in_web_ui=False,
                        help="Also log every request with its time to this CSV (chaos experiments cut windows from it)")
    parser.add_argument("--prometheus-port", default=None, type=int, env_var="HIVE_RESILIENCE_PROMETHEUS_PORT",
                        include_in_web_ui=False, help="Expose live figures for Prometheus on 127.0.0.1:PORT/metrics "
                        "(0: a free port, printed; default: off); the master's only when distributed")
    parser.add_argument("--progress-interval", default=PROGRESS_INTERVAL_S, type=float,
                        env_var="HIVE_RESILIENCE_PROGRESS_INTERVAL", include_in_web_ui=False,
                        help=f"Seconds between status lines (figures of the last interval, SLOs at risk); 0: none "
                        f"(default: {PROGRESS_INTERVAL_S:g})")


@events.init.add_listener
def apply_scenario(environment: Environment, **_: object) -> None:
    options = environment.parsed_options
    if options is None:
        return
    try:
        scenario = load_scenario(options.scenario, options.duration, _locustfiles(environment), options.inconclusive,
                                 options.arrival_rate)
        _configure_user_classes(environment, scenario, options)
    except ScenarioError as error:
        sys.stderr.write(f"hive-resilience: {error}\n")
        sys.exit(2)
    RUN.scenario = scenario
    if scenario.arrivals is not None:
        _play_arrivals(environment, scenario)
    if environment.shape_class is not None:
        environment.shape_class.stages = scenario.stages
        environment.shape_class.arrivals_s = scenario.duration_s if scenario.arrivals else None
    if not isinstance(environment.runner, WorkerRunner):
        # A master hears from its workers every few seconds: shorter windows would alternate full and empty.
        min_window_s = WORKER_REPORT_INTERVAL if isinstance(environment.runner, MasterRunner) else 1.0
        RUN.timeline = TimelineRecorder(window_s_for(scenario.duration_s, min_window_s), tail_window_s=min_window_s)
        RUN.report_dir = Path(options.report_dir) if options.report_dir else new_run_dir(scenario.name)
        RUN.report_dir.mkdir(parents=True, exist_ok=True)
        if not options.html_file:
            options.html_file = str(RUN.report_dir / "locust.html")
        if not options.csv_prefix:
            _start_csv_writer(environment, str(RUN.report_dir / "locust"))
        if options.prometheus_port is not None:
            prometheus_exporter.expose(environment, options.prometheus_port, REPORT_KEY, lambda: evaluate_request_slos(
                scenario.effective_slos(), RUN.book, time.time() - (RUN.started_at or time.time())),
                scenario.arrivals.stages if scenario.arrivals else ())
        _watch_live(environment, scenario, options.progress_interval)
    if not isinstance(environment.runner, MasterRunner):  # a master generates no load
        gevent.spawn(_sample_generator_cpu, environment)
        if options.request_log:
            _start_request_log(environment, Path(options.request_log))


def _locustfiles(environment: Environment) -> list[Path]:
    """The files this Locust loaded (``-f``): the user classes a scenario may name live there."""
    return [Path(path) for path in environment.parsed_locustfiles or ()] or [LOAD_DIR]


def _configure_user_classes(environment: Environment, scenario: Scenario, options) -> None:
    """Weights, waits and hosts from the scenario; classes it does not use are dropped.

    A class's ``configure`` raises ScenarioError when its target cannot run the scenario
    (McpToolsUser: a tool the server does not offer), before any load starts.
    """
    selected = []
    for user_class in environment.user_classes:
        config = scenario.user_classes.get(user_class.__name__)
        if config is None or config.weight == 0:
            continue
        user_class.weight = config.weight
        user_class.wait_time = between(*config.wait_s)
        user_class.configure(config, scenario, options)
        RUN.targets[user_class.__name__] = _without_credentials(user_class.target_url())
        selected.append(user_class)
    if not selected:
        sys.stderr.write(f"hive-resilience: scenario {scenario.name!r} selects none of the loaded user classes\n")
        sys.exit(2)
    environment.user_classes[:] = selected


def _play_arrivals(environment: Environment, scenario: Scenario) -> None:
    """The open model: one ArrivalUser per process runs the configured classes' tasks on the schedule."""
    assert scenario.arrivals is not None
    try:
        ArrivalUser.prepare(scenario.arrivals, list(environment.user_classes), RUN.service_book.record)
    except ScenarioError as error:
        sys.stderr.write(f"hive-resilience: {error}\n")
        sys.exit(2)
    environment.user_classes[:] = [ArrivalUser]
    RUN.stage_books = [LatencyBook() for _ in scenario.arrivals.stages]
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message(SHARE_MESSAGE, lambda msg, **_: ArrivalUser.share.set(
            (Share(msg.data["index"], msg.data["count"]), msg.data["started_at"])))


@events.test_start.add_listener
def share_arrivals(environment: Environment, **_: object) -> None:
    """Give every load-generating process its part of the arrivals and the schedule's start."""
    if RUN.scenario is None or RUN.scenario.arrivals is None or isinstance(environment.runner, WorkerRunner):
        return
    started_at = time.time()
    if not isinstance(environment.runner, MasterRunner):
        ArrivalUser.share.set((Share(), started_at))
        return
    workers = sorted(environment.runner.clients.ready + environment.runner.clients.running, key=lambda node: node.id)
    for index, node in enumerate(workers):
        environment.runner.send_message(SHARE_MESSAGE, {"index": index, "count": len(workers), "started_at": started_at},
                                        client_id=node.id)


def _stage_book(now: float) -> LatencyBook | None:
    """The book of the arrivals stage running at ``now``; None for a users scenario."""
    if not RUN.stage_books or RUN.scenario is None or RUN.scenario.arrivals is None or RUN.started_at is None:
        return None
    elapsed_s = now - RUN.started_at
    for stage, stage_book in zip(RUN.scenario.arrivals.stages, RUN.stage_books, strict=True):
        elapsed_s -= stage.duration_s
        if elapsed_s < 0:
            return stage_book
    return RUN.stage_books[-1]


def _watch_live(environment: Environment, scenario: Scenario, interval_s: float) -> None:
    """Status lines every ``interval_s`` and the scenario's abort rule, checked while users run."""
    live = LiveRun(scenario, RUN.book, max(0.0, interval_s), lambda line: print(line, flush=True),
                   lambda: _stop_early(environment))
    if not live.wanted:
        return
    RUN.live = live

    def check() -> None:
        while True:
            gevent.sleep(CHECK_INTERVAL_S)
            runner = environment.runner
            if runner is not None and runner.state in ("spawning", "running"):
                live.tick(time.time(), runner.user_count)

    gevent.spawn(check)


def _stop_early(environment: Environment) -> None:
    """End the run as its plan's end would (headless, the gate then runs); in the web UI, stop the users."""
    runner = environment.runner
    if runner is None:
        return
    headless = environment.parsed_options is not None and environment.parsed_options.headless
    if headless and runner.shape_greenlet is not None:
        # Locust's main greenlet waits for the shape and then quits the runner once; quitting it
        # from here as well would stop the users twice, and Locust raises for a user stopped twice.
        runner.shape_greenlet.kill(block=False)
    elif headless:
        runner.quit()
    else:
        runner.stop()


def _start_csv_writer(environment: Environment, prefix: str) -> None:
    """Locust's own CSV writer with full history, for runs started without ``--csv``."""
    writer = StatsCSVFileWriter(environment, PERCENTILES_TO_REPORT, prefix, full_history=True)
    gevent.spawn(writer.stats_writer)
    environment.events.quit.add_listener(lambda **_: writer.close_files())


def _start_request_log(environment: Environment, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    RUN.request_log = log = RequestLogWriter(path)

    def flush_every_second() -> None:
        while True:
            gevent.sleep(1)
            log.flush()

    gevent.spawn(flush_every_second)
    environment.events.quit.add_listener(lambda **_: log.close())


def _sample_generator_cpu(environment: Environment) -> None:
    """This process's CPU while users run: a saturated generator makes the target look slow."""
    process = psutil.Process()
    process.cpu_percent(None)
    while True:
        gevent.sleep(CPU_SAMPLE_INTERVAL_S)
        runner = environment.runner
        if runner is not None and runner.state in ("spawning", "running"):
            RUN.cpu_samples.append(process.cpu_percent(None))
        else:
            process.cpu_percent(None)


@events.test_start.add_listener
def reset_measurements(**_: object) -> None:
    RUN.clear_measurements()
    RUN.started_at = time.time()
    if RUN.timeline is not None:
        RUN.timeline.start(RUN.started_at)
    if RUN.live is not None:
        RUN.live.start(RUN.started_at)


@events.test_start.add_listener
def count_tools_server_calls(environment: Environment, **_: object) -> None:
    """Note the embedded tools server's call counts, so the summary can tell the run's own calls."""
    if not isinstance(environment.runner, WorkerRunner):
        RUN.tools_calls_before = _tools_server_counts(environment)


def _tools_server_counts(environment: Environment) -> dict[str, int] | None:
    """``tools/call`` counts per tool from the embedded tools server (``hive-resilience run``
    passes its URL and resource samples); None for other targets or when it does not answer."""
    options = environment.parsed_options
    if options is None or not options.resource_samples or not options.mcp_host:
        return None
    try:
        counts = http_client.call("GET", f"{options.mcp_host.rstrip('/')}/admin/stats").json["tool_calls"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return counts if isinstance(counts, dict) else None


@events.request.add_listener
def record_request(request_type: str, name: str, response_time: float, exception: BaseException | None, **_: object) -> None:
    now = time.time()
    RUN.book.record(request_type, name, response_time or 0.0, exception is not None)
    if (stage_book := _stage_book(now)) is not None:
        stage_book.record(request_type, name, response_time or 0.0, exception is not None)
    if RUN.timeline is not None:
        RUN.timeline.record(now, request_type, name, response_time or 0.0, exception is not None)
    if RUN.live is not None:
        RUN.live.record(request_type, name, response_time or 0.0, exception is not None)
    if RUN.request_log is not None:
        RUN.request_log.add(now, request_type, name, response_time or 0.0, exception is not None)


@events.report_to_master.add_listener
def send_measurements(data: dict, **_: object) -> None:
    for key, tally in RUN.book.tallies.items():
        RUN.reported_requests[key] = RUN.reported_requests.get(key, 0) + tally.requests
    data[REPORT_KEY] = {"book": RUN.book.export(), "cpu": list(RUN.cpu_samples), "requests": dict(RUN.reported_requests),
                        "service_book": RUN.service_book.export(),
                        "stage_books": [stage_book.export() for stage_book in RUN.stage_books]}
    RUN.book.clear()
    RUN.service_book.clear()
    for stage_book in RUN.stage_books:
        stage_book.clear()
    RUN.cpu_samples.clear()


@events.worker_report.add_listener
def merge_measurements(client_id: str, data: dict, **_: object) -> None:
    if REPORT_KEY not in data:
        return
    measurements = data[REPORT_KEY]
    RUN.book.merge(measurements["book"])
    RUN.service_book.merge(measurements.get("service_book", {}))
    for stage_book, exported in zip(RUN.stage_books, measurements.get("stage_books", ()), strict=False):
        stage_book.merge(exported)
    if RUN.timeline is not None:
        RUN.timeline.merge(time.time(), measurements["book"])
    if RUN.live is not None:
        RUN.live.merge(measurements["book"])
    RUN.cpu_samples.extend(measurements["cpu"])
    # Running totals, not deltas: the latest report is the worker's whole count, so checking
    # the merged histograms against them catches a delta merged twice or lost on the way.
    RUN.worker_requests[client_id] = measurements["requests"]
    RUN.worker_cpu_samples.setdefault(client_id, []).extend(measurements["cpu"])


@events.quitting.add_listener
def gate(environment: Environment, **_: object) -> None:
    """Evaluate the SLOs once (never on a worker), write the report, set the exit code."""
    if isinstance(environment.runner, WorkerRunner) or RUN.scenario is None or RUN.report_dir is None:
        return
    if isinstance(environment.runner, MasterRunner):
        # Workers send their last samples only when told to quit, which Locust does after
        # this event; quitting them now (Locust's own quit repeats harmlessly) lets the
        # gate see every request.
        environment.runner.quit()
    summary = build_summary(environment)
    write_summary(RUN.report_dir, summary)
    write_junit(RUN.report_dir, RUN.scenario.name, summary.slos, incomplete_reason=summary.incomplete_reason)
    if RUN.timeline is not None and RUN.started_at is not None:
        write_timeline(RUN.report_dir, RUN.timeline.timeline(summary.ended_at or time.time()))
    print("\n".join(verdict_lines(summary)), flush=True)
    environment.process_exit_code = 0 if summary.passed else 1


def build_summary(environment: Environment) -> RunSummary:
    scenario = RUN.scenario
    assert scenario is not None and RUN.report_dir is not None
    ended_at = time.time()
    duration_s = ended_at - RUN.started_at if RUN.started_at else 0.0
    slos = scenario.effective_slos()
    verdicts = evaluate_request_slos(slos, RUN.book, duration_s)
    resources = _resources(environment)
    embedded = _embedded_target(environment)
    verdicts += evaluate_resource_slos(
        slos, resources["figures"] if resources else None, embedded_target=embedded,
        missing_detail=f"no samples of the embedded target's processes ({_missing_samples(environment)})")
    trends = latency_trends(RUN.timeline.timeline(ended_at)) if RUN.timeline and RUN.started_at else {}
    verdicts += evaluate_trend_slos(slos, trends)
    generator = generator_figures(RUN.cpu_samples)
    workers = {
        worker_id: worker_figures(RUN.worker_requests.get(worker_id, {}), RUN.worker_cpu_samples.get(worker_id, []))
        for worker_id in sorted(RUN.worker_requests.keys() | RUN.worker_cpu_samples.keys())
    }
    if workers:  # the pooled mean hides a saturated worker among idle ones
        generator["saturated"] = any(figures["saturated"] for figures in workers.values())
    exceptions = sum(entry["count"] for entry in environment.runner.exceptions.values()) if environment.runner else 0
    warnings = saturation_warnings(generator, workers)
    if exceptions:
        warnings.append(f"{exceptions} exceptions in load user code (see Locust's log); the measurement is not trustworthy")
    aborted = RUN.live.aborted if RUN.live else None
    incomplete_reason = aborted or unfinished_plan(scenario.duration_s, RUN.started_at, ended_at)
    return RunSummary(
        schema_version=SCHEMA_VERSION,
        scenario=ScenarioRecord(name=scenario.name, description=scenario.description, stages=list(scenario.stages),
                                arrival_stages=list(scenario.arrivals.stages) if scenario.arrivals else [],
                                duration_s=scenario.duration_s, compressed_from_s=scenario.compressed_from_s),
        targets=RUN.targets,
        embedded_target=embedded,
        started_at=RUN.started_at,
        ended_at=ended_at,
        duration_s=duration_s,
        requests=request_rows(RUN.book, duration_s),
        generator=generator,
        workers=workers,
        resources=resources,
        slos=verdicts,
        warnings=warnings,
        regression_budgets=scenario.regression_budgets,
        passed=all_held(verdicts) and not exceptions and incomplete_reason is None,
        report_dir=str(RUN.report_dir),
        completed=incomplete_reason is None,
        incomplete_reason=incomplete_reason,
        agent_time=agent_time_split(RUN.book),
        latency_trends=trends,
        arrivals=arrivals_record(scenario.arrivals, RUN.book, RUN.stage_books, [
            evaluate_request_slos(slos, stage_book, stage.duration_s)
            for stage, stage_book in zip(scenario.arrivals.stages, RUN.stage_books, strict=True)])
        if scenario.arrivals else None,
        service_requests=request_rows(RUN.service_book, duration_s) if scenario.arrivals else [],
        tools_server_calls=tools_server_calls(RUN.tools_calls_before, after, RUN.book)
        if RUN.tools_calls_before is not None and (after := _tools_server_counts(environment)) is not None else None,
    )


def _embedded_target(environment: Environment) -> bool:
    """Whether the target's processes are this machine's: sampled by ``hive-resilience run``, or on loopback."""
    options = environment.parsed_options
    if options is not None and options.resource_samples:
        return True
    return urlsplit(environment.host or "").hostname in LOOPBACK_HOSTS


def _missing_samples(environment: Environment) -> str:
    path = environment.parsed_options.resource_samples if environment.parsed_options else None
    if path:
        return f"{path} is missing"
    return "run it with `hive-resilience run`, which samples them; only a remote --host skips resource SLOs"


def _resources(environment: Environment) -> dict | None:
    path = environment.parsed_options.resource_samples if environment.parsed_options else None
    if not path or not Path(path).is_file():
        return None
    samples = read_samples(Path(path))
    sessions_created, mcp_sessions_opened = (
        tally.requests - tally.failures if (tally := RUN.book.find(key)) else 0
        for key in (SESSIONS_CREATED_KEY, MCP_SESSIONS_OPENED_KEY))
    return {
        "figures": resource_figures(samples, sessions_created, mcp_sessions_opened),
        "components": per_component_summary(samples),
        "sessions_created": sessions_created,
        "mcp_sessions_opened": mcp_sessions_opened,
        "samples_csv": str(path),
    }


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        parts = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
    return urlunsplit(parts)
