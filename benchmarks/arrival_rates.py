"""Target vs achieved arrival rate, and the generator's CPU per arrival, for both user classes.

Against one embedded target (Hive, tools server, LLM stub on loopback), it runs the suite's open
model at a few constant rates per user class, each step one ``hive-resilience run`` (the one way
the suite starts Locust) with ``--arrival-rate``, and reads every figure from the step's
``summary.json``: achieved rate, dropped and late arrivals, the late-start p99, the generator's
CPU (the plugin's samples) and, for ``HiveApiUser``, the conversations' time-to-reply p99
(measured from each arrival's intended start). CPU ms per arrival is the generator's CPU over
the step divided by the arrivals it started. Figures swing between runs on a shared machine;
compare within a run. Usage: python benchmarks/arrival_rates.py [--seconds 30]
[--mcp-rates 20,50,100] [--hive-rates 0.33,0.67,1.33]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from hive_resilience.clients.agent_scripts import CHAT_REPLY_JOURNEY
from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE
from hive_resilience.loadrun.run import RunError, RunRequest, run
from hive_resilience.loadrun.summary import (
    SUMMARY_FILE,
    RequestRow,
    RunSummary,
    read_summary,
)
from hive_resilience.target.embedded import EmbeddedTarget, TargetError, free_ports

MAX_STEP_S = 30
MAX_RATES = 6
"""Rates per user class: with the target's start, a whole benchmark stays within about ten minutes."""
MAX_IN_FLIGHT = 200
"""Far above what either class needs at these rates: a dropped arrival means the target (or generator) fell behind."""
CONVERSATION_SHARE = 3 / 4
"""HiveApiUser's arrivals run a whole conversation 3 times in 4 (its task weights), else a health check."""
USER_CLASSES: dict[str, dict] = {
    "McpToolsUser": {"weight": 1},
    "HiveApiUser": {"weight": 1, "scripts": {"one_tool": 1}},
}
"""Each class alone, as the scenario configures it: HiveApiUser's conversations call one tool through the agent."""
REPLY_ROW = f"{JOURNEY_REQUEST_TYPE} {CHAT_REPLY_JOURNEY}"


@dataclass(frozen=True)
class Step:
    """One rate of one user class, as its run's summary measured it."""

    user_class: str
    target_rate_per_s: float
    summary: RunSummary

    @property
    def cpu_percent(self) -> float | None:
        return self.summary.generator.cpu_percent_mean if self.summary.generator else None

    @property
    def cpu_ms_per_arrival(self) -> float | None:
        arrivals = self.summary.arrivals
        if self.cpu_percent is None or arrivals is None or not arrivals.started:
            return None
        return self.cpu_percent / 100 * self.summary.duration_s * 1000 / arrivals.started

    @property
    def replies(self) -> RequestRow | None:
        """The conversations that got their reply (``chat time-to-reply``); None when none did, or for McpToolsUser."""
        return next((row for row in self.summary.requests if row.name == REPLY_ROW), None)

    def row(self) -> str:
        arrivals = self.summary.arrivals
        assert arrivals is not None
        return " | ".join((
            self.user_class, f"{self.target_rate_per_s:g}", f"{arrivals.achieved_rate_per_s:.2f}",
            str(arrivals.due), str(arrivals.dropped), str(arrivals.late), _number(arrivals.late_ms_p99),
            _number(self.cpu_percent, 1), _number(self.cpu_ms_per_arrival, 2),
            str(self.replies.requests - self.replies.failures) if self.replies else "-",
            _number(self.replies.p99_ms) if self.replies else "-"))


TABLE_HEADER = ("class | target/s | achieved/s | due | dropped | late | late p99 ms | generator CPU % "
                "| CPU ms/arrival | replies | reply p99 ms")


def _number(value: float | None, decimals: int = 0) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"


def write_scenario(folder: Path, user_class: str, seconds: int) -> Path:
    """An arrivals scenario of ``user_class`` alone; each step gives its rate with ``--arrival-rate``."""
    path = folder / f"arrivals-{user_class}.yaml"
    path.write_text(yaml.safe_dump({
        "name": f"arrival-rates-{user_class}",
        "description": "benchmarks/arrival_rates.py: one constant rate of one user class",
        "arrivals": {"pattern": "poisson", "rate": "1/s", "duration": f"{seconds}s", "max_in_flight": MAX_IN_FLIGHT,
                     "seed": 7},
        "user_classes": {user_class: USER_CLASSES[user_class]},
        "reply_timeout_s": 60,
        "inconclusive": "pass",
    }))
    return path


def measure(scenario: Path, user_class: str, rate_per_s: float, target: EmbeddedTarget, reports_dir: Path) -> Step:
    # The exit code is the SLO verdict, which a benchmark does not judge: the summary holds the figures.
    run(RunRequest(str(scenario), target.api_url, target.mcp_url, reports_dir=reports_dir, arrival_rate=rate_per_s,
                   progress_interval_s=0))
    summaries = list(reports_dir.glob(f"*/{SUMMARY_FILE}"))
    if len(summaries) != 1:
        raise RunError(f"{reports_dir}: expected one run with a {SUMMARY_FILE}, found {len(summaries)}")
    return Step(user_class, rate_per_s, read_summary(summaries[0]))


def _rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of rates per second") from None
    if not rates or len(rates) > MAX_RATES or any(rate <= 0 for rate in rates):
        raise argparse.ArgumentTypeError(f"give 1 to {MAX_RATES} rates above 0, e.g. 20,50,100")
    return rates


def _seconds(text: str) -> int:
    if not text.isdigit() or not 5 <= int(text) <= MAX_STEP_S:
        raise argparse.ArgumentTypeError(f"seconds per step must be 5 to {MAX_STEP_S}")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=_seconds, default=MAX_STEP_S, help=f"seconds per step (default {MAX_STEP_S})")
    parser.add_argument("--mcp-rates", type=_rates, default=(20, 50, 100), help="McpToolsUser arrivals/s (default 20,50,100)")
    parser.add_argument("--hive-rates", type=_rates, default=(0.33, 0.67, 1.33),
                        help="HiveApiUser arrivals/s (default 0.33,0.67,1.33: about 0.25, 0.5 and 1 conversation/s)")
    args = parser.parse_args()
    steps: list[Step] = []
    with tempfile.TemporaryDirectory() as scratch, EmbeddedTarget(Path(scratch) / "target", free_ports()) as target:
        for user_class, rates in (("McpToolsUser", args.mcp_rates), ("HiveApiUser", args.hive_rates)):
            scenario = write_scenario(Path(scratch), user_class, args.seconds)
            for rate in rates:
                steps.append(measure(scenario, user_class, rate, target, Path(scratch) / f"{user_class}-{rate:g}"))
    print(f"\n{args.seconds} s per step; HiveApiUser arrivals are a conversation {CONVERSATION_SHARE:.0%} of the time")
    print(TABLE_HEADER)
    print(" | ".join("---" for _ in TABLE_HEADER.split(" | ")))
    for step in steps:
        print(step.row())


if __name__ == "__main__":
    try:
        main()
    except (RunError, TargetError) as error:  # the target did not start, or a step could not run
        raise SystemExit(f"arrival_rates: {error}") from None
