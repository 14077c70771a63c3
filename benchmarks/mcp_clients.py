"""Calls per generator-core-second of three clients against the embedded tools server.

Measured in one run, at the same concurrency, on this machine:
  1. the suite's McpToolsUser (Locust FastHttpSession + our MCP protocol), tools/call only;
  2. the official ``mcp`` SDK client (asyncio, one ClientSession per simulated user);
  3. a plain Locust FastHttpUser on ``GET /health``, the floor of what Locust can do.
For each it prints calls per second, generator CPU and calls per generator-core-second, then
the ratios. Absolute numbers swing +-30 % between runs on shared machines; the ratios are
what to compare. Usage: python benchmarks/mcp_clients.py [--users 10] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import psutil
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from hive_resilience.loadrun.locust_process import (
    LOAD_DIR,
    LocustCommand,
    LocustProcess,
)
from hive_resilience.target.embedded import EmbeddedTarget, free_ports
from hive_resilience.target.offline_tools import OFFLINE_TOOL_CALLS

HERE = Path(__file__).resolve().parent
START_MARKER = "Ramping to"
END_MARKER = "--run-time limit reached"
LOCUST_EXIT_ALLOWANCE_S = 60
"""Beyond its run time, how long Locust may take to ramp up, stop and write its stats."""


@dataclass
class Measurement:
    client: str
    calls: int
    failures: int
    wall_s: float
    cpu_s: float

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.wall_s

    @property
    def cpu_percent(self) -> float:
        return 100 * self.cpu_s / self.wall_s

    @property
    def calls_per_core_s(self) -> float:
        return self.calls / self.cpu_s


def measure_locust(client: str, command: LocustCommand, count_prefix: str) -> Measurement:
    """Run Locust; CPU and wall time are taken between its ramp-up and run-time-limit lines."""
    with tempfile.TemporaryDirectory() as scratch:
        json_file = Path(scratch) / "stats"  # Locust appends .json
        marks: dict[str, tuple[float, float]] = {}

        def mark(line: str) -> None:
            # Locust prints its markers seconds after it starts, long after ``watched`` is set.
            for name, marker in (("start", START_MARKER), ("end", END_MARKER)):
                if name not in marks and marker in line:
                    marks[name] = (time.monotonic(), sum(watched.cpu_times()[:2]))

        with LocustProcess(replace(command, json_file=json_file), Path(scratch) / "locust.log", on_line=mark,
                           cwd=Path(scratch)) as locust:
            watched = psutil.Process(locust.pid)
            try:
                exit_code = locust.wait(command.run_time_s + LOCUST_EXIT_ALLOWANCE_S)
            except subprocess.TimeoutExpired:
                raise SystemExit(f"{client}: Locust still ran {LOCUST_EXIT_ALLOWANCE_S} s after its run time") from None
        if "start" not in marks or "end" not in marks:
            raise SystemExit(f"{client}: Locust did not report its start and end (exit {exit_code})")
        stats = [row for row in json.loads(json_file.with_suffix('.json').read_text()) if row["name"].startswith(count_prefix)]
    (start_s, start_cpu_s), (end_s, end_cpu_s) = marks["start"], marks["end"]
    return Measurement(client, sum(r["num_requests"] for r in stats), sum(r["num_failures"] for r in stats),
                       end_s - start_s, end_cpu_s - start_cpu_s)


@dataclass
class Window:
    """The measured window shared by the SDK sessions: all warmed up, then start, then stop."""

    ready: asyncio.Barrier
    start: asyncio.Event
    stop: asyncio.Event
    calls: int = 0
    failures: int = 0


async def sdk_user(url: str, window: Window) -> None:
    async with streamable_http_client(url) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        await session.call_tool("get_current_time", {})  # its first call fetches tools/list: keep it out
        await window.ready.wait()
        await window.start.wait()
        while not window.stop.is_set():
            tool, arguments = random.choice(OFFLINE_TOOL_CALLS)
            result = await session.call_tool(tool, arguments)
            if not window.stop.is_set():
                window.calls += not result.isError
                window.failures += bool(result.isError)


async def measure_sdk(url: str, users: int, seconds: int) -> Measurement:
    window = Window(asyncio.Barrier(users + 1), asyncio.Event(), asyncio.Event())
    tasks = [asyncio.create_task(sdk_user(url, window)) for _ in range(users)]
    await asyncio.wait_for(window.ready.wait(), timeout=60)
    started, cpu_started = time.monotonic(), time.process_time()
    window.start.set()
    await asyncio.sleep(seconds)
    window.stop.set()
    wall_s, cpu_s = time.monotonic() - started, time.process_time() - cpu_started
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    return Measurement("mcp SDK ClientSession", window.calls, window.failures, wall_s, cpu_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10, help="concurrent users/sessions (default 10)")
    parser.add_argument("--seconds", type=int, default=15, help="measured seconds per client (default 15)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as run_dir, EmbeddedTarget(Path(run_dir), free_ports()) as target:
        print(f"tools server {target.mcp_url}; {args.users} users; {args.seconds} s each; {psutil.cpu_count()} cores")
        load = LocustCommand(host=target.mcp_url, users=args.users, spawn_rate=args.users, run_time_s=args.seconds)
        measurements = [
            measure_locust("McpToolsUser tools/call", replace(
                load, locustfile=LOAD_DIR / "mcp_tools.py", scenario=str(HERE / "mcp-throughput.yaml"),
                mcp_host=target.mcp_url, tags=("tools-call",), report_dir=Path(run_dir) / "report"), "mcp tools/call"),
            asyncio.run(measure_sdk(target.mcp_url + "/mcp", args.users, args.seconds)),
            measure_locust("FastHttpUser GET /health", replace(load, locustfile=HERE / "health_locustfile.py"), "/health"),
        ]
    print(f"{'client':<26} {'calls':>7} {'fails':>5} {'calls/s':>8} {'gen CPU':>8} {'calls/core-s':>13}")
    for m in measurements:
        print(f"{m.client:<26} {m.calls:>7} {m.failures:>5} {m.calls_per_s:>8.0f} {m.cpu_percent:>7.0f}% {m.calls_per_core_s:>13.0f}")
    ours, sdk, health = measurements
    print(f"McpToolsUser / SDK client, calls per generator-core-second: {ours.calls_per_core_s / sdk.calls_per_core_s:.1f}x")
    print(f"McpToolsUser / SDK client, calls per second:                {ours.calls_per_s / sdk.calls_per_s:.1f}x")
    print(f"McpToolsUser / FastHttpUser GET /health, calls per core-s:  {ours.calls_per_core_s / health.calls_per_core_s:.2f}x")


if __name__ == "__main__":
    main()
