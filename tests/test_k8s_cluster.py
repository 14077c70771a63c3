"""The Kubernetes chaos experiments, unchanged, against a real single-node cluster with Hive
deployed from deploy/hive (``hive-resilience cluster``). Everything runs inside the cluster's
own network namespace: the API server, the pods, the Services, the load and the probes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hive_resilience.infra import cluster as cluster_module
from hive_resilience.infra.cluster import Cluster, service_urls
from hive_resilience.paths import REPO_ROOT

pytestmark = pytest.mark.cluster

K8S_EXPERIMENTS = REPO_ROOT / "chaos" / "experiments" / "k8s"
CHAOS = str(Path(sys.executable).parent / "chaos")


def chaos_run(cluster: Cluster, experiment: str, cwd: Path) -> tuple[subprocess.CompletedProcess, dict, str]:
    """``chaos run`` inside the cluster's namespace, pointed at Hive's Service addresses there."""
    urls = service_urls(cluster)
    environment = {**cluster.environment(), "HIVE_RESILIENCE_K8S_API_URL": urls["hive_api_url"],
                   "HIVE_RESILIENCE_K8S_MCP_URL": urls["mcp_url"]}
    argv = cluster.command([CHAOS, "--no-version-check", "run", str(K8S_EXPERIMENTS / experiment),
                            "--journal-path", str(cwd / "journal.json")])
    done = subprocess.run(argv, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900)
    run_dir = next((cwd / "reports").glob("*-chaos-*"))
    return done, json.loads((run_dir / "journal.json").read_text()), (run_dir / "summary.md").read_text()


def failures(journal: dict) -> tuple[int, int]:
    """Failed HTTP requests and failed chat replies of the background load, all phases."""
    phases = journal["hive_resilience"]["load"]["phases"].values()
    return sum(phase["failures"] for phase in phases), sum(phase["reply_failures"] for phase in phases)


def test_hive_runs_on_the_cluster(hive_cluster: Cluster) -> None:
    pods = json.loads(hive_cluster.kubectl("get", "pods", "-n", "hive", "-o", "json"))["items"]
    running = [pod for pod in pods if pod["status"]["phase"] == "Running"]
    assert len(running) == 5, [pod["metadata"]["name"] for pod in pods]
    assert all(pod["status"]["podIP"].startswith("10.215.0.") for pod in running)
    urls = service_urls(hive_cluster)
    health = subprocess.run(hive_cluster.command(["curl", "-sf", urls["hive_api_url"] + "/api/health"]),
                            capture_output=True, text=True, timeout=30)
    assert json.loads(health.stdout)["status"] == "ok"
    # The Service address exists only inside the cluster's namespace.
    assert subprocess.run(["curl", "-sf", "--max-time", "2", urls["hive_api_url"] + "/api/health"],
                          capture_output=True).returncode != 0


def live_pods(cluster: Cluster, label_selector: str) -> list[dict]:
    """The pods of Hive's namespace matching ``label_selector`` that are not being deleted."""
    pods = json.loads(cluster.kubectl("get", "pods", "-n", "hive", "-l", label_selector, "-o", "json"))["items"]
    return [pod for pod in pods if pod["metadata"].get("deletionTimestamp") is None]


def pod_ips(cluster: Cluster, label_selector: str) -> list[str]:
    return [pod["status"]["podIP"] for pod in live_pods(cluster, label_selector)]


def tools_server_calls(cluster: Cluster) -> int:
    """``tools/call`` requests the tools pods served, summed over the pods (each counts its own)."""
    total = 0
    for ip in pod_ips(cluster, "app=hive-tools"):
        stats = subprocess.run(cluster.command(["curl", "-sf", "--max-time", "10", f"http://{ip}:4001/admin/stats"]),
                               capture_output=True, text=True, timeout=30, check=True)
        total += sum(json.loads(stats.stdout)["tool_calls"].values())
    return total


AGENT_TURNS = ("import json, sys; from hive_resilience.chaos.agent_probes import measure_agent_turns; "
               "print(json.dumps(measure_agent_turns({'hive_api_url': sys.argv[1]}, 'one_tool', 2, 90.0).as_json()))")


