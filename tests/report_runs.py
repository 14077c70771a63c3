"""Run folders as the load plugin, the chaos control and the E2E suite write them, for report tests."""

from __future__ import annotations

import json
from pathlib import Path

HISTORY_HEADER = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"


def load_run(root: Path, name: str, p99_status: str = "pass") -> Path:
    run = root / name
    run.mkdir(parents=True)
    slos = [
        {"label": "p99_ms <= 2000 (Aggregated)", "metric": "p99_ms", "request": "Aggregated", "threshold": 2000,
         "bound": "max", "measured": 400.0 if p99_status == "pass" else 2500.0, "status": p99_status, "detail": ""},
        {"label": "error_ratio <= 0.05 (Aggregated)", "metric": "error_ratio", "request": "Aggregated", "threshold": 0.05,
         "bound": "max", "measured": 0.0, "status": "pass", "detail": ""},
    ]
    summary = {"scenario": {"name": "smoke", "compressed_from_s": 60}, "duration_s": 60.0, "report_dir": str(run),
               "passed": p99_status == "pass", "warnings": [],
               "slos": slos, "requests": [{"name": "Aggregated", "requests": 10, "failures": 0, "p50_ms": 5.0,
                                            "p95_ms": 100.0, "p99_ms": 400.0, "rps": 2.0, "error_ratio": 0.0}]}
    (run / "summary.json").write_text(json.dumps(summary))
    rows = [f"{1000 + t},10,,Aggregated,{5 + t % 3},0,5,6,7,8,9,10,11,12,13,14,15" for t in range(20)]
    (run / "locust_stats_history.csv").write_text("\n".join([HISTORY_HEADER, *rows]) + "\n")
    return run


def chaos_run(root: Path, name: str, tags: list[str], deviated: bool = False, sessions_lost: int = 0) -> Path:
    run = root / name
    (run / "load").mkdir(parents=True)
    journal = {
        "experiment": {"title": name, "tags": tags}, "status": "completed", "deviated": deviated,
        "steady_states": {"after": {"probes": [{"activity": {"provider": {"func": "sessions_lost"}},
                                               "status": "succeeded", "output": sessions_lost}]}},
        "run": [{"activity": {"provider": {"func": "time_to_recover"}}, "status": "succeeded", "output": 3.2}],
        "hive_resilience": {"load": {"report_dir": str(run / "load"), "phases": {
            "baseline": {"start": 1000, "end": 1005, "requests": 50, "rps": 10, "error_ratio": 0, "p95_ms": 100, "p99_ms": 200},
            "during_fault": {"start": 1005, "end": 1010, "requests": 40, "rps": 8, "error_ratio": 0.2, "p95_ms": 900, "p99_ms": 999},
            "after_recovery": {"start": 1010, "end": 1019, "requests": 90, "rps": 10, "error_ratio": 0, "p95_ms": 100, "p99_ms": 200}}}},
    }
    (run / "journal.json").write_text(json.dumps(journal))
    rows = [f"{1000 + t},6,,Aggregated,10,{4 if 5 <= t < 10 else 0},5,6,7,8,9,10,11,12,13,14,15" for t in range(20)]
    (run / "load" / "locust_stats_history.csv").write_text("\n".join([HISTORY_HEADER, *rows]) + "\n")
    return run


def e2e_run(root: Path) -> Path:
    run = root / "e2e"
    run.mkdir(parents=True)
    failed = run / "test-broken"
    failed.mkdir()
    (failed / "test-failed-1.png").write_bytes(b"\x89PNG")
    results = [
        {"test": "test_reply", "outcome": "passed", "known_defect": None, "duration_s": 4.2,
         "timings": {"time-to-reply": 1.7}, "artifacts": None},
        {"test": "test_broken", "outcome": "failed", "known_defect": None, "duration_s": 9.0, "timings": {},
         "artifacts": str(failed)},
        {"test": "test_outage_error", "outcome": "xfailed", "known_defect": "spinner only", "duration_s": 50.0,
         "timings": {}, "artifacts": None},
    ]
    (run / "results.json").write_text(json.dumps(results))
    return run
