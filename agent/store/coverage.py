"""Coverage: what each run read of each (provider, account, region, collector) unit, and what
failed. Missing data is never zero, so every later question about a unit is answered from here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from computewatch.domain import SAMPLING_GAP, CoverageEntry, CoverageStatus, Window
from computewatch.store.schema import api_error_counts, coverage, runs, unit_state
from computewatch.store.sql import Repository, aware, maybe_aware

Unit = tuple[str, str, str, str]  # provider, account id, region, collector
_UNIT = [coverage.c.provider, coverage.c.account_id, coverage.c.region, coverage.c.collector]


def _entry(r: sa.RowMapping) -> CoverageEntry:
    return CoverageEntry(
        provider=r["provider"],
        account_id=r["account_id"],
        region=r["region"],
        collector=r["collector"],
        period_start=aware(r["period_start"]),
        period_end=aware(r["period_end"]),
        status=CoverageStatus(r["status"]),
        error_code=r["error_code"],
        error_message=r["error_message"],
    )


class CoverageRepo(Repository):
    """`store.coverage`: append-only; each run adds its own entries."""

    def write(self, run_id: int, entries: Iterable[CoverageEntry], recorded_at: datetime) -> None:
        """Append a run's entries, and in the same transaction keep each unit's latest state and
        the API error counters up to date (what `status` and `/metrics` read)."""
        rows = [
            {
                "run_id": run_id,
                "provider": e.provider,
                "account_id": e.account_id,
                "region": e.region,
                "collector": e.collector,
                "period_start": e.period_start,
                "period_end": e.period_end,
                "status": str(e.status),
                "error_code": e.error_code,
                "error_message": e.error_message,
                "recorded_at": recorded_at,
            }
            for e in entries
        ]
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(coverage.insert(), rows)
            self._maintain(conn, [r for r in rows if r["error_code"] != SAMPLING_GAP])

    def _maintain(self, conn: Connection, reads: list[dict[str, Any]]) -> None:
        latest: dict[Unit, dict[str, Any]] = {}
        errors: dict[tuple[str, str, str], int] = defaultdict(int)
        for r in reads:
            ok = r["status"] == str(CoverageStatus.OK)
            latest[(r["provider"], r["account_id"], r["region"], r["collector"])] = {
                **r,
                "ok_period_start": r["period_start"] if ok else None,
                "ok_period_end": r["period_end"] if ok else None,
                "ok_recorded_at": r["recorded_at"] if ok else None,
            }
            if r["status"] == str(CoverageStatus.FAILED):
                errors[(r["provider"], r["collector"], r["error_code"])] += 1
        if latest:
            stmt = self._insert(unit_state)
            keep = {
                c: sa.func.coalesce(stmt.excluded[c], unit_state.c[c])
                for c in ("ok_period_start", "ok_period_end", "ok_recorded_at")
            }
            fresh = ("run_id", "period_start", "period_end", "status", "error_code")
            stmt = stmt.on_conflict_do_update(
                index_elements=["provider", "account_id", "region", "collector"],
                set_={c: stmt.excluded[c] for c in (*fresh, "error_message", "recorded_at")} | keep,
            )
            conn.execute(stmt, list(latest.values()))
        if errors:
            stmt = self._insert(api_error_counts)
            stmt = stmt.on_conflict_do_update(
                index_elements=["provider", "collector", "error_code"],
                set_={"count": api_error_counts.c.count + stmt.excluded["count"]},
            )
            conn.execute(
                stmt,
                [
                    {"provider": p, "collector": c, "error_code": code, "count": n}
                    for (p, c, code), n in sorted(errors.items())
                ],
            )

    def for_run(self, run_id: int) -> list[CoverageEntry]:
        """A run's entries in the order it wrote them."""
        stmt = sa.select(coverage).where(coverage.c.run_id == run_id).order_by(coverage.c.id)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(stmt).mappings()]

    def read_times(
        self,
        collectors: Iterable[str],
        since: datetime,
        before: datetime,
        accounts: Iterable[str] | None = None,
    ) -> dict[Unit, list[datetime]]:
        """Per unit of these collectors (of these accounts, if given), when it was read
        successfully in [since, before), plus its last such read before `since` (the one a gap
        at the window's start is measured from)."""
        names = list(collectors)
        if not names:
            return {}
        ok: tuple[Any, ...] = (
            coverage.c.collector.in_(names),
            coverage.c.status == str(CoverageStatus.OK),
        )
        if accounts is not None:
            ok = (*ok, coverage.c.account_id.in_(sorted(set(accounts))))
        inside = (
            sa.select(*_UNIT, coverage.c.recorded_at)
            .where(*ok, coverage.c.recorded_at >= since, coverage.c.recorded_at < before)
            .distinct()
        )
        earlier = (
            sa.select(*_UNIT, sa.func.max(coverage.c.recorded_at))
            .where(*ok, coverage.c.recorded_at < since)
            .group_by(*_UNIT)
        )
        out: dict[Unit, list[datetime]] = defaultdict(list)
        with self.engine.connect() as conn:
            for stmt in (earlier, inside):
                for row in conn.execute(stmt):
                    out[(row[0], row[1], row[2], row[3])].append(aware(row[4]))
        return {k: sorted(v) for k, v in out.items()}

    def sampling_state(
        self, collectors: Iterable[str], window: Window, now: datetime
    ) -> tuple[dict[Unit, tuple[datetime, list[tuple[datetime, datetime]]]], set[Unit]]:
        """What the previous run established, so a run need not read the month's history:
        per unit whose latest read was a successful read of exactly `window` at or before
        `now`, that read's time and the sampling gaps it found (the gaps between all reads up to
        it; O(units) rows from `unit_state` plus that run's gap rows). Second: the other units
        that have a read at all (their gaps come from `read_times`). Read times are the runs'
        start times (`runs.started_at`), as `pipeline.collect` records them."""
        names = list(collectors)
        if not names:
            return {}, set()
        cols = (unit_state.c.run_id, unit_state.c.status, unit_state.c.recorded_at)
        state = sa.select(
            *(unit_state.c[c.name] for c in _UNIT),
            *cols,
            unit_state.c.period_start,
            unit_state.c.period_end,
        ).where(unit_state.c.collector.in_(names))
        carried: dict[Unit, tuple[datetime, list[tuple[datetime, datetime]]]] = {}
        run_of: dict[Unit, int] = {}
        stale: set[Unit] = set()
        with self.engine.connect() as conn:
            for r in conn.execute(state):
                unit, at = (r[0], r[1], r[2], r[3]), aware(r[6])
                same = (aware(r[7]), aware(r[8])) == (window.start, window.end)
                if r[5] == str(CoverageStatus.OK) and same and at <= now:
                    carried[unit], run_of[unit] = (at, []), r[4]
                else:
                    stale.add(unit)
            if not run_of:
                return carried, stale
            # A run whose clock was behind an earlier run's read measured gaps without that read:
            # its units take the history path.
            ahead = sa.select(runs.c.id, runs.c.started_at).where(
                runs.c.started_at > min(at for at, _ in carried.values())
            )
            for run_id, started in conn.execute(ahead):
                for unit in [u for u, r in run_of.items() if run_id < r]:
                    if aware(started) > carried[unit][0]:
                        del carried[unit], run_of[unit]
                        stale.add(unit)
            gaps = (
                sa.select(*_UNIT, coverage.c.run_id, coverage.c.period_start, coverage.c.period_end)
                .where(
                    coverage.c.run_id.in_(sorted(set(run_of.values()))),
                    coverage.c.collector.in_(names),
                    coverage.c.error_code == SAMPLING_GAP,
                )
                .order_by(coverage.c.id)
            )
            for r in conn.execute(gaps):
                unit = (r[0], r[1], r[2], r[3])
                if run_of.get(unit) == r[4]:
                    carried[unit][1].append((aware(r[5]), aware(r[6])))
        return carried, stale

    def for_window(self, window: Window) -> dict[Unit, list[CoverageEntry]]:
        """Per unit, what its most recent read of exactly this window recorded: the read's own
        entry and the sampling gaps found with it (what a run that skips the unit carries over)."""
        newest = (
            sa.select(sa.func.max(coverage.c.id).label("id"))
            .where(coverage.c.period_start == window.start, coverage.c.period_end == window.end)
            .group_by(*_UNIT)
            .subquery()
        )
        latest = sa.select(*_UNIT, coverage.c.run_id).join(newest, coverage.c.id == newest.c.id)
        out: dict[Unit, list[CoverageEntry]] = defaultdict(list)
        with self.engine.connect() as conn:
            runs_of = {(r[0], r[1], r[2], r[3]): r[4] for r in conn.execute(latest)}
            if not runs_of:
                return {}
            rows = conn.execute(
                sa.select(coverage)
                .where(coverage.c.run_id.in_(set(runs_of.values())))
                .order_by(coverage.c.id)
            ).mappings()
            for r in rows:
                unit = (r["provider"], r["account_id"], r["region"], r["collector"])
                if runs_of.get(unit) == r["run_id"]:
                    out[unit].append(_entry(r))
        return dict(out)

    def final_days(self, provider: str, collector: str, final_after: timedelta) -> frozenset[date]:
        """Days a collector already read successfully at least `final_after` after they ended."""
        stmt = sa.select(
            coverage.c.period_start, coverage.c.period_end, coverage.c.recorded_at
        ).where(
            coverage.c.provider == provider,
            coverage.c.collector == collector,
            coverage.c.status == str(CoverageStatus.OK),
        )
        days: set[date] = set()
        with self.engine.connect() as conn:
            for start, end, recorded in conn.execute(stmt):
                start, settled = aware(start), min(aware(end), aware(recorded) - final_after)
                if settled > start:
                    days.update(Window(start, settled).full_days())
        return frozenset(days)

    def latest(self) -> list[tuple[CoverageEntry, datetime]]:
        """Per unit: its most recent read and when it was recorded (a sampling gap is found with
        a read, not a read of its own). One row per unit, kept as coverage is written."""
        stmt = sa.select(unit_state).order_by(
            unit_state.c.provider,
            unit_state.c.account_id,
            unit_state.c.region,
            unit_state.c.collector,
        )
        with self.engine.connect() as conn:
            return [(_entry(r), aware(r["recorded_at"])) for r in conn.execute(stmt).mappings()]

    def last_good_reads(self, window: Window, collectors: Iterable[str]) -> dict[Unit, datetime]:
        """Units of these collectors whose latest successful read was of exactly `window`, and
        when: every day of the window up to then was derived by that read or an earlier one."""
        names = list(collectors)
        if not names:
            return {}
        stmt = sa.select(
            unit_state.c.provider,
            unit_state.c.account_id,
            unit_state.c.region,
            unit_state.c.collector,
            unit_state.c.ok_recorded_at,
        ).where(
            unit_state.c.collector.in_(names),
            unit_state.c.ok_period_start == window.start,
            unit_state.c.ok_period_end == window.end,
        )
        with self.engine.connect() as conn:
            return {
                (r[0], r[1], r[2], r[3]): at
                for r in conn.execute(stmt)
                if (at := maybe_aware(r[4])) is not None
            }

    def vouched(self, window: Window) -> dict[Unit, list[tuple[CoverageEntry, datetime]]]:
        """Per unit, what the stored history says of `window` (a window before an audited
        period is judged on it): each distinct period it was read OK for, with its latest such
        read's time (a read vouches for no time after it), and the sampling gaps that latest
        successful read of the period found (gaps final billing closed are skipped, not
        failed)."""
        overlaps = (coverage.c.period_start < window.end, coverage.c.period_end > window.start)
        ok_read = (
            coverage.c.status == str(CoverageStatus.OK),
            coverage.c.error_code != SAMPLING_GAP,
        )
        period = (coverage.c.period_start, coverage.c.period_end)
        reads = (
            sa.select(*_UNIT, *period, sa.func.max(coverage.c.recorded_at))
            .where(*overlaps, *ok_read)
            .group_by(*_UNIT, *period)
        )
        newest = (
            sa.select(sa.func.max(coverage.c.id).label("id"))
            .where(*overlaps, *ok_read)
            .group_by(*_UNIT, *period)
            .subquery()
        )
        latest = coverage.alias("latest")
        found_with = sa.and_(*(latest.c[c.name] == c for c in (*_UNIT, coverage.c.run_id)))
        gaps = (
            sa.select(*_UNIT, *period, coverage.c.recorded_at)
            .join(latest, found_with)
            .join(newest, latest.c.id == newest.c.id)
            .where(
                *overlaps,
                coverage.c.error_code == SAMPLING_GAP,
                coverage.c.status == str(CoverageStatus.FAILED),
            )
            .distinct()
        )
        out: dict[Unit, list[tuple[CoverageEntry, datetime]]] = defaultdict(list)
        with self.engine.connect() as conn:
            for stmt, status in ((reads, CoverageStatus.OK), (gaps, CoverageStatus.FAILED)):
                for r in conn.execute(stmt):
                    unit = (r[0], r[1], r[2], r[3])
                    code = SAMPLING_GAP if status is CoverageStatus.FAILED else ""
                    e = CoverageEntry(*unit, aware(r[4]), aware(r[5]), status, code)
                    out[unit].append((e, aware(r[6])))
        return {
            k: sorted(v, key=lambda p: (p[0].period_start, p[0].status)) for k, v in out.items()
        }

    def api_errors(self) -> dict[tuple[str, str, str], int]:
        """Failed API reads over all runs, by provider, collector and error code (sampling gaps
        are not API errors, and each run would count the same gap again). Counted on write."""
        stmt = sa.select(
            api_error_counts.c.provider,
            api_error_counts.c.collector,
            api_error_counts.c.error_code,
            api_error_counts.c.count,
        )
        with self.engine.connect() as conn:
            return {(p, c, code or "unknown"): int(n) for p, c, code, n in conn.execute(stmt)}
