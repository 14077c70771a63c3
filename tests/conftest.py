"""Shared fixtures: scenario files written on the fly, and the embedded real Hive."""

from __future__ import annotations

from pathlib import Path

import pytest

from hive_resilience.target.embedded import EmbeddedTarget, free_ports


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
