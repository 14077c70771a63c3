"""Every experiment, shipped or used by the tests, is valid for Chaos Toolkit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hive_resilience.paths import REPO_ROOT

CHAOS = str(Path(sys.executable).parent / "chaos")
EXPERIMENTS = sorted((REPO_ROOT / "chaos" / "experiments").rglob("*.yaml")) + sorted((REPO_ROOT / "tests" / "chaos").glob("*.yaml"))


def test_experiments_are_found():
    assert len(EXPERIMENTS) >= 14


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_experiment_passes_chaos_validate(experiment):
    # With the defaults, as on a machine that has not exported the staging variables.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HIVE_RESILIENCE_K8S_")}
    result = subprocess.run([CHAOS, "--no-version-check", "--no-log-file", "validate", str(experiment)],
                            capture_output=True, text=True, timeout=60, env=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "look valid" in result.stdout + result.stderr
