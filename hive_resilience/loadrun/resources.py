"""Memory and CPU of the embedded target's processes, sampled during a run.

Leaks show up as a failed SLO, not as a surprise in production: a thread samples RSS and
CPU of every target process (children included) into ``resources.csv`` in the run folder,
and the gate turns the samples into peak RSS, RSS growth per hour and per session created, for the
whole target and for each of Hive, the tools server and the LLM stub on its own.
"""

from __future__ import annotations

import csv
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

COLUMNS = ("timestamp", "component", "rss_bytes", "cpu_percent")
SAMPLE_INTERVAL_S = 2.0
MIN_SPAN_FOR_GROWTH_S = 10.0
WARMUP_FRACTION = 0.2
"""Growth ignores the first fifth of the run: lazy loading and caches filling are not leaks."""
SESSIONS_CREATED_KEY = "POST /api/sessions"
"""HiveApiUser's session creations in the book: the Hive sessions growth is attributed to."""
MCP_SESSIONS_OPENED_KEY = "POST mcp initialize"
"""McpToolsUser's session openings in the book: the MCP sessions the tools server's growth is attributed to."""


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


@dataclass(frozen=True)
class ComponentGrowth:
    """One sampled component of the embedded target with its own RSS figures, and the sessions its growth is
    attributed to: Hive grows with the Hive sessions created, the tools server with the MCP sessions opened."""

    component: str
    """Its name in ``resources.csv`` (:meth:`EmbeddedTarget.processes`)."""
    label: str
    """Its name for people, in metric labels and the report."""
    prefix: str
    """What its figures are called: ``<prefix>_rss_mb``, ``<prefix>_rss_growth_mb_per_hour``..."""
    sessions: Literal["session", "mcp_session"] | None
    """Which sessions its growth per session divides by; None: no per-session figure."""

    @property
    def figure_names(self) -> tuple[str, ...]:
        names = (f"{self.prefix}_rss_mb", f"{self.prefix}_rss_growth_mb_per_hour")
        return names + ((f"{self.prefix}_rss_growth_kb_per_{self.sessions}",) if self.sessions else ())


COMPONENT_GROWTH = (
    ComponentGrowth("hive-api", "Hive", "hive", "session"),
    ComponentGrowth("tools", "tools server", "tools", "mcp_session"),
    ComponentGrowth("llm-stub", "LLM stub", "llm_stub", None),
)
"""The components whose growth is measured on its own, so a leak is pinned on the process that leaks."""


def resource_figures(samples: list[dict], sessions_created: int, mcp_sessions_opened: int = 0) -> dict[str, float | None]:
    """Peak RSS, RSS growth per hour (least-squares slope) and per session, of the whole target and of
    each component of :data:`COMPONENT_GROWTH`, for the SLO gate.

    Growth is measured after warm-up and needs samples spanning at least ten seconds there;
    figures that cannot be computed are None, and an SLO on them fails rather than passing
    unmeasured. Sessions are assumed spread evenly over the run.
    """
    totals: dict[float, int] = defaultdict(int)
    for sample in samples:
        totals[sample["timestamp"]] += sample["rss_bytes"]
    figures = dict(zip(("rss_mb", "rss_growth_mb_per_hour", "rss_growth_kb_per_session"),
                       _growth(sorted(totals.items()), sessions_created), strict=True))
    sessions = {"session": sessions_created, "mcp_session": mcp_sessions_opened}
    for growth in COMPONENT_GROWTH:
        points = sorted((s["timestamp"], s["rss_bytes"]) for s in samples if s["component"] == growth.component)
        measured = _growth(points, sessions[growth.sessions] if growth.sessions else 0)
        figures.update(zip(growth.figure_names, measured, strict=False))
    return figures


def _growth(points: list[tuple[float, int]], sessions: int) -> tuple[float | None, float | None, float | None]:
    """(peak MB, growth MB per hour, growth KB per session) of one RSS series; None where it cannot be measured."""
    if not points:
        return None, None, None
    peak_mb = max(rss for _, rss in points) / 2**20
    warm_from = points[0][0] + (points[-1][0] - points[0][0]) * WARMUP_FRACTION
    steady = [point for point in points if point[0] >= warm_from]
    if len(steady) < 3 or steady[-1][0] - steady[0][0] < MIN_SPAN_FOR_GROWTH_S:
        return peak_mb, None, None
    growth_bytes_per_s, _ = least_squares(steady)
    per_session = None
    if sessions > 0:
        # Sessions are spread over the whole run; count those made after warm-up.
        per_session = growth_bytes_per_s * (steady[-1][0] - steady[0][0]) / 1024 / (sessions * (1 - WARMUP_FRACTION))
    return peak_mb, growth_bytes_per_s * 3600 / 2**20, per_session


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


def least_squares(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line through ``points``; a flat line when x does not vary."""
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    return slope, mean_y - slope * mean_x
