"""Shared fixtures: scenario files written on the fly, and the embedded real Hive."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hive_resilience.target import EmbeddedTarget, TargetPorts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_ports() -> TargetPorts:
    """Ports chosen at run time, so tests never collide with a target a developer left up."""
    return TargetPorts(api=free_port(), mcp=free_port(), llm=free_port(), mcp_upstream=free_port(),
                       proxy_admin=free_port())


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
