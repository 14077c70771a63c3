"""A user class that exists only as a new file in the locustfile folder can be named in a
scenario and runs: deriving from ScenarioUser is the whole contract (Locust in a subprocess)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hive_resilience.paths import LOAD_DIR

NOOP_USER = '''
    """A user that touches no network: each task is one request entry of 1 ms."""

    from locust import task

    from hive_resilience.loadrun.users import ScenarioUser


    class NoopUser(ScenarioUser):
        host = "http://127.0.0.1:9"

        @task
        def tick(self) -> None:
            self.environment.events.request.fire(request_type="NOOP", name="tick", response_time=1.0,
                                                 response_length=0, exception=None, context={})
'''


@pytest.fixture
def locustfiles(tmp_path: Path) -> Path:
    """The suite's shape beside one new user file: the folder ``locust -f`` gets."""
    folder = tmp_path / "load"
    folder.mkdir()
    shutil.copy(LOAD_DIR / "shape.py", folder / "shape.py")
    (folder / "noop_user.py").write_text(textwrap.dedent(NOOP_USER))
    return folder


def run_locust(locustfiles: Path, scenario: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfiles), "--headless", "--only-summary",
         "--scenario", str(scenario), "--report-dir", str(cwd / "report")],
        check=False, capture_output=True, text=True, timeout=120, cwd=cwd,
    )


def test_a_user_class_from_a_new_file_runs_under_its_scenario(tmp_path, locustfiles, write_scenario):
    scenario = write_scenario(
        "stages: [{duration: 3s, users: 2, spawn_rate: 2}]\n"
        "inconclusive: pass\n"  # 3 s proves the class runs, too few samples to decide a p99
        "user_classes:\n  NoopUser: {weight: 1, wait_s: [0.05, 0.1]}\n"
        "slos:\n  - {metric: requests, request: NOOP tick, min: 5}\n"
    )
    result = run_locust(locustfiles, scenario, tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["targets"] == {"NoopUser": "http://127.0.0.1:9"}


def test_a_class_missing_from_the_locustfiles_is_one_line_naming_those_found(tmp_path, locustfiles, write_scenario):
    scenario = write_scenario("users: 1\nspawn_rate: 1\nduration: 2s\nuser_classes:\n  HiveApiUser: {weight: 1}\n")
    result = run_locust(locustfiles, scenario, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = next(line for line in result.stderr.splitlines() if line.startswith("hive-resilience:"))
    assert "'HiveApiUser'" in line and str(locustfiles) in line and line.endswith(": NoopUser")
