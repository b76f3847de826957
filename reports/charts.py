"""Chart data for inline SVG: geometry computed here (numbers only), markup in charts.html.j2
(autoescaped), so names in charts are escaped like everywhere else and no JavaScript is needed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

PALETTE = ("#1f4e79", "#c0504d", "#4f8a3c", "#8064a2", "#d08a1e", "#2c8c99")


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    fraction: float  # of the largest bar, 0..1


@dataclass(frozen=True, slots=True)
class BarChart:
    title: str
    unit: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    color: str
    total: float
    points: str  # SVG polyline points in a 0..600 x 0..200 box


@dataclass(frozen=True, slots=True)
class LineChart:
    title: str
    unit: str
    first_day: str
    last_day: str
    peak: float
    series: tuple[Series, ...]


def bar_chart(title: str, unit: str, values: Mapping[str, float], top: int = 8) -> BarChart:
    items = sorted(((k, v) for k, v in values.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))[
        :top
    ]
    biggest = max((v for _, v in items), default=0.0)
    return BarChart(
        title, unit, tuple(Bar(k, v, v / biggest if biggest else 0.0) for k, v in items)
    )


def line_chart(
    title: str,
    unit: str,
    days: Sequence[datetime],
    series: Mapping[str, Mapping[datetime, float]],
    top: int = 5,
) -> LineChart:
    """One line per label (the `top` largest totals), one point per day."""
    ranked = sorted(series.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:top]
    peak = max((v for _, per_day in ranked for v in per_day.values()), default=0.0)
    width, height = 600.0, 200.0
    step = width / max(len(days) - 1, 1)
    out = []
    for i, (label, per_day) in enumerate(ranked):
        pts = " ".join(
            f"{j * step:.1f},{height - (per_day.get(d, 0.0) / peak * height if peak else 0.0):.1f}"
            for j, d in enumerate(days)
        )
        out.append(Series(label, PALETTE[i % len(PALETTE)], sum(per_day.values()), pts))
    first = f"{days[0]:%Y-%m-%d}" if days else ""
    last = f"{days[-1]:%Y-%m-%d}" if days else ""
    return LineChart(title, unit, first, last, peak, tuple(out))
