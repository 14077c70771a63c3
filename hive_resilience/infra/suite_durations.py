"""How long each suite took in one pytest run (a pytest plugin, loaded by pyproject's addopts).

CI runs every suite in one ``bash scripts/test``; this prints, at the end, the seconds each suite
spent (setup, call and teardown of its tests, so session fixtures such as image builds count
for the suite that first needed them), so a slow run shows which suite to look at. A test's
suite is ``cluster`` when it is marked ``cluster`` and otherwise its top-level folder
(``tests``, ``integration``, ``e2e``).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

CLUSTER_SUITE = "cluster"


def suite_of(nodeid: str, markers: set[str]) -> str:
    """The suite a test belongs to, from its node id and the names of its markers."""
    if CLUSTER_SUITE in markers:
        return CLUSTER_SUITE
    parts = Path(nodeid.split("::")[0]).parts
    return parts[0] if len(parts) > 1 else "."


class SuiteDurations:
    """Sums each suite's test phases and reports them in the terminal summary."""

    def __init__(self) -> None:
        self.suites: dict[str, str] = {}
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.tests: defaultdict[str, int] = defaultdict(int)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            self.suites[item.nodeid] = suite_of(item.nodeid, {marker.name for marker in item.iter_markers()})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        suite = self.suites.get(report.nodeid, suite_of(report.nodeid, set()))
        self.seconds[suite] += report.duration
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.tests[suite] += 1

    def lines(self) -> list[str]:
        """One line per suite that ran, slowest first: ``integration: 512 s (41 tests)``."""
        ranked = sorted(self.seconds, key=self.seconds.__getitem__, reverse=True)
        return [f"{suite}: {self.seconds[suite]:.0f} s ({self.tests[suite]} tests)" for suite in ranked]

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.seconds:
            terminalreporter.section("seconds per suite")
            for line in self.lines():
                terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SuiteDurations(), "suite-durations")
