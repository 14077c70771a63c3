"""Memory and CPU of the embedded target's processes, sampled during a run.

Leaks show up as a failed SLO, not as a surprise in production: a thread samples RSS and
CPU of every target process (children included) into ``resources.csv`` in the run folder,
and the gate turns the samples into peak RSS, RSS growth per hour and per session created.
"""

from __future__ import annotations

import csv
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

import psutil

COLUMNS = ("timestamp", "component", "rss_bytes", "cpu_percent")
SAMPLE_INTERVAL_S = 2.0
MIN_SPAN_FOR_GROWTH_S = 10.0
WARMUP_FRACTION = 0.2
"""Growth ignores the first fifth of the run: lazy loading and caches filling are not leaks."""


class ResourceSampler:
    """Samples ``processes()`` every ``interval_s`` into a CSV file until stopped."""

    def __init__(self, processes: Callable[[], dict[str, list[psutil.Process]]], csv_path: Path,
                 interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.processes = processes
        self.csv_path = Path(csv_path)
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)
        self._known: dict[int, psutil.Process] = {}

    def __enter__(self) -> ResourceSampler:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)

    def _run(self) -> None:
        with open(self.csv_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            while True:
                for row in self.sample():
                    writer.writerow(row)
                handle.flush()
                if self._stop.wait(self.interval_s):
                    break

    def sample(self) -> list[tuple]:
        """One row per component: summed RSS and CPU of its processes right now."""
        now = time.time()
        rows = []
        for component, processes in self.processes().items():
            rss_bytes, cpu_percent = 0, 0.0
            for process in processes:
                # cpu_percent needs the same Process object across calls to measure an interval.
                known = self._known.setdefault(process.pid, process)
                try:
                    rss_bytes += known.memory_info().rss
                    cpu_percent += known.cpu_percent(None)
                except psutil.NoSuchProcess:
                    self._known.pop(process.pid, None)
            rows.append((f"{now:.3f}", component, rss_bytes, f"{cpu_percent:.1f}"))
        return rows


def read_samples(csv_path: Path) -> list[dict]:
    with open(csv_path, newline="") as handle:
        return [
            {"timestamp": float(row["timestamp"]), "component": row["component"],
             "rss_bytes": int(row["rss_bytes"]), "cpu_percent": float(row["cpu_percent"])}
            for row in csv.DictReader(handle)
        ]


def resource_figures(samples: list[dict], sessions_created: int) -> dict[str, float | None]:
    """Peak RSS, RSS growth per hour (least-squares slope) and per session, for the SLO gate.

    Growth is measured after warm-up and needs samples spanning at least ten seconds there;
    figures that cannot be computed are None, and an SLO on them fails rather than passing
    unmeasured. Sessions are assumed spread evenly over the run.
    """
    totals: dict[float, int] = defaultdict(int)
    for sample in samples:
        totals[sample["timestamp"]] += sample["rss_bytes"]
    points = sorted(totals.items())
    if not points:
        return {"rss_mb": None, "rss_growth_mb_per_hour": None, "rss_growth_kb_per_session": None}
    peak_mb = max(rss for _, rss in points) / 2**20
    warm_from = points[0][0] + (points[-1][0] - points[0][0]) * WARMUP_FRACTION
    steady = [point for point in points if point[0] >= warm_from]
    growth_per_hour = growth_per_session = None
    if len(steady) >= 3 and steady[-1][0] - steady[0][0] >= MIN_SPAN_FOR_GROWTH_S:
        growth_bytes_per_s = _slope(steady)
        growth_per_hour = growth_bytes_per_s * 3600 / 2**20
        if sessions_created > 0:
            # Sessions are spread over the whole run; count those made after warm-up.
            steady_sessions = sessions_created * (1 - WARMUP_FRACTION)
            growth_per_session = growth_bytes_per_s * (steady[-1][0] - steady[0][0]) / 1024 / steady_sessions
    return {"rss_mb": peak_mb, "rss_growth_mb_per_hour": growth_per_hour, "rss_growth_kb_per_session": growth_per_session}


def per_component_summary(samples: list[dict]) -> dict[str, dict[str, float]]:
    """Peak RSS and mean/peak CPU of each component, for the report."""
    by_component: dict[str, list[dict]] = defaultdict(list)
    for sample in samples:
        by_component[sample["component"]].append(sample)
    return {
        component: {
            "rss_mb_peak": max(s["rss_bytes"] for s in rows) / 2**20,
            "cpu_percent_mean": sum(s["cpu_percent"] for s in rows) / len(rows),
            "cpu_percent_peak": max(s["cpu_percent"] for s in rows),
        }
        for component, rows in by_component.items()
    }


def _slope(points: list[tuple[float, int]]) -> float:
    """Least-squares slope in bytes per second."""
    count = len(points)
    mean_t = sum(t for t, _ in points) / count
    mean_v = sum(v for _, v in points) / count
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread if spread else 0.0
