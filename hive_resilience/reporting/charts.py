"""Inline SVG line charts for the resilience report: round ticks, gridlines, hover values, bounded size.

The report must stay one self-contained file that opens offline, so charts are plain SVG with
no script: each drawn point carries a ``<title>`` the browser shows on hover. A four-hour soak
read from Locust's per-second history has 14,400 rows; drawing each would make a page of
megabytes and a line no one can read, so each series keeps, per pixel bucket of the x axis, only
its lowest and highest point (:func:`downsample`): the line's envelope, spikes included, with at
most ``2 * MAX_BUCKETS`` points whatever the run's length.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CHART_WIDTH_PX, CHART_HEIGHT_PX = 640, 220
PAD_LEFT_PX, PAD_RIGHT_PX, PAD_TOP_PX, PAD_BOTTOM_PX = 60, 24, 28, 34
MAX_BUCKETS = 120
"""Pixel buckets per series: the plot is 556 px wide, so a bucket is under 5 px, finer than the eye reads a line."""
MOST_TICKS = 6
ROUND_STEPS = (1, 2, 2.5, 5, 10)


def round_ticks(low: float, high: float, most: int = MOST_TICKS) -> list[float]:
    """Tick values at round steps (1, 2, 2.5 or 5 times a power of ten) covering ``low``..``high``, at most ``most``."""
    span = high - low if high > low else abs(high) or 1.0
    raw_step = span / (most - 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(multiple * magnitude for multiple in ROUND_STEPS if multiple * magnitude >= raw_step * (1 - 1e-9))
    first = math.ceil(low / step - 1e-9) * step
    count = math.floor((high - first) / step + 1e-9) + 1
    return [_tidy(first + index * step) for index in range(max(count, 1))]


def _tidy(value: float) -> float:
    """Drop float noise (0.30000000000000004 -> 0.3) so a tick prints as the round value it is."""
    return float(f"{value:.12g}")


@dataclass(frozen=True)
class Axis:
    """How an axis writes a value (with its unit) and where its ticks go."""

    write: Callable[[float], str]
    ticks: Callable[[float, float], list[float]] = round_ticks
    round_top: bool = False
    """Extend the axis to its next round tick above the data (a value axis starting at 0)."""


def unit_axis(unit: str, spec: str = "g") -> Axis:
    """A linear axis whose labels are the value and ``unit`` ("120 s", "2.5/s")."""
    separator = "" if unit.startswith("/") or not unit else " "
    return Axis(write=lambda value: f"{format(value, spec)}{separator}{unit}")


def value_axis(unit: str) -> Axis:
    """A linear value axis from 0 up to the round tick at or above the highest value."""
    return Axis(write=unit_axis(unit).write, round_top=True)


PERCENTILE_TICKS = (50.0, 90.0, 99.0, 99.9, 99.99)


def percentile_position(percentile: float) -> float:
    """Where a percentile sits on the log scale of 1/(1-p): p50 at 0.3, p90 at 1, p99 at 2, p99.9 at 3."""
    return math.log10(1 / (1 - percentile / 100))


def _percentile_at(position: float) -> float:
    return _tidy(round(100 * (1 - 10 ** -position), 6))


PERCENTILE_AXIS = Axis(write=lambda position: f"p{_percentile_at(position):g}",
                       ticks=lambda low, high: [position for position in map(percentile_position, PERCENTILE_TICKS)
                                                if low - 1e-9 <= position <= high + 1e-9])
"""x axis of a latency distribution: the tail spread out, each nine as far from the last."""


@dataclass(frozen=True)
class Series:
    """One line of a chart."""

    key: str
    """The row key holding this series' values (None where a row has no value)."""
    colour: str
    label: str = ""
    """Legend and hover name; the key when empty."""

    @property
    def name(self) -> str:
        return self.label or self.key


@dataclass(frozen=True)
class Chart:
    """One chart: ``rows`` are dicts with the x value under ``x`` and each series' value under its key."""

    title: str
    rows: Sequence[dict]
    series: Sequence[Series]
    x_axis: Axis
    y_axis: Axis
    shaded: tuple[float, float] | None = None
    """An x range to shade: the fault window of a chaos experiment."""


def downsample(points: Sequence[tuple[float, float]], low_x: float, high_x: float,
               buckets: int = MAX_BUCKETS) -> list[tuple[float, float]]:
    """Per x bucket, the lowest and the highest point in x order: the envelope survives, spikes included."""
    if len(points) <= 2 * buckets:
        return list(points)
    width = (high_x - low_x) / buckets or 1.0
    kept: dict[int, tuple[tuple[float, float], tuple[float, float]]] = {}
    for point in points:
        bucket = min(int((point[0] - low_x) / width), buckets - 1)
        lowest, highest = kept.get(bucket, (point, point))
        kept[bucket] = (point if point[1] < lowest[1] else lowest, point if point[1] > highest[1] else highest)
    return sorted({point for pair in kept.values() for point in pair})


