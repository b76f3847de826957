"""Daily simultaneous peaks, kept with the proven intervals they are swept from.

The true simultaneous peak of an account over a window (all regions at one instant) is the
largest of its days' peaks: intervals are half-open and an instant lies in exactly one day. The
interval fold therefore re-sweeps only the days whose intervals it changed (`refresh`, in the
fold's transaction), and a window's peak is one grouped MAX over its days (`PeakRepo`), where
sweeping the month's intervals every hour grew with the month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from computewatch.domain.concurrency import SimultaneousPeak, simultaneous_peaks
from computewatch.domain.records import Observation
from computewatch.domain.window import Window, day_start
from computewatch.store.schema import daily_peaks, proven_intervals
from computewatch.store.sql import BATCH, Repository, aware

Account = tuple[str, str]  # provider, account id
Key = tuple[str, str, datetime, str, str]  # provider, account, day, region, accelerator
_P, _T = daily_peaks, proven_intervals
DAY = timedelta(days=1)


def days_of(start: datetime, end: datetime) -> list[datetime]:
    """The starts of the days [start, end) touches (none for an empty span)."""
    out, day = [], day_start(start)
    while day < end:
        out.append(day)
        day += DAY
    return out


def _rows(account: Account, day: datetime, peak: SimultaneousPeak) -> dict[Key, float]:
    p, a = account
    out = {(p, a, day, "", ""): peak.total}
    out |= {(p, a, day, "", chip): v for chip, v in peak.by_chip.items()}
    for region, chips in peak.by_region.items():
        out |= {(p, a, day, region, chip): v for chip, v in chips.items()}
    return out


def _swept(conn: Connection, accounts: list[str], lo: datetime, hi: datetime) -> list[Observation]:
    stmt = sa.select(
        _T.c.provider,
        _T.c.account_id,
        _T.c.region,
        _T.c.collector,
        _T.c.resource_id,
        _T.c.last_observed_at,
        _T.c.sku,
        _T.c.accelerator,
        _T.c.count,
        _T.c.state,
        _T.c.start_at,
        _T.c.end_at,
    ).where(_T.c.account_id.in_(accounts), _T.c.end_at > lo, _T.c.start_at < hi)
    return [
        Observation(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            aware(r[5]),
            r[6],
            r[7],
            r[8],
            r[9],
            aware(r[10]),
            aware(r[11]),
        )
        for r in conn.execute(stmt)
    ]


def refresh(conn: Connection, touched: Mapping[Account, Iterable[datetime]]) -> None:
    """Sweep again the days of these accounts (day starts) from the stored intervals and write
    the peaks that changed (rows no longer found are deleted: a chip renamed by a later read)."""
    wanted = {(acc, d) for acc, days in touched.items() for d in days}
    if not wanted:
        return
    by_account: dict[str, set[Account]] = defaultdict(set)
    for (p, a), _ in wanted:
        by_account[a].add((p, a))
    ids = sorted(by_account)
    for i in range(0, len(ids), BATCH):
        chunk = ids[i : i + BATCH]
        mine = {(acc, d) for acc, d in wanted if acc[1] in chunk}
        lo, hi = min(d for _, d in mine), max(d for _, d in mine) + DAY
        found: dict[Account, list[Observation]] = defaultdict(list)
        for o in _swept(conn, chunk, lo, hi):
            found[(o.provider, o.account_id)].append(o)
        fresh: dict[Key, float] = {}
        for acc, day in mine:
            swept = simultaneous_peaks(found.get(acc, []), Window(day, day + DAY))
            if acc in swept:
                fresh |= _rows(acc, day, swept[acc])
        days = sorted({d for _, d in mine})
        providers = sorted({p for (p, _), _ in mine})
        cols = (_P.c.provider, _P.c.account_id, _P.c.day, _P.c.region, _P.c.accelerator)
        stored: dict[Key, float] = {
            (r[0], r[1], aware(r[2]), r[3], r[4]): float(r[5])
            for r in conn.execute(
                sa.select(*cols, _P.c.peak).where(
                    _P.c.day.in_(days), _P.c.provider.in_(providers), _P.c.account_id.in_(chunk)
                )
            )
            if ((r[0], r[1]), aware(r[2])) in mine
        }
        _write(conn, stored, fresh)


def _write(conn: Connection, stored: dict[Key, float], fresh: dict[Key, float]) -> None:
    cols = ("provider", "account_id", "day", "region", "accelerator")
    gone = [k for k in stored if k not in fresh]
    for k in gone:
        conn.execute(sa.delete(_P).where(*(_P.c[c] == v for c, v in zip(cols, k, strict=True))))
    new = [
        dict(zip(cols, k, strict=True)) | {"peak": v} for k, v in fresh.items() if k not in stored
    ]
    if new:
        conn.execute(sa.insert(_P), new)
    changed = [
        {f"k_{c}": v for c, v in zip(cols, k, strict=True)} | {"v": p}
        for k, p in fresh.items()
        if k in stored and stored[k] != p
    ]
    if changed:
        stmt = (
            sa.update(_P)
            .where(*(_P.c[c] == sa.bindparam(f"k_{c}") for c in cols))
            .values(peak=sa.bindparam("v"))
        )
        conn.execute(stmt, changed)


def backfill(conn: Connection) -> None:
    """Migration 14: the daily peaks of every interval already stored."""
    touched: dict[Account, set[datetime]] = defaultdict(set)
    stmt = sa.select(_T.c.provider, _T.c.account_id, _T.c.start_at, _T.c.end_at)
    for p, a, start, end in conn.execute(stmt):
        touched[(p, a)].update(days_of(aware(start), aware(end)))
    refresh(conn, touched)


class PeakRepo(Repository):
    """`store.peaks`: the true simultaneous peak per account over a window of whole days."""

    def for_window(self, window: Window) -> dict[Account, SimultaneousPeak]:
        stmt = (
            sa.select(
                _P.c.provider,
                _P.c.account_id,
                _P.c.region,
                _P.c.accelerator,
                sa.func.max(_P.c.peak),
            )
            .where(_P.c.day >= window.start, _P.c.day < window.end)
            .group_by(_P.c.provider, _P.c.account_id, _P.c.region, _P.c.accelerator)
        )
        out: dict[Account, SimultaneousPeak] = {}
        with self.engine.connect() as conn:
            rows: list[Any] = list(conn.execute(stmt))
        for p, a, region, chip, peak in sorted(rows):
            acc = out.setdefault((p, a), SimultaneousPeak())
            if not region and not chip:
                acc.total = float(peak)
            elif not region:
                acc.by_chip[chip] = float(peak)
            else:
                acc.by_region.setdefault(region, {})[chip] = float(peak)
        return out
