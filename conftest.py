"""Shared by every suite: the known-defect plugin, and the browser settings of every suite that opens a
page (the E2E suite, the report test).

``known_defects`` turns ``@pytest.mark.known_defect(...)`` into a strict xfail that only counts when
the test saw today's pinned wrong behaviour (see that module).

Playwright cannot download its own browsers here, so pytest-playwright launches Debian's
Chromium; as root it needs ``--no-sandbox``, and the other flags keep it from calling home.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ("known_defects",)

CHROMIUM = Path(os.environ.get("HIVE_RESILIENCE_CHROMIUM", "/usr/bin/chromium"))
SUPPORTED_BROWSERS = ("chromium",)
"""Only Chromium has a system build here (Debian's); Playwright cannot download Firefox or WebKit."""
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        raise pytest.UsageError(f"Chromium is missing at {CHROMIUM}: apt-get install chromium "
                                "(or set HIVE_RESILIENCE_CHROMIUM to a Chromium binary)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


def pytest_configure(config: pytest.Config) -> None:
    """Refuse ``--browser firefox|webkit`` up front: the launch settings below are Chromium's binary."""
    unsupported = [name for name in (config.getoption("--browser", default=None) or []) if name not in SUPPORTED_BROWSERS]
    if unsupported:
        raise pytest.UsageError(f"--browser {unsupported[0]} is not supported: the suite drives Debian's Chromium "
                                f"only (apt-get install chromium); use --browser chromium or leave it out")
