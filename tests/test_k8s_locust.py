"""deploy/k8s for real: a Locust master Job and two workers, from the Locust image the suite builds
offline, play an arrival-rate scenario against the Hive deployed on the suite's single-node
cluster; the report is copied out the way deploy/k8s/README.md says, and its verdict and totals
are checked against the Job and the workers.

The run gets its own overlay of deploy/k8s (kustomize refuses an overlay inside its base, so it is
written to the test's folder): the cluster's image and Hive Service addresses, a short scenario, two
workers that fit the node beside Hive, and a host-path volume for the reports, since the cluster
has no storage provisioner. Everything lives in the ``hive-resilience`` namespace, which is deleted
at the end; Hive's ``hive`` namespace is only read.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from hive_resilience.infra import images
from hive_resilience.infra.cluster import Cluster, service_urls
from hive_resilience.loadrun.scenario import AGGREGATED
from hive_resilience.loadrun.summary import RunSummary, read_summary
from hive_resilience.paths import REPO_ROOT

pytestmark = pytest.mark.cluster

K8S = REPO_ROOT / "deploy" / "k8s"
NAMESPACE = "hive-resilience"
MASTER_JOB = "hive-resilience-master"
WORKERS = 2
SUITE_UID = 10001
"""The image's user (the manifests' runAsUser): it must own the host-path reports folder."""
JOB_TIMEOUT_S = 420.0
"""The scenario (40 s), the workers' start and the master's report, with room for a busy machine."""
SCENARIO = """\
name: k8s-open-smoke
description: 1 arrival per second for 40 s, spread over two Locust workers on the cluster.
arrivals:
  pattern: constant
  rate: 1/s
  duration: 40s
  max_in_flight: 20
  seed: 14
user_classes:
  HiveApiUser: {weight: 1, scripts: {one_tool: 1, plain: 1}}
  McpToolsUser: {weight: 1}
reply_timeout_s: 30
inconclusive: pass
slos:
  - {metric: dropped_ratio, request: arrivals, max: 0.01}
  - {metric: error_ratio, request: "chat time-to-reply", max: 0.05}
  - {metric: requests, request: "chat time-to-reply", min: 1}
  - {metric: requests, request: "mcp tools/call get_current_time", min: 1}
"""


@dataclass(frozen=True)
class ClusterRun:
    """What one deploy/k8s run left: the Job's outcome, the master's log and the copied report."""

    job_succeeded: bool
    master_log: str
    summary: RunSummary
    run_s: float


def write_overlay(directory: Path, urls: dict[str, str], reports_dir: Path) -> Path:
    """A kustomization on deploy/k8s for this cluster and this run (kustomize v2.0.3 fields only)."""
    pull_never = {"op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "Never"}
    files = {
        "kustomization.yaml": {
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "bases": [os.path.relpath(K8S, directory)],
            "resources": ["reports-pv.yaml"],
            "patchesStrategicMerge": ["config.yaml"],
            # The image `images build` made and the cluster imported from Docker: never pulled.
            "images": [{"name": "registry.example.com/hive-resilience", "newName": f"{images.IMAGE_PREFIX}/locust",
                        "newTag": "latest"}],
            "patchesJson6902": [
                {"target": {"group": "batch", "version": "v1", "kind": "Job", "name": MASTER_JOB},
                 "path": "pull-never.yaml"},
                {"target": {"group": "apps", "version": "v1", "kind": "Deployment",
                            "name": "hive-resilience-report-reader"}, "path": "pull-never.yaml"},
                {"target": {"group": "apps", "version": "v1", "kind": "Deployment", "name": "hive-resilience-worker"},
                 "path": "workers.yaml"},
            ],
        },
        "pull-never.yaml": [pull_never],
        # The node's 2 cores also run Hive: a quarter core each, where staging's workers get a whole one.
        "workers.yaml": [pull_never, {"op": "replace", "path": "/spec/replicas", "value": WORKERS},
                         {"op": "replace", "path": "/spec/template/spec/containers/0/resources/requests/cpu",
                          "value": "250m"}],
        "config.yaml": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hive-resilience-config"},
                        "data": {**urls, "workers": str(WORKERS), "scenario.yaml": SCENARIO}},
        "reports-pv.yaml": {
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "hive-resilience-reports"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Retain",
                     "hostPath": {"path": str(reports_dir), "type": "Directory"},
                     "claimRef": {"namespace": NAMESPACE, "name": "hive-resilience-reports"}},
        },
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(yaml.safe_dump(content, sort_keys=False))
    return directory


def kubectl_with_input(cluster: Cluster, stdin: str, *arguments: str) -> None:
    """kubectl reading ``stdin``, so a secret never appears in argv."""
    done = subprocess.run(cluster.command(cluster.kubectl_argv(*arguments)), input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-500:]


def wait_for_job(cluster: Cluster, timeout_s: float) -> bool:
    """Whether the master's Job succeeded (True) or failed (False), polled until one of them."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "job", MASTER_JOB, "-o", "json"))["status"]
        if status.get("succeeded") or status.get("failed"):
            return bool(status.get("succeeded"))
        time.sleep(3)
    pods = cluster.kubectl("-n", NAMESPACE, "get", "pods", "-o", "wide")
    pytest.fail(f"the master's Job did not end within {timeout_s:.0f} s:\n{pods}")


