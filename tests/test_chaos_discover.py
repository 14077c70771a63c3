"""`chaos discover` lists every action and probe the experiments use, each with its arguments documented."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hive_resilience.paths import REPO_ROOT

CHAOS = str(Path(sys.executable).parent / "chaos")
EXPERIMENTS = sorted((REPO_ROOT / "chaos" / "experiments").rglob("*.yaml")) + sorted((REPO_ROOT / "tests" / "chaos").glob("*.yaml"))
INJECTED_ARGUMENTS = {"configuration", "secrets"}


@pytest.fixture(scope="module")
def discovery(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("discover") / "discovery.json"
    result = subprocess.run([CHAOS, "--no-version-check", "--no-log-file", "discover", "--no-system-info", "--no-install",
                             "--discovery-path", str(path), "hive-resilience"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and path.is_file(), result.stdout + result.stderr
    return json.loads(path.read_text())


def used_by_experiments() -> set[tuple[str, str]]:
    """(module, function) of every activity of ours that a shipped or test experiment calls."""
    used = set()
    for path in EXPERIMENTS:
        experiment = yaml.safe_load(path.read_text())
        activities = [*experiment.get("method", []), *experiment.get("rollbacks", []),
                      *(experiment.get("steady-state-hypothesis") or {}).get("probes", [])]
        for control in experiment.get("controls", []):
            activities += (control.get("provider", {}).get("arguments") or {}).get("probes", [])  # safeguards
        for activity in activities:
            provider = activity.get("provider", {})
            if provider.get("module", "").startswith("hive_resilience.chaos."):
                used.add((provider["module"], provider["func"]))
    return used


def test_discovery_names_the_extension(discovery):
    assert discovery["extension"]["name"] == "hive-resilience"


def test_every_activity_the_experiments_call_is_discovered(discovery):
    discovered = {(activity["mod"], activity["name"]) for activity in discovery["activities"]}
    used = used_by_experiments()
    assert ("hive_resilience.chaos.actions", "set_llm_faults") in used
    assert used <= discovered, sorted(used - discovered)


def test_actions_and_probes_are_typed_by_module(discovery):
    kinds = {(activity["mod"].rsplit(".", 1)[1], activity["type"]) for activity in discovery["activities"]}
    assert kinds == {("actions", "action"), ("probes", "probe"), ("agent_probes", "probe"), ("llm_probes", "probe"),
                     ("k8s", "probe")}


@pytest.mark.parametrize("module", ["actions", "probes", "llm_probes", "k8s"])
def test_every_discovered_activity_documents_its_arguments_and_its_result(discovery, module):
    undocumented = []
    for activity in discovery["activities"]:
        if not activity["mod"].endswith(f".{module}"):
            continue
        doc = activity["doc"] or ""
        missing = [argument["name"] for argument in activity["arguments"]
                   if argument["name"] not in INJECTED_ARGUMENTS and not re.search(rf"\b{argument['name']}\b", doc)]
        if missing or not re.search(r"\b[Rr]eturns\b", doc):
            undocumented.append(f"{activity['name']}: arguments {missing}, 'Returns' {'present' if 'eturns' in doc else 'missing'}")
    assert not undocumented, "\n".join(undocumented)
