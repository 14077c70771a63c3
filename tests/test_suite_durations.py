"""The end-of-run summary says how long each suite took."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hive_resilience.infra.suite_durations import SuiteDurations, suite_of
from hive_resilience.paths import REPO_ROOT


def test_a_test_belongs_to_its_top_level_folder():
    assert suite_of("tests/test_slo.py::test_x", set()) == "tests"
    assert suite_of("integration/test_shutdown.py::test_y[a/b]", {"integration"}) == "integration"
    assert suite_of("e2e/test_dashboard.py::test_z", set()) == "e2e"


def test_a_cluster_test_belongs_to_the_cluster_suite_wherever_it_lives():
    assert suite_of("tests/test_k8s_cluster.py::test_up", {"cluster", "timeout"}) == "cluster"


def report(nodeid: str, when: str, duration_s: float, outcome: str = "passed") -> pytest.TestReport:
    return pytest.TestReport(nodeid, ("", 0, ""), {}, outcome, None, when, duration=duration_s)


def test_every_phase_counts_and_the_slowest_suite_comes_first():
    durations = SuiteDurations()
    for when, seconds in (("setup", 100.0), ("call", 20.0), ("teardown", 5.0)):
        durations.pytest_runtest_logreport(report("integration/test_a.py::test_a", when, seconds))
    durations.pytest_runtest_logreport(report("tests/test_b.py::test_b", "call", 2.0))
    durations.pytest_runtest_logreport(report("tests/test_c.py::test_c", "setup", 1.0, outcome="failed"))
    assert durations.lines() == ["integration: 125 s (1 tests)", "tests: 3 s (2 tests)"]


def test_a_pytest_run_ends_with_the_seconds_per_suite():
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_suite_durations.py::test_a_test_belongs_to_its_top_level_folder"],
                          check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "seconds per suite" in done.stdout
    assert "tests: 0 s (1 tests)" in done.stdout
