"""Fixtures for the dashboard E2E suite: a fresh real Hive per test, Debian's Chromium, artifacts.

pytest-playwright provides the browser, contexts, traces and failure screenshots; this file
points it at ``/usr/bin/chromium`` (Playwright cannot download browsers here), gives every test
its own embedded Hive, keeps the page's console log of failed tests, and writes a timing table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from hive_resilience import http
from hive_resilience.target import EmbeddedTarget, free_ports

CHROMIUM = Path(os.environ.get("HIVE_RESILIENCE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    # As root Chromium needs --no-sandbox; the rest keep it from calling home on a closed network.
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
REPORT_DIR = Path("reports") / "e2e"
VIEWPORT = {"width": 1400, "height": 900}


def pytest_configure(config: pytest.Config) -> None:
    """Artifacts of failed tests go to reports/e2e/<test>/ unless the command line says otherwise."""
    config.addinivalue_line("markers", "e2e: drives the real Hive dashboard in Chromium")
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        raise pytest.UsageError(f"Chromium is missing at {CHROMIUM}: apt-get install chromium "
                                "(or set HIVE_RESILIENCE_CHROMIUM to a Chromium binary)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture
def hive(tmp_path: Path) -> Iterator[EmbeddedTarget]:
    """A fresh embedded Hive for one test: no sessions, a healthy LLM stub."""
    with EmbeddedTarget(tmp_path / "hive", free_ports()) as target:
        yield target


@pytest.fixture
def set_llm_faults(hive: EmbeddedTarget):
    """Change the LLM stub's faults for this test (reset automatically afterwards)."""

    def apply(**faults: object) -> None:
        answer = http.call("PUT", f"{hive.llm_url}/admin/faults", faults)
        assert answer.status == 200, answer.body

    yield apply
    http.call("POST", f"{hive.llm_url}/admin/faults/reset")


@pytest.fixture
def dashboard(hive: EmbeddedTarget, new_context, output_path: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page on the fresh Hive's dashboard; a failed test leaves its console log beside its trace."""
    page = new_context(base_url=hive.api_url, viewport=VIEWPORT).new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
    page.on("pageerror", lambda error: console.append(f"[pageerror] {error}"))
    yield page
    if getattr(request.node, "report_call", None) is not None and request.node.report_call.failed:
        Path(output_path).mkdir(parents=True, exist_ok=True)
        (Path(output_path) / "console.log").write_text("\n".join(console) + "\n")


@pytest.fixture(scope="session")
def timings() -> Iterator[list[tuple[str, str, float]]]:
    """(test, what, seconds) rows, written to reports/e2e/timings.md when the session ends."""
    rows: list[tuple[str, str, float]] = []
    yield rows
    if rows:
        REPORT_DIR.mkdir(parents=True, exist_ok=True)
        lines = ["| test | measured | seconds |", "| --- | --- | --- |"]
        lines += [f"| {test} | {what} | {seconds:.2f} |" for test, what, seconds in rows]
        (REPORT_DIR / "timings.md").write_text("\n".join(lines) + "\n")


@pytest.fixture
def record_timing(timings: list, request: pytest.FixtureRequest):
    def record(what: str, seconds: float) -> None:
        timings.append((request.node.name, what, seconds))

    return record
