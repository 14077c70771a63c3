"""Fixtures of the integration suite: the target's images, built once, as real containers.

Ryuk (testcontainers' reaper) cannot be pulled here, so it is disabled and every container
and volume is removed by the fixture that made it; containers that a killed earlier run left
behind carry our label and are swept at the start. All containers use host networking and
bind 127.0.0.1 on ports chosen at run time.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from hive_resilience.infra.docker_endpoint import docker_host

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
# testcontainers knows only DOCKER_HOST (without it, it looks for "the network this process
# runs in", since /.dockerenv exists): give it the engine the docker CLI uses, context included.
os.environ["DOCKER_HOST"] = docker_host()

import pytest  # noqa: E402
from containers import (  # noqa: E402
    HiveServerContainer,
    HiveToolsContainer,
    HostNetworkContainer,
    LlmStubContainer,
)

from hive_resilience.infra import images  # noqa: E402,I001

SUITE_LABEL = "hive-resilience.suite"
LABELS = {SUITE_LABEL: "integration"}
REPORT_DIR = Path("reports") / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def built_images() -> dict[str, str]:
    """Every image's tag; builds what is missing (minutes the first time, seconds after)."""
    try:
        tags = images.build_images(REPORT_DIR / "image-logs", progress=lambda line: None)
    except images.ImageError as error:
        pytest.fail(f"the integration suite needs its images: {error}", pytrace=False)
    subprocess.run(["docker", "rm", "-f", "-v", *_labelled_containers()], capture_output=True)
    return tags


def _labelled_containers() -> list[str]:
    listed = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={SUITE_LABEL}"], capture_output=True, text=True)
    return listed.stdout.split()


def _started(container: HostNetworkContainer) -> HostNetworkContainer:
    container.with_kwargs(labels=LABELS)
    return container.start()


@pytest.fixture(scope="session")
def llm_stub(built_images) -> Iterator[LlmStubContainer]:
    container = _started(LlmStubContainer(built_images["llm-stub"]))
    yield container
    container.stop()


@pytest.fixture(scope="session")
def tools_server(built_images) -> Iterator[HiveToolsContainer]:
    container = _started(HiveToolsContainer(built_images["tools"]))
    yield container
    container.stop()


@pytest.fixture(scope="session")
def hive_server(built_images, llm_stub) -> Iterator[HiveServerContainer]:
    """One Hive shared by tests that leave no state behind them."""
    container = _started(HiveServerContainer(llm_stub.get_url(), built_images["hive"]))
    yield container
    container.stop()


@pytest.fixture
def start_container(built_images) -> Iterator[Callable[[HostNetworkContainer], HostNetworkContainer]]:
    """Start a fresh container (for tests that change state); removed with its anonymous volumes."""
    started: list[HostNetworkContainer] = []

    def start(container: HostNetworkContainer) -> HostNetworkContainer:
        started.append(container)
        return _started(container)

    yield start
    for container in reversed(started):
        container.stop()


@pytest.fixture
def fresh_llm_stub(start_container, built_images) -> LlmStubContainer:
    """A stub of the test's own, for tests that pause it or change its faults."""
    return start_container(LlmStubContainer(built_images["llm-stub"]))


@pytest.fixture
def named_volume() -> Iterator[Callable[[], str]]:
    """Make Docker volumes that outlive containers, as a pod's persistent volume does."""
    made: list[str] = []

    def make() -> str:
        name = f"hive-resilience-{uuid.uuid4().hex[:10]}"
        subprocess.run(["docker", "volume", "create", "--label", f"{SUITE_LABEL}=integration", name],
                       check=True, capture_output=True)
        made.append(name)
        return name

    yield make
    if made:
        subprocess.run(["docker", "volume", "rm", "-f", *made], capture_output=True)