def copy_reports_out(cluster: Cluster, destination: Path) -> None:
    """deploy/k8s/README.md step 4: the report reader up, ``kubectl cp`` from it, down again."""
    deployment = "deployment/hive-resilience-report-reader"
    cluster.kubectl("-n", NAMESPACE, "scale", deployment, "--replicas=1")
    cluster.kubectl("-n", NAMESPACE, "rollout", "status", deployment, "--timeout=300s", timeout_s=330)
    pod = cluster.kubectl("-n", NAMESPACE, "get", "pod", "-l", "app.kubernetes.io/component=report-reader",
                          "-o", "jsonpath={.items[0].metadata.name}")
    cluster.kubectl("-n", NAMESPACE, "cp", f"{pod}:/data/reports", str(destination))
    cluster.kubectl("-n", NAMESPACE, "scale", deployment, "--replicas=0")


@pytest.fixture(scope="module")
def cluster_run(hive_cluster: Cluster, tmp_path_factory) -> ClusterRun:
    """deploy/k8s applied, played and its report copied out; the namespace and volume removed after."""
    folder = tmp_path_factory.mktemp("k8s-locust")
    reports_dir = folder / "volume"
    reports_dir.mkdir()
    os.chown(reports_dir, SUITE_UID, SUITE_UID)
    overlay = write_overlay(folder / "overlay", service_urls(hive_cluster), reports_dir)
    try:
        hive_cluster.kubectl("apply", "-f", str(K8S / "namespace.yaml"))
        kubectl_with_input(hive_cluster, secrets.token_urlsafe(24), "-n", NAMESPACE, "create", "secret", "generic",
                           "hive-desktop-token", "--from-file=token=/dev/stdin")
        started = time.monotonic()
        hive_cluster.kubectl("apply", "-k", str(overlay))
        job_succeeded = wait_for_job(hive_cluster, JOB_TIMEOUT_S)
        run_s = time.monotonic() - started
        master_log = hive_cluster.kubectl("-n", NAMESPACE, "logs", f"job/{MASTER_JOB}")
        hive_cluster.kubectl("-n", NAMESPACE, "scale", "deployment/hive-resilience-worker", "--replicas=0")
        copy_reports_out(hive_cluster, folder / "reports-staging")
        (summary_path,) = (folder / "reports-staging").glob("*-k8s-open-smoke/summary.json")
        yield ClusterRun(job_succeeded, master_log, read_summary(summary_path), run_s)
    finally:
        hive_cluster.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=180s", timeout_s=200)
        hive_cluster.kubectl("delete", "persistentvolume", "hive-resilience-reports", "--ignore-not-found")


def test_the_locust_image_holds_the_load_generator_and_not_hive_or_chaos_toolkit() -> None:
    listed = images.docker("run", "--rm", "--network", "none", f"{images.IMAGE_PREFIX}/locust:latest",
                           "pip", "list", "--format=json", timeout_s=120).stdout
    installed = {package["name"].lower() for package in json.loads(listed)}
    assert {"locust", "hive-resilience", "hdrhistogram", "pydantic"} <= installed
    assert not installed & {"aden-hive", "aden-tools", "mcp", "chaostoolkit", "chaostoolkit-lib"}, installed


def test_the_jobs_verdict_is_the_summarys(cluster_run: ClusterRun) -> None:
    summary = cluster_run.summary
    print(f"deploy/k8s run: {cluster_run.run_s:.0f} s from apply to the Job's end, passed {summary.passed}, "
          f"arrivals {summary.arrivals.due} due / {summary.arrivals.started} started, "
          f"{summary.arrivals.achieved_rate_per_s} /s achieved")
    assert cluster_run.job_succeeded == summary.passed
    assert f"RESULT: {'PASS' if summary.passed else 'FAIL'}" in cluster_run.master_log


def test_the_summarys_request_totals_are_the_sum_of_the_two_workers(cluster_run: ClusterRun) -> None:
    summary = cluster_run.summary
    (total,) = [row for row in summary.requests if row.name == AGGREGATED]
    per_worker = {worker_id: figures.requests for worker_id, figures in summary.workers.items()}
    print(f"requests: {total.requests} in the summary, per worker {per_worker}")
    assert len(per_worker) == WORKERS and all(per_worker.values()), per_worker
    assert total.requests == sum(per_worker.values())


def test_every_due_arrival_started_or_was_dropped(cluster_run: ClusterRun) -> None:
    arrivals = cluster_run.summary.arrivals
    assert arrivals is not None and arrivals.due > 0
    assert arrivals.due == arrivals.started + arrivals.dropped
