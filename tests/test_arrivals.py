"""The open model's schedule and dispatcher, on a fake clock: times, ramps, worker shares, drops."""

from __future__ import annotations

import statistics
from itertools import pairwise

import pytest

from hive_resilience.loadrun.arrivals import (
    Arrival,
    Dispatcher,
    Share,
    planned_arrivals,
    schedule,
)
from hive_resilience.loadrun.scenario import Arrivals


def plan(**fields) -> Arrivals:
    return Arrivals.model_validate({"seed": 11, **fields})


def times(arrivals: Arrivals, classes: dict[str, int] | None = None) -> list[float]:
    return [arrival.at_s for arrival in schedule(arrivals, classes or {"A": 1})]


def gap_spread(at_s: list[float]) -> tuple[float, float]:
    """Mean gap and coefficient of variation of the gaps."""
    gaps = [later - earlier for earlier, later in pairwise(at_s)]
    return statistics.mean(gaps), statistics.pstdev(gaps) / statistics.mean(gaps)


class FakeClock:
    """Seconds on the schedule's time base; sleeping advances it, as does work the test says took time."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.now_s += seconds


def test_constant_arrivals_are_evenly_spaced_at_exactly_the_rate():
    at_s = times(plan(pattern="constant", rate="4/s", duration="100s"))
    assert len(at_s) == 400
    mean_gap_s, spread = gap_spread(at_s)
    assert mean_gap_s == pytest.approx(0.25) and spread == pytest.approx(0, abs=1e-9)
    assert 0 < at_s[0] < at_s[-1] < 100


@pytest.mark.parametrize(("pattern", "burstiness", "spread_expected"), [("poisson", None, 1.0), ("gamma", 3.0, 3.0),
                                                                         ("gamma", 0.5, 0.5)])
def test_random_patterns_keep_the_exact_count_and_spread_their_gaps_by_their_burstiness(pattern, burstiness,
                                                                                       spread_expected):
    at_s = times(plan(pattern=pattern, burstiness=burstiness, rate=5, duration="2000s"))
    assert len(at_s) == 10_000 and 0 < at_s[0] and at_s[-1] < 2000
    mean_gap_s, spread = gap_spread(at_s)
    assert mean_gap_s == pytest.approx(0.2, rel=0.05)
    assert spread == pytest.approx(spread_expected, rel=0.15)


@pytest.mark.parametrize("pattern", ["constant", "poisson", "gamma"])
def test_every_stage_gets_exactly_its_planned_count_so_the_achieved_rate_is_the_target(pattern):
    arrivals = plan(pattern=pattern, burstiness=2.0 if pattern == "gamma" else None,
                    stages=[{"duration": "60s", "rate": "18/min"}, {"duration": "30s", "rate": 1.5, "ramp": "10s"}])
    stages = [a.stage for a in schedule(arrivals, {"A": 1})]  # the ramp from 0.3/s: 9, then 30 at 1.5/s
    assert [stages.count(0), stages.count(1)] == [18, round(planned_arrivals(arrivals.stages)[1])] == [18, 39]


def test_a_seed_reproduces_the_times_and_another_seed_does_not():
    arrivals = plan(pattern="poisson", rate=2, duration="60s")
    assert times(arrivals) == times(arrivals)
    assert times(arrivals) != times(arrivals.model_copy(update={"seed": 12}))


def test_a_ramp_rises_linearly_from_the_previous_stage_and_a_step_does_not():
    arrivals = plan(pattern="constant", stages=[{"duration": "100s", "rate": 1},
                                                {"duration": "100s", "rate": 3, "ramp": "100s"},
                                                {"duration": "100s", "rate": 1}])
    assert planned_arrivals(arrivals.stages) == [100, 200, 100]
    by_stage = [[a.at_s for a in schedule(arrivals, {"A": 1}) if a.stage == number] for number in range(3)]
    assert [len(stage) for stage in by_stage] == [100, 200, 100]
    ramp = by_stage[1]
    # The rate at t is 1 + 2 (t - 100) / 100: the first half of the ramp carries 1.5*50 + ... = 75 of its 200.
    assert sum(at_s < 150 for at_s in ramp) == pytest.approx(75, abs=1)
    assert gap_spread(ramp[:10])[0] > gap_spread(ramp[-10:])[0]
    assert gap_spread(by_stage[2])[0] == pytest.approx(1.0)


def test_classes_are_drawn_by_weight():
    drawn = [a.user_class for a in schedule(plan(pattern="constant", rate=10, duration="1000s"), {"A": 1, "B": 3})]
    assert drawn.count("B") / len(drawn) == pytest.approx(0.75, abs=0.02)


@pytest.mark.parametrize("workers", [2, 3, 7])
def test_worker_shares_add_up_to_the_whole_plan_exactly_once(workers):
    arrivals = plan(pattern="poisson", rate=3, duration="100s")
    whole = list(schedule(arrivals, {"A": 1}))
    shares = [[a for a in schedule(arrivals, {"A": 1}) if Share(index, workers).takes(a)] for index in range(workers)]
    assert sorted((a for share in shares for a in share), key=lambda a: a.index) == whole
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


@pytest.mark.parametrize(("ceiling", "workers"), [(10, 3), (2, 2), (1, 1), (7, 4)])
def test_worker_ceilings_add_up_to_max_in_flight(ceiling, workers):
    assert sum(Share(index, workers).ceiling(ceiling) for index in range(workers)) == ceiling


def run_dispatcher(arrivals: Arrivals, ceiling: int, service_s: float | None, share: Share | None = None):
    """Plays ``arrivals`` on a fake clock; each iteration ends ``service_s`` after it starts (None: never)."""
    clock = FakeClock()
    running: list[tuple[float, object]] = []
    started, heard = [], []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        for ends_at, done in list(running):
            if ends_at <= clock():
                running.remove((ends_at, done))
                done()

    def launch(arrival: Arrival, late_s: float, done) -> None:
        started.append((arrival, clock(), late_s))
        if service_s is not None:
            running.append((clock() + service_s, done))

    dispatcher = Dispatcher(ceiling, clock, sleep, launch, lambda arrival, late_s, dropped: heard.append(dropped))
    dispatcher.play(schedule(arrivals, {"A": 1}), share or Share())
    return started, heard


def test_the_dispatcher_starts_each_arrival_at_its_intended_time():
    arrivals = plan(pattern="poisson", rate=2, duration="30s")
    started, heard = run_dispatcher(arrivals, ceiling=100, service_s=0.3)
    assert [when for _, when, _ in started] == pytest.approx(times(arrivals))
    assert all(late_s == 0 for _, _, late_s in started) and not any(heard)


def test_arrivals_due_at_the_ceiling_are_dropped_not_queued():
    arrivals = plan(pattern="constant", rate=1, duration="10s")
    started, heard = run_dispatcher(arrivals, ceiling=3, service_s=None)
    assert len(started) == 3 and heard == [False] * 3 + [True] * 7


def test_an_iteration_that_ends_frees_its_slot_for_the_next_arrival():
    arrivals = plan(pattern="constant", rate=1, duration="10s")
    started, heard = run_dispatcher(arrivals, ceiling=1, service_s=1.5)
    assert heard == [False, True] * 5 and len(started) == 5


def test_an_arrival_the_dispatcher_reaches_late_starts_at_once_and_says_how_late():
    arrivals = plan(pattern="constant", rate=1, duration="3s")
    clock, lates = FakeClock(), []

    def launch(arrival: Arrival, late_s: float, done) -> None:
        lates.append(late_s)
        clock.sleep(2.0)  # a busy generator: the dispatcher gets control back 2 s later
        done()

    Dispatcher(10, clock, clock.sleep, launch, lambda *_: None).play(schedule(arrivals, {"A": 1}))
    assert lates == pytest.approx([0.0, 1.0, 2.0])


def test_a_workers_dispatcher_plays_only_its_share():
    arrivals = plan(pattern="constant", rate=4, duration="10s")
    started, _ = run_dispatcher(arrivals, ceiling=100, service_s=0.1, share=Share(1, 4))
    assert [a.index for a, _, _ in started] == list(range(1, 40, 4))
