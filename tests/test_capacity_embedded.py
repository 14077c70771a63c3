"""No false capacity: the search against the real Hive finds less when Hive is slower, and
never reports a starved load generator's figures as a high knee.

Short on purpose (15 s steps after 5 s warm-ups, low rates): Hive's knee on two busy cores is
around one conversation per second, and these proofs need the direction, not the number.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hive_resilience.loadrun.capacity import CapacityResult, SearchPlan
from hive_resilience.loadrun.capacity_run import CapacityRequest, capacity
from hive_resilience.paths import REPO_ROOT
from hive_resilience.target.faults import put_faults, reset_faults

pytestmark = pytest.mark.embedded

SCENARIO = REPO_ROOT / "tests" / "data" / "agent-arrivals.yaml"
FIRST_TOKEN_DELAY_MS = 1500
"""Each scripted one-tool turn makes two model calls: +3 s on a reply the scenario bounds at 3 s (p95)."""
REPLY_SLO = "p95_ms <= 3000 (chat time-to-reply)"


def search(target, tmp_path: Path, scenario: Path, start: float, max_rate: float) -> CapacityResult:
    plan = SearchPlan(start_rate_per_s=start, max_rate_per_s=max_rate, step_s=15, warmup_s=5, precision=1.0, repeats=1)
    result, run_dir = capacity(CapacityRequest(str(scenario), plan, host=target.api_url, mcp_host=target.mcp_url,
                                               reports_dir=tmp_path))
    assert (run_dir / "capacity.json").is_file()
    return result


def test_a_slower_model_gives_a_measurably_lower_capacity(embedded_target, tmp_path):
    healthy = search(embedded_target, tmp_path / "healthy", SCENARIO, start=0.5, max_rate=1.0)
    put_faults(embedded_target.llm_url, {"first_token_delay_ms": FIRST_TOKEN_DELAY_MS})
    try:
        slowed = search(embedded_target, tmp_path / "slowed", SCENARIO, start=0.5, max_rate=1.0)
    finally:
        reset_faults(embedded_target.llm_url)
    assert healthy.knee_rate_per_s is not None and healthy.knee_rate_per_s >= 0.5, healthy.steps()
    assert slowed.knee_rate_per_s is None or slowed.knee_rate_per_s < healthy.knee_rate_per_s, slowed.steps()
    assert slowed.first_break is not None and slowed.first_break.slo == REPLY_SLO, slowed.steps()
    assert not slowed.generator_limited


def test_a_starved_generator_is_reported_invalid_or_dropping_never_as_a_high_knee(embedded_target, tmp_path):
    # One arrival in flight at a time, offered every 250 ms: a conversation (session, chat, reply,
    # delete) takes longer than that even on an idle machine (0.35 s at best), so arrivals must be
    # dropped whatever Hive's pace. At 1/s a quiet machine finished every conversation in time.
    raw = yaml.safe_load(SCENARIO.read_text())
    raw["arrivals"]["max_in_flight"] = 1
    starved_scenario = tmp_path / "starved.yaml"
    starved_scenario.write_text(yaml.safe_dump(raw))
    starved = search(embedded_target, tmp_path / "starved", starved_scenario, start=4.0, max_rate=8.0)
    assert starved.knee_rate_per_s is None, starved.steps()
    assert all(step.dropped_arrivals > 0 for step in starved.steps()), starved.steps()
    assert starved.generator_limited and not starved.passed, starved.steps()
