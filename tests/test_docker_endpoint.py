"""The Docker endpoint: testcontainers gets the engine the docker CLI would use."""

from __future__ import annotations

import subprocess

import pytest

from hive_resilience.infra.docker_endpoint import DEFAULT_DOCKER_HOST, docker_host

needs_docker_cli = pytest.mark.integration  # provisioned with the integration suite (docker.io)


def test_docker_host_wins(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert docker_host() == "tcp://127.0.0.1:2375"


@needs_docker_cli
def test_the_current_docker_context_is_followed(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # contexts made here stay in this test
    subprocess.run(["docker", "context", "create", "staging-engine", "--docker", "host=unix:///run/other/docker.sock"],
                   check=True, capture_output=True, timeout=30)
    monkeypatch.setenv("DOCKER_CONTEXT", "staging-engine")
    assert docker_host() == "unix:///run/other/docker.sock"


@needs_docker_cli
def test_the_default_context_is_the_local_socket(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert docker_host() == DEFAULT_DOCKER_HOST
