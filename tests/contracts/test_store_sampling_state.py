"""Incremental sampling gaps: carrying forward what the previous run found (its read time and
gaps, from `unit_state`) gives exactly the gaps the month's whole read history gives, through
downtime, failed reads, skipped units, a read of another window, a rerun at the same time and a
run whose clock is behind the latest read."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from computewatch.collectors.sampling import sampling_gaps
from computewatch.domain import SAMPLING_GAP, CoverageEntry, CoverageStatus, Window, utc
from computewatch.pipeline.collect import sampling_reads
from computewatch.store import Store
from tests.helpers.store import NOV, OCT, entry

MAX = timedelta(minutes=150)
A, B = "111111111111", "222222222222"
UNITS = {a: ("aws", a, "us-east-1", "aws.ec2") for a in (A, B)}
OK, FAILED, SKIPPED = CoverageStatus.OK, CoverageStatus.FAILED, CoverageStatus.SKIPPED

# (now, window, per account: OK / FAILED / absent = not read by this run)
STEPS: list[tuple[datetime, Window, dict[str, CoverageStatus]]] = [
    (utc(2026, 10, 31, 20), OCT, {A: OK, B: OK}),
    (utc(2026, 11, 1, 3), NOV, {A: OK, B: OK}),  # gap across the month's start, clipped
    (utc(2026, 11, 1, 4), NOV, {A: OK, B: OK}),
    (utc(2026, 11, 1, 9), NOV, {A: OK, B: OK}),  # down 4-9
    (utc(2026, 11, 1, 10), NOV, {A: OK, B: OK}),
    (utc(2026, 11, 1, 10), NOV, {A: OK, B: OK}),  # rerun at the same time
    (utc(2026, 11, 1, 15), NOV, {A: OK, B: FAILED}),  # down 10-15; B's read fails
    (utc(2026, 11, 1, 16), NOV, {A: OK, B: OK}),
    (utc(2026, 11, 1, 21), OCT, {A: OK}),  # A read for another window
    (utc(2026, 11, 2, 1), NOV, {A: OK, B: OK}),
    (utc(2026, 11, 1, 23), NOV, {A: OK, B: OK}),  # a clock behind the latest read
    (utc(2026, 11, 2, 6), NOV, {A: OK}),  # B not read by this run
    (utc(2026, 11, 2, 7), NOV, {A: OK, B: OK}),
    (utc(2026, 11, 2, 8), NOV, {A: OK, B: OK}),
]


def full_history(store: Store, window: Window, now: datetime) -> dict[str, list[tuple]]:
    reads = store.coverage.read_times(["aws.ec2"], window.start, now)
    return {a: sampling_gaps(reads.get(u, ()), now, window, MAX) for a, u in UNITS.items()}


def carried_forward(store: Store, window: Window, now: datetime) -> dict[str, list[tuple]]:
    reads, known = sampling_reads(store, ["aws.ec2"], window, now)
    return {
        a: [*known.get(u, ()), *sampling_gaps(reads.get(u, ()), now, window, MAX)]
        for a, u in UNITS.items()
    }


def gap(account: str, period: tuple[datetime, datetime], status: CoverageStatus) -> CoverageEntry:
    e = entry(FAILED, account=account, window=NOV, code=SAMPLING_GAP)
    return replace(e, period_start=period[0], period_end=period[1], status=status)


def test_carried_gaps_equal_the_whole_history(store: Store) -> None:
    carried_units = 0
    found_gaps = set()
    for i, (now, window, statuses) in enumerate(STEPS):
        expected = full_history(store, window, now)
        assert carried_forward(store, window, now) == expected, f"step {i} at {now}"
        carried_units += len(store.coverage.sampling_state(["aws.ec2"], window, now)[0])
        run = store.runs.start(window, now, "t", "0" * 64)
        store.coverage.write(
            run,
            [entry(s, account=a, window=window) for a, s in statuses.items()],
            now,
        )
        # Gaps are found with a successful read; one closed by billing is still a gap found.
        closed = i % 3 == 0
        gaps = [
            gap(a, p, SKIPPED if closed else FAILED)
            for a, s in statuses.items()
            if s is OK
            for p in expected[a]
        ]
        store.coverage.write(run, gaps, now)
        found_gaps |= {(e.account_id, e.period_start, e.period_end) for e in gaps}
    assert carried_units >= 12  # the carried path, not only the fallback, was exercised
    assert (A, NOV.start, utc(2026, 11, 1, 3)) in found_gaps
    assert (B, utc(2026, 11, 1, 10), utc(2026, 11, 1, 16)) in found_gaps
    assert (B, utc(2026, 11, 2, 1), utc(2026, 11, 2, 7)) in found_gaps


def test_steady_state_reads_no_history(store: Store) -> None:
    """Two hourly runs of the window: the second carries every unit, with no stale unit that
    would need the read history."""
    for now in (utc(2026, 11, 1, 1), utc(2026, 11, 1, 2)):
        run = store.runs.start(NOV, now, "t", "0" * 64)
        store.coverage.write(run, [entry(account=a, window=NOV) for a in UNITS], now)
    carried, stale = store.coverage.sampling_state(["aws.ec2"], NOV, utc(2026, 11, 1, 3))
    assert stale == set()
    assert carried == {u: (utc(2026, 11, 1, 2), []) for u in UNITS.values()}
    assert store.coverage.sampling_state([], NOV, utc(2026, 11, 1, 3)) == ({}, set())
