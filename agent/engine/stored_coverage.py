"""The coverage of a window that reaches before the audited period (a quarter to date, a rolling
twelve months): this run's reads for the audited part, and for the earlier part what the stored
history vouches for, unit by unit. Unknown is not zero, so an earlier stretch no stored read
covers is a failed entry of its own, never an empty stretch (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from computewatch.domain import SAMPLING_GAP, CoverageEntry, CoverageStatus, Window

Unit = tuple[str, str, str, str]  # provider, account id, region, collector
NOT_IN_STORE = "NotInStore"


def unit_of(e: CoverageEntry) -> Unit:
    return (e.provider, e.account_id, e.region, e.collector)


def uncovered(span: Window, covered: Sequence[tuple[datetime, datetime]]) -> list[Window]:
    """The stretches of `span` no interval of `covered` reaches."""
    out: list[Window] = []
    at = span.start
    for start, end in sorted(covered):
        if start > at:
            out.append(Window(at, min(start, span.end)))
        at = max(at, end)
        if at >= span.end:
            break
    if at < span.end:
        out.append(Window(at, span.end))
    return [w for w in out if w.end > w.start]


def window_coverage(
    run: Sequence[CoverageEntry],
    stored: Mapping[Unit, Sequence[tuple[CoverageEntry, datetime]]],
    window: Window,
    audit: Window,
    tolerance: timedelta = timedelta(0),
) -> list[CoverageEntry]:
    """`window`'s coverage: the run's entries (`run`, of the audited period) and, for every unit
    the run read, the part of `window` before `audit` as `stored` (CoverageRepo.vouched) has it:
    its sampling gaps there, and a NotInStore failure for each stretch no stored read reached.
    A read recorded at t reaches t + `tolerance` (the allowed gap between inventory reads, as
    for the audited window: the last read before midnight covers the month's last minutes)."""
    if window.start >= audit.start:
        return list(run)
    before = Window(window.start, min(audit.start, window.end))
    out = list(run)
    units = dict.fromkeys(unit_of(e) for e in run if e.error_code != SAMPLING_GAP)
    for unit in units:
        entries = stored.get(unit, ())
        reads = [
            (e.period_start, min(e.period_end, at + tolerance))
            for e, at in entries
            if e.status is CoverageStatus.OK
        ]
        for gap, _ in entries:
            part = before.intersection(Window(gap.period_start, gap.period_end))
            if gap.error_code == SAMPLING_GAP and part is not None:
                out.append(_failed(unit, part, SAMPLING_GAP, "the daemon was not sampling"))
        for missing in uncovered(before, reads):
            out.append(_failed(unit, missing, NOT_IN_STORE, "no stored read covers this stretch"))
    return out


def unread_stretch(e: CoverageEntry) -> str:
    """For a finding's evidence: which earlier stretch no stored read covers ("" otherwise)."""
    if e.error_code != NOT_IN_STORE:
        return ""
    return f" {e.period_start:%Y-%m-%d %H:%M} to {e.period_end:%Y-%m-%d %H:%M} UTC"


def _failed(unit: Unit, part: Window, code: str, message: str) -> CoverageEntry:
    return CoverageEntry(*unit, part.start, part.end, CoverageStatus.FAILED, code, message)
