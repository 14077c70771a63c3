"""Chaos Toolkit probes for Hive on Kubernetes that chaostoolkit-kubernetes lacks.

chaosk8s breaks things (kills pods, restarts deployments, creates Chaos Mesh faults) and
checks a snapshot (``deployment_available_and_healthy``). The staging experiments also need
to *wait* for recovery with a budget and report how long it took, to count what really
serves, to check the rolling-update settings a promise relies on, and to prove a Chaos Mesh
fault reached its targets, so that a selector matching nothing cannot pass as resilience.

Every Chaos Mesh object an experiment creates gets the suite's label right after it is created
(:func:`label_chaos_mesh_fault`), so that ``hive-resilience cleanup`` finds and deletes it when
the run was killed before its rollback.

Ready pods are counted from the pods themselves because a deployment's status lags a pod
deletion: right after a kill it can still report every replica available.

The agent promise probes judge a tools-pod loss where a user feels it, in conversations that
need a tool, on :func:`hive_resilience.chaos.agent_probes.measure_agent_turns`: each returns
the measurement's figures with ``"promise": "kept"`` and raises ``ActivityFailed`` naming the
promise and the figures when it is broken. Give them the tolerance
``{type: regex, target: promise, pattern: "^kept$"}``: the load control holds a method probe
to its tolerance only, so a failing probe without one would not make the experiment deviate.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from hive_resilience.chaos.agent_probes import measure_agent_turns
from hive_resilience.cleanup import SUITE_LABEL

if TYPE_CHECKING:
    from hive_resilience.chaos.agent_probes import AgentTurn, AgentTurns

try:
    from chaosk8s import create_k8s_api_client
    from kubernetes import client
    from kubernetes.client.rest import ApiException
except ImportError:
    # chaoslib reports only "could not find Python module": say which extra is missing.
    logging.getLogger("chaostoolkit").error("hive_resilience.chaos.k8s needs: pip install 'hive-resilience[kubernetes]'")
    raise

__all__ = [
    "chaos_mesh_fault_injected",
    "container_restarts",
    "label_chaos_mesh_fault",
    "max_unavailable_pods",
    "ready_replicas",
    "rollout_complete",
    "tool_turns_served",
    "tool_turns_served_or_clear_error",
]

POLL_INTERVAL_S = 2.0
CHAOS_MESH_GROUP = "chaos-mesh.org"
CHAOS_MESH_VERSION = "v1alpha1"
SELECTOR_OPERATORS = {"In": "{key} in ({values})", "NotIn": "{key} notin ({values})", "Exists": "{key}",
                      "DoesNotExist": "!{key}"}


def rollout_complete(name: str, ns: str = "default", timeout_s: float = 300.0, secrets: Secrets = None) -> float:
    """Wait until deployment ``name`` in namespace ``ns`` is whole; returns the seconds it took,
    fails past ``timeout_s`` seconds.

    Whole means what ``kubectl rollout status`` waits for (the controller has seen the latest
    spec, every replica is updated and available, no old replica is left) and, counted from
    the pods, as many ready pods as desired replicas. After a rolling restart this is the
    rollout time; after a pod kill, the time until the replacement serves.
    """
    api = create_k8s_api_client(secrets)
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)

    def missing() -> str | None:
        deployment = _read_deployment(apps, name, ns)
        return _rollout_missing(deployment) or _pods_missing(core, deployment, ns)

    return _wait_until(missing, timeout_s, f"deployment {name!r} in namespace {ns!r} did not complete its rollout")


def ready_replicas(name: str, ns: str = "default", secrets: Secrets = None) -> int:
    """Returns how many pods of deployment ``name`` in namespace ``ns`` are ready and not
    terminating, counted from the pods."""
    api = create_k8s_api_client(secrets)
    deployment = _read_deployment(client.AppsV1Api(api), name, ns)
    return _ready_pod_count(client.CoreV1Api(api), deployment, ns)


def max_unavailable_pods(name: str, ns: str = "default", secrets: Secrets = None) -> int:
    """Returns how many pods deployment ``name`` in namespace ``ns`` may take down at once
    while it rolls out.

    ``maxUnavailable`` resolved the way Kubernetes does (a percentage of the desired replicas,
    rounded down); a ``Recreate`` strategy takes every replica down. A zero-downtime rollout
    promise needs 0 here.
    """
    deployment = _read_deployment(client.AppsV1Api(create_k8s_api_client(secrets)), name, ns)
    replicas = _desired_replicas(deployment)
    strategy = deployment.spec.strategy
    if strategy.type == "Recreate":
        return replicas
    allowed = strategy.rolling_update.max_unavailable
    if isinstance(allowed, str) and allowed.endswith("%"):
        return math.floor(int(allowed[:-1]) * replicas / 100)
    return int(allowed)


def chaos_mesh_fault_injected(name: str, plural: str, ns: str = "default", timeout_s: float = 30.0,
                              secrets: Secrets = None) -> float:
    """Wait until the Chaos Mesh fault ``name`` in namespace ``ns`` (``plural``: its resource,
    networkchaos, stresschaos...) is in force on every target it selected; returns the seconds
    it took, fails past ``timeout_s`` seconds.

    Chaos Mesh reports ``AllInjected`` true even when its selector matched nothing, so the
    fault must also say ``Selected``.
    """
    custom = client.CustomObjectsApi(create_k8s_api_client(secrets))

    def missing() -> str | None:
        fault = _call(f"read {plural} {name!r} in namespace {ns!r} (is Chaos Mesh installed and the fault created?)",
                      custom.get_namespaced_custom_object, group=CHAOS_MESH_GROUP, version=CHAOS_MESH_VERSION,
                      namespace=ns, plural=plural, name=name)
        conditions = {c.get("type"): c.get("status") for c in (fault.get("status") or {}).get("conditions") or []}
        if conditions.get("Selected") != "True":
            return "it selected no target; check its namespace and label selectors"
        if conditions.get("AllInjected") != "True":
            return "it is not injected into every selected target yet"
        return None

    return _wait_until(missing, timeout_s, f"Chaos Mesh {plural} {name!r} in namespace {ns!r} was not in force")


def label_chaos_mesh_fault(name: str, plural: str, ns: str = "default", secrets: Secrets = None) -> dict:
    """Put the suite's label on the Chaos Mesh fault ``name`` (``plural``: its resource) in
    namespace ``ns``, so that ``hive-resilience cleanup`` deletes it if the run is killed
    before its rollback; returns the fault's labels."""
    custom = client.CustomObjectsApi(create_k8s_api_client(secrets))
    patched = _call(f"label {plural} {name!r} in namespace {ns!r} (was it created?)",
                    custom.patch_namespaced_custom_object, group=CHAOS_MESH_GROUP, version=CHAOS_MESH_VERSION,
                    namespace=ns, plural=plural, name=name, body={"metadata": {"labels": dict([SUITE_LABEL])}})
    return patched["metadata"]["labels"]


