"""Which Docker engine the suite talks to: the same one the ``docker`` command would use.

The ``docker`` CLI honours ``DOCKER_HOST`` and then the current context (``DOCKER_CONTEXT`` or
``docker context use``); testcontainers' client (docker-py) knows only ``DOCKER_HOST`` and
otherwise guesses. Resolving the endpoint once, the CLI's way, keeps the images the suite
builds with the CLI and the containers testcontainers starts on one engine.
"""

from __future__ import annotations

import os
import shutil
import subprocess

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


def docker_host() -> str:
    """``DOCKER_HOST`` if set, else the current Docker context's endpoint, else the default socket."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    if shutil.which("docker") is None:
        return DEFAULT_DOCKER_HOST
    try:
        inspected = subprocess.run(["docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"],
                                   capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return DEFAULT_DOCKER_HOST
    endpoint = inspected.stdout.strip()
    return endpoint if inspected.returncode == 0 and endpoint else DEFAULT_DOCKER_HOST