def svg_chart(chart: Chart) -> str:
    """The chart as inline SVG: gridlines and labels at round ticks, one hover title per drawn point."""
    inner_w = CHART_WIDTH_PX - PAD_LEFT_PX - PAD_RIGHT_PX
    inner_h = CHART_HEIGHT_PX - PAD_TOP_PX - PAD_BOTTOM_PX
    xs = [row["x"] for row in chart.rows]
    x0 = min(xs)
    x1 = max(xs) if max(xs) > x0 else x0 + 1  # one point still gets an axis
    values = [row[s.key] for row in chart.rows for s in chart.series if row.get(s.key) is not None]
    top = max(values, default=0.0) or 1.0
    y_ticks, y_top = _value_ticks(chart.y_axis, top)

    def px(x: float) -> float:
        return PAD_LEFT_PX + (x - x0) / (x1 - x0) * inner_w

    def py(value: float) -> float:
        return PAD_TOP_PX + inner_h - value / y_top * inner_h

    bottom = PAD_TOP_PX + inner_h
    shapes = []
    for tick in (tick for tick in y_ticks if 0 <= tick <= y_top):
        shapes.append(f"<line class='grid' x1='{PAD_LEFT_PX}' y1='{py(tick):.1f}' x2='{PAD_LEFT_PX + inner_w}' "
                      f"y2='{py(tick):.1f}'/><text class='tick' x='{PAD_LEFT_PX - 4}' y='{py(tick) + 4:.1f}' "
                      f"text-anchor='end'>{_e(chart.y_axis.write(tick))}</text>")
    for tick in (tick for tick in chart.x_axis.ticks(x0, x1) if x0 - 1e-9 <= tick <= x1 + 1e-9):
        shapes.append(f"<line class='grid' x1='{px(tick):.1f}' y1='{PAD_TOP_PX}' x2='{px(tick):.1f}' y2='{bottom}'/>"
                      f"<text class='tick' x='{px(tick):.1f}' y='{bottom + 14}' text-anchor='middle'>"
                      f"{_e(chart.x_axis.write(tick))}</text>")
    if chart.shaded:
        left, right = max(px(chart.shaded[0]), PAD_LEFT_PX), min(px(chart.shaded[1]), PAD_LEFT_PX + inner_w)
        if right > left:
            shapes.append(f"<rect class='fault' x='{left:.1f}' y='{PAD_TOP_PX}' width='{right - left:.1f}' "
                          f"height='{inner_h}'><title>fault window</title></rect>")
    shapes.append(f"<line class='axis' x1='{PAD_LEFT_PX}' y1='{bottom}' x2='{PAD_LEFT_PX + inner_w}' y2='{bottom}'/>"
                  f"<line class='axis' x1='{PAD_LEFT_PX}' y1='{PAD_TOP_PX}' x2='{PAD_LEFT_PX}' y2='{bottom}'/>")
    for series in chart.series:
        measured = [(row["x"], row[series.key]) for row in chart.rows if row.get(series.key) is not None]
        drawn = downsample(measured, x0, x1)
        points = " ".join(f"{px(x):.1f},{py(value):.1f}" for x, value in drawn)
        shapes.append(f"<polyline fill='none' stroke='{series.colour}' stroke-width='1.5' points='{points}'/>")
        shapes += [f"<circle class='point' cx='{px(x):.1f}' cy='{py(value):.1f}' r='1.8' fill='{series.colour}'>"
                   f"<title>{_e(series.name)}: {_e(chart.y_axis.write(value))} at {_e(chart.x_axis.write(x))}</title></circle>"
                   for x, value in drawn]
    legend = " ".join(f"<tspan fill='{series.colour}'>{_e(series.name)}</tspan>" for series in chart.series)
    return (f"<svg class='chart' width='{CHART_WIDTH_PX}' height='{CHART_HEIGHT_PX}' "
            f"viewBox='0 0 {CHART_WIDTH_PX} {CHART_HEIGHT_PX}' role='img' aria-label='{_e(chart.title)}'>"
            f"<text x='{PAD_LEFT_PX}' y='18'>{_e(chart.title)} (max {_e(chart.y_axis.write(float(f'{top:.3g}')))}) {legend}</text>{''.join(shapes)}</svg>")


def _value_ticks(axis: Axis, top: float) -> tuple[list[float], float]:
    """The y ticks and the axis top: the data's top, or for ``round_top`` the first round tick at or above it."""
    ticks = axis.ticks(0.0, top)
    if axis.round_top and ticks[-1] < top:
        ticks.append(_tidy(ticks[-1] + (ticks[1] - ticks[0] if len(ticks) > 1 else top)))
    return ticks, max(ticks[-1], top) if axis.round_top else top


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


CHART_STYLE = (".chart text{font-size:11px;fill:#374151} .chart .tick{font-size:10px;fill:#6b7280} "
               ".chart .grid{stroke:#eef0f3} .chart .axis{stroke:#9ca3af} .chart circle.point:hover{r:4}")
