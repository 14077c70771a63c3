"""A hung test fails with a traceback instead of eating the CI budget (pytest-timeout)."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from hive_resilience.paths import REPO_ROOT


def test_every_test_is_bounded_by_the_thread_method():
    options = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["timeout_method"] == "thread"
    assert 900 < options["timeout"] <= 1800


def test_a_hanging_test_fails_with_its_stack(tmp_path):
    (tmp_path / "test_hang.py").write_text("import time\n\ndef test_hangs():\n    time.sleep(60)\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "timeout=2",
                           "--rootdir", str(tmp_path), "-c", str(REPO_ROOT / "pyproject.toml"), str(tmp_path)],
                          check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "+ Timeout +" in output and "Stack of MainThread" in output and "test_hangs" in output and "time.sleep(60)" in output
