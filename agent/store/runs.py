"""Runs: one row per audit or collection, from `running` to how it ended."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from computewatch.domain import RunStatus, Window
from computewatch.domain.timing import StageTiming
from computewatch.store import processes
from computewatch.store.schema import api_call_totals, run_processes, run_stages, runs
from computewatch.store.sql import Repository, aware, maybe_aware


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run as stored; `api_calls` counts cloud API calls by operation."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    window_start: datetime
    window_end: datetime
    status: RunStatus
    tool_version: str
    config_digest: str
    api_calls: dict[str, int]


@dataclass(frozen=True, slots=True)
class RunStats:
    """What operators ask of the runs table: counts by status, API calls, last good run."""

    by_status: dict[RunStatus, int]
    api_calls: dict[str, int]
    last_success: datetime | None
    last_run: RunRow | None


@dataclass(frozen=True, slots=True)
class RunningRun:
    """A run still marked `running`, with the process recorded for it: `here` tells whether
    this host can judge if that process lives (a run of another host cannot be judged here)."""

    run: RunRow
    host: str | None  # None: started before processes were recorded (migration 12)
    pid: int | None
    here: bool


def _run(r: sa.RowMapping) -> RunRow:
    return RunRow(
        id=int(r["id"]),
        started_at=aware(r["started_at"]),
        finished_at=maybe_aware(r["finished_at"]),
        window_start=aware(r["window_start"]),
        window_end=aware(r["window_end"]),
        status=RunStatus(r["status"]),
        tool_version=r["tool_version"],
        config_digest=r["config_digest"],
        api_calls={op: int(n) for op, n in json.loads(r["api_calls"]).items()},
    )


def add_calls(conn: Connection, calls: Mapping[str, int], insert: Any) -> None:
    """Add to the API call totals (kept on write: `/metrics` reads one row per operation)."""
    rows = [{"operation": op, "count": n} for op, n in sorted(calls.items()) if n]
    if rows:
        stmt = insert(api_call_totals)
        stmt = stmt.on_conflict_do_update(
            index_elements=["operation"],
            set_={"count": api_call_totals.c.count + stmt.excluded["count"]},
        )
        conn.execute(stmt, rows)


def backfill_calls(conn: Connection, insert: Any) -> None:
    """Migration 14: the totals of the runs already stored."""
    calls: dict[str, int] = {}
    for (text,) in conn.execute(sa.select(runs.c.api_calls)):
        for op, n in json.loads(text or "{}").items():
            calls[op] = calls.get(op, 0) + int(n)
    add_calls(conn, calls, insert)


class RunRepo(Repository):
    """`store.runs`."""

    def start(
        self, window: Window, started_at: datetime, tool_version: str, config_digest: str
    ) -> int:
        """Record a run as running; returns its id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                runs.insert().values(
                    started_at=started_at,
                    window_start=window.start,
                    window_end=window.end,
                    status=str(RunStatus.RUNNING),
                    tool_version=tool_version,
                    config_digest=config_digest,
                    api_calls="{}",
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            me = processes.current()
            conn.execute(
                run_processes.insert().values(
                    run_id=int(pk[0]), host=me.host, pid=me.pid, process_start=me.start
                )
            )
            return int(pk[0])

    def finish(
        self, run_id: int, finished_at: datetime, status: RunStatus, api_calls: Mapping[str, int]
    ) -> None:
        with self.engine.begin() as conn:
            # The totals get what this run adds to what it had recorded (finishing it again
            # counts nothing twice).
            before = conn.execute(sa.select(runs.c.api_calls).where(runs.c.id == run_id)).scalar()
            had = {op: int(n) for op, n in json.loads(before or "{}").items()}
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(
                    finished_at=finished_at,
                    status=str(status),
                    api_calls=json.dumps(dict(api_calls), sort_keys=True),
                )
            )
            add_calls(conn, {op: n - had.get(op, 0) for op, n in api_calls.items()}, self._insert)

    def record_stages(self, run_id: int, stages: Iterable[StageTiming]) -> None:
        """Where the run's time and memory went, in the order the stages ended."""
        rows = [
            {
                "run_id": run_id,
                "seq": seq,
                "name": t.name,
                "wall_s": t.wall_s,
                "cpu_s": t.cpu_s,
                "peak_mib": t.peak_mib,
            }
            for seq, t in enumerate(stages)
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(run_stages.delete().where(run_stages.c.run_id == run_id))
                conn.execute(run_stages.insert(), rows)

    def stages(self, run_id: int) -> list[StageTiming]:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(run_stages)
                .where(run_stages.c.run_id == run_id)
                .order_by(run_stages.c.seq)
            ).mappings()
            return [
                StageTiming(r["name"], float(r["wall_s"]), float(r["cpu_s"]), r["peak_mib"])
                for r in found
            ]

    def abandon_running(self, started_before: datetime, now: datetime) -> int:
        """Mark runs still running that started before `started_before` as abandoned (their
        process died); returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                runs.update()
                .where(runs.c.status == str(RunStatus.RUNNING), runs.c.started_at < started_before)
                .values(status=str(RunStatus.ABANDONED), finished_at=now)
            )
            return int(result.rowcount or 0)

    def abandon_dead(self, now: datetime) -> list[int]:
        """Mark runs still `running` whose process is certainly gone (same host, pid ended or
        reused) as abandoned; returns their ids. Any command that opens the store calls this."""
        stmt = (
            sa.select(
                runs.c.id, run_processes.c.host, run_processes.c.pid, run_processes.c.process_start
            )
            .join(run_processes, run_processes.c.run_id == runs.c.id)
            .where(runs.c.status == str(RunStatus.RUNNING))
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        dead = [
            int(r.id)
            for r in rows
            if processes.is_gone(processes.ProcessId(r.host, int(r.pid), r.process_start))
        ]
        if dead:
            with self.engine.begin() as conn:
                conn.execute(
                    runs.update()
                    .where(runs.c.id.in_(dead), runs.c.status == str(RunStatus.RUNNING))
                    .values(status=str(RunStatus.ABANDONED), finished_at=now)
                )
        return dead

    def running(self, limit: int = 20) -> list[RunningRun]:
        """Runs still `running`, newest first, with their host and pid (for `status`)."""
        stmt = (
            sa.select(runs, run_processes.c.host, run_processes.c.pid)
            .outerjoin(run_processes, run_processes.c.run_id == runs.c.id)
            .where(runs.c.status == str(RunStatus.RUNNING))
            .order_by(runs.c.id.desc())
            .limit(limit)
        )
        here = processes.current().host
        with self.engine.connect() as conn:
            return [
                RunningRun(
                    _run(r),
                    r["host"],
                    None if r["pid"] is None else int(r["pid"]),
                    r["host"] == here,
                )
                for r in conn.execute(stmt).mappings()
            ]

    def latest_with_status(self, status: RunStatus, limit: int = 5) -> list[RunRow]:
        """The newest runs with `status`, newest first (for `status`)."""
        stmt = sa.select(runs).where(runs.c.status == str(status)).order_by(runs.c.id.desc())
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(stmt.limit(limit)).mappings()]

    def get(self, run_id: int) -> RunRow:
        with self.engine.connect() as conn:
            return _run(conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().one())

    def stats(self, good: Iterable[RunStatus]) -> RunStats:
        """Runs by status, API calls summed over all runs, when the last `good` run finished,
        and the latest run."""
        by_status: dict[RunStatus, int] = {}
        calls: dict[str, int] = {}
        with self.engine.connect() as conn:
            for status, n in conn.execute(
                sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)
            ):
                by_status[RunStatus(status)] = int(n)
            for op, n in conn.execute(sa.select(api_call_totals)):
                if n:
                    calls[op] = int(n)
            last = conn.execute(
                sa.select(sa.func.max(runs.c.finished_at)).where(
                    runs.c.status.in_([str(s) for s in good])
                )
            ).scalar()
            row = (
                conn.execute(sa.select(runs).order_by(runs.c.id.desc()).limit(1)).mappings().first()
            )
        return RunStats(by_status, calls, maybe_aware(last), None if row is None else _run(row))
