"""The browser option: Chromium is the only browser the suite can launch, and it says so."""

from __future__ import annotations

import subprocess
import sys

from hive_resilience.paths import REPO_ROOT


def run_pytest(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only",
               "tests/test_browser_option.py", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_firefox_is_refused_with_a_usage_error_naming_chromium():
    result = run_pytest("--browser", "firefox")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "--browser firefox is not supported" in result.stderr
    assert "Traceback" not in result.stderr


def test_chromium_is_accepted():
    result = run_pytest("--browser", "chromium")
    assert result.returncode == 0, result.stdout + result.stderr
