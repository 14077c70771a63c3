"""The open model's schedule: when each arrival is due, and whether it may start.

An arrivals plan (:class:`~hive_resilience.loadrun.scenario.Arrivals`) becomes a list of
intended start times by time rescaling: each stage's expected count of arrivals (the area
under its planned rate, rounded) is placed on a unit-rate axis (evenly, or with gamma gaps,
Poisson being shape 1, the plan's burstiness their coefficient of variation) drawn from a
seeded RNG, and mapped through the inverse of the cumulative planned rate. So ramps are exact
and every stage's count is the planned one whatever the pattern: the achieved rate misses the
target only when the generator could not keep up. Each arrival also draws, from the same RNG,
the user class it runs, by the classes' weights.

Every Locust process draws the same whole schedule and keeps the arrivals whose index falls to
its share (``index % count``), so the processes' arrivals add up to the plan exactly, each
arrival exactly once. :class:`Dispatcher` plays a share: it waits for each arrival's time, starts
it when fewer than the ceiling are in flight, else counts it dropped, and says how late each
started. Clock, sleep and launch are injected, so tests run it on a fake clock.

This module must not import Locust or gevent (see :mod:`hive_resilience.loadrun.scenario`).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from hive_resilience.loadrun.scenario import Arrivals, ArrivalStage


@dataclass(frozen=True)
class Arrival:
    """One planned iteration: the ``index``-th of the whole plan, due ``at_s`` after the start."""

    index: int
    at_s: float
    stage: int
    user_class: str


@dataclass(frozen=True)
class _Segment:
    """A piece of the planned rate, linear from ``rate_start`` to ``rate_end`` per second."""

    start_s: float
    end_s: float
    rate_start: float
    rate_end: float
    stage: int

    @property
    def arrivals(self) -> float:
        """The expected arrivals in it: the area under its rate."""
        return (self.rate_start + self.rate_end) / 2 * (self.end_s - self.start_s)

    def time_of(self, arrivals: float) -> float:
        """The time at which ``arrivals`` (0..self.arrivals) are expected since its start."""
        length_s = self.end_s - self.start_s
        slope = (self.rate_end - self.rate_start) / length_s
        if abs(slope) < 1e-12:
            return self.start_s + arrivals / self.rate_start
        # Solve rate_start*x + slope/2*x^2 = arrivals in the form that stays stable as slope nears 0.
        return self.start_s + 2 * arrivals / (self.rate_start + math.sqrt(self.rate_start ** 2 + 2 * slope * arrivals))


def rate_segments(stages: Sequence[ArrivalStage]) -> list[_Segment]:
    """The planned rate as linear pieces: each stage's ramp from the previous rate (0 before the first), then its hold."""
    segments, start_s, previous_rate = [], 0.0, 0.0
    for number, stage in enumerate(stages):
        if stage.ramp_s > 0:
            segments.append(_Segment(start_s, start_s + stage.ramp_s, previous_rate, stage.rate_per_s, number))
        if stage.duration_s > stage.ramp_s:
            segments.append(_Segment(start_s + stage.ramp_s, start_s + stage.duration_s, stage.rate_per_s,
                                     stage.rate_per_s, number))
        start_s += stage.duration_s
        previous_rate = stage.rate_per_s
    return segments


def planned_rate_per_s(stages: Sequence[ArrivalStage], elapsed_s: float) -> float:
    """The arrivals plan's rate ``elapsed_s`` into the run (0 before and after it)."""
    for segment in rate_segments(stages):
        if segment.start_s <= elapsed_s < segment.end_s:
            fraction = (elapsed_s - segment.start_s) / (segment.end_s - segment.start_s)
            return segment.rate_start + (segment.rate_end - segment.rate_start) * fraction
    return 0.0


def planned_arrivals(stages: Sequence[ArrivalStage]) -> list[float]:
    """The expected arrivals of each stage: the target the achieved counts are held against."""
    totals = [0.0] * len(stages)
    for segment in rate_segments(stages):
        totals[segment.stage] += segment.arrivals
    return totals


