"""Record what the real dashboard asks Hive's API for: ``hive-resilience record-dashboard``.

Starts the embedded Hive (the suite's one launcher), opens its dashboard in Debian's Chromium
through Playwright, loads the home page, opens a queen's conversation, sends one message, waits
for the reply, then stays idle so the dashboard's polling shows; every ``/api/*`` request is
kept with the phase it happened in and written by
:mod:`hive_resilience.loadrun.dashboard_recording`. Run it again after a Hive upgrade to refresh
``load/dashboard_recording.json``.

The browser is driven by the E2E suite's page objects (``e2e/pages``, the one owner of the
dashboard's selectors) and launched with the root ``conftest.py``'s Chromium binary and flags.
Playwright is imported only here, so the base install does not need it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

from hive_resilience.clients.hive_events import auth_headers
from hive_resilience.loadrun.dashboard_recording import (
    RECORDING_PATH,
    DashboardRecording,
    ObservedRequest,
    Phase,
    RecordingError,
    build_recording,
    write_recording,
)
from hive_resilience.paths import REPO_ROOT
from hive_resilience.target.embedded import EmbeddedTarget, free_ports

QUEEN = "Steve Jobs"
"""The queen whose conversation is recorded: the one the embedded target gives the tools server."""
PAGE_SETTLE_S = 3.0
"""Idle time after the home page is usable, for the calls it makes late (after the tour closes)."""
DEFAULT_POLLING_S = 65.0
"""Idle window after the reply: long enough to see a 30 s poll twice."""
VIEWPORT = {"width": 1400, "height": 900}


@dataclass(frozen=True)
class RecordRequest:
    run_dir: Path
    """Where the embedded Hive keeps its logs and state."""
    output: Path = RECORDING_PATH
    polling_s: float = DEFAULT_POLLING_S


def record_dashboard(request: RecordRequest) -> DashboardRecording:
    """Record one dashboard visit against a fresh embedded Hive and write the recording."""
    sync_playwright = _playwright()
    browser_settings = _browser_settings()
    pages = _page_objects()
    observed: list[ObservedRequest] = []
    started = time.monotonic()
    phase: list[Phase] = ["page_load"]
    sent_at: dict[object, tuple[float, Phase]] = {}
    message = pages.conversation.unique_message("dashboard recording")
    with EmbeddedTarget(request.run_dir, free_ports()) as hive, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(browser_settings.CHROMIUM),
                                             args=browser_settings.CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=hive.api_url, viewport=VIEWPORT,
                                       extra_http_headers=auth_headers()).new_page()

            def on_request(sent) -> None:
                if urlsplit(sent.url).path.startswith("/api/"):
                    sent_at[sent] = (time.monotonic() - started, phase[0])

            def on_response(response) -> None:
                sent = response.request
                if sent not in sent_at:
                    return
                at_s, when = sent_at.pop(sent)
                url = urlsplit(sent.url)
                observed.append(ObservedRequest(at_s, when, sent.method, url.path, url.query, sent.post_data,
                                                response.status, response.headers.get("content-type", "")))

            page.on("request", on_request)
            page.on("response", on_response)
            home = pages.home.HomePage(page)
            home.open()
            home.skip_tour()
            page.wait_for_timeout(PAGE_SETTLE_S * 1000)
            phase[0] = "conversation_open"
            home.open_queen(QUEEN).send(message)
            phase[0] = "polling"
            page.wait_for_timeout(request.polling_s * 1000)
        finally:
            browser.close()
    recording = build_recording(observed, message, importlib.metadata.version("aden-hive"),
                                datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if not recording.in_phase("page_load"):
        raise RecordingError("the dashboard made no API call while the home page loaded; nothing written")
    write_recording(recording, request.output)
    return recording


def _playwright():
    """Playwright's entry point, imported only when recording: the base install (the load
    generator) does not have it, and the ``test`` extra does."""
    try:
        return importlib.import_module("playwright.sync_api").sync_playwright
    except ImportError:
        raise RecordingError("playwright is not installed: pip install -e '.[test]'") from None


def _browser_settings() -> ModuleType:
    """The root conftest.py: the Chromium binary and flags every browser of the suite uses."""
    settings = _load_module("hive_resilience_browser_settings", REPO_ROOT / "conftest.py")
    if not Path(settings.CHROMIUM).exists():
        raise RecordingError(f"Chromium is missing at {settings.CHROMIUM}: apt-get install chromium "
                             "(or set HIVE_RESILIENCE_CHROMIUM to a Chromium binary)")
    return settings


@dataclass(frozen=True)
class _PageObjects:
    home: ModuleType
    conversation: ModuleType


def _page_objects() -> _PageObjects:
    """The E2E suite's page objects; they import each other as ``pages.*``, so ``e2e/`` joins the path."""
    e2e_dir = str(REPO_ROOT / "e2e")
    if e2e_dir not in sys.path:
        sys.path.append(e2e_dir)
    return _PageObjects(importlib.import_module("pages.home"), importlib.import_module("pages.conversation"))


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RecordingError(f"{path}: cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
