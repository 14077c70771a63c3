"""The image builder's bookkeeping and the containers' entry point, without a Docker engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hive_resilience.infra import images
from hive_resilience.paths import REPO_ROOT
from hive_resilience.target import launch
from hive_resilience.target.embedded import free_port


@pytest.fixture
def repository_copy(tmp_path: Path, monkeypatch) -> Path:
    """The files the images are built from, in a folder the test may change."""
    for entry in ("pyproject.toml", "constraints.txt", "README.md", "integration/images", "deploy/k8s",
                  "hive_resilience", "load", "scenarios"):
        source = REPO_ROOT / entry
        if source.is_dir():
            shutil.copytree(source, tmp_path / entry, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tmp_path / entry)
    monkeypatch.setattr(images, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(images, "IMAGES_DIR", tmp_path / "integration" / "images")
    return tmp_path


def changed_tags(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def test_tags_are_stable_and_name_their_image(repository_copy):
    tags = images.image_tags()
    assert tags == images.image_tags()
    assert set(tags) == {"python", "runtime", "hive", "tools", "llm-stub", "locust"}
    assert all(tag.startswith(f"hive-resilience/{name}:") for name, tag in tags.items())


def test_changed_code_rebuilds_only_the_thin_images(repository_copy):
    before = images.image_tags()
    (repository_copy / "hive_resilience" / "llm_stub.py").write_text("# changed\n", encoding="utf-8")
    assert changed_tags(before, images.image_tags()) == {"hive", "tools", "llm-stub", "locust"}


def test_a_changed_scenario_rebuilds_only_the_locust_image(repository_copy):
    # Context folders count every file, not only Python: the Locust image copies scenarios/*.yaml.
    before = images.image_tags()
    (repository_copy / "scenarios" / "smoke.yaml").write_text("name: changed\n", encoding="utf-8")
    assert changed_tags(before, images.image_tags()) == {"locust"}


def test_changed_constraints_rebuild_the_runtime_and_what_stands_on_it(repository_copy):
    before = images.image_tags()
    with open(repository_copy / "constraints.txt", "a") as constraints:
        constraints.write("six==1.17.0\n")
    assert changed_tags(before, images.image_tags()) == {"runtime", "hive", "tools", "llm-stub", "locust"}


def test_another_base_image_rebuilds_everything(repository_copy, monkeypatch):
    before = images.image_tags()
    monkeypatch.setenv(images.BASE_IMAGE_VARIABLE, "python:3.11-slim")
    assert changed_tags(before, images.image_tags()) == set(before)


def test_the_images_install_from_constraints_txt_as_it_is(repository_copy):
    # Its markers pick each pin for bookworm's Python 3.11.2 (soupsieve has one per side of 3.11.5).
    runtime = next(spec for spec in images.SPECS if spec.name == "runtime")
    constraints = dict(images._context_files(runtime))["constraints.txt"]
    assert constraints == (repository_copy / "constraints.txt").read_bytes()


def test_versions_come_from_pyproject(repository_copy):
    assert images.pinned_versions() == {"HIVE_VERSION": "1.0.12", "TOOLS_VERSION": "1.0.12"}
    pyproject = repository_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("aden-hive[server]==1.0.12", "aden-hive[server]>=1.0"))
    with pytest.raises(images.ImageError, match="must pin aden-hive with =="):
        images.pinned_versions()


def test_build_without_docker_is_one_line(tmp_path):
    environment = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    result = subprocess.run([sys.executable, "-m", "hive_resilience.cli", "images", "build"], capture_output=True,
                            text=True, cwd=tmp_path, env=environment, timeout=60)
    assert result.returncode == 1
    assert "the docker client is not installed: run `bash scripts/docker-engine`" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def entry(*arguments: str, **environment: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hive_resilience.target.container_entry", *arguments],
                            env={**os.environ, **environment}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_entry_serves_the_component_as_the_embedded_target_does(tmp_path):
    port = free_port()
    stub = entry("serve", "llm-stub", PORT=str(port), HOME=str(tmp_path))
    try:
        for _ in range(80):
            if entry("health", "llm-stub", PORT=str(port)).wait(timeout=30) == 0:
                break
            assert stub.poll() is None, stub.communicate()[1]
        else:
            pytest.fail("the stub started by the entry point never became healthy")
    finally:
        stub.terminate()
        stub.wait(timeout=10)


def test_entry_health_of_a_dead_port_fails_with_a_reason():
    checked = entry("health", "hive-api", PORT=str(free_port()))
    _, stderr = checked.communicate(timeout=30)
    assert checked.returncode == 1 and stderr.startswith("hive-api unhealthy:")


def test_hive_entry_needs_an_llm(tmp_path):
    started = entry("serve", "hive-api", PORT=str(free_port()), HOME=str(tmp_path), HIVE_HOME=str(tmp_path / ".hive"),
                    LLM_URL="")
    _, stderr = started.communicate(timeout=30)
    assert started.returncode == 1 and "set LLM_URL" in stderr


def test_hive_configuration_points_litellm_at_the_stub_and_keeps_the_rest(tmp_path):
    (tmp_path / "configuration.json").write_text('{"theme": "dark", "llm": {"provider": "anthropic"}}')
    launch.write_hive_configuration(tmp_path, "http://127.0.0.1:8790")
    written = (tmp_path / "configuration.json").read_text()
    assert '"theme": "dark"' in written and '"api_base": "http://127.0.0.1:8790/v1"' in written
    assert "anthropic" not in written
