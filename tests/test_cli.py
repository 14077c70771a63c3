"""Bad input gets one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hive_resilience.paths import LOAD_DIR

HIVE_RESILIENCE = [sys.executable, "-m", "hive_resilience.cli"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*HIVE_RESILIENCE, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "nosuch"], "unknown scenario 'nosuch'; available:"),
        (["run", "smoke", "--duration", "soon"], "'soon' is not a duration"),
        (["run", "smoke", "--api-port", "70000"], "'70000' is not a port number"),
        (["target", "status", "--dir", "no-target-here"], "no embedded target was started in no-target-here"),
        (["run", "smoke", "--host", "http://127.0.0.1:9"], "give --mcp-host for a remote target"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_is_non_zero(tmp_path, args, expected):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_invalid_scenario_file_names_file_and_key(tmp_path, write_scenario):
    path = write_scenario("users: 1\nspawn_rate: 1\nduration: 1s\nslos: [{metric: p99_ms, max: -}]\n")
    result = run_cli("run", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and str(path) in result.stderr and "slos.0.max" in result.stderr


def test_locust_with_an_invalid_scenario_exits_with_the_same_message(tmp_path, write_scenario):
    path = write_scenario("users: 1\nspawn_rate: 1\nduration: 1s\nuserz: 1\n")
    result = subprocess.run([sys.executable, "-m", "locust", "-f", str(LOAD_DIR), "--headless", "--scenario", str(path)],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert f"hive-resilience: {path}: unknown key 'userz'" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_the_commands(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0 and all(word in result.stdout for word in ("run", "target", "scenarios"))
