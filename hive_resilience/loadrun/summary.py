"""What a run leaves behind in ``reports/<timestamp>-<scenario>/`` besides Locust's own files.

``summary.json`` is the machine-readable record (scenario, target, per-request exact figures,
generator CPU, target resources, SLO verdicts); ``junit.xml`` has one test case per SLO so a
CI system shows which promise broke; ``verdict_lines`` is what the console prints.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from xml.etree import ElementTree

from hive_resilience.loadrun.latency import LatencyBook
from hive_resilience.loadrun.scenario import AGGREGATED
from hive_resilience.loadrun.slo import SloVerdict

REPORTS_DIR = Path("reports")
SUMMARY_FILE = "summary.json"
JUNIT_FILE = "junit.xml"
GENERATOR_SATURATED_PERCENT = 90.0
"""Locust uses one core per process; above this mean CPU the generator, not Hive, set the pace."""


def new_run_dir(scenario_name: str, base: Path = REPORTS_DIR) -> Path:
    """A fresh ``<base>/<UTC timestamp>-<scenario>`` folder; never reuses an existing one."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", scenario_name)
    for suffix in ["", *(f"-{n}" for n in range(2, 100))]:
        run_dir = base / f"{stamp}-{safe_name}{suffix}"
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a new run folder under {base}")


def request_rows(book: LatencyBook, duration_s: float) -> list[dict]:
    """Exact per-request figures, aggregate last, as the report and the gate see them."""
    rows = []
    for key, tally in sorted(book.tallies.items(), key=lambda item: (item[0] == "Aggregated", item[0])):
        rows.append(
            {
                "name": key,
                "requests": tally.requests,
                "failures": tally.failures,
                "error_ratio": tally.error_ratio,
                "rps": tally.requests / duration_s if duration_s > 0 else None,
                "p50_ms": tally.percentile_ms(50),
                "p95_ms": tally.percentile_ms(95),
                "p99_ms": tally.percentile_ms(99),
                "max_ms": tally.max_ms(),
            }
        )
    return rows


def generator_figures(cpu_samples: list[float]) -> dict:
    mean = sum(cpu_samples) / len(cpu_samples) if cpu_samples else None
    return {
        "cpu_percent_mean": mean,
        "cpu_percent_max": max(cpu_samples) if cpu_samples else None,
        "samples": len(cpu_samples),
        "saturated": bool(mean is not None and mean >= GENERATOR_SATURATED_PERCENT),
    }


def worker_figures(requests_by_name: dict[str, int], cpu_samples: list[float]) -> dict:
    """One Locust worker's own totals and CPU, as it reported them to the master."""
    return {
        "requests": requests_by_name.get(AGGREGATED, 0),
        "requests_by_name": dict(sorted(requests_by_name.items())),
        **generator_figures(cpu_samples),
    }


def saturation_warnings(generator: dict, workers: dict[str, dict]) -> list[str]:
    """A warning per load generator process that saturated its core: each worker's own, or the only process's.

    Judged per worker because each Locust process has one core: pooled over workers, one
    saturated worker averages out with idle ones and its pace goes unnoticed.
    """
    processes = {f"Locust worker {worker_id}": figures for worker_id, figures in workers.items()} if workers else {
        "the load generator": generator}
    return [
        f"{name} averaged {figures['cpu_percent_mean']:.0f} % of a core: it, not the target, may have set the pace "
        "(use more Locust workers or a bigger machine)"
        for name, figures in processes.items()
        if figures["saturated"]
    ]


def write_summary(run_dir: Path, summary: dict) -> Path:
    path = Path(run_dir) / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2, default=str))
    return path


def write_junit(run_dir: Path, suite_name: str, verdicts: list[SloVerdict]) -> Path:
    """One test case per SLO: failed ones carry measured vs threshold, unmeasured ones are skipped."""
    suite = ElementTree.Element(
        "testsuite",
        name=f"slo.{suite_name}",
        tests=str(len(verdicts)),
        failures=str(sum(v.status == "fail" for v in verdicts)),
        skipped=str(sum(v.status == "not measured" for v in verdicts)),
    )
    for verdict in verdicts:
        case = ElementTree.SubElement(suite, "testcase", classname=f"slo.{suite_name}", name=verdict.label)
        if verdict.status == "fail":
            ElementTree.SubElement(case, "failure", message=verdict.line()).text = verdict.line()
        elif verdict.status == "not measured":
            ElementTree.SubElement(case, "skipped", message=verdict.detail)
    path = Path(run_dir) / JUNIT_FILE
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    return path


def verdict_lines(summary: dict) -> list[str]:
    """The console verdict: one line per SLO, warnings, the overall result and the report folder."""
    lines = [f"SLO verdicts for scenario {summary['scenario']['name']!r}"
             + (f" (compressed from {summary['scenario']['compressed_from_s']:.0f} s)" if summary["scenario"].get("compressed_from_s") else "")
             + ":"]
    lines += [f"  {SloVerdict(**verdict).line()}" for verdict in summary["slos"]]
    lines += [f"WARNING: {warning}" for warning in summary.get("warnings", [])]
    lines.append(f"RESULT: {'PASS' if summary['passed'] else 'FAIL'} - report in {summary['report_dir']}")
    return lines
