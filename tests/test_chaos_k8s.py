"""The Kubernetes experiments and our k8s probes, checked where no cluster exists.

The experiments are meant for a staging cluster, so here they are validated by Chaos Toolkit,
every function they name is matched against the installed chaosk8s and our own modules, and
``hive_resilience.chaos.k8s`` runs against autospecced kubernetes client APIs (the real
method signatures, so a wrong argument name fails) that record every call.
"""

from __future__ import annotations

import importlib
import inspect
import re
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
import yaml
from chaoslib.exceptions import ActivityFailed
from chaoslib.hypothesis import within_tolerance
from kubernetes import client
from kubernetes.client.rest import ApiException

from hive_resilience.chaos import k8s
from hive_resilience.chaos.agent_probes import AgentTurn, AgentTurns
from hive_resilience.paths import REPO_ROOT

K8S_EXPERIMENTS = sorted((REPO_ROOT / "chaos" / "experiments" / "k8s").glob("*.yaml"))
LOCAL_EXPERIMENT = REPO_ROOT / "chaos" / "experiments" / "local" / "hive-api-crash.yaml"
CHAOS_MESH_DELETES = {"add_latency": "delete_network_fault", "stress_memory": "delete_stressor"}
API_CLIENT = object()


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def python_activities(experiment: dict) -> list[dict]:
    """Every Python activity Chaos Toolkit or a control will call, safeguard probes included."""
    safeguards = [probe for control in experiment.get("controls", [])
                  for probe in control["provider"].get("arguments", {}).get("probes", [])]
    activities = (experiment["steady-state-hypothesis"]["probes"] + experiment["method"]
                  + experiment.get("rollbacks", []) + safeguards)
    return [activity for activity in activities if activity["provider"]["type"] == "python"]


def activity_cases() -> list:
    return [pytest.param(activity, id=f"{path.stem}/{activity['name']}")
            for path in K8S_EXPERIMENTS for activity in python_activities(load(path))]


# The experiments ---------------------------------------------------------------------------


def test_the_four_k8s_experiments_are_there():
    assert [path.stem for path in K8S_EXPERIMENTS] == [
        "dependency-latency", "memory-stress", "rolling-restart", "tools-pod-killed"]


@pytest.mark.parametrize("activity", activity_cases())
def test_every_function_an_experiment_names_exists_and_takes_its_arguments(activity):
    provider = activity["provider"]
    module = importlib.import_module(provider["module"])
    assert provider["func"] in module.__all__, f"{provider['module']} exports no {provider['func']}"
    parameters = inspect.signature(getattr(module, provider["func"])).parameters
    arguments = set(provider.get("arguments", {}))
    assert arguments <= set(parameters), f"unknown arguments {sorted(arguments - set(parameters))}"
    required = {name for name, parameter in parameters.items()
                if parameter.default is inspect.Parameter.empty and name not in ("configuration", "secrets")}
    assert required <= arguments, f"missing arguments {sorted(required - arguments)}"


@pytest.mark.parametrize("experiment", K8S_EXPERIMENTS, ids=lambda path: path.stem)
def test_every_configuration_reference_names_a_configuration_key(experiment):
    # Chaos Toolkit passes an unknown ${key} on verbatim, so a typo would reach the cluster.
    text, configuration = experiment.read_text(), load(experiment)["configuration"]
    assert set(re.findall(r"\$\{(\w+)\}", text)) <= set(configuration)


@pytest.mark.parametrize("experiment", K8S_EXPERIMENTS, ids=lambda path: path.stem)
def test_k8s_experiments_take_the_target_from_the_environment(experiment):
    configuration = load(experiment)["configuration"]
    assert {"hive_api_url", "mcp_url", "namespace", "recovery_budget_s"} <= set(configuration)
    for key, value in configuration.items():
        if key == "blast_radius_error_ratio":
            continue
        assert value["type"] == "env" and value["key"].startswith("HIVE_RESILIENCE_K8S_") and "default" in value, key
    assert configuration["namespace"]["default"] == "hive"


@pytest.mark.parametrize("experiment", K8S_EXPERIMENTS, ids=lambda path: path.stem)
def test_k8s_experiments_keep_the_local_experiments_controls_and_runtime(experiment):
    ours, local = load(experiment), load(LOCAL_EXPERIMENT)
    for control in ours["controls"]:
        # A zero-failure promise sets the load control's whole-run budget; nothing else differs.
        control["provider"].get("arguments", {}).pop("max_failed", None)
        if control["provider"].get("arguments") == {}:
            del control["provider"]["arguments"]
    assert ours["controls"] == local["controls"] and ours["runtime"] == local["runtime"]
    assert "kubernetes" in ours["tags"] and "Promise checked:" in ours["description"]


