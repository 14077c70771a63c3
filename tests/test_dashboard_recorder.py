"""``hive-resilience record-dashboard`` without its browser: one line and a non-zero exit, before Hive starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HIVE_RESILIENCE = [sys.executable, "-m", "hive_resilience.cli"]


def record(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HIVE_RESILIENCE, "record-dashboard", "--output", str(tmp_path / "recording.json"),
                           "--dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, **environment})


def test_a_missing_chromium_is_one_line_naming_the_binary_and_the_fix(tmp_path):
    result = record(tmp_path, HIVE_RESILIENCE_CHROMIUM=str(tmp_path / "no-chromium"))
    assert result.returncode == 1
    assert result.stderr == (f"hive-resilience: Chromium is missing at {tmp_path / 'no-chromium'}: apt-get install "
                             "chromium (or set HIVE_RESILIENCE_CHROMIUM to a Chromium binary)\n")
    assert not (tmp_path / "recording.json").exists() and not (tmp_path / "run").exists()


def test_a_missing_playwright_is_one_line_naming_the_install(tmp_path):
    # An empty package named playwright shadows the real one: ``playwright.sync_api`` cannot be imported.
    (tmp_path / "playwright").mkdir()
    (tmp_path / "playwright" / "__init__.py").write_text("")
    result = record(tmp_path, PYTHONPATH=str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == "hive-resilience: playwright is not installed: pip install -e '.[test]'\n"
