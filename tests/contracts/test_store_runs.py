"""store.runs: one row per run, from running to how it ended."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from computewatch.domain import RunStatus, utc
from computewatch.domain.timing import StageTiming
from computewatch.store import RunRow, RunStats, Store
from tests.helpers.store import OCT

GOOD = (RunStatus.COMPLETE, RunStatus.PARTIAL, RunStatus.BREACH)


def test_a_run_round_trips_typed(store: Store) -> None:
    run = store.runs.start(OCT, utc(2026, 11, 2), "0.1", "a" * 64)
    assert store.runs.get(run) == RunRow(
        run, utc(2026, 11, 2), None, OCT.start, OCT.end, RunStatus.RUNNING, "0.1", "a" * 64, {}
    )
    store.runs.finish(run, utc(2026, 11, 2, 1), RunStatus.PARTIAL, {"ec2:DescribeInstances": 2})
    row = store.runs.get(run)
    assert row.status is RunStatus.PARTIAL and row.api_calls == {"ec2:DescribeInstances": 2}
    assert row.finished_at == utc(2026, 11, 2, 1) and row.started_at.tzinfo is not None
    with pytest.raises(sa.exc.NoResultFound):
        store.runs.get(run + 1)


def test_interrupted_runs_are_marked_abandoned(store: Store) -> None:
    old = store.runs.start(OCT, utc(2026, 11, 1), "t", "0" * 64)
    recent = store.runs.start(OCT, utc(2026, 11, 2, 11), "t", "0" * 64)
    done = store.runs.start(OCT, utc(2026, 11, 1), "t", "0" * 64)
    store.runs.finish(done, utc(2026, 11, 1, 1), RunStatus.COMPLETE, {})
    assert store.runs.abandon_running(utc(2026, 11, 2), utc(2026, 11, 2, 12)) == 1
    assert [store.runs.get(r).status for r in (old, recent, done)] == [
        RunStatus.ABANDONED,
        RunStatus.RUNNING,
        RunStatus.COMPLETE,
    ]
    assert store.runs.get(old).finished_at == utc(2026, 11, 2, 12)
    assert store.runs.abandon_running(utc(2026, 11, 2), utc(2026, 11, 2, 13)) == 0


def test_stats_by_status_calls_last_success_and_last_run(store: Store) -> None:
    assert store.runs.stats(GOOD) == RunStats({}, {}, None, None)
    a = store.runs.start(OCT, utc(2026, 11, 1), "t", "d")
    store.runs.finish(a, utc(2026, 11, 1, 1), RunStatus.PARTIAL, {"sts:AssumeRole": 2, "x": 1})
    b = store.runs.start(OCT, utc(2026, 11, 1, 2), "t", "d")
    store.runs.finish(b, utc(2026, 11, 1, 3), RunStatus.BREACH, {"sts:AssumeRole": 1})
    c = store.runs.start(OCT, utc(2026, 11, 1, 4), "t", "d")
    store.runs.finish(c, utc(2026, 11, 1, 5), RunStatus.FAILED, {"sts:AssumeRole": 1})
    d = store.runs.start(OCT, utc(2026, 11, 1, 6), "t", "d")
    stats = store.runs.stats(GOOD)
    assert stats.by_status == {
        RunStatus.PARTIAL: 1,
        RunStatus.BREACH: 1,
        RunStatus.FAILED: 1,
        RunStatus.RUNNING: 1,
    }
    assert stats.api_calls == {"sts:AssumeRole": 4, "x": 1}
    assert stats.last_success == utc(2026, 11, 1, 3)
    assert stats.last_run is not None and stats.last_run.id == d
    assert stats.last_run.status is RunStatus.RUNNING
    assert store.runs.stats(()).last_success is None


def test_api_call_totals_are_kept_on_write_and_backfilled(store: Store) -> None:
    """`/metrics` reads the totals kept as runs finish (finishing a run again counts nothing
    twice); migration 14 fills them from the runs stored before it."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql, sqlite

    from computewatch.store.runs import backfill_calls
    from computewatch.store.schema import api_call_totals

    a = store.runs.start(OCT, utc(2026, 11, 1), "t", "d")
    store.runs.finish(a, utc(2026, 11, 1, 1), RunStatus.COMPLETE, {"ec2:DescribeInstances": 3})
    store.runs.finish(a, utc(2026, 11, 1, 1), RunStatus.COMPLETE, {"ec2:DescribeInstances": 5})
    b = store.runs.start(OCT, utc(2026, 11, 1, 2), "t", "d")
    store.runs.finish(
        b, utc(2026, 11, 1, 3), RunStatus.COMPLETE, {"ec2:DescribeInstances": 2, "y": 1}
    )
    assert store.runs.stats(GOOD).api_calls == {"ec2:DescribeInstances": 7, "y": 1}
    with store.engine.begin() as conn:
        conn.execute(sa.delete(api_call_totals))
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        backfill_calls(conn, dialect.insert)
    assert store.runs.stats(GOOD).api_calls == {"ec2:DescribeInstances": 7, "y": 1}


def test_runs_of_dead_processes_are_abandoned(store: Store) -> None:
    """Item 4: a run records its host, pid and process start; one whose process is gone (or
    whose pid now belongs to another process) is abandoned, a live one is left running."""
    from computewatch.store.schema import run_processes

    alive = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    killed = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    reused = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    elsewhere = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    with store.engine.begin() as conn:
        rows = run_processes.update().where(run_processes.c.run_id == sa.bindparam("rid"))
        conn.execute(rows.values(pid=2**22 + 7), {"rid": killed})  # above pid_max: no process
        conn.execute(rows.values(process_start="1"), {"rid": reused})  # same pid, other start
        conn.execute(rows.values(host="another-host", pid=2**22 + 7), {"rid": elsewhere})
    assert sorted(store.runs.abandon_dead(utc(2026, 11, 2, 1))) == [killed, reused]
    assert [store.runs.get(r).status for r in (alive, killed, reused, elsewhere)] == [
        RunStatus.RUNNING,
        RunStatus.ABANDONED,
        RunStatus.ABANDONED,
        RunStatus.RUNNING,
    ]
    assert [r.id for r in store.runs.latest_with_status(RunStatus.ABANDONED)] == [reused, killed]


def test_stage_timings_are_kept_with_the_run_in_order(store: Store) -> None:
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    assert store.runs.stages(run) == []
    stages = [
        StageTiming("discovery aws", 1.5, 0.5),
        StageTiming("collection aws.ec2", 12.25, 3.0),
        StageTiming("collection", 9.0, 6.5, 210.5),
    ]
    store.runs.record_stages(run, stages)
    assert store.runs.stages(run) == stages
    store.runs.record_stages(run, stages[:1])  # recorded again: replaced, not added
    assert store.runs.stages(run) == stages[:1]
