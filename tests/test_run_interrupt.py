"""Ctrl-C on `hive-resilience run`: Locust is interrupted once, still reports, and nothing is left.

Runs against loopback ports where nothing listens (every request fails at once), so it needs
no Hive; the verdict is therefore FAIL, and what matters is that there is one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from hive_resilience.processes import wait_until_dead
from hive_resilience.target.embedded import LOOPBACK, free_port

STARTED_TIMEOUT_S = 60
STOPPED_TIMEOUT_S = 90
LOCUST_RUNNING = ("Ramping to", "Sending spawn jobs")
"""Lines a standalone Locust or a master logs once users start: from then on SIGINT is its Ctrl-C path."""


@pytest.mark.parametrize("workers", [0, 2], ids=["standalone", "distributed"])
def test_ctrl_c_interrupts_locust_once_it_still_gives_a_verdict_and_leaves_no_process(tmp_path, workers):
    nowhere = f"http://{LOOPBACK}:{free_port()}"
    argv = [sys.executable, "-m", "hive_resilience.cli", "run", "smoke", "--duration", "60s", "--host", nowhere,
            "--mcp-host", nowhere, *(["--workers", str(workers)] if workers else [])]
    # A session of its own stands for the terminal's foreground group, which Ctrl-C signals as a whole.
    run = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    output: list[str] = []
    locust_running = threading.Event()

    def read() -> None:
        for line in run.stdout:
            output.append(line)
            if any(marker in line for marker in LOCUST_RUNNING):
                locust_running.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert locust_running.wait(STARTED_TIMEOUT_S), "".join(output)[-3000:]
        locust_processes = psutil.Process(run.pid).children(recursive=True)
        assert len(locust_processes) == 1 + workers
        interrupted_at = time.monotonic()
        os.killpg(run.pid, signal.SIGINT)
        exit_code = run.wait(timeout=STOPPED_TIMEOUT_S)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=10)
    reader.join(timeout=10)
    text = "".join(output)
    assert time.monotonic() - interrupted_at < 40, "the run went on after Ctrl-C"
    assert exit_code == 130 and "hive-resilience: interrupted" in text, text[-3000:]
    assert text.count("RESULT: FAIL") == 1, text[-3000:]
    (summary_path,) = tmp_path.glob("reports/*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["completed"] is False and "interrupted" in summary["incomplete_reason"]
    assert "<error" in (summary_path.parent / "junit.xml").read_text()
    assert all(wait_until_dead(process, timeout_s=1) for process in locust_processes)