def _positions(arrivals: Arrivals, expected: float, rng: random.Random) -> list[float]:
    """Where a stage's arrivals fall among its ``expected`` arrivals (0..expected), in order.

    The stage gets exactly its expected count, rounded, so the achieved rate is the planned one
    whatever the pattern: evenly spaced (constant), or gaps drawn from a gamma distribution
    (Poisson: shape 1) and scaled to fill the stage, which for Poisson is the Poisson process
    given its count, and for gamma keeps the gaps' spread.
    """
    count = round(expected)
    if count == 0:
        return []
    if arrivals.pattern == "constant":
        return [(number + 0.5) * expected / count for number in range(count)]
    shape = 1.0 if arrivals.pattern == "poisson" else 1 / arrivals.burstiness ** 2
    gaps = [rng.gammavariate(shape, 1 / shape) for _ in range(count + 1)]
    scale = expected / sum(gaps)
    return list(itertools.accumulate(gap * scale for gap in gaps[:count]))


def _time_at(segments: list[_Segment], position: float) -> float:
    """The time by which ``position`` arrivals are expected since the start of ``segments``."""
    for segment in segments:
        if position <= segment.arrivals:
            return segment.time_of(position)
        position -= segment.arrivals
    return segments[-1].end_s


def schedule(arrivals: Arrivals, class_weights: dict[str, int]) -> Iterator[Arrival]:
    """Every arrival of the plan in time order, reproducible for a given ``arrivals.seed``."""
    rng = random.Random(arrivals.seed)
    names = [name for name, weight in class_weights.items() if weight > 0]
    weights = [class_weights[name] for name in names]
    segments = rate_segments(arrivals.stages)
    index = 0
    for stage, expected in enumerate(planned_arrivals(arrivals.stages)):
        stage_segments = [segment for segment in segments if segment.stage == stage and segment.arrivals > 0]
        for position in _positions(arrivals, expected, rng):
            yield Arrival(index, _time_at(stage_segments, position), stage, rng.choices(names, weights)[0])
            index += 1


@dataclass(frozen=True)
class Share:
    """This process's part of a run's arrivals: ``index`` of ``count`` processes."""

    index: int = 0
    count: int = 1

    def takes(self, arrival: Arrival) -> bool:
        return arrival.index % self.count == self.index

    def ceiling(self, max_in_flight: int) -> int:
        """This process's part of the run's ``max_in_flight``: the parts add up to it (each at least 1)."""
        return max(1, max_in_flight // self.count + (self.index < max_in_flight % self.count))


@dataclass
class Dispatcher:
    """Plays one process's share of the arrivals against a ceiling of ``ceiling`` in flight.

    ``clock()`` is seconds on the schedule's time base (the run's start at 0 is the caller's),
    ``sleep(s)`` waits, ``launch(arrival, late_s, done)`` starts the arrival's iteration and
    must call ``done()`` when it ends; ``on_arrival(arrival, late_s, dropped)`` hears every
    arrival due, started or not.
    """

    ceiling: int
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    launch: Callable[[Arrival, float, Callable[[], None]], None]
    on_arrival: Callable[[Arrival, float, bool], None]
    in_flight: int = field(default=0, init=False)

    def play(self, arrivals: Iterator[Arrival], share: Share = Share()) -> None:
        """Every arrival of ``share`` at its time; returns when the last one is due."""
        for arrival in arrivals:
            if not share.takes(arrival):
                continue
            wait_s = arrival.at_s - self.clock()
            if wait_s > 0:
                self.sleep(wait_s)
            late_s = max(0.0, self.clock() - arrival.at_s)
            dropped = self.in_flight >= self.ceiling
            self.on_arrival(arrival, late_s, dropped)
            if not dropped:
                self.in_flight += 1
                self.launch(arrival, late_s, self._done)

    def _done(self) -> None:
        self.in_flight -= 1