def container_restarts(label_selector: str, ns: str = "default", secrets: Secrets = None) -> int:
    """Returns how many times the containers of the pods matching ``label_selector`` in
    namespace ``ns`` restarted; 0 shows a recovery needed no restart of them."""
    core = client.CoreV1Api(create_k8s_api_client(secrets))
    pods = _call(f"list the pods {label_selector!r} in namespace {ns!r}", core.list_namespaced_pod,
                 namespace=ns, label_selector=label_selector)
    return sum(status.restart_count for pod in pods.items for status in (pod.status.container_statuses or []))


def tool_turns_served_or_clear_error(script: str = "one_tool", turns: int = 3, reply_within_s: float = 60.0,
                                     configuration: Configuration = None) -> dict:
    """Play ``script`` ``turns`` times in one session while a tools pod is lost; returns the
    ``agent_turns`` figures.

    Promise: each turn is served (replied as scripted, by the surviving tools replica) or ends
    with an error the user sees (a failed tool call, or Hive's error for the turn) within
    ``reply_within_s`` s, and the session stays usable (its last turn is served). Fails naming
    the promise when a turn hung, went wrong with no error to show (a tool call that never
    completed, a tool silently skipped), or the last turn was not served.
    """
    measured = measure_agent_turns(configuration, script, turns, reply_within_s, same_session=True)
    broken = [index for index, turn in enumerate(measured.turns) if not (_served(turn) or _clear_error(turn))]
    if broken:
        _broken("a conversation that needs a tool is served or gets a clear error within "
                f"{reply_within_s:g} s", measured, broken)
    if not _served(measured.turns[-1]):
        _broken("the session stays usable: its last turn is served", measured, [len(measured.turns) - 1])
    return _kept(measured)


def tool_turns_served(script: str = "one_tool", turns: int = 2, reply_within_s: float = 60.0,
                      configuration: Configuration = None) -> dict:
    """Play ``script`` ``turns`` times, each in a new session; returns the ``agent_turns`` figures.

    Promise: tool calls work, every turn replies as scripted within ``reply_within_s`` s with
    no tool error. Fails naming the promise and the turns that broke it.
    """
    measured = measure_agent_turns(configuration, script, turns, reply_within_s, same_session=False)
    broken = [index for index, turn in enumerate(measured.turns) if not _served(turn)]
    if broken:
        _broken(f"tool calls work: every turn replies as scripted within {reply_within_s:g} s", measured, broken)
    return _kept(measured)


