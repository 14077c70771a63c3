"""The Hive manifests in deploy/hive, rendered by kubectl's kustomize, checked without a cluster."""

from __future__ import annotations

import pytest
import yaml

from hive_resilience.infra.cluster import render_kustomization
from hive_resilience.paths import REPO_ROOT
from hive_resilience.target.container_entry import TOOLS_URL_ENV

pytestmark = [pytest.mark.kubectl, pytest.mark.cluster]
OVERLAYS = REPO_ROOT / "deploy" / "hive" / "overlays"


def rendered(overlay: str) -> list[dict]:
    return render_kustomization(OVERLAYS / overlay)


def of_kind(documents: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


@pytest.mark.parametrize("overlay", ["local", "staging"])
def test_api_and_tools_roll_without_losing_capacity(overlay):
    deployments = of_kind(rendered(overlay), "Deployment")
    for name in ("hive-api", "hive-tools"):
        spec = deployments[name]["spec"]
        assert spec["replicas"] >= 2, name
        assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}, name
        (container,) = spec["template"]["spec"]["containers"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] in ("/api/health", "/health"), (name, probe)
        assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["memory"]
    assert deployments["hive-api"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "2Gi"
    assert "hive-llm-stub" in deployments


@pytest.mark.parametrize(("overlay", "api_version", "pull_policy"),
                         [("local", "policy/v1beta1", "Never"), ("staging", "policy/v1", "IfNotPresent")])
def test_overlays_fit_their_cluster(overlay, api_version, pull_policy):
    documents = rendered(overlay)
    budgets = of_kind(documents, "PodDisruptionBudget")
    assert set(budgets) == {"hive-api", "hive-tools"}
    assert {budget["apiVersion"] for budget in budgets.values()} == {api_version}
    assert all(budget["spec"]["minAvailable"] == 1 for budget in budgets.values())
    for deployment in of_kind(documents, "Deployment").values():
        assert deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == pull_policy
    assert {doc["metadata"].get("namespace") for doc in documents if doc["kind"] != "Namespace"} == {"hive"}


def test_services_match_the_experiments_default_urls():
    services = of_kind(rendered("staging"), "Service")
    assert services["hive-api"]["spec"]["ports"][0]["port"] == 8787
    assert services["hive-tools"]["spec"]["ports"][0]["port"] == 4001
    experiments = (REPO_ROOT / "chaos" / "experiments" / "k8s").glob("*.yaml")
    for experiment in experiments:
        configuration = yaml.safe_load(experiment.read_text())["configuration"]
        assert configuration["hive_api_url"]["default"] == "http://hive-api.hive.svc.cluster.local:8787"
        assert configuration["mcp_url"]["default"] == "http://hive-tools.hive.svc.cluster.local:4001"


@pytest.mark.parametrize("overlay", ["local", "staging"])
def test_every_hive_api_pod_registers_the_tools_service_with_its_own_hive(overlay):
    documents = rendered(overlay)
    (container,) = of_kind(documents, "Deployment")["hive-api"]["spec"]["template"]["spec"]["containers"]
    environment = {entry["name"]: entry.get("value") for entry in container["env"]}
    tools_port = of_kind(documents, "Service")["hive-tools"]["spec"]["ports"][0]["port"]
    # Service link variables of the hive-tools Service: no cluster DNS needed.
    assert environment[TOOLS_URL_ENV] == "http://$(HIVE_TOOLS_SERVICE_HOST):$(HIVE_TOOLS_SERVICE_PORT)"
    assert tools_port == 4001 and environment["EXPOSE_QUEEN_TOOLS"] == "1"
    hook = container["lifecycle"]["postStart"]["exec"]["command"]
    assert hook[-4:] == ["-m", "hive_resilience.target.container_entry", "wire-tools", "hive-api"]
