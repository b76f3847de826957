"""Issue 13 item 5: a window reaching before the audited period (a Q4-to-date rule audited in
November) is judged on the coverage the store holds there: complete stored reads of October make
it OK, a stretch no read covers makes it UNKNOWN for that stretch."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from computewatch.config.customers import Registry
from computewatch.domain import (
    SAMPLING_GAP,
    Account,
    CoverageEntry,
    CoverageStatus,
    DailyRow,
    FindingStatus,
    Method,
    Metric,
    Window,
    utc,
)
from computewatch.domain.catalog import Catalog
from computewatch.engine.assess import Aggregates, assess
from computewatch.engine.stored_coverage import NOT_IN_STORE
from computewatch.pipeline.assess import earlier_coverage
from computewatch.pipeline.collect import Collected
from computewatch.store import Store
from tests.helpers.store import NOV, OCT, RULE, entry

ACCOUNT = Account("aws", "111111111111", "research")
QUARTER = dataclasses.replace(RULE, id="q", window="quarter", threshold=100)
Q4_TO_DATE = Window(OCT.start, NOV.end)
UNIT = ("aws", "111111111111", "us-east-1", "aws.ec2")


def hours(month: int, per_day: float) -> list[DailyRow]:
    metric, method = str(Metric.ACCELERATOR_HOURS), Method.LAUNCH_TIME_ESTIMATE
    return [
        DailyRow(
            "aws", ACCOUNT.account_id, metric, "H100", "", method, utc(2026, month, d), per_day
        )
        for d in range(1, 31)
    ]


def judged(
    store: Store, catalog: Catalog, per_day: float, tolerance: timedelta = timedelta(0)
) -> tuple[FindingStatus, str]:
    """The Q4-to-date finding of a November audit whose run read November completely."""
    run = store.runs.start(NOV, utc(2026, 12, 1), "t", "0" * 64)
    collected = Collected((ACCOUNT,), (entry(window=NOV),), 0)
    store.coverage.write(run, collected.coverage, utc(2026, 12, 1))
    coverage = earlier_coverage(store, collected, [Q4_TO_DATE], NOV, tolerance)
    a = assess(
        window=NOV,
        now=utc(2026, 12, 1),
        accounts=[ACCOUNT],
        coverage=collected.coverage,
        aggregates={
            NOV: Aggregates(daily=hours(11, per_day)),
            Q4_TO_DATE: Aggregates(daily=hours(10, per_day) + hours(11, per_day)),
        },
        rules=[QUARTER],
        registry=Registry([]),
        restricted=[],
        catalog=catalog,
        band=(0.3, 0.4, 0.5),
        coverage_by_window=coverage,
    )
    (finding,) = [f for f in a.findings if f.window == Q4_TO_DATE]
    return finding.status, "; ".join(finding.evidence)


def read(store: Store, window: Window, at: datetime, *gaps: CoverageEntry) -> None:
    run = store.runs.start(window, at, "t", "0" * 64)
    store.coverage.write(run, [entry(window=window), *gaps], at)


def test_complete_stored_october_makes_the_quarter_ok(store: Store, catalog: Catalog) -> None:
    read(store, OCT, utc(2026, 10, 15))  # month to date: reaches the 15th ...
    read(store, OCT, utc(2026, 11, 1))  # ... the month-end read reaches November
    assert judged(store, catalog, 1.0)[0] is FindingStatus.OK  # 60 h <= 100 h, all read


def test_complete_stored_october_gives_a_breach_too(store: Store, catalog: Catalog) -> None:
    read(store, OCT, utc(2026, 11, 2))
    assert judged(store, catalog, 2.0)[0] is FindingStatus.BREACH  # 120 h > 100 h


def test_without_october_the_quarter_is_unknown(store: Store, catalog: Catalog) -> None:
    status, evidence = judged(store, catalog, 1.0)
    assert status is FindingStatus.UNKNOWN
    assert "NotInStore 2026-10-01 00:00 to 2026-11-01 00:00 UTC" in evidence


def test_only_the_unread_stretch_is_missing(store: Store, catalog: Catalog) -> None:
    read(store, OCT, utc(2026, 10, 20))  # the daemon stopped reading on the 20th
    run = store.runs.start(NOV, utc(2026, 12, 1), "t", "0" * 64)
    collected = Collected((ACCOUNT,), (entry(window=NOV),), 0)
    store.coverage.write(run, collected.coverage, utc(2026, 12, 1))
    (got,) = earlier_coverage(store, collected, [Q4_TO_DATE], NOV).values()
    missing = [e for e in got if e.status is CoverageStatus.FAILED]
    assert [(e.error_code, e.period_start, e.period_end) for e in missing] == [
        (NOT_IN_STORE, utc(2026, 10, 20), utc(2026, 11, 1))
    ]
    status, evidence = judged(store, catalog, 1.0)
    assert status is FindingStatus.UNKNOWN
    assert "NotInStore 2026-10-20 00:00 to 2026-11-01 00:00 UTC" in evidence


def gap(day: int, status: CoverageStatus = CoverageStatus.FAILED) -> CoverageEntry:
    """A sampling gap of October `day`, as a read of October finds it."""
    found = entry(CoverageStatus.FAILED, code=SAMPLING_GAP)
    start = utc(2026, 10, day)
    return dataclasses.replace(
        found, status=status, period_start=start, period_end=start + timedelta(days=1)
    )


def stored(e: CoverageEntry, at: datetime) -> tuple[CoverageEntry, datetime]:
    return dataclasses.replace(e, error_message=""), at


def test_a_sampling_gap_in_october_keeps_the_quarter_unknown(
    store: Store, catalog: Catalog
) -> None:
    read(store, OCT, utc(2026, 11, 1), gap(7))
    at = utc(2026, 11, 1)
    assert store.coverage.vouched(OCT)[UNIT] == [stored(entry(), at), stored(gap(7), at)]
    assert judged(store, catalog, 1.0)[0] is FindingStatus.UNKNOWN


def test_only_the_latest_read_of_a_period_says_which_gaps_remain(
    store: Store, catalog: Catalog
) -> None:
    """A gap final billing closed later is skipped, and one a later read no longer finds is
    gone: neither keeps the quarter unknown."""
    read(store, OCT, utc(2026, 10, 9), gap(7), gap(8))
    read(store, OCT, utc(2026, 11, 1), gap(7, CoverageStatus.SKIPPED))
    assert [e.status for e, _ in store.coverage.vouched(OCT)[UNIT]] == [CoverageStatus.OK]
    assert judged(store, catalog, 1.0)[0] is FindingStatus.OK


def test_the_last_read_before_midnight_covers_the_allowed_gap(
    store: Store, catalog: Catalog
) -> None:
    read(store, OCT, utc(2026, 10, 31, 23, 50))
    status, evidence = judged(store, catalog, 1.0)
    assert status is FindingStatus.UNKNOWN
    assert "NotInStore 2026-10-31 23:50 to 2026-11-01 00:00 UTC" in evidence
    assert judged(store, catalog, 1.0, timedelta(minutes=60))[0] is FindingStatus.OK


def test_reads_of_other_periods_and_failures_vouch_for_nothing(store: Store) -> None:
    read(store, NOV, utc(2026, 12, 1))
    run = store.runs.start(OCT, utc(2026, 11, 1), "t", "0" * 64)
    store.coverage.write(run, [entry(CoverageStatus.FAILED)], utc(2026, 11, 1))
    assert store.coverage.vouched(OCT) == {}
    got = store.coverage.vouched(Window(OCT.start, NOV.end))
    assert got == {UNIT: [stored(entry(window=NOV), utc(2026, 12, 1))]}
