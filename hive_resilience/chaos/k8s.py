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
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Secrets

from hive_resilience.cleanup import SUITE_LABEL

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
    "label_chaos_mesh_fault",
    "max_unavailable_pods",
    "ready_replicas",
    "rollout_complete",
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
