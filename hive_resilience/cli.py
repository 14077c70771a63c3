"""The ``hive-resilience`` command: run a scenario, manage the embedded target, list scenarios."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hive_resilience.cleanup import cleanup
from hive_resilience.infra import cluster as cluster_module
from hive_resilience.infra import images
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
    run_parser.add_argument("--workers", type=_worker_count, default=0, metavar="N",
                            help="distribute the load: a Locust master and N Locust worker processes on this machine "
                            "(default: one Locust process); the master gates the SLOs once, the report shows each "
                            "worker's figures")
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
        "NEW_RUN. Exit code: 0 within budget, 1 on a regression, 2 on bad input.")
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


def _worker_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (1 or more)")
    return int(text)


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
        if args.command == "cleanup":
            return _cleanup(args)
        return _scenarios()
    except compare.CompareError as error:
        print(f"hive-resilience: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ScenarioError, RunError) as error:
        print(f"hive-resilience: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(error, ScenarioError) else 1
    except (TargetError, images.ImageError, cluster_module.ClusterError) as error:
        print(f"hive-resilience: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hive-resilience: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    duration = args.duration or os.environ.get("HIVE_RESILIENCE_DURATION")
    inconclusive = args.inconclusive or os.environ.get("HIVE_RESILIENCE_INCONCLUSIVE")
    return run(RunRequest(args.scenario, args.host, args.mcp_host, duration, _ports(args), workers=args.workers,
                          inconclusive=inconclusive))


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
