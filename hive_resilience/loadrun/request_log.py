"""Every request of a load run with its time, for figures over arbitrary windows.

Chaos experiments ask "what did users feel?" before, during and after a fault, so the load
that runs beside them logs each request (wall-clock end time, type, name, response time,
outcome) and the windows are cut afterwards. A window's percentiles follow the gate's rule
(:class:`~hive_resilience.loadrun.latency.RequestTally`), so a phase's p99 and the run's
gated p99 are the same measure.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE, RequestTally

COLUMNS = ("timestamp", "request_type", "name", "response_time_ms", "failed")


@dataclass(frozen=True)
class LoggedRequest:
    timestamp: float
    request_type: str
    name: str
    response_time_ms: float
    failed: bool


class RequestLogWriter:
    """Appends requests to a CSV file; ``flush()`` makes them visible to readers."""

    def __init__(self, path: Path) -> None:
        self._handle: TextIO = open(path, "w", newline="")  # noqa: SIM115  (open for the whole run, closed by close())
        self._writer = csv.writer(self._handle)
        self._writer.writerow(COLUMNS)

    def add(self, timestamp: float, request_type: str, name: str, response_time_ms: float, failed: bool) -> None:
        self._writer.writerow((f"{timestamp:.3f}", request_type, name, f"{response_time_ms:.3f}", int(failed)))

    def flush(self) -> None:
        if not self._handle.closed:
            self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def read_request_log(path: Path) -> list[LoggedRequest]:
    """Every complete row; a log still being written may end in a half-written line, left out."""
    text = path.read_text()
    complete = text[: text.rfind("\n") + 1]
    return [
        LoggedRequest(float(row["timestamp"]), row["request_type"], row["name"],
                      float(row["response_time_ms"]), row["failed"] == "1")
        for row in csv.DictReader(io.StringIO(complete, newline=""))
    ]


def window_figures(requests: list[LoggedRequest], start: float, end: float) -> dict:
    """RPS, error ratio and p50/p95/p99 of the HTTP requests that ended in [start, end)."""
    inside = RequestTally()
    replies = [r for r in requests if start <= r.timestamp < end and r.request_type == JOURNEY_REQUEST_TYPE]
    for r in requests:
        if start <= r.timestamp < end and r.request_type != JOURNEY_REQUEST_TYPE:
            inside.record(r.response_time_ms, r.failed)
    span_s = max(end - start, 1e-9)
    return {
        "start": start,
        "end": end,
        "requests": inside.requests,
        "failures": inside.failures,
        "rps": inside.requests / span_s,
        "error_ratio": inside.error_ratio,
        "p50_ms": inside.percentile_ms(50),
        "p95_ms": inside.percentile_ms(95),
        "p99_ms": inside.percentile_ms(99),
        "replies": len(replies),
        "reply_failures": sum(r.failed for r in replies),
    }


def whole_run_failures(phases: dict[str, dict]) -> tuple[int, int]:
    """Failed HTTP requests and failed chat replies summed over every phase's figures."""
    return (sum(phase["failures"] for phase in phases.values()),
            sum(phase["reply_failures"] for phase in phases.values()))

