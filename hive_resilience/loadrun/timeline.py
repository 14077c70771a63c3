"""The gate's own figures over time: ``timeline.json``, which the HTML report charts.

Locust's history CSV is bucketed (10 ms steps past 100 ms) and counts journeys in its
aggregate, so charts drawn from it disagree with the verdicts. The plugin also records every
request into a :class:`LatencyBook` of the current time window; when the window ends it keeps
only that window's figures per request key (requests, failures, p50/p95/p99 by latency.py's
one percentile rule), so memory stays one book however long the run. The window length comes
from the planned duration, so a run has at most :data:`MAX_WINDOWS` windows.

Those windows average a stall away: a 4 h soak's 48 s window hides a 3 s freeze every minute.
So the recorder also keeps a **tail view**: per request, p99.9 and max of every 1 s window (the
worker report interval when distributed, since the master hears of requests no more often),
stored compactly as parallel lists (to 0.1 ms) holding only the windows in which the request was made.
"""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hive_resilience.loadrun.latency import LatencyBook

TIMELINE_FILE = "timeline.json"
MAX_WINDOWS = 300
"""Windows per planned run: a 60 s run is charted per second, a 4 h soak per 48 s."""
OVERRUN_WINDOWS = 2 * MAX_WINDOWS
"""A run with no end (Locust's web UI) stops adding windows here and says the timeline is truncated."""
WINDOW_PERCENTILES = (50, 95, 99)
TAIL_WINDOW_S = 1.0
TAIL_PERCENTILE = 99.9


class TimelineError(ValueError):
    """A ``timeline.json`` that cannot be read; the message names the file."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WindowFigures(_Record):
    """One request key (or ``Aggregated``) in one window."""

    requests: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class Window(_Record):
    start_s: float
    """Seconds since the run started."""
    requests: dict[str, WindowFigures]


class TailSeries(_Record):
    """One request key's tail: the tail windows it was made in (their index, start ``index * tail_window_s``)
    with the p99.9 and the max of each, by latency.py's percentile rule."""

    window: list[int] = Field(default_factory=list)
    p999_ms: list[float] = Field(default_factory=list)
    max_ms: list[float] = Field(default_factory=list)


class Timeline(_Record):
    """The contents of ``timeline.json``."""

    started_at: float
    window_s: float
    windows: list[Window]
    truncated: bool = False
    tail_window_s: float | None = None
    """None in timelines written before the tail view."""
    tail: dict[str, TailSeries] = Field(default_factory=dict)


def window_s_for(planned_s: float, min_window_s: float) -> float:
    """The whole-second window that keeps a run of ``planned_s`` within :data:`MAX_WINDOWS` windows."""
    return float(max(math.ceil(min_window_s), math.ceil(planned_s / MAX_WINDOWS)))


class TimelineRecorder:
    """Per-window figures of the requests of one run, fed as they are measured."""

    def __init__(self, window_s: float, tail_window_s: float = TAIL_WINDOW_S) -> None:
        self.window_s = window_s
        self.tail_window_s = tail_window_s
        self.started_at: float | None = None
        self._windows: list[Window] = []
        self._book = LatencyBook()
        self._index = 0
        self._truncated = False
        self._tail_book = LatencyBook()
        self._tail_index = 0
        self._tail: dict[str, TailSeries] = {}

    def start(self, at: float) -> None:
        self.started_at = at
        self._windows.clear()
        self._book.clear()
        self._index = 0
        self._truncated = False
        self._tail_book.clear()
        self._tail_index = 0
        self._tail = {}

    def record(self, at: float, request_type: str, name: str, response_time_ms: float, failed: bool) -> None:
        if self._advance(at):
            self._book.record(request_type, name, response_time_ms, failed)
            self._tail_book.record(request_type, name, response_time_ms, failed)

    def merge(self, at: float, exported: dict[str, dict]) -> None:
        """A worker's measurements since its last report, counted in the window they arrived in."""
        if self._advance(at):
            self._book.merge(exported)
            self._tail_book.merge(exported)

    def timeline(self, at: float) -> Timeline:
        """Every window up to ``at``, the current one included."""
        assert self.started_at is not None, "start() was not called"
        self._advance(at)
        windows = list(self._windows)
        tail = {key: series.model_copy(deep=True) for key, series in self._tail.items()}
        if not self._truncated:
            windows.append(self._figures())
            self._close_tail_window(tail)
        return Timeline(started_at=self.started_at, window_s=self.window_s, windows=windows, truncated=self._truncated,
                        tail_window_s=self.tail_window_s, tail=dict(sorted(tail.items())))

    def _advance(self, at: float) -> bool:
        """Close the windows that ended before ``at`` (empty ones too: an outage is a window of
        nothing); whether ``at`` is still recorded."""
        if self.started_at is None or self._truncated:
            return False
        tail_index = max(0, int((at - self.started_at) // self.tail_window_s))
        if tail_index > self._tail_index:  # windows in between had no requests: nothing to keep of them
            self._close_tail_window(self._tail)
            self._tail_book.clear()
            self._tail_index = tail_index
        index = max(0, int((at - self.started_at) // self.window_s))
        while self._index < index:
            self._windows.append(self._figures())
            self._book.clear()
            self._index += 1
            if self._index >= OVERRUN_WINDOWS:
                self._truncated = True
                return False
        return True

    def _close_tail_window(self, tail: dict[str, TailSeries]) -> None:
        """Append the current tail window's p99.9 and max of each request key to ``tail``."""
        for key, tally in self._tail_book.tallies.items():
            series = tail.setdefault(key, TailSeries())
            series.window.append(self._tail_index)
            series.p999_ms.append(round(tally.percentile_ms(TAIL_PERCENTILE), 1))
            series.max_ms.append(round(tally.max_ms(), 1))

    def _figures(self) -> Window:
        return Window(start_s=self._index * self.window_s, requests={
            key: WindowFigures(requests=tally.requests, failures=tally.failures,
                               **{f"p{p}_ms": tally.percentile_ms(p) for p in WINDOW_PERCENTILES})
            for key, tally in sorted(self._book.tallies.items())
        })


def write_timeline(run_dir: Path, timeline: Timeline) -> Path:
    path = Path(run_dir) / TIMELINE_FILE
    path.write_text(timeline.model_dump_json())
    return path


def read_timeline(path: Path) -> Timeline:
    """A ``timeline.json``; raises TimelineError naming the file otherwise."""
    try:
        return Timeline.model_validate_json(Path(path).read_bytes())
    except (OSError, ValidationError) as error:
        raise TimelineError(f"{path}: not a timeline: {str(error).splitlines()[0]}") from None
