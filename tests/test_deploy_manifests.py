"""Kubernetes manifests in deploy/k8s, checked without a cluster: a master Job behind a Service,
workers pointed at it, configuration from the ConfigMap, the token only from a Secret."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from hive_resilience.infra import cluster
from hive_resilience.infra.cluster import render_kustomization
from hive_resilience.loadrun.run import SHUTDOWN_ALLOWANCE_S
from hive_resilience.loadrun.scenario import load_scenario
from hive_resilience.paths import REPO_ROOT

K8S = REPO_ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = sorted(path.parent for path in (REPO_ROOT / "deploy").rglob("kustomization.yaml"))
PART_OF = "app.kubernetes.io/part-of"
TOKEN_ENV = "HIVE_DESKTOP_TOKEN"


def manifests() -> list[dict]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def one(kind: str, name: str) -> dict:
    (found,) = [doc for doc in manifests() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    return found


def container(workload: dict) -> dict:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def option(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def env(workload: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in container(workload).get("env", [])}


def master() -> dict:
    return one("Job", "hive-resilience-master")


def master_service() -> dict:
    return one("Service", "hive-resilience-master")


def workers() -> dict:
    return one("Deployment", "hive-resilience-worker")


def config() -> dict:
    return one("ConfigMap", "hive-resilience-config")


def copied_paths() -> list[str]:
    """The sources of the Dockerfile's COPY lines, relative to the repository root."""
    lines = (K8S / "Dockerfile").read_text().splitlines()
    return [part for line in lines if line.startswith("COPY ") for part in line.split()[1:-1]]


def test_the_kustomization_lists_every_manifest_file():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_the_suite_runs_as_a_master_job_behind_a_service_and_a_workers_deployment():
    kinds = sorted(doc["kind"] for doc in manifests())
    assert kinds == sorted(["Kustomization", "Namespace", "ConfigMap", "PersistentVolumeClaim", "Job", "Service",
                            "Deployment", "Deployment"])
    assert "--master" in container(master())["args"] and "--worker" in container(workers())["args"]


def service_link_variable(service: dict, suffix: str) -> str:
    """``$(NAME_SERVICE_HOST)``-style reference to the variable Kubernetes sets in pods for ``service``."""
    return f"$({service['metadata']['name'].upper().replace('-', '_')}_SERVICE_{suffix})"


def test_workers_point_at_the_master_service_and_its_port_without_cluster_dns():
    worker_args, master_args = container(workers())["args"], container(master())["args"]
    service = master_service()
    (port,) = service["spec"]["ports"]
    assert option(worker_args, "--master-host") == service_link_variable(service, "HOST")
    # The link variable _SERVICE_PORT is the Service's first (here only) port.
    assert option(worker_args, "--master-port") == service_link_variable(service, "PORT")
    assert port["port"] == int(option(master_args, "--master-bind-port"))
    assert container(master())["ports"][0]["name"] == port["targetPort"]


def test_the_master_service_selects_the_master_pod_only():
    selector = master_service()["spec"]["selector"]
    assert selector.items() <= master()["spec"]["template"]["metadata"]["labels"].items()
    assert not selector.items() <= workers()["spec"]["template"]["metadata"]["labels"].items()


def test_worker_replicas_equal_the_workers_the_master_expects():
    expect = env(master())["LOCUST_EXPECT_WORKERS"]["valueFrom"]["configMapKeyRef"]
    assert expect["name"] == config()["metadata"]["name"]
    assert workers()["spec"]["replicas"] == int(config()["data"][expect["key"]])


def test_the_desktop_token_comes_from_a_secret_and_is_never_inlined():
    assert not [doc for doc in manifests() if doc["kind"] == "Secret"]
    assert not [key for key, value in config()["data"].items() if "token" in key.lower() or TOKEN_ENV in value]
    token = env(workers())[TOKEN_ENV]
    assert "value" not in token and token["valueFrom"]["secretKeyRef"] == {"name": "hive-desktop-token", "key": "token"}
    for workload in (master(), workers()):
        assert all("value" not in entry for name, entry in env(workload).items() if name == TOKEN_ENV)


def test_both_roles_take_the_target_urls_from_the_configmap():
    settings = config()
    for workload in (master(), workers()):
        for variable, key in (("LOCUST_HOST", "hive_api_url"), ("HIVE_RESILIENCE_MCP_HOST", "mcp_url")):
            assert env(workload)[variable]["valueFrom"]["configMapKeyRef"] == {"name": settings["metadata"]["name"], "key": key}
            assert re.fullmatch(r"https?://[^/\s]+", settings["data"][key])


def test_both_roles_load_the_configmaps_scenario_where_the_scenario_option_points():
    for workload in (master(), workers()):
        scenario_path = Path(env(workload)["HIVE_RESILIENCE_SCENARIO"]["value"])
        volumes = {volume["name"]: volume for volume in workload["spec"]["template"]["spec"]["volumes"]}
        (mount,) = [mount for mount in container(workload)["volumeMounts"] if mount["mountPath"] == str(scenario_path.parent)]
        config_map = volumes[mount["name"]]["configMap"]
        assert config_map["name"] == config()["metadata"]["name"]
        assert config_map["items"] == [{"key": "scenario.yaml", "path": scenario_path.name}]