@pytest.mark.parametrize("experiment", K8S_EXPERIMENTS, ids=lambda path: path.stem)
def test_every_chaos_mesh_fault_is_deleted_by_a_rollback(experiment):
    document = load(experiment)
    rollbacks = [(r["provider"]["func"], r["provider"].get("arguments", {})) for r in document["rollbacks"]]
    for action in document["method"]:
        delete = CHAOS_MESH_DELETES.get(action["provider"].get("func"))
        if delete:
            arguments = action["provider"]["arguments"]
            assert (delete, {"name": arguments["name"], "ns": arguments["ns"]}) in rollbacks, action["name"]


# hive_resilience.chaos.k8s against recorded kubernetes client calls ------------------------


class FakeClock:
    """Stands in for the time module inside k8s: sleeping advances the clock at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def cluster(monkeypatch):
    """Autospecced AppsV1Api, CoreV1Api and CustomObjectsApi, and the client they were built on."""
    fake = SimpleNamespace(
        apps=mock.create_autospec(client.AppsV1Api, instance=True),
        core=mock.create_autospec(client.CoreV1Api, instance=True),
        custom=mock.create_autospec(client.CustomObjectsApi, instance=True),
        clock=FakeClock(), secrets_seen=[], built_on=[],
    )

    def create_client(secrets):
        fake.secrets_seen.append(secrets)
        return API_CLIENT

    def factory(api):
        def build(api_client):
            fake.built_on.append(api_client)
            return api
        return build

    monkeypatch.setattr(k8s, "create_k8s_api_client", create_client)
    monkeypatch.setattr(client, "AppsV1Api", factory(fake.apps))
    monkeypatch.setattr(client, "CoreV1Api", factory(fake.core))
    monkeypatch.setattr(client, "CustomObjectsApi", factory(fake.custom))
    monkeypatch.setattr(k8s, "time", fake.clock)
    return fake


def deployment(replicas: int = 3, generation: int = 1, observed_generation: int = 1, updated: int | None = None,
               current: int | None = None, available: int | None = None,
               strategy: client.V1DeploymentStrategy | None = None,
               selector: client.V1LabelSelector | None = None) -> client.V1Deployment:
    """A hive-api deployment; without overrides its rollout is complete."""
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="hive-api", namespace="hive", generation=generation),
        spec=client.V1DeploymentSpec(
            replicas=replicas, template=client.V1PodTemplateSpec(),
            selector=selector or client.V1LabelSelector(match_labels={"app": "hive-api"}),
            strategy=strategy or client.V1DeploymentStrategy(
                type="RollingUpdate", rolling_update=client.V1RollingUpdateDeployment(max_surge=1, max_unavailable=0))),
        status=client.V1DeploymentStatus(
            observed_generation=observed_generation,
            updated_replicas=replicas if updated is None else updated,
            replicas=replicas if current is None else current,
            available_replicas=replicas if available is None else available),
    )


def pods(ready: int = 3, not_ready: int = 0, terminating: int = 0) -> client.V1PodList:
    def pod(is_ready: bool, is_terminating: bool) -> client.V1Pod:
        return client.V1Pod(
            metadata=client.V1ObjectMeta(deletion_timestamp=datetime.now(timezone.utc) if is_terminating else None),
            status=client.V1PodStatus(conditions=[client.V1PodCondition(type="Ready", status=str(is_ready))]))

    return client.V1PodList(items=[pod(True, False)] * ready + [pod(False, False)] * not_ready
                            + [pod(True, True)] * terminating)


def chaos_mesh_fault(**conditions: str) -> dict:
    return {"kind": "NetworkChaos", "metadata": {"name": "latency"},
            "status": {"conditions": [{"type": kind, "status": status} for kind, status in conditions.items()]}}


READ_HIVE_API = mock.call(name="hive-api", namespace="hive")
LIST_HIVE_API_PODS = mock.call(namespace="hive", label_selector="app=hive-api")


def test_rollout_complete_returns_the_seconds_until_every_replica_is_updated_and_available(cluster):
    cluster.apps.read_namespaced_deployment.side_effect = [deployment(updated=1, available=2), deployment()]
    cluster.core.list_namespaced_pod.return_value = pods(ready=3)

    assert k8s.rollout_complete("hive-api", ns="hive", timeout_s=60) == k8s.POLL_INTERVAL_S
    assert cluster.apps.read_namespaced_deployment.call_args_list == [READ_HIVE_API, READ_HIVE_API]
    assert cluster.core.list_namespaced_pod.call_args_list == [LIST_HIVE_API_PODS]


def test_rollout_complete_waits_for_the_controller_to_observe_the_restarted_spec(cluster):
    # Right after a restart the status still describes the previous, complete, generation.
    cluster.apps.read_namespaced_deployment.side_effect = [
        deployment(generation=2, observed_generation=1), deployment(generation=2, observed_generation=2)]
    cluster.core.list_namespaced_pod.return_value = pods(ready=3)

    assert k8s.rollout_complete("hive-api", ns="hive", timeout_s=60) == k8s.POLL_INTERVAL_S
    assert cluster.core.list_namespaced_pod.call_args_list == [LIST_HIVE_API_PODS]


def test_rollout_complete_waits_until_no_old_replica_is_left(cluster):
    cluster.apps.read_namespaced_deployment.side_effect = [deployment(current=4), deployment()]
    cluster.core.list_namespaced_pod.return_value = pods(ready=3)

    assert k8s.rollout_complete("hive-api", ns="hive", timeout_s=60) == k8s.POLL_INTERVAL_S


def test_rollout_complete_waits_until_a_killed_pod_is_replaced_although_the_status_lags(cluster):
    cluster.apps.read_namespaced_deployment.return_value = deployment()
    cluster.core.list_namespaced_pod.side_effect = [pods(ready=2, not_ready=1, terminating=1), pods(ready=3)]

    assert k8s.rollout_complete("hive-api", ns="hive", timeout_s=60) == k8s.POLL_INTERVAL_S
    assert cluster.core.list_namespaced_pod.call_args_list == [LIST_HIVE_API_PODS, LIST_HIVE_API_PODS]


def test_rollout_complete_fails_past_its_budget_saying_what_is_missing(cluster):
    cluster.apps.read_namespaced_deployment.return_value = deployment(updated=1)

    with pytest.raises(ActivityFailed, match=r"deployment 'hive-api' in namespace 'hive' did not complete its "
                                             r"rollout within the 5 s budget: 1 of 3 replicas updated"):
        k8s.rollout_complete("hive-api", ns="hive", timeout_s=5)
    assert cluster.clock.sleeps == [2.0, 2.0, 1.0]
    assert cluster.apps.read_namespaced_deployment.call_args_list == [READ_HIVE_API] * 4
    cluster.core.list_namespaced_pod.assert_not_called()


def test_rollout_complete_builds_its_clients_from_the_experiments_secrets(cluster):
    cluster.apps.read_namespaced_deployment.return_value = deployment()
    cluster.core.list_namespaced_pod.return_value = pods(ready=3)
    secrets = {"KUBERNETES_CONTEXT": "staging"}

    k8s.rollout_complete("hive-api", ns="hive", secrets=secrets)
    assert cluster.secrets_seen == [secrets]
    assert cluster.built_on == [API_CLIENT, API_CLIENT]


def test_a_deployment_the_api_cannot_read_fails_with_the_api_answer(cluster):
    cluster.apps.read_namespaced_deployment.side_effect = ApiException(status=404, reason="Not Found")

    with pytest.raises(ActivityFailed, match=r"cannot read deployment 'hive-api' in namespace 'hive': "
                                             r"HTTP 404 Not Found"):
        k8s.rollout_complete("hive-api", ns="hive")


def test_ready_replicas_counts_ready_pods_that_are_not_terminating(cluster):
    cluster.apps.read_namespaced_deployment.return_value = deployment()
    cluster.core.list_namespaced_pod.return_value = pods(ready=2, not_ready=1, terminating=1)

    assert k8s.ready_replicas("hive-api", ns="hive") == 2
    assert cluster.apps.read_namespaced_deployment.call_args_list == [READ_HIVE_API]
    assert cluster.core.list_namespaced_pod.call_args_list == [LIST_HIVE_API_PODS]


def test_ready_replicas_selects_pods_with_the_deployments_own_selector(cluster):
    selector = client.V1LabelSelector(match_labels={"tier": "web", "app": "hive-api"}, match_expressions=[
        client.V1LabelSelectorRequirement(key="track", operator="In", values=["stable", "canary"]),
        client.V1LabelSelectorRequirement(key="legacy", operator="DoesNotExist")])
    cluster.apps.read_namespaced_deployment.return_value = deployment(selector=selector)
    cluster.core.list_namespaced_pod.return_value = pods(ready=3)

    k8s.ready_replicas("hive-api", ns="hive")
    cluster.core.list_namespaced_pod.assert_called_once_with(
        namespace="hive", label_selector="app=hive-api,tier=web,track in (stable,canary),!legacy")


@pytest.mark.parametrize(("max_unavailable", "replicas", "pods_down"),
                         [(0, 3, 0), (1, 3, 1), ("0%", 3, 0), ("25%", 3, 0), ("25%", 10, 2)])
def test_max_unavailable_pods_resolves_counts_and_percentages_rounding_down(cluster, max_unavailable, replicas,
                                                                          pods_down):
    strategy = client.V1DeploymentStrategy(
        type="RollingUpdate", rolling_update=client.V1RollingUpdateDeployment(max_unavailable=max_unavailable))
    cluster.apps.read_namespaced_deployment.return_value = deployment(replicas=replicas, strategy=strategy)

    assert k8s.max_unavailable_pods("hive-api", ns="hive") == pods_down
    assert cluster.apps.read_namespaced_deployment.call_args_list == [READ_HIVE_API]


def test_max_unavailable_pods_is_every_replica_with_the_recreate_strategy(cluster):
    strategy = client.V1DeploymentStrategy(type="Recreate")
    cluster.apps.read_namespaced_deployment.return_value = deployment(replicas=3, strategy=strategy)

    assert k8s.max_unavailable_pods("hive-api", ns="hive") == 3


def test_chaos_mesh_fault_injected_returns_the_seconds_until_it_is_in_force_on_its_targets(cluster):
    cluster.custom.get_namespaced_custom_object.side_effect = [
        {"metadata": {"name": "latency"}}, chaos_mesh_fault(Selected="True", AllInjected="False"),
        chaos_mesh_fault(Selected="True", AllInjected="True")]

    assert k8s.chaos_mesh_fault_injected("latency", "networkchaos", ns="hive", timeout_s=30) == 2 * k8s.POLL_INTERVAL_S
    assert cluster.custom.get_namespaced_custom_object.call_args_list == [mock.call(
        group="chaos-mesh.org", version="v1alpha1", namespace="hive", plural="networkchaos", name="latency")] * 3


def test_a_chaos_mesh_fault_that_selected_nothing_is_not_in_force(cluster):
    # Chaos Mesh says AllInjected when there was nothing to inject into.
    cluster.custom.get_namespaced_custom_object.return_value = chaos_mesh_fault(Selected="False", AllInjected="True")

    with pytest.raises(ActivityFailed, match=r"networkchaos 'latency' in namespace 'hive' was not in force within "
                                             r"the 10 s budget: it selected no target"):
        k8s.chaos_mesh_fault_injected("latency", "networkchaos", ns="hive", timeout_s=10)


def test_a_missing_chaos_mesh_fault_fails_asking_whether_chaos_mesh_is_installed(cluster):
    cluster.custom.get_namespaced_custom_object.side_effect = ApiException(status=404, reason="Not Found")

    with pytest.raises(ActivityFailed, match=r"is Chaos Mesh installed .* HTTP 404 Not Found"):
        k8s.chaos_mesh_fault_injected("latency", "networkchaos", ns="hive")


@pytest.mark.parametrize("experiment", K8S_EXPERIMENTS, ids=lambda path: path.stem)
def test_every_chaos_mesh_fault_is_labelled_for_cleanup_right_after_it_is_created(experiment):
    method = load(experiment)["method"]
    for index, action in enumerate(method):
        if action["provider"].get("func") in CHAOS_MESH_DELETES:
            labelling = method[index + 1]["provider"]
            assert labelling["func"] == "label_chaos_mesh_fault", action["name"]
            assert labelling["arguments"]["name"] == action["provider"]["arguments"]["name"], action["name"]


def test_label_chaos_mesh_fault_puts_the_suites_label_on_the_fault(cluster):
    cluster.custom.patch_namespaced_custom_object.return_value = {
        "metadata": {"labels": {"app.kubernetes.io/managed-by": "hive-resilience"}}}
    labels = k8s.label_chaos_mesh_fault("latency", "networkchaos", ns="hive")
    assert labels == {"app.kubernetes.io/managed-by": "hive-resilience"}
    cluster.custom.patch_namespaced_custom_object.assert_called_once_with(
        group="chaos-mesh.org", version="v1alpha1", namespace="hive", plural="networkchaos", name="latency",
        body={"metadata": {"labels": {"app.kubernetes.io/managed-by": "hive-resilience"}}})


# Agent promise probes, on a recorded measurement ------------------------------------------


SERVED = AgentTurn("replied", 1.2, tool_calls=1, tool_s=(0.05,), llm_calls=2)
TOOL_ERROR = AgentTurn("replied", 1.4, tool_calls=1, tool_errors=1, llm_calls=2)
HUNG = AgentTurn("hung", 60.0, tool_calls=1, problem="no reply within 60 s")
SILENT = AgentTurn("replied", 1.1, tool_calls=1, problem="script one_tool: tool risk_score never completed")


@pytest.fixture
def played(monkeypatch):
    """Replaces the agent measurement with recorded turns; records how it was asked for."""
    asked = []

    def play(turns: list[AgentTurn]) -> list:
        def measure(configuration, script, count, reply_within_s, same_session):
            asked.append({"script": script, "turns": count, "reply_within_s": reply_within_s,
                          "same_session": same_session})
            return AgentTurns(script, list(turns))
        monkeypatch.setattr(k8s, "measure_agent_turns", measure)
        return asked

    return play


def test_turns_during_a_kill_keep_the_promise_when_served_or_failing_clearly(played):
    asked = played([TOOL_ERROR, SERVED, SERVED])
    figures = k8s.tool_turns_served_or_clear_error(turns=3, reply_within_s=60)
    assert (figures["promise"], figures["replied"], figures["tool_errors"]) == ("kept", 3, 1)
    assert asked == [{"script": "one_tool", "turns": 3, "reply_within_s": 60, "same_session": True}]


def test_a_hung_turn_during_a_kill_breaks_the_promise_with_its_figures(played):
    played([SERVED, HUNG, SERVED])
    with pytest.raises(ActivityFailed, match=r"promise broken: a conversation that needs a tool is served or gets "
                                             r"a clear error within 60 s\. .*1 hung.*turn 2: hung in 60 s"):
        k8s.tool_turns_served_or_clear_error(reply_within_s=60)


def test_a_tool_call_that_silently_never_completed_is_no_clear_error(played):
    played([SILENT, SERVED, SERVED])
    with pytest.raises(ActivityFailed, match="turn 1: replied .*never completed"):
        k8s.tool_turns_served_or_clear_error()


def test_a_session_whose_last_turn_still_fails_did_not_stay_usable(played):
    played([SERVED, TOOL_ERROR, TOOL_ERROR])
    with pytest.raises(ActivityFailed, match="the session stays usable: its last turn is served.*turn 3"):
        k8s.tool_turns_served_or_clear_error()


def test_tool_calls_work_only_when_every_new_session_turn_is_served(played):
    asked = played([SERVED, SERVED])
    assert k8s.tool_turns_served()["as_scripted"] == 2
    assert asked[0]["same_session"] is False
    played([SERVED, TOOL_ERROR])
    with pytest.raises(ActivityFailed, match=r"promise broken: tool calls work.*turn 2: replied in 1.4 s, 1 tool calls, 1 tool errors"):
        k8s.tool_turns_served()


def test_container_restarts_sums_every_container_of_the_selected_pods(cluster):
    def pod(*restarts: int) -> client.V1Pod:
        return client.V1Pod(status=client.V1PodStatus(container_statuses=[
            client.V1ContainerStatus(name="c", image="i", image_id="", ready=True, restart_count=count)
            for count in restarts]))

    cluster.core.list_namespaced_pod.return_value = client.V1PodList(items=[pod(0), pod(2, 1), client.V1Pod(status=client.V1PodStatus())])
    assert k8s.container_restarts("app=hive-api", "hive") == 3
    assert cluster.core.list_namespaced_pod.call_args == LIST_HIVE_API_PODS


def agent_promise_probes() -> list:
    return [pytest.param(activity, id=f"{path.stem}/{activity['name']}") for path in K8S_EXPERIMENTS
            for activity in load(path)["method"]
            if activity["provider"].get("func", "").startswith("tool_turns")]


@pytest.mark.parametrize("probe", agent_promise_probes())
def test_agent_promise_probes_are_held_to_their_promise(probe, played):
    # The load control enforces a method probe only through its tolerance.
    played([SERVED, SERVED, SERVED])
    function = getattr(k8s, probe["provider"]["func"])
    kept = function(**{key: value for key, value in probe["provider"]["arguments"].items() if key != "reply_within_s"})
    assert within_tolerance(probe["tolerance"], kept)
    assert not within_tolerance(probe["tolerance"], {**kept, "promise": "broken"})
