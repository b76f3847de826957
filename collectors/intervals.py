"""Running intervals -> daily usage records, shared by every compute collector.

A collector works out *when* each accelerator resource ran (from an inventory, an activity log,
samples); turning those intervals into daily accelerator-hours, instance-hours and peak
concurrency is the same arithmetic for every cloud, so it lives here once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from computewatch.collectors.base import Target
from computewatch.domain import Dimensions, Method, Metric, UsageRecord, Window

# What `interval_records` emits: a collector built on it declares these as its metrics.
INTERVAL_METRICS = (
    Metric.ACCELERATOR_HOURS,
    Metric.INSTANCE_HOURS,
    Metric.PEAK_CONCURRENT_ACCELERATORS,
)


class Accelerated(Protocol):
    """What runs on a resource: `count` accelerators of `chip` (all of them, for a group)."""

    @property
    def chip(self) -> str: ...

    @property
    def count(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Interval:
    """A resource (instance, VM, scale set) that ran `acc` over [start, end)."""

    resource_id: str
    sku: str
    acc: Accelerated
    start: datetime
    end: datetime
    region: str = ""  # where it ran when that differs from the target's region ("" = the target's)
    instances: int = 1  # machines behind the resource (a scale set's capacity); `count` covers all


def peak_concurrency(intervals: Iterable[Interval], day: Window) -> dict[str, float]:
    """Largest number of accelerators per chip running at the same moment within `day`."""
    events: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for iv in intervals:
        clipped = day.clip(iv.start, iv.end)
        if clipped:
            events[iv.acc.chip].append((clipped[0], iv.acc.count))
            events[iv.acc.chip].append((clipped[1], -iv.acc.count))
    peaks: dict[str, float] = {}
    for chip, evs in events.items():
        current = best = 0.0
        # Ends sort before starts at the same instant: back-to-back runs are not concurrent.
        for _, delta in sorted(evs, key=lambda e: (e[0], e[1])):
            current += delta
            best = max(best, current)
        peaks[chip] = best
    return peaks


def interval_records(
    target: Target, collector: str, intervals: list[Interval], window: Window, method: Method
) -> list[UsageRecord]:
    """Daily accelerator-hours and instance-hours per resource, daily peak per region and chip."""
    by_region: dict[str, list[Interval]] = defaultdict(list)
    for iv in intervals:
        by_region[iv.region or target.region].append(iv)
    out: list[UsageRecord] = []

    def rec(
        metric: Metric, unit: str, dims: Dimensions, region: str, day: Window, qty: float
    ) -> UsageRecord:
        return UsageRecord(
            target.provider,
            target.account.account_id,
            region,
            collector,
            metric,
            unit,
            dims,
            day.start,
            day.end,
            qty,
            method,
        )

    for day in window.day_windows():
        for iv in intervals:
            clipped = day.clip(iv.start, iv.end)
            if not clipped:
                continue
            hours = (clipped[1] - clipped[0]).total_seconds() / 3600
            dims = Dimensions(sku=iv.sku, accelerator=iv.acc.chip, resource_id=iv.resource_id)
            region = iv.region or target.region
            out.append(
                rec(
                    Metric.ACCELERATOR_HOURS,
                    "accelerator-hours",
                    dims,
                    region,
                    day,
                    hours * iv.acc.count,
                )
            )
            out.append(rec(Metric.INSTANCE_HOURS, "hours", dims, region, day, hours * iv.instances))
        for region, group in by_region.items():
            for chip, peak in peak_concurrency(group, day).items():
                if peak > 0:
                    dims = Dimensions(accelerator=chip)
                    out.append(
                        rec(
                            Metric.PEAK_CONCURRENT_ACCELERATORS,
                            "accelerators",
                            dims,
                            region,
                            day,
                            peak,
                        )
                    )
    return out
