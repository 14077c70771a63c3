"""A canary desktop token reaches the Hive API and nothing else: no other process, no report file.

The real Hive enforces ``X-Hive-Token`` on every route when it has ``HIVE_DESKTOP_TOKEN``, so a
run that works proves the Hive calls carry it; the environments of the target's processes and
every file the runs write prove nothing else holds it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from hive_resilience.clients import http_client
from hive_resilience.clients.hive_events import TOKEN_ENV
from hive_resilience.paths import REPO_ROOT
from hive_resilience.target.embedded import EmbeddedTarget, free_ports

pytestmark = pytest.mark.embedded

CANARY = f"canary-{secrets.token_hex(8)}"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def canary_target(tmp_path_factory) -> EmbeddedTarget:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TOKEN_ENV, CANARY)
        with EmbeddedTarget(tmp_path_factory.mktemp("canary-target"), free_ports(), fault_proxy=True) as target:
            yield target


def holding_the_canary(root: Path) -> list[str]:
    return [str(path) for path in root.rglob("*") if path.is_file() and CANARY.encode() in path.read_bytes()]


def environment_holds_the_canary(pid: int) -> bool:
    return CANARY.encode() in Path(f"/proc/{pid}/environ").read_bytes()


def test_only_the_hive_api_processes_hold_the_token(canary_target):
    holders = {component: [environment_holds_the_canary(process.pid) for process in tree]
               for component, tree in canary_target.processes().items()}
    assert set(holders) == set(canary_target.components)
    assert holders.pop("hive-api")[0], "Hive itself needs the token"
    assert not any(any(held) for held in holders.values()), holders


def test_a_smoke_run_and_a_chaos_run_reach_hive_with_the_token_and_write_it_nowhere(canary_target, tmp_path):
    env = {**os.environ, TOKEN_ENV: CANARY, "HIVE_RESILIENCE_TARGET_DIR": str(canary_target.run_dir)}
    smoke = subprocess.run([str(BIN / "hive-resilience"), "run", "smoke", "--duration", "15s",
                            "--host", canary_target.api_url, "--mcp-host", canary_target.mcp_url],
                           check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    chaos = subprocess.run([str(BIN / "chaos"), "--no-version-check", "run", "--journal-path",
                            str(tmp_path / "journal.json"), str(REPO_ROOT / "chaos" / "experiments" / "local" / "llm-slow.yaml")],
                           check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    assert chaos.returncode == 0, chaos.stderr[-3000:]
    assert "HTTP 401" not in smoke.stdout + smoke.stderr and "unauthorized" not in smoke.stdout + smoke.stderr
    assert list((tmp_path / "reports").glob("*-smoke")), smoke.stdout[-2000:] + smoke.stderr[-2000:]
    assert CANARY not in smoke.stdout + smoke.stderr + chaos.stdout + chaos.stderr
    assert holding_the_canary(tmp_path) == []
    assert holding_the_canary(canary_target.run_dir) == []
    requests = http_client.call("GET", f"{canary_target.llm_url}/admin/requests", timeout_s=30)
    assert requests.status == 200 and CANARY.encode() not in requests.body
