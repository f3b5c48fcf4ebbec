"""Chart geometry for the HTML reports: numbers here, drawing in ``templates/charts.html.j2``.

A chart is a frozen record of pixel positions and the texts to show; the
template turns it into SVG elements (autoescaped like the rest of the page).
Value axes get "nice" ticks (1, 2 or 5 times a power of ten) with a gridline
at each, so a reader can read a bar's length off the axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Tick:
    """A tick on an axis: its pixel position and its label, with a gridline there."""

    at: float
    label: str


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    colour: str
    opacity: float = 1.0

    @property
    def text_y(self) -> float:
        return round(self.y + self.height * 0.75, 1)

    @property
    def end(self) -> float:
        return round(self.x + self.width, 1)


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars against one value axis along the bottom."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    bars: tuple[Bar, ...]
    grid: tuple[Tick, ...]


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    points: str  # "x,y x,y ..." for a polyline: numbers only
    dashed: bool = False

    @property
    def lone(self) -> tuple[float, float] | None:
        """The only point of a one-point series (a line of one point draws nothing)."""
        if not self.points or " " in self.points:
            return None
        x, y = self.points.split(",")
        return float(x), float(y)


@dataclass(frozen=True)
class LineChart:
    """Lines over time: value gridlines across, time ticks along the bottom."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    grid: tuple[Tick, ...]  # at = y
    ticks: tuple[Tick, ...]  # at = x
    series: tuple[Series, ...]
    legend: bool = True


def nice_ticks(peak: float, most: int = 5) -> list[int]:
    """0, step, 2·step ... up to the first tick at or above ``peak``; at most ``most`` steps."""
    top = max(int(peak), 1)
    scale = 1
    while True:
        for mult in (1, 2, 5):
            step = mult * scale
            if -(-top // step) <= most:
                return list(range(0, -(-top // step) * step + 1, step))
        scale *= 10


def bar_chart(
    rows: Sequence[tuple[str, int, str, float]],
    *,
    width: int = 640,
    label_width: int = 170,
    bar_height: int = 22,
    gaps: Sequence[int] = (),
) -> BarChart:
    """Bars for ``(label, value, colour, opacity)``; ``gaps[i]`` extra pixels before row i."""
    values = nice_ticks(max([n for _, n, _, _ in rows] + [1]))
    axis_max = values[-1]
    left, right, top = float(label_width), float(width - 50), 5.0
    span = right - left
    bars, y = [], top
    for i, (label, value, colour, opacity) in enumerate(rows):
        y += gaps[i] if i < len(gaps) else 0
        w = round(span * value / axis_max, 1)
        bars.append(Bar(label, value, left, y, w, bar_height - 5, colour, opacity))
        y += bar_height
    bottom = y + 2
    grid = tuple(Tick(round(left + span * v / axis_max, 1), f"{v:,}") for v in values)
    return BarChart(width, int(bottom + 18), left, right, top, bottom, tuple(bars), grid)


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int], bool]],
    *,
    width: int = 640,
    height: int = 240,
    legend: bool = True,
    most_ticks: int = 12,
) -> LineChart:
    """``series`` of ``(name, colour, values, dashed)``, one value per x label."""
    left, top, bottom = 44.0, 10.0, float(height - 30)
    right = float(width - (110 if legend else 12))
    values = nice_ticks(max([max(s, default=0) for _, _, s, _ in series] + [1]))
    axis_max = values[-1]
    step = (right - left) / max(len(x_labels) - 1, 1)

    def y(v: float) -> float:
        return round(bottom - (bottom - top) * v / axis_max, 1)

    lines = tuple(
        Series(
            name,
            colour,
            " ".join(f"{left + i * step:.1f},{y(v)}" for i, v in enumerate(vals)),
            dashed,
        )
        for name, colour, vals, dashed in series
    )
    every = max(1, -(-len(x_labels) // most_ticks))
    ticks = tuple(
        Tick(round(left + i * step, 1), text) for i, text in enumerate(x_labels) if i % every == 0
    )
    grid = tuple(Tick(y(v), f"{v:,}") for v in values)
    return LineChart(width, height, left, right, top, bottom, grid, ticks, lines, legend)
