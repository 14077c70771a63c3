"""The ``hive-resilience`` command: run a scenario, manage the embedded target, list scenarios."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from hive_resilience.cleanup import cleanup
from hive_resilience.infra import cluster as cluster_module
from hive_resilience.infra import images
from hive_resilience.loadrun import capacity as capacity_search
from hive_resilience.loadrun.capacity_run import CapacityRequest, capacity
from hive_resilience.loadrun.dashboard_recorder import (
    DEFAULT_POLLING_S,
    RecordRequest,
    record_dashboard,
)
from hive_resilience.loadrun.dashboard_recording import (
    PHASES,
    RECORDING_PATH,
    RecordingError,
)
from hive_resilience.loadrun.run import RunError, RunRequest, run
from hive_resilience.loadrun.scenario import (
    RegressionBudgets,
    ScenarioError,
    available_scenarios,
    load_scenario,
    parse_duration_s,
)
from hive_resilience.reporting import compare, html_report
from hive_resilience.target.embedded import EmbeddedTarget, TargetError, TargetPorts

DEFAULT_TARGET_DIR = Path("reports") / "target"
DEFAULT_CLUSTER_DIR = Path("reports") / "cluster"
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hive-resilience",
        description="Load, chaos and resilience testing for Hive. Without --host, runs against the real Hive "
        "started on loopback with an LLM stub (no API key needed).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run_parser = commands.add_parser("run", help="run a scenario, gate its SLOs, write its report",
                                     description="Run a scenario headless and exit non-zero when any SLO fails.")
    run_parser.add_argument("scenario", help="scenario name in scenarios/ (e.g. smoke) or a path to a YAML file")
    run_parser.add_argument("--host", help="Hive API base URL of an existing deployment (default: the embedded target)")
    run_parser.add_argument("--mcp-host", help="tools MCP server base URL of an existing deployment")
    run_parser.add_argument("--duration", type=_duration,
                            help="compress the scenario's stages to this total length, e.g. 30s (env HIVE_RESILIENCE_DURATION)")
    run_parser.add_argument("--inconclusive", choices=("pass", "fail"),
                            help="count every inconclusive SLO verdict (too few samples to decide) as pass or fail; "
                            "default: the scenario's setting, fail (env HIVE_RESILIENCE_INCONCLUSIVE)")
    run_parser.add_argument("--arrival-rate", type=_arrival_rate, metavar="PER_S",
                            help="arrivals per second instead of the rate of an arrivals scenario's single constant "
                            "stage (env HIVE_RESILIENCE_ARRIVAL_RATE)")
    run_parser.add_argument("--workers", type=_worker_count, default=0, metavar="N",
                            help="distribute the load: a Locust master and N Locust worker processes on this machine "
                            "(default: one Locust process); the master gates the SLOs once, the report shows each "
                            "worker's figures")
    run_parser.add_argument("--prometheus-port", type=_metrics_port, metavar="PORT",
                            help="expose the run's live figures for Prometheus on 127.0.0.1:PORT/metrics (0: a free "
                            "port, printed); see docs/prometheus.md")
    _add_progress_arguments(run_parser)
    _add_port_arguments(run_parser)

    target_parser = commands.add_parser("target", help="start, stop or inspect the embedded Hive",
                                        description="The real Hive, its tools MCP server and the LLM stub on 127.0.0.1.")
    target_parser.add_argument("action", choices=("up", "down", "status"))
    target_parser.add_argument("--dir", type=Path, default=DEFAULT_TARGET_DIR,
                               help=f"run folder for logs, HOME and state (default {DEFAULT_TARGET_DIR})")
    target_parser.add_argument("--json", action="store_true", help="status as JSON")
    target_parser.add_argument("--fault-proxy", action="store_true",
                               help="put the TCP fault proxy in front of the tools server (for latency experiments)")
    _add_port_arguments(target_parser)

    compare_parser = commands.add_parser(
        "compare", help="compare a run with a baseline run; exit 1 on a regression",
        description="Compare NEW_RUN with BASELINE_RUN per request name present in both (and Aggregated) on "
        "each metric that has a regression budget. The budgets are NEW_RUN's, recorded in its summary.json from the "
        f"scenario's regression_budgets (defaults: {compare.describe_budgets(RegressionBudgets())}); a request "
        "missing from NEW_RUN is a regression. Prints a table and writes comparison.json and comparison.md into "
        "NEW_RUN. Two capacity searches (folders with capacity.json) are compared on their knee: lower by more than "
        "the rps budget beyond the repeats' spread is a regression. Exit code: 0 within budget, 1 on a regression, "
        "2 on bad input.")
    compare_parser.add_argument("baseline_run", type=Path, help="run folder of the baseline, e.g. reports/20261126T232445Z-smoke")
    compare_parser.add_argument("new_run", type=Path, help="run folder of the run to judge; the comparison is written there")

    report_parser = commands.add_parser(
        "report", help="one self-contained HTML page across load, chaos and E2E runs",
        description="Build reports/resilience-report-<timestamp>.html from run folders (load runs, chaos runs, "
        "reports/e2e): per-request tables, SLO verdicts, charts over time with fault windows, recovery times, "
        "E2E flows, and the deployment plan's promises marked held, broken or not tested.")
    report_parser.add_argument("run_dirs", nargs="*", type=Path, metavar="RUN_DIR",
                               help="run folders to include (default: every run folder under reports/)")
    report_parser.add_argument("--reports-dir", type=Path, default=Path("reports"),
                               help="where run folders are looked up and the page is written (default reports)")

    images_parser = commands.add_parser(
        "images", help="build the container images of Hive, its tools server and the LLM stub",
        description="Build integration/images/*.Dockerfile into hive-resilience/{hive,tools,llm-stub}, tagged by the "
        "hash of their inputs and reused while those do not change. Without a registry the base is Debian bookworm "
        f"made with debootstrap (needs root); set {images.BASE_IMAGE_VARIABLE}=python:3.11-slim to use a registry's.")
    images_parser.add_argument("action", choices=("build", "tags"), help="build what is missing, or print the tags")
    images_parser.add_argument("--log-dir", type=Path, default=Path("reports") / "images",
                               help="where build logs go (default reports/images)")

    cluster_parser = commands.add_parser(
        "cluster", help="bring up, take down or inspect a real single-node Kubernetes (needs root)",
        description="A real single-node Kubernetes 1.20.2 (etcd, API server, controller manager, scheduler, "
        "containerd, kubelet, kube-proxy) inside a network namespace of its own, with Hive deployed from "
        "deploy/hive/overlays/local. Binaries come from scripts/cluster-setup's cache; the kubeconfig is written "
        "to the run folder; run kubectl or chaos inside the namespace with `nsenter --net=/run/netns/"
        f"{cluster_module.NAMESPACE_NAME}`.")
    cluster_parser.add_argument("action", choices=("up", "down", "status"))
    cluster_parser.add_argument("--dir", type=Path, default=DEFAULT_CLUSTER_DIR,
                                help=f"run folder for logs, kubeconfig and state (default {DEFAULT_CLUSTER_DIR})")
    cluster_parser.add_argument("--no-hive", action="store_true", help="bring up the cluster without deploying Hive")

    cleanup_parser = commands.add_parser(
        "cleanup", help="undo every fault a killed chaos or load run left on this machine",
        description="After a run killed with SIGKILL: end stray Locust processes of the suite, undo every fault "
        "on the embedded targets that still run (nftables table, frozen or killed components, LLM stub and fault "
        "proxy faults), delete the nftables table, and delete the Chaos Mesh objects the suite labelled when a "
        "kubeconfig is set. Idempotent. Exit code: 0 when nothing is left, 1 when something could not be undone "
        "or checked.")
    cleanup_parser.add_argument("--target-dir", type=Path, action="append", default=[], metavar="DIR",
                                help="a target's run folder to look at besides reports/target, $HIVE_RESILIENCE_TARGET_DIR "
                                "and reports/*/ (repeatable)")
    cleanup_parser.add_argument("--reports-dir", type=Path, default=Path("reports"),
                                help="where run folders are looked up (default reports)")

    capacity_parser = commands.add_parser(
        "capacity", help="find the highest arrival rate Hive serves within the scenario's SLOs",
        description="Run short steps of an arrivals scenario at increasing rates (doubling from --start-rate, then "
        "bisecting between the last rate that held and the first that broke), each after an unjudged warm-up and "
        "judged by the scenario's SLOs. A step whose load generator could not offer its rate (CPU saturated, "
        "arrivals late or dropped) is invalid, never blamed on Hive. Writes capacity.json (every step, the knee "
        "and its spread across repeats, the first SLO to break) into reports/<timestamp>-capacity-<scenario>. "
        "Exit code: 0 when a knee was found (at or above --require), 1 otherwise, 2 on bad input.")
    capacity_parser.add_argument("scenario", help="arrivals scenario (one constant stage) in scenarios/ or a YAML file")
    capacity_parser.add_argument("--start-rate", type=_arrival_rate, default=0.25, metavar="PER_S",
                                 help="first step's arrivals per second (default 0.25)")
    capacity_parser.add_argument("--max-rate", type=_arrival_rate, default=8.0, metavar="PER_S",
                                 help="highest rate to try (default 8)")
    capacity_parser.add_argument("--step-s", type=_seconds, default=30.0, metavar="SECONDS",
                                 help="judged length of each step (default 30)")
    capacity_parser.add_argument("--warmup-s", type=_seconds, default=10.0, metavar="SECONDS",
                                 help="unjudged run at the step's rate before each step; 0 for none (default 10)")
    capacity_parser.add_argument("--precision", type=float, default=0.1,
                                 help="stop bisecting when the gap between held and broken rates is at most this share "
                                 "of the held rate (default 0.1)")
    capacity_parser.add_argument("--repeats", type=int, default=1, metavar="N",
                                 help="run the whole search N times; the knee is their median with min..max (default 1)")
    capacity_parser.add_argument("--require", type=_arrival_rate, metavar="PER_S",
                                 help="exit 1 unless every repeat's knee is at or above this rate")
    capacity_parser.add_argument("--host", help="Hive API base URL of an existing deployment (default: the embedded target)")
    capacity_parser.add_argument("--mcp-host", help="tools MCP server base URL of an existing deployment")
    capacity_parser.add_argument("--reports-dir", type=Path, default=Path("reports"),
                                 help="where the capacity folder is written (default reports)")
    _add_progress_arguments(capacity_parser)
    _add_port_arguments(capacity_parser)

    record_parser = commands.add_parser(
        "record-dashboard", help="record the API calls the real dashboard makes, for DashboardUser to replay",
        description="Start the embedded Hive, open its dashboard in Chromium (Playwright), load the home page, open "
        "a queen's conversation, send one message, wait for the reply and stay idle for --polling-s; write every "
        f"/api/* call (ids templated, phase, polling interval, Hive version) to {RECORDING_PATH.name}. Run it after "
        "a Hive upgrade to refresh the recording. Needs playwright and Debian's chromium.")
    record_parser.add_argument("--output", type=Path, default=RECORDING_PATH,
                               help=f"where the recording is written (default {RECORDING_PATH})")
    record_parser.add_argument("--polling-s", type=_seconds, default=DEFAULT_POLLING_S, metavar="SECONDS",
                               help=f"idle time after the reply in which polling calls are recorded (default {DEFAULT_POLLING_S:.0f})")
    record_parser.add_argument("--dir", type=Path, default=Path("reports") / "record-dashboard",
                               help="run folder of the embedded Hive (default reports/record-dashboard)")

    commands.add_parser("scenarios", help="list the scenarios in scenarios/")
    return parser


def _add_port_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TargetPorts()
    parser.add_argument("--api-port", type=_port, default=defaults.api, help=f"embedded Hive API port (default {defaults.api})")
    parser.add_argument("--mcp-port", type=_port, default=defaults.mcp, help=f"embedded tools MCP port (default {defaults.mcp})")
    parser.add_argument("--llm-port", type=_port, default=defaults.llm, help=f"embedded LLM stub port (default {defaults.llm})")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def _metrics_port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535, or 0 for a free one)")
    return int(text)


def _worker_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (1 or more)")
    return int(text)


def _arrival_rate(text: str) -> float:
    try:
        rate_per_s = float(text)
    except ValueError:
        rate_per_s = 0.0
    if not rate_per_s > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an arrival rate (arrivals per second, above 0)")
    return rate_per_s


def _add_progress_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress-interval", type=_seconds, metavar="SECONDS",
                        help="seconds between status lines while Locust runs (rate, errors, p95/p99 of the last "
                        "interval, SLOs at risk); default 10 (env HIVE_RESILIENCE_PROGRESS_INTERVAL)")
    parser.add_argument("--quiet", action="store_true", help="no status lines, only the verdict")


def _progress_interval_s(args: argparse.Namespace) -> float | None:
    """What ``--quiet`` and ``--progress-interval`` ask of the Locust plugin; None: its default."""
    return 0.0 if args.quiet else args.progress_interval


def _seconds(text: str) -> float:
    """Seconds (``30``, ``30s``, ``1m``), or 0."""
    try:
        return 0.0 if text.strip() in ("0", "0s") else parse_duration_s(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _duration(text: str) -> str:
    try:
        parse_duration_s(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "target":
            return _target(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "report":
            return _report(args)
        if args.command == "images":
            return _images(args)
        if args.command == "cluster":
            return _cluster(args)
        if args.command == "capacity":
            return _capacity(args)
        if args.command == "cleanup":
            return _cleanup(args)
        if args.command == "record-dashboard":
            return _record_dashboard(args)
        return _scenarios()
    except (compare.CompareError, capacity_search.CapacityError) as error:
        print(f"hive-resilience: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ScenarioError, RunError) as error:
        print(f"hive-resilience: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(error, ScenarioError) else 1
    except (TargetError, images.ImageError, cluster_module.ClusterError, RecordingError) as error:
        print(f"hive-resilience: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hive-resilience: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    duration = args.duration or os.environ.get("HIVE_RESILIENCE_DURATION")
    inconclusive = args.inconclusive or os.environ.get("HIVE_RESILIENCE_INCONCLUSIVE")
    arrival_rate = args.arrival_rate or (
        _arrival_rate(text) if (text := os.environ.get("HIVE_RESILIENCE_ARRIVAL_RATE")) else None)
    return run(RunRequest(args.scenario, args.host, args.mcp_host, duration, _ports(args), workers=args.workers,
                          inconclusive=inconclusive, arrival_rate=arrival_rate, prometheus_port=args.prometheus_port,
                          progress_interval_s=_progress_interval_s(args)))


def _capacity(args: argparse.Namespace) -> int:
    try:
        plan = capacity_search.SearchPlan(
            start_rate_per_s=args.start_rate, max_rate_per_s=args.max_rate, step_s=args.step_s,
            warmup_s=args.warmup_s, precision=args.precision, repeats=args.repeats)
    except ValidationError as error:
        problem = error.errors()[0]
        option = "--" + str(problem["loc"][0]).removesuffix("_per_s").replace("_", "-") + ": " if problem["loc"] else ""
        raise capacity_search.CapacityError(option + problem["msg"].removeprefix("Value error, ")) from None
    result, run_dir = capacity(CapacityRequest(args.scenario, plan, args.host, args.mcp_host, args.reports_dir,
                                               _ports(args), args.require, _progress_interval_s(args)))
    for line in capacity_search.verdict_lines(result):
        print(line)
    print(f"written: {run_dir / capacity_search.CAPACITY_FILE}")
    return 0 if result.passed else 1


def _target(args: argparse.Namespace) -> int:
    if args.action == "up":
        target = EmbeddedTarget(args.dir, _ports(args), fault_proxy=args.fault_proxy)
        target.up()
        print(f"embedded Hive is up: API {target.api_url}, MCP {target.mcp_url}/mcp, LLM stub {target.llm_url}")
        print(f"logs in {target.run_dir / 'logs'}; stop it with: hive-resilience target down --dir {args.dir}")
        return 0
    target = EmbeddedTarget.attach(args.dir)
    if args.action == "down":
        target.down()
        print("embedded Hive stopped")
        return 0
    status = target.status()
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        for component, state in status.items():
            health = "healthy" if state["healthy"] else "not answering"
            running = f"pid {state['pid']}" if state["running"] else "not running"
            print(f"{component:<9} {running:<12} {health:<14} {state['url']}")
    return 0 if all(state["running"] and state["healthy"] for state in status.values()) else 1


def _compare(args: argparse.Namespace) -> int:
    comparison = compare.compare_runs(args.baseline_run, args.new_run)
    json_path, md_path = compare.write_comparison(comparison)
    print(compare.render_text(comparison))
    print(f"written: {json_path}, {md_path}")
    return 1 if comparison.regressions else 0


def _report(args: argparse.Namespace) -> int:
    missing = [path for path in args.run_dirs if not path.is_dir()]
    if missing:
        print(f"hive-resilience: {missing[0]}: no such run folder", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.run_dirs and not args.reports_dir.is_dir():
        print(f"hive-resilience: {args.reports_dir}: no such folder; run something first", file=sys.stderr)
        return EXIT_BAD_INPUT
    run_dirs = args.run_dirs or html_report.default_run_dirs(args.reports_dir)
    try:
        path = html_report.write_report(run_dirs, args.reports_dir)
    except ValueError as error:
        print(f"hive-resilience: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"report: {path}")
    return 0


def _images(args: argparse.Namespace) -> int:
    tags = images.build_images(args.log_dir) if args.action == "build" else images.image_tags()
    for name, tag in tags.items():
        print(f"{name:<9} {tag}")
    return 0


def _cluster(args: argparse.Namespace) -> int:
    if args.action == "up":
        cluster = cluster_module.Cluster(args.dir)
        ready_s = cluster.up(progress=lambda line: print(f"cluster: {line}", file=sys.stderr))
        print(f"cluster up in {ready_s:.0f} s; kubeconfig {cluster.kubeconfig}")
        if not args.no_hive:
            deployed_s = cluster_module.deploy_hive(cluster)
            print(f"Hive deployed and rolled out in {deployed_s:.0f} s: {cluster_module.service_urls(cluster)}")
        print(f"memory of the cluster's processes: {cluster.memory_bytes() / 2**20:.0f} MiB")
        print(f"use it: nsenter --net=/run/netns/{cluster.netns} kubectl --kubeconfig {cluster.kubeconfig} get pods -A")
        return 0
    cluster = cluster_module.Cluster.attach(args.dir)
    if args.action == "down":
        cluster.down()
        print("cluster down")
        return 0
    status = cluster.status()
    for component, state in status.items():
        print(f"{component:<24} {'pid ' + str(state['pid']) if state['running'] else 'not running'}")
    return 0 if all(state["running"] for state in status.values()) else 1


def _cleanup(args: argparse.Namespace) -> int:
    report = cleanup(args.reports_dir, args.target_dir)
    for line in report.undone:
        print(f"undone: {line}")
    for line in report.skipped:
        print(line)
    for line in report.problems:
        print(f"hive-resilience: still in place or not checked: {line}", file=sys.stderr)
    if report.clean:
        print("clean: nothing was left behind" if not report.undone else f"clean now: undid {len(report.undone)}")
    return 0 if report.clean else 1


def _record_dashboard(args: argparse.Namespace) -> int:
    recording = record_dashboard(RecordRequest(args.dir, args.output, args.polling_s))
    counts = ", ".join(f"{len(recording.in_phase(phase))} {phase}" for phase in PHASES)
    print(f"recorded Hive {recording.hive_version}'s dashboard: {counts} calls; written: {args.output}")
    return 0


def _scenarios() -> int:
    for name in available_scenarios():
        try:
            scenario = load_scenario(name)
            print(f"{name:<8} {scenario.duration_s:>6.0f} s  peak {scenario.peak_users:>4} users  {scenario.description}")
        except ScenarioError as error:
            print(f"{name:<8} INVALID: {error}")
    return 0


def _ports(args: argparse.Namespace) -> TargetPorts:
    return TargetPorts(api=args.api_port, mcp=args.mcp_port, llm=args.llm_port)


if __name__ == "__main__":
    sys.exit(main())
