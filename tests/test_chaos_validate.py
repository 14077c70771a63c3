"""Every experiment, shipped or used by the tests, is valid for Chaos Toolkit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHAOS = str(Path(sys.executable).parent / "chaos")
EXPERIMENTS = sorted((REPO / "chaos" / "experiments").rglob("*.yaml")) + sorted((REPO / "tests" / "chaos").glob("*.yaml"))


def test_experiments_are_found():
    assert len(EXPERIMENTS) >= 8


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_experiment_passes_chaos_validate(experiment):
    result = subprocess.run([CHAOS, "validate", str(experiment)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "look valid" in result.stdout + result.stderr