def _kept(measured: AgentTurns) -> dict:
    # The load control enforces a method probe only through its tolerance, and Chaos Toolkit
    # cannot compare a whole dict: experiments match ``promise`` (tolerance regex "^kept$").
    return {"promise": "kept", **measured.as_json()}


def _served(turn: AgentTurn) -> bool:
    return turn.outcome == "replied" and turn.problem is None and turn.tool_errors == 0


def _clear_error(turn: AgentTurn) -> bool:
    return turn.outcome == "failed" or (turn.outcome == "replied" and turn.tool_errors > 0)


def _broken(promise: str, measured: AgentTurns, turn_indexes: list[int]) -> None:
    figures = measured.as_json()
    turns = "; ".join(_described(index, measured.turns[index]) for index in turn_indexes)
    raise ActivityFailed(
        f"promise broken: {promise}. Script {figures['script']}, {figures['turns']} turns: {figures['replied']} replied "
        f"({figures['as_scripted']} as scripted), {figures['failed']} failed, {figures['hung']} hung, "
        f"{figures['tool_calls']} tool calls, {figures['tool_errors']} tool errors, reply_s_max {figures['reply_s_max']}; {turns}"
    )


def _described(index: int, turn: AgentTurn) -> str:
    described = (f"turn {index + 1}: {turn.outcome} in {turn.reply_s:g} s, {turn.tool_calls} tool calls, "
                 f"{turn.tool_errors} tool errors")
    return f"{described} ({turn.problem})" if turn.problem else described


def _wait_until(missing: Callable[[], str | None], timeout_s: float, failure: str) -> float:
    """Poll ``missing`` (what is still missing, or None when done) until done or past ``timeout_s``."""
    started = time.monotonic()
    while True:
        left = missing()
        elapsed_s = time.monotonic() - started
        if left is None:
            return round(elapsed_s, 3)
        if elapsed_s >= timeout_s:
            raise ActivityFailed(f"{failure} within the {timeout_s:g} s budget: {left}")
        time.sleep(min(POLL_INTERVAL_S, timeout_s - elapsed_s))


def _rollout_missing(deployment: client.V1Deployment) -> str | None:
    """What ``kubectl rollout status`` would still wait for, or None."""
    status, replicas = deployment.status, _desired_replicas(deployment)
    updated = status.updated_replicas or 0
    if (status.observed_generation or 0) < deployment.metadata.generation:
        return f"the controller has not observed generation {deployment.metadata.generation} yet"
    if updated < replicas:
        return f"{updated} of {replicas} replicas updated"
    if (status.replicas or 0) > updated:
        return f"{status.replicas - updated} old replicas pending termination"
    if (status.available_replicas or 0) < updated:
        return f"{status.available_replicas or 0} of {updated} updated replicas available"
    return None


def _pods_missing(core: client.CoreV1Api, deployment: client.V1Deployment, ns: str) -> str | None:
    ready, replicas = _ready_pod_count(core, deployment, ns), _desired_replicas(deployment)
    return None if ready >= replicas else f"{ready} of {replicas} pods ready"


def _ready_pod_count(core: client.CoreV1Api, deployment: client.V1Deployment, ns: str) -> int:
    pods = _call(f"list the pods of deployment {deployment.metadata.name!r} in namespace {ns!r}",
                 core.list_namespaced_pod, namespace=ns, label_selector=_label_selector(deployment.spec.selector))
    return sum(1 for pod in pods.items if pod.metadata.deletion_timestamp is None and _is_ready(pod))


def _is_ready(pod: client.V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status and pod.status.conditions) or [])


def _label_selector(selector: client.V1LabelSelector) -> str:
    """A deployment's selector in the ``label_selector`` query syntax."""
    terms = [f"{key}={value}" for key, value in sorted((selector.match_labels or {}).items())]
    for expression in selector.match_expressions or []:
        terms.append(SELECTOR_OPERATORS[expression.operator].format(
            key=expression.key, values=",".join(expression.values or [])))
    return ",".join(terms)


def _desired_replicas(deployment: client.V1Deployment) -> int:
    # The API server defaults an unset replica count to 1.
    return 1 if deployment.spec.replicas is None else deployment.spec.replicas


def _read_deployment(apps: client.AppsV1Api, name: str, ns: str) -> client.V1Deployment:
    return _call(f"read deployment {name!r} in namespace {ns!r}", apps.read_namespaced_deployment,
                 name=name, namespace=ns)


def _call(what: str, method: Callable[..., Any], **arguments: Any) -> Any:
    try:
        return method(**arguments)
    except ApiException as error:
        raise ActivityFailed(f"cannot {what}: HTTP {error.status} {error.reason}") from None
