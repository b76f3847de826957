"""engine.stored_coverage: the earlier part of a window is covered exactly where stored reads
reach, unit by unit of the run; nothing stored is a failure, never a zero."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from computewatch.domain import CoverageEntry, CoverageStatus, Window, utc
from computewatch.engine.stored_coverage import (
    NOT_IN_STORE,
    uncovered,
    unread_stretch,
    window_coverage,
)

NOV = Window.month("2026-11")
UNIT = ("aws", "111111111111", "us-east-1", "aws.ec2")


def ok(start: int, end: int) -> CoverageEntry:
    """An OK read of [Oct start, Oct end) (31 + n: November n)."""
    oct0 = utc(2026, 10, 1) - timedelta(days=1)
    s, e = oct0 + timedelta(days=start), oct0 + timedelta(days=end)
    return CoverageEntry(*UNIT, s, e, CoverageStatus.OK)


RUN = [dataclasses.replace(ok(32, 62), period_start=NOV.start, period_end=NOV.end)]


def test_uncovered_merges_overlapping_reads() -> None:
    span = Window(utc(2026, 10, 1), utc(2026, 11, 1))
    reads = [(utc(2026, 10, 5), utc(2026, 10, 9)), (utc(2026, 10, 1), utc(2026, 10, 6))]
    reads.append((utc(2026, 10, 20), utc(2026, 12, 1)))
    assert uncovered(span, reads) == [Window(utc(2026, 10, 9), utc(2026, 10, 20))]
    assert uncovered(span, []) == [span]
    assert uncovered(span, [(utc(2026, 9, 1), utc(2026, 11, 2))]) == []


def test_a_window_inside_the_audit_is_the_run_coverage() -> None:
    assert window_coverage(RUN, {}, NOV, NOV) == RUN


def test_rolling_year_complete_only_where_reads_reach() -> None:
    year = Window(NOV.end - timedelta(days=365), NOV.end)
    months = [
        CoverageEntry(*UNIT, m.start, m.end, CoverageStatus.OK)
        for m in Window(year.start, NOV.start).calendar_months()
    ]
    first = Window(months[0].period_start, months[0].period_end)  # December 2025
    read = {UNIT: [(m, m.period_end) for m in months]}  # each month read after its end
    assert window_coverage(RUN, read, year, NOV) == RUN
    missing = window_coverage(RUN, {UNIT: read[UNIT][1:]}, year, NOV)
    assert missing[:1] == RUN
    (gap,) = missing[1:]
    assert (gap.status, gap.error_code) == (CoverageStatus.FAILED, NOT_IN_STORE)
    assert (gap.period_start, gap.period_end) == (first.start, first.end)
    assert unread_stretch(gap) == " 2025-12-01 00:00 to 2026-01-01 00:00 UTC"
    assert unread_stretch(RUN[0]) == ""


def test_only_units_the_run_read_are_asked_for() -> None:
    other = ("aws", "222222222222", "us-east-1", "aws.ec2")
    q4 = Window(utc(2026, 10, 1), NOV.end)
    got = window_coverage(RUN, {other: [], UNIT: [(ok(1, 32), NOV.start)]}, q4, NOV)
    assert got == RUN


def test_a_read_reaches_its_time_plus_the_allowed_gap_within_its_period() -> None:
    q4 = Window(utc(2026, 10, 1), NOV.end)
    early = [(ok(1, 32), utc(2026, 10, 31, 23, 30))]
    (_, gap) = window_coverage(RUN, {UNIT: early}, q4, NOV)
    assert (gap.period_start, gap.period_end) == (utc(2026, 10, 31, 23, 30), NOV.start)
    assert window_coverage(RUN, {UNIT: early}, q4, NOV, timedelta(minutes=30)) == RUN
    late = [(ok(1, 20), utc(2026, 11, 5))]  # a read of Oct 1-19 reaches no further
    (_, gap) = window_coverage(RUN, {UNIT: late}, q4, NOV, timedelta(days=30))
    assert (gap.period_start, gap.period_end) == (utc(2026, 10, 20), NOV.start)
