"""True simultaneous peak of running accelerators from the stored observation intervals (pure).

The daily peak per region, summed over regions, overstates what ran at one moment when regional
peaks fall at different times (one GPU stopped in one region a second before another started
elsewhere sums to 2). Here every observation's proven interval is clipped to the window, the
intervals of one resource are merged, and a sweep over all of an account's intervals finds the
largest number running at one instant (intervals are half-open: an end and a start at the same
instant do not overlap). The per-region figure is kept beside it: a cluster is regional.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from computewatch.domain.records import Observation
from computewatch.domain.window import Window


@dataclass
class SimultaneousPeak:
    """One account's peaks: over all regions at one instant, and per region."""

    by_chip: dict[str, float] = field(default_factory=dict)
    total: float = 0.0  # all chips at one instant
    by_region: dict[str, dict[str, float]] = field(default_factory=dict)  # region -> chip -> peak


Interval = tuple[datetime, datetime, float]


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Union of one resource's proven intervals (the count is the resource's, taken as its max)."""
    out: list[Interval] = []
    for start, end, count in sorted(intervals):
        if out and start <= out[-1][1]:
            s, e, c = out[-1]
            out[-1] = (s, max(e, end), max(c, count))
        else:
            out.append((start, end, count))
    return out


def _sweep(intervals: Iterable[Interval]) -> float:
    events: list[tuple[datetime, int, float]] = []
    for start, end, count in intervals:
        events.append((start, 1, count))
        events.append((end, 0, -count))  # 0 sorts before 1: ends first at the same instant
    level = peak = 0.0
    for _, _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        level += delta
        peak = max(peak, level)
    return peak


def simultaneous_peaks(
    observations: Iterable[Observation], window: Window
) -> dict[tuple[str, str], SimultaneousPeak]:
    per_resource: dict[tuple[str, str, str, str, str], list[Interval]] = defaultdict(list)
    for o in observations:
        start = max(o.started_at, window.start)
        end = min(o.ended_at or o.observed_at, window.end)
        if end <= start or o.count <= 0:
            continue
        key = (o.provider, o.account_id, o.region, o.accelerator, o.resource_id)
        per_resource[key].append((start, end, o.count))
    merged: dict[tuple[str, str], list[tuple[str, str, Interval]]] = defaultdict(list)
    for (provider, account, region, chip, _), intervals in per_resource.items():
        for iv in _merge(intervals):
            merged[(provider, account)].append((region, chip, iv))
    out: dict[tuple[str, str], SimultaneousPeak] = {}
    for account_key, items in merged.items():
        peak = SimultaneousPeak()
        peak.total = _sweep(iv for _, _, iv in items)
        for chip in sorted({c for _, c, _ in items}):
            peak.by_chip[chip] = _sweep(iv for _, c, iv in items if c == chip)
        for region in sorted({r for r, _, _ in items}):
            peak.by_region[region] = {
                chip: _sweep(iv for r, c, iv in items if r == region and c == chip)
                for chip in sorted({c for r, c, _ in items if r == region})
            }
        out[account_key] = peak
    return out
