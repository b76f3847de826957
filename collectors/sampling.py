"""Coverage a run did not read itself: inventory sampling gaps and units carried from earlier runs.

An inventory that only shows the present (EC2 DescribeInstances) cannot tell what started and
stopped between two reads. Once a unit has been read, any interval longer than the allowed gap
between two successive reads (the current one included) is a coverage gap of its own. Final
billing for those days (Cost Explorer) sees every instance, so it closes the gap again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import pairwise

from computewatch.collectors.base import CollectContext, Target, unit_coverage, unit_key
from computewatch.domain import NOT_COLLECTED, SAMPLING_GAP, CoverageEntry, CoverageStatus, Window


def sampling_gaps(
    reads: Sequence[datetime], now: datetime, window: Window, max_gap: timedelta
) -> list[tuple[datetime, datetime]]:
    """Parts of `window` between successive reads (ending with `now`) more than `max_gap` apart,
    where the part inside the window is itself longer than `max_gap`.

    Before a unit's first read nothing is claimed: that read's method (`launch-time-estimate`)
    already says its figures are a lower bound.
    """
    times = [*sorted({t for t in reads if t < now}), now]
    out = []
    for earlier, later in pairwise(times):
        if later - earlier > max_gap:
            clipped = window.clip(earlier, later)
            # Only the hours the window itself missed: a read 55 minutes before the month's end
            # leaves October covered however long the daemon was down in November.
            if clipped and clipped[1] - clipped[0] > max_gap:
                out.append(clipped)
    return out


def gap_entries(target: Target, collector: str, ctx: CollectContext) -> list[CoverageEntry]:
    allowed = int(ctx.max_sample_gap.total_seconds() // 60)
    key = unit_key(target, collector)
    found = sampling_gaps(ctx.reads.get(key, ()), ctx.now, ctx.window, ctx.max_sample_gap)
    return [
        unit_coverage(
            target,
            collector,
            (start, end),
            SAMPLING_GAP,
            f"no inventory read from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC "
            f"(more than {allowed} min apart): instances that started and stopped in "
            "between are not counted",
        )
        for start, end in [*ctx.known_gaps.get(key, ()), *found]
    ]


def carried_entries(target: Target, collector: str, ctx: CollectContext) -> list[CoverageEntry]:
    """A unit this run skipped: what its latest read of the window recorded, or a gap saying
    nothing has read it yet."""
    found = ctx.carried.get(unit_key(target, collector))
    if found:
        return list(found)
    message = f"{collector} runs on its own schedule and has not read this period yet"
    return [
        unit_coverage(target, collector, (ctx.window.start, ctx.window.end), NOT_COLLECTED, message)
    ]


def _days(start: datetime, end: datetime) -> set[date]:
    out = set()
    day = start.date()
    while datetime(day.year, day.month, day.day, tzinfo=start.tzinfo) < end:
        out.add(day)
        day += timedelta(days=1)
    return out


def close_billed_gaps(
    entries: Iterable[CoverageEntry], final_billing: Mapping[str, Mapping[str, frozenset[date]]]
) -> list[CoverageEntry]:
    """Sampling gaps whose every day a billing source of the same provider holds in final form
    become SKIPPED (shown, not a gap): billing counts every instance, seen or not."""
    out = []
    for e in entries:
        if e.error_code == SAMPLING_GAP and e.status is CoverageStatus.FAILED:
            needed = _days(e.period_start, e.period_end)
            for source, days in final_billing.get(e.provider, {}).items():
                if needed <= days:
                    e = replace(
                        e,
                        status=CoverageStatus.SKIPPED,
                        error_message=f"{e.error_message}; closed by final billing ({source})",
                    )
                    break
        out.append(e)
    return out
