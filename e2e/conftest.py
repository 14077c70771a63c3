"""Fixtures for the dashboard E2E suite: a fresh real Hive per test, Debian's Chromium, artifacts.

pytest-playwright provides the browser (Debian's Chromium, see the root ``conftest.py``),
contexts, traces and failure screenshots; this file gives every test
its own embedded Hive, keeps the page's console log of failed tests, and writes
``reports/e2e/results.json`` (outcome, timings, artifacts per flow, for ``hive-resilience
report``) and ``reports/e2e/timings.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from hive_resilience.clients import http_client
from hive_resilience.clients.hive_events import auth_headers
from hive_resilience.target.embedded import EmbeddedTarget, free_ports

REPORT_DIR = Path("reports") / "e2e"
VIEWPORT = {"width": 1400, "height": 900}


def pytest_configure(config: pytest.Config) -> None:
    """Artifacts of failed tests go to reports/e2e/<test>/ unless the command line says otherwise."""
    config.addinivalue_line("markers", "e2e: drives the real Hive dashboard in Chromium")
    config.addinivalue_line("markers", "fault_proxy: the test's Hive has the fault proxy before its tools server")
    if config.getoption("--output") == "test-results":
        config.option.output = str(REPORT_DIR)
    if config.getoption("--tracing") == "off":
        config.option.tracing = "retain-on-failure"
    if config.getoption("--screenshot") == "off":
        config.option.screenshot = "only-on-failure"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.embedded)  # every flow starts the real Hive


TIMING_PREFIX = "seconds: "
_RESULTS: list[dict] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"report_{report.when}", report)
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _RESULTS.append(_result(item, report))
    return report


def _result(item: pytest.Item, report: pytest.TestReport) -> dict:
    outcome = report.outcome
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
    return {
        "test": item.name,
        "outcome": outcome,
        "known_defect": getattr(report, "wasxfail", None),
        "duration_s": report.duration,
        "timings": {name.removeprefix(TIMING_PREFIX): value for name, value in report.user_properties
                    if name.startswith(TIMING_PREFIX)},
        # Set by the dashboard fixture: pytest-playwright's folder for this test's artifacts.
        "artifacts": getattr(item, "artifacts_dir", None) if report.failed else None,
    }


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _RESULTS:
        return
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / "results.json").write_text(json.dumps(_RESULTS, indent=2))
    lines = ["| test | measured | seconds |", "| --- | --- | --- |"]
    lines += [f"| {result['test']} | {what} | {seconds:.2f} |" for result in _RESULTS
              for what, seconds in result["timings"].items()]
    (REPORT_DIR / "timings.md").write_text("\n".join(lines) + "\n")


@pytest.fixture
def hive(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[EmbeddedTarget]:
    """A fresh embedded Hive for one test: no sessions, a healthy LLM stub.

    A test marked ``fault_proxy`` gets the fault proxy in front of the tools server, so it can
    slow tool calls down (the ``proxy-faults`` kind of the fault registry).
    """
    fault_proxy = request.node.get_closest_marker("fault_proxy") is not None
    with EmbeddedTarget(tmp_path / "hive", free_ports(), fault_proxy=fault_proxy) as target:
        yield target


@pytest.fixture
def set_llm_faults(hive: EmbeddedTarget):
    """Change the LLM stub's faults for this test (reset automatically afterwards)."""

    def apply(**faults: object) -> None:
        answer = http_client.call("PUT", f"{hive.llm_url}/admin/faults", faults)
        assert answer.status == 200, answer.body

    yield apply
    http_client.call("POST", f"{hive.llm_url}/admin/faults/reset")


@pytest.fixture
def dashboard(hive: EmbeddedTarget, new_context, output_path: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page on the fresh Hive's dashboard; a failed test leaves its console log beside its trace."""
    # The page talks to Hive only; with HIVE_DESKTOP_TOKEN set Hive refuses any request without it.
    page = new_context(base_url=hive.api_url, viewport=VIEWPORT, extra_http_headers=auth_headers()).new_page()
    request.node.artifacts_dir = output_path
    console: list[str] = []
    page.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
    page.on("pageerror", lambda error: console.append(f"[pageerror] {error}"))
    yield page
    if getattr(request.node, "report_call", None) is not None and request.node.report_call.failed:
        Path(output_path).mkdir(parents=True, exist_ok=True)
        (Path(output_path) / "console.log").write_text("\n".join(console) + "\n")


@pytest.fixture
def record_timing(record_property):
    """Record a measured duration on the test's report (collected into results.json)."""

    def record(what: str, seconds: float) -> None:
        record_property(f"{TIMING_PREFIX}{what}", round(seconds, 3))

    return record
