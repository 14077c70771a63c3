"""scripts/test provisions what the selected tests need and nothing more."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from hive_resilience.infra import provisioning
from hive_resilience.infra.provisioning import (
    NEEDS,
    CollectedTest,
    needs_of,
    selection_needs,
)
from hive_resilience.paths import REPO_ROOT


def collected(*markers: str, fixtures: tuple[str, ...] = (), uses_netfaults: bool = False) -> CollectedTest:
    return CollectedTest(frozenset(markers), frozenset(fixtures), uses_netfaults)


def test_a_plain_unit_test_needs_nothing_from_the_machine():
    assert needs_of(collected()) == set()
    assert needs_of(collected("embedded", fixtures=("tmp_path",))) == set()


def test_integration_tests_need_a_docker_engine_and_the_images():
    assert needs_of(collected("integration")) == {"docker", "images"}


def test_cluster_tests_need_the_kubernetes_build_and_the_images_it_loads():
    assert needs_of(collected("cluster")) == {"docker", "images", "cluster"}


def test_a_test_running_kubectl_without_a_cluster_needs_only_kubectl():
    assert needs_of(collected("kubectl")) == {"kubectl"}
    assert needs_of(collected("kubectl", "cluster")) == {"kubectl"}


def test_a_browser_test_needs_chromium_whatever_its_markers():
    assert needs_of(collected(fixtures=("page", "context", "browser"))) == {"chromium"}


def test_a_test_of_network_faults_needs_nftables():
    assert needs_of(collected("embedded", uses_netfaults=True)) == {"nftables"}


def test_a_test_running_prometheus_needs_debians_prometheus():
    assert needs_of(collected("prometheus", "embedded")) == {"prometheus"}


def test_the_selection_needs_the_union_in_provisioning_order():
    tests = [collected("cluster"), collected(uses_netfaults=True), collected(fixtures=("browser",))]
    assert selection_needs(tests) == ["nftables", "chromium", "docker", "images", "cluster"]
    assert selection_needs([*tests, collected("kubectl"), collected("prometheus")]) == list(NEEDS)
    assert selection_needs([]) == []


def test_every_need_is_a_part_scripts_setup_provides():
    parts = re.search(r"^PARTS=\((.*)\)$", (REPO_ROOT / "scripts" / "setup").read_text(), re.MULTILINE)
    assert parts and tuple(parts.group(1).split()) == NEEDS


def needs_for(*pytest_args: str) -> str:
    """What the helper prints for these pytest arguments, run as scripts/setup runs it."""
    result = subprocess.run([sys.executable, "-m", "hive_resilience.infra.provisioning", *pytest_args],
                            check=False, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(("pytest_args", "expected"), [
    (("tests/test_slo.py",), ""),
    (("integration/test_api_contract.py",), "docker,images"),
    (("integration/test_api_contract.py", "-m", "not integration"), ""),
    (("tests/test_k8s_cluster.py",), "docker,images,cluster"),
    (("tests/test_netfaults.py",), "nftables"),
    (("tests/test_prometheus_rules.py",), "prometheus"),
    (("tests/test_hive_manifests.py",), "kubectl"),
    (("tests/test_deploy_manifests.py", "-k", "kustomize"), "kubectl"),
    (("tests/test_deploy_manifests.py", "-k", "not kustomize"), ""),
    (("e2e/test_dashboard.py", "-m", "not integration and not cluster"), "chromium"),
    # The unit run of the README builds no Kubernetes (kubectl tests are marked cluster too),
    # installs no Chromium (the report's browser check lives in e2e/) and needs no Docker.
    (("-m", "not embedded and not integration and not cluster"), "nftables,prometheus"),
])
def test_the_collected_selection_decides(pytest_args, expected):
    assert needs_for(*pytest_args) == expected


def test_a_selection_pytest_cannot_collect_gets_nothing_and_a_one_line_reason(capsys):
    assert provisioning.main(["tests/no_such_test_file.py"]) == 0
    out, err = capsys.readouterr()
    assert out == "\n"
    assert "pytest could not collect these tests (exit 4); providing nothing" in err
    assert "Traceback" not in err


def test_cluster_setup_builds_kubectl_with_the_kubernetes_binaries():
    script = (REPO_ROOT / "scripts" / "cluster-setup").read_text()
    binaries = re.search(r"^BINARIES=\((.*)\)$", script, re.MULTILINE)
    assert binaries and "kubectl" in binaries.group(1).split()
    assert re.search(r"^\s*kubectl\) BINARIES=\(kubectl\)", script, re.MULTILINE)


def test_cluster_setup_refuses_an_unknown_part_in_one_line():
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "cluster-setup"), "kubelet-only"], check=False,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr == "cluster-setup: unknown argument 'kubelet-only': give nothing (the whole cluster) or kubectl\n"