def test_the_configmaps_scenario_is_a_valid_scenario_with_slos(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(config()["data"]["scenario.yaml"])
    scenario = load_scenario(str(path))
    assert scenario.slos and scenario.peak_users > 0


def test_the_master_job_is_never_retried_and_its_deadline_leaves_room_for_the_scenario(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(config()["data"]["scenario.yaml"])
    job = master()["spec"]
    waiting_for_workers_s = int(option(container(master())["args"], "--expect-workers-max-wait"))
    assert job["backoffLimit"] == 0 and job["template"]["spec"]["restartPolicy"] == "Never"
    assert job["activeDeadlineSeconds"] >= load_scenario(str(path)).duration_s + waiting_for_workers_s + SHUTDOWN_ALLOWANCE_S


def test_the_master_writes_reports_to_the_volume_the_report_reader_mounts():
    job, reader = master(), one("Deployment", "hive-resilience-report-reader")
    claims = []
    for workload in (job, reader):
        volumes = {volume["name"]: volume for volume in workload["spec"]["template"]["spec"]["volumes"]}
        (mount,) = [mount for mount in container(workload)["volumeMounts"] if mount["mountPath"] == "/data/reports"]
        claims.append(volumes[mount["name"]]["persistentVolumeClaim"]["claimName"])
    assert container(job)["workingDir"] + "/reports" == "/data/reports"  # the plugin writes to ./reports/<run>
    assert claims == ["hive-resilience-reports"] * 2
    assert one("PersistentVolumeClaim", "hive-resilience-reports")
    assert reader["spec"]["replicas"] == 0  # scaled up only to copy a report out


def test_the_readme_copies_the_report_out_with_kubectl_cp():
    readme = (K8S / "README.md").read_text()
    assert "kubectl -n hive-resilience cp \"$POD\":/data/reports" in readme


def test_the_image_is_built_from_a_python_311_slim_build_arg_and_installs_the_project():
    dockerfile = (K8S / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}$", dockerfile, re.MULTILINE)
    assert "pip install -c constraints.txt -e ." in dockerfile
    assert all((REPO_ROOT / part).exists() for part in copied_paths()), copied_paths()
    assert "COPY load ./load" in dockerfile and "WORKDIR /app" in dockerfile
    for workload in (master(), workers()):
        assert option(container(workload)["args"], "-f") == "/app/load"


def test_the_build_context_lets_through_only_what_the_image_copies():
    rules = [line for line in (K8S / "Dockerfile.dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert rules[0] == "*"
    let_through = {line[1:].rstrip("/") for line in rules if line.startswith("!")}
    assert let_through == set(copied_paths())


@pytest.mark.kubectl
@pytest.mark.cluster
def test_kubectl_kustomize_builds_the_manifests_into_one_namespace():
    built = render_kustomization(K8S)
    assert {doc["kind"] for doc in built} == {"Namespace", "ConfigMap", "PersistentVolumeClaim", "Job", "Service", "Deployment"}
    assert {doc["metadata"].get("namespace") for doc in built if doc["kind"] != "Namespace"} == {"hive-resilience"}


@pytest.mark.kubectl
@pytest.mark.cluster
def test_kubectl_kustomize_puts_the_part_of_label_on_every_object_and_pod():
    for doc in render_kustomization(K8S):
        labelled = [doc["metadata"]] + ([doc["spec"]["template"]["metadata"]] if "template" in doc.get("spec", {}) else [])
        for metadata in labelled:
            assert metadata.get("labels", {}).get(PART_OF) == "hive-resilience", (doc["kind"], doc["metadata"]["name"])


@pytest.mark.kubectl
@pytest.mark.cluster
@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_kubectl_kustomize_renders_every_kustomization_with_the_kubectl_cluster_setup_builds(directory):
    # A fresh machine has only this kubectl (kustomize v2.0.3); a newer one on PATH would hide
    # fields it cannot read.
    if not os.access(cluster.BUILT_KUBECTL, os.X_OK):
        pytest.fail(f"{cluster.BUILT_KUBECTL} is missing: bash scripts/cluster-setup kubectl", pytrace=False)
    assert cluster.kubectl_binary() == str(cluster.BUILT_KUBECTL)
    assert render_kustomization(directory)


def test_the_kubectl_cluster_setup_builds_comes_before_the_one_on_path(tmp_path, monkeypatch):
    built, on_path = executable(tmp_path / "cache" / "kubectl"), executable(tmp_path / "path" / "kubectl")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.setattr(cluster, "BUILT_KUBECTL", built)
    assert cluster.kubectl_binary() == str(built)
    built.unlink()
    assert cluster.kubectl_binary() == str(on_path)


def test_no_kubectl_at_all_names_the_setup_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(cluster, "BUILT_KUBECTL", tmp_path / "absent" / "kubectl")
    with pytest.raises(cluster.ClusterError, match="bash scripts/cluster-setup kubectl"):
        cluster.kubectl_binary()


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path
