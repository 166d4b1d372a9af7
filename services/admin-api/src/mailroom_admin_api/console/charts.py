"""Geometry of the server-rendered SVG bar chart (pure; the template draws it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mailroom_admin_api.schemas import DayVolume

__all__ = ["Bar", "DayChart", "day_chart", "nice_ceiling"]

WIDTH = 700
HEIGHT = 220
LEFT = 44  # room for the y axis labels
BOTTOM = 28  # room for the day labels
TOP = 12


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    x: float
    width: float
    automated_y: float
    automated_h: float
    other_y: float
    other_h: float
    tasks: int
    automated: int
    label: str  # the day of the month, under the bar


@dataclass(frozen=True, slots=True)
class DayChart:
    width: int
    height: int
    left: int
    plot_top: int
    plot_bottom: int
    y_max: int
    ticks: list[tuple[float, int]]  # (y, value)
    bars: list[Bar]


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10^n at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def day_chart(days: list[DayVolume]) -> DayChart:
    """Stacked bars per day: automated answers below, the rest of the day's mail above."""
    plot_bottom = HEIGHT - BOTTOM
    plot_h = plot_bottom - TOP
    y_max = nice_ceiling(max((d.tasks for d in days), default=0))
    slot = (WIDTH - LEFT) / max(len(days), 1)
    bar_w = slot * 0.7
    bars: list[Bar] = []
    for i, d in enumerate(days):
        automated = min(d.automated, d.tasks)
        auto_h = plot_h * automated / y_max
        other_h = plot_h * (d.tasks - automated) / y_max
        x = LEFT + i * slot + (slot - bar_w) / 2
        bars.append(
            Bar(
                day=d.day,
                x=round(x, 1),
                width=round(bar_w, 1),
                automated_y=round(plot_bottom - auto_h, 1),
                automated_h=round(auto_h, 1),
                other_y=round(plot_bottom - auto_h - other_h, 1),
                other_h=round(other_h, 1),
                tasks=d.tasks,
                automated=automated,
                label=str(d.day.day),
            )
        )
    # Gridlines at 0, the top and, when it is a whole number, the middle.
    values = [0, y_max // 2, y_max] if y_max % 2 == 0 else [0, y_max]
    ticks = [(round(plot_bottom - plot_h * v / y_max, 1), v) for v in values]
    return DayChart(WIDTH, HEIGHT, LEFT, TOP, plot_bottom, y_max, ticks, bars)
