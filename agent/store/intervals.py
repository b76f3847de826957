"""Proven running intervals of sampled resources, extended by every read.

An inventory that only shows the present is sampled hour after hour; each observation proves a
resource ran over [launch, observed or stopped]. The union of those spans per resource is all that
usage is derived from, so the store keeps the union itself (`proven_intervals`) and folds each new
observation into it as it is written: a run reads one row per resource and run of it, never the
month's raw observations. The raw observations stay (until compacted) as the evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from computewatch.domain import Observation, Window
from computewatch.store.peaks import days_of, refresh
from computewatch.store.schema import ESTIMATED, proven_intervals, usage
from computewatch.store.sql import BATCH, Repository, aware

Unit = tuple[str, str, str, str]  # provider, account id, region, collector
_T = proven_intervals


@dataclass
class _Row:
    """One stored (or new) interval of one resource."""

    id: int | None
    start: datetime
    end: datetime
    sku: str
    accelerator: str
    count: float
    state: str
    first: datetime
    last: datetime

    @property
    def proves(self) -> bool:
        return self.end > self.start

    def take_latest(self, other: _Row) -> None:
        """Widen to `other` and keep what the newest observation said of the resource."""
        self.start, self.end = min(self.start, other.start), max(self.end, other.end)
        self.first = min(self.first, other.first)
        if other.last >= self.last:
            self.sku, self.accelerator, self.count = other.sku, other.accelerator, other.count
            self.state, self.last = other.state, other.last


def _new(o: Observation) -> _Row:
    end = o.ended_at if o.ended_at is not None else o.observed_at
    return _Row(
        None,
        o.started_at,
        end,
        o.sku,
        o.accelerator,
        o.count,
        o.state,
        o.observed_at,
        o.observed_at,
    )


def merge(rows: list[_Row], new: _Row) -> list[_Row]:
    """Fold one observation's span into a resource's rows: a span that proves time absorbs every
    proving row it overlaps or touches (the union is associative, so the order of reads does not
    matter); a span that proves none is kept apart (it still says the resource was seen)."""
    if not new.proves:
        for r in rows:
            if not r.proves and r.start == new.start and r.end == new.end:
                r.take_latest(new)
                return rows
        return [*rows, new]
    touching = [r for r in rows if r.proves and r.start <= new.end and r.end >= new.start]
    if not touching:
        return [*rows, new]
    keep = min(touching, key=lambda r: (r.start, r.id or 0))
    for r in touching:
        if r is not keep:
            keep.take_latest(r)
    keep.take_latest(new)
    return [r for r in rows if r is keep or r not in touching]


def _values(unit: Unit, rid: str, r: _Row, run_id: int) -> dict[str, Any]:
    return {
        "provider": unit[0],
        "account_id": unit[1],
        "region": unit[2],
        "collector": unit[3],
        "resource_id": rid,
        "start_at": r.start,
        "end_at": r.end,
        "sku": r.sku,
        "accelerator": r.accelerator,
        "count": r.count,
        "state": r.state,
        "first_observed_at": r.first,
        "last_observed_at": r.last,
        "run_id": run_id,
    }


def _stored(
    conn: Connection, by_unit: Mapping[Unit, Mapping[str, list[Observation]]]
) -> dict[tuple[Unit, str], list[_Row]]:
    """The stored rows a batch of observations can merge with: of the same resources, ending no
    earlier than the observed spans start. Resources are queried in chunks of similar launch
    time, so a chunk of recent launches does not read back the older runs of its resources."""
    earliest = sorted(
        (min(min(o.started_at, _new(o).end) for o in obs), rid)
        for resources in by_unit.values()
        for rid, obs in resources.items()
    )
    wanted = {(unit, rid) for unit, resources in by_unit.items() for rid in resources}
    out: dict[tuple[Unit, str], list[_Row]] = defaultdict(list)
    for i in range(0, len(earliest), BATCH):
        chunk = earliest[i : i + BATCH]
        stmt = sa.select(_T).where(
            _T.c.resource_id.in_(sorted({rid for _, rid in chunk})), _T.c.end_at >= chunk[0][0]
        )
        for m in conn.execute(stmt).mappings():
            key = ((m["provider"], m["account_id"], m["region"], m["collector"]), m["resource_id"])
            if key in wanted and all(r.id != m["id"] for r in out[key]):
                out[key].append(
                    _Row(
                        int(m["id"]),
                        aware(m["start_at"]),
                        aware(m["end_at"]),
                        m["sku"],
                        m["accelerator"],
                        m["count"],
                        m["state"],
                        aware(m["first_observed_at"]),
                        aware(m["last_observed_at"]),
                    )
                )
    return out


def fold(conn: Connection, run_id: int, items: Iterable[Observation]) -> None:
    """Fold observations into the stored intervals, inside the caller's transaction (the one that
    writes the observations, so a crash leaves both or neither)."""
    by_unit: dict[Unit, dict[str, list[Observation]]] = defaultdict(lambda: defaultdict(list))
    for o in items:
        by_unit[(o.provider, o.account_id, o.region, o.collector)][o.resource_id].append(o)
    stored = _stored(conn, by_unit)
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    gone: list[int] = []
    touched: dict[tuple[str, str], set[datetime]] = defaultdict(set)
    for unit, resources in by_unit.items():
        for rid, observed in resources.items():
            mine = stored.get((unit, rid), [])
            before = {r.id: (r.start, r.end, r.last) for r in mine}
            shape = {r.id: _shape(r) for r in mine}
            rows = [*mine]
            for o in sorted(observed, key=lambda o: o.observed_at):
                rows = merge(rows, _new(o))
            kept = {r.id for r in rows}
            gone += [i for i in before if i not in kept and i is not None]
            # The days whose simultaneous peak may differ: those of every span that changed
            # (start, end, chip or count), as it was and as it is.
            moved = [shape[i] for i in shape if i not in kept]
            for r in rows:
                if r.id is None or shape[r.id] != _shape(r):
                    moved += [_shape(r)] + ([shape[r.id]] if r.id is not None else [])
                if r.id is None:
                    inserts.append(_values(unit, rid, r, run_id))
                elif before[r.id] != (r.start, r.end, r.last):
                    updates.append({"_id": r.id, **_values(unit, rid, r, run_id)})
            for start, end, _, _ in moved:
                touched[(unit[0], unit[1])].update(days_of(start, end))
    for i in range(0, len(gone), BATCH):
        conn.execute(sa.delete(_T).where(_T.c.id.in_(gone[i : i + BATCH])))
    if updates:
        cols = [c for c in updates[0] if c != "_id"]
        change = (
            sa.update(_T)
            .where(_T.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in cols})
        )
        conn.execute(change, updates)
    if inserts:
        conn.execute(sa.insert(_T), inserts)
    refresh(conn, touched)


def _shape(r: _Row) -> tuple[datetime, datetime, str, float]:
    return (r.start, r.end, r.accelerator, r.count)


class IntervalRepo(Repository):
    """`store.intervals`: what sampled collectors derive usage from."""

    def history(
        self, window: Window, before: datetime, since: datetime | None = None
    ) -> dict[Unit, list[Observation]]:
        """Per unit, one observation per stored interval that can prove time inside `window`
        (started before its end, ending after its start) and was first observed before
        `before`: proving what the raw observations it was folded from prove together, with the
        newest one's instance data. With `since`, only the intervals last observed from then on
        (the rest of the month cannot change a day from `since` on; see `older`)."""
        stmt = self._select(window, before)
        if since is not None:
            # The recent part is small and the month's end_at range is not: SQLite, which keeps
            # no statistics, is told which index to search (PostgreSQL's planner knows).
            stmt = stmt.where(_T.c.last_observed_at >= since).with_hint(
                _T, "INDEXED BY ix_intervals_last", "sqlite"
            )
        return self._observations(stmt)

    def older(
        self,
        window: Window,
        before: datetime,
        until: datetime,
        unit: Unit,
        resources: Sequence[str] | None = None,
    ) -> list[Observation]:
        """What `history(since=until)` left out of one unit (of these resources, if given):
        its intervals last observed before `until`."""
        stmt = self._select(window, before).where(
            _T.c.provider == unit[0],
            _T.c.account_id == unit[1],
            _T.c.region == unit[2],
            _T.c.collector == unit[3],
            _T.c.last_observed_at < until,
        )
        if resources is not None:
            stmt = stmt.where(_T.c.resource_id.in_(sorted(resources)))
        return self._observations(stmt).get(unit, [])

    def older_of(
        self, window: Window, before: datetime, until: datetime, accounts: Iterable[str] | None
    ) -> dict[Unit, list[Observation]]:
        """`older` for every unit of these accounts (None: of every account) at once."""
        stmt = self._select(window, before).where(_T.c.last_observed_at < until)
        if accounts is not None:
            stmt = stmt.where(_T.c.account_id.in_(sorted(set(accounts))))
        return self._observations(stmt)

    @staticmethod
    def _select(window: Window, before: datetime) -> sa.Select[Any]:
        return (
            sa.select(_T)
            .where(_T.c.end_at > window.start, _T.c.start_at < window.end)
            .where(_T.c.first_observed_at < before)
        )

    def _observations(self, stmt: sa.Select[Any]) -> dict[Unit, list[Observation]]:
        """Per unit in the order last observed (sorted here: an ORDER BY would lead SQLite to
        walk the whole last-observed index instead of searching the one a condition serves)."""
        out: dict[Unit, list[Observation]] = defaultdict(list)
        with self.engine.connect() as conn:
            found = conn.execute(stmt).mappings().all()
            for r in sorted(found, key=lambda m: (m["last_observed_at"], m["id"])):
                unit = (r["provider"], r["account_id"], r["region"], r["collector"])
                out[unit].append(
                    Observation(
                        provider=unit[0],
                        account_id=unit[1],
                        region=unit[2],
                        collector=unit[3],
                        resource_id=r["resource_id"],
                        observed_at=aware(r["last_observed_at"]),
                        sku=r["sku"],
                        accelerator=r["accelerator"],
                        count=r["count"],
                        state=r["state"],
                        started_at=aware(r["start_at"]),
                        ended_at=aware(r["end_at"]),
                    )
                )
        return dict(out)

    def estimated_units(self, window: Window, collectors: Sequence[str]) -> frozenset[Unit]:
        """Units whose stored records of `window` still carry a first read's launch-time
        estimate: the next read derives every day of them again (all become `sampled`)."""
        if not collectors:
            return frozenset()
        cols = [usage.c.provider, usage.c.account_id, usage.c.region, usage.c.collector]
        stmt = (
            sa.select(*cols)
            .where(
                ESTIMATED,  # as the partial index ix_usage_estimates says it
                usage.c.collector.in_(list(collectors)),
                usage.c.period_start >= window.start,
                usage.c.period_start < window.end,
            )
            .distinct()
        )
        with self.engine.connect() as conn:
            return frozenset((r[0], r[1], r[2], r[3]) for r in conn.execute(stmt))

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_T)).scalar() or 0)


def unit_of(o: Observation) -> Unit:
    return (o.provider, o.account_id, o.region, o.collector)


def group(items: Iterable[Observation]) -> Mapping[Unit, list[Observation]]:
    out: dict[Unit, list[Observation]] = defaultdict(list)
    for o in items:
        out[unit_of(o)].append(o)
    return out