def agent_turns_in_cluster(cluster: Cluster, api_url: str) -> dict:
    """``measure_agent_turns`` of a ``one_tool`` conversation, run inside the cluster's namespace."""
    done = subprocess.run(cluster.command([sys.executable, "-c", AGENT_TURNS, api_url]),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_hive_api_pod_calls_the_tools_server(hive_cluster: Cluster) -> None:
    # Each pod directly, not the Service: its affinity would show one pod only.
    for ip in pod_ips(hive_cluster, "app=hive-api"):
        calls_before = tools_server_calls(hive_cluster)
        turns = agent_turns_in_cluster(hive_cluster, f"http://{ip}:8787")
        print(f"hive-api pod {ip}: {turns['as_scripted']}/{turns['turns']} one_tool turns as scripted, "
              f"reply_s_max {turns['reply_s_max']}, tool_s_mean {turns['tool_s_mean']}")
        assert turns["as_scripted"] == turns["turns"] == 2, turns["problems"]
        assert tools_server_calls(hive_cluster) - calls_before >= turns["tool_calls"] == 2


def agent_figures(journal: dict) -> dict[str, dict | str]:
    """The outputs of the experiment's agent probes by probe name, or the failure a probe raised."""
    return {run["activity"]["name"]: run.get("output") if run["status"] == "succeeded"
            else (run.get("exception") or ["?"])[-1].strip()
            for run in journal.get("run", []) if run["activity"]["provider"].get("func", "").startswith("tool_turns")}


def tools_pod_names(cluster: Cluster) -> set[str]:
    return {pod["metadata"]["name"] for pod in live_pods(cluster, "app=hive-tools")}


def test_tools_pod_kill_keeps_agent_conversations_working(hive_cluster: Cluster, tmp_path: Path) -> None:
    original_pods = tools_pod_names(hive_cluster)
    done, journal, summary = chaos_run(hive_cluster, "tools-pod-killed.yaml", tmp_path)
    print(f"tools-pod-killed agent figures: {json.dumps(agent_figures(journal))}")
    # Both original pods died, so the one the agent's calls were pinned to did.
    assert not original_pods & tools_pod_names(hive_cluster), summary
    assert done.returncode == 0, summary
    assert journal["status"] == "completed" and not journal["deviated"]
    assert journal["hive_resilience"]["load"]["phases"]["during_fault"]["requests"] > 0


def test_rolling_restart_verdict_agrees_with_the_failed_requests(hive_cluster: Cluster, tmp_path: Path,
                                                                 record_property) -> None:
    done, journal, summary = chaos_run(hive_cluster, "rolling-restart.yaml", tmp_path)
    failed, replies_failed = failures(journal)
    record_property("rolling_restart_failed_requests", failed)
    record_property("rolling_restart_failed_replies", replies_failed)
    print(f"rolling restart: {failed} failed requests, {replies_failed} failed chat replies, "
          f"status {journal['status']}, exit {done.returncode}")
    assert f"Failed over the whole experiment: {failed} requests, {replies_failed} chat replies." in summary
    if failed + replies_failed == 0:
        assert done.returncode == 0 and journal["status"] == "completed", summary
    else:
        assert done.returncode != 0 and journal["deviated"], "failed requests, yet the promise held"
        assert "Promise broken:" in summary
    hive_cluster.kubectl("rollout", "status", "deployment/hive-api", "-n", "hive", "--timeout=300s", timeout_s=330)


def test_a_single_replica_tools_deployment_deviates(hive_cluster: Cluster, tmp_path: Path) -> None:
    hive_cluster.kubectl("scale", "deployment/hive-tools", "-n", "hive", "--replicas=1")
    try:
        _wait_for_replicas(hive_cluster, "hive-tools", 1)
        done, journal, summary = chaos_run(hive_cluster, "tools-pod-killed.yaml", tmp_path)
    finally:
        hive_cluster.kubectl("scale", "deployment/hive-tools", "-n", "hive", "--replicas=2")
        hive_cluster.kubectl("rollout", "status", "deployment/hive-tools", "-n", "hive", "--timeout=180s",
                             timeout_s=200)
    assert done.returncode != 0 and journal["deviated"], summary
    assert journal["hive_resilience"]["steady_state_missed_before"] == ["at-least-2-tools-pods-ready"]
    assert "**Verdict: DEVIATED**" in summary


def _wait_for_replicas(cluster: Cluster, deployment: str, replicas: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = json.loads(cluster.kubectl("get", "deployment", deployment, "-n", "hive", "-o", "json"))
        if found["status"].get("replicas") == replicas and found["status"].get("readyReplicas") == replicas:
            return
        time.sleep(1)
    pytest.fail(f"{deployment} did not settle at {replicas} replicas within {timeout_s:.0f} s")


def test_cluster_needs_root(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cluster_module.os, "geteuid", lambda: 1000)
    with pytest.raises(cluster_module.ClusterError, match="the cluster needs root"):
        Cluster(tmp_path).up()


def test_missing_binaries_name_the_setup_script(tmp_path: Path) -> None:
    environment = {**os.environ, "HIVE_RESILIENCE_CACHE": str(tmp_path / "empty-cache")}
    done = subprocess.run([sys.executable, "-m", "hive_resilience.cli", "cluster", "up", "--dir", str(tmp_path / "c")],
                          capture_output=True, text=True, env=environment, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "run `bash scripts/cluster-setup`" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "c" / cluster_module.STATE_FILE).exists(), "nothing is started without the binaries"
