"""Shared fixtures: scenario files written on the fly, the embedded real Hive, and the cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hive_resilience.infra import images
from hive_resilience.infra.cluster import Cluster, deploy_hive
from hive_resilience.paths import REPO_ROOT
from hive_resilience.target.embedded import EmbeddedTarget, free_ports

CLUSTER_FIGURES = REPO_ROOT / "reports" / "cluster" / "figures.json"


@pytest.fixture
def write_scenario(tmp_path: Path):
    """Write a scenario YAML into the test's folder and return its path."""

    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


@pytest.fixture(scope="module")
def embedded_target(tmp_path_factory) -> EmbeddedTarget:
    """The real Hive, tools server and LLM stub on free loopback ports, shared by a module."""
    with EmbeddedTarget(tmp_path_factory.mktemp("target"), free_ports()) as target:
        yield target


@pytest.fixture(scope="module")
def chaos_target(tmp_path_factory) -> EmbeddedTarget:
    """The embedded target with the fault proxy in front of the tools server, as the chaos
    control starts it: Hive reaches its MCP server through the proxy. Shared by a module."""
    with EmbeddedTarget(tmp_path_factory.mktemp("chaos-target"), free_ports(), fault_proxy=True) as target:
        yield target


@pytest.fixture(scope="session")
def hive_cluster(tmp_path_factory) -> Cluster:
    """The single-node cluster with Hive deployed from deploy/hive, shared by every cluster test
    of the session (bringing it up takes about two minutes); each test leaves Hive as it found it."""
    images.build_images(REPO_ROOT / "reports" / "images", progress=lambda line: None)
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        ready_s = cluster.up(progress=lambda line: None)
        deployed_s = deploy_hive(cluster)
        figures = {"node_ready_s": round(ready_s, 1), "hive_rolled_out_s": round(deployed_s, 1),
                   "cluster_processes_mib": round(cluster.memory_bytes() / 2**20)}
        CLUSTER_FIGURES.parent.mkdir(parents=True, exist_ok=True)
        CLUSTER_FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"cluster figures: {figures}")
        yield cluster
    finally:
        cluster.down()
