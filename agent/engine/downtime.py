"""Downtime of the daemon, read from the sampling gaps: which hours no inventory read covered,
and which accounts that touches (pure).

A daemon down across a month's end leaves every sampled unit a gap from its last read before
the downtime to the window's end. Per unit those are many entries; for a reader they are one
fact: "no inventory read from 21:05 to 24:00 on the 31st, in these accounts". Gaps whose
periods overlap or touch are merged into one downtime; gaps final billing has closed (SKIPPED)
are not downtime.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from computewatch.domain import SAMPLING_GAP, CoverageEntry, CoverageStatus


@dataclass(frozen=True)
class Downtime:
    """One stretch without inventory reads, and what it touches."""

    start: datetime
    end: datetime
    accounts: tuple[str, ...]  # "provider:account", sorted
    units: int  # account-region-collector units without a read in it

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def describe(self) -> str:
        return (
            f"no inventory read from {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC "
            f"({self.hours:.1f} h) in {len(self.accounts)} account(s), {self.units} unit(s)"
        )


def sampling_downtime(coverage: Iterable[CoverageEntry]) -> list[Downtime]:
    """Open sampling gaps merged into stretches of downtime, oldest first."""
    gaps = sorted(
        (e for e in coverage if e.error_code == SAMPLING_GAP and e.status is CoverageStatus.FAILED),
        key=lambda e: (e.period_start, e.period_end),
    )
    out: list[Downtime] = []
    group: list[CoverageEntry] = []
    end: datetime | None = None

    def flush() -> None:
        if group:
            units = {(e.provider, e.account_id, e.region, e.collector) for e in group}
            accounts = tuple(sorted({f"{e.provider}:{e.account_id}" for e in group}))
            start = min(e.period_start for e in group)
            out.append(Downtime(start, max(e.period_end for e in group), accounts, len(units)))

    for e in gaps:
        if end is not None and e.period_start > end:
            flush()
            group, end = [], None
        group.append(e)
        end = e.period_end if end is None else max(end, e.period_end)
    flush()
    return out
