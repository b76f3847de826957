"""Chart data for inline SVG: geometry computed here (numbers only), markup in charts.html.j2
(autoescaped), so names in charts are escaped like everywhere else and no JavaScript is needed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from computewatch.domain.window import day_start
from computewatch.engine.assess import Assessment

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


@dataclass(frozen=True, slots=True)
class ChartsView:
    chip_mix: BarChart
    tokens_by_model: BarChart
    daily_top: LineChart


def build_charts(a: Assessment) -> ChartsView:
    """The audit's three charts: chips, tokens by model, and the top customers' daily hours."""
    tokens: dict[str, float] = {}
    for u in a.accounts:
        for model, roles in u.tokens().items():
            tokens[model] = (
                tokens.get(model, 0.0) + roles.get("input", 0.0) + roles.get("output", 0.0)
            )
    names = {u.key: u.account.name or u.account.account_id for u in a.accounts}
    per_label: dict[str, dict[datetime, float]] = {}
    for (provider, account), per_day in a.daily_hours.items():
        if (provider, account) not in names:
            continue
        customer = a.registry.customer_of(provider, account)
        label = customer.legal_name if customer else names[(provider, account)]
        slot = per_label.setdefault(label, {})
        for day, h in per_day.items():
            slot[day] = slot.get(day, 0.0) + h
    days = [day_start(d.start) for d in a.window.day_windows()]
    return ChartsView(
        chip_mix=bar_chart("Accelerator-hours by chip", "h", dict(a.chip_totals)),
        tokens_by_model=bar_chart("Tokens by model (input + output)", "tokens", tokens),
        daily_top=line_chart(
            "Accelerator-hours per day, top customers", "accelerator-hours", days, per_label
        ),
    )
