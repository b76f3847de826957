"""Every query a daemon hour or a scrape makes on a table that grows with time is served by an
index, on both backends: the statements a repository method really executes are captured and
EXPLAINed (PostgreSQL with sequential scans disabled, so a usable index is shown even on a small
table; the plan must search the index with a condition, not scan it whole)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from computewatch.domain import CoverageStatus, FindingStatus, Lifecycle, utc
from computewatch.store import Store
from tests.helpers.store import OCT, entry, observation, rec

GROWING = (
    "usage",
    "usage_daily",
    "coverage",
    "observations",
    "proven_intervals",
    "daily_peaks",
    "findings",
    "outbox",
)


ROLLUP = "usage_daily USING PRIMARY KEY|usage_daily_pkey"  # SQLite | PostgreSQL
PEAKS = "daily_peaks USING PRIMARY KEY|daily_peaks_pkey"


@contextmanager
def captured(
    store: Store, kinds: tuple[str, ...] = ("SELECT", "WITH")
) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def listen(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith(kinds) and not many:
            seen.append((statement, params))

    sa.event.listen(store.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", listen)


def plan(store: Store, statement: str, params: Any) -> str:
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {statement}", params).all()
            conn.rollback()
            return "\n".join(r[0] for r in rows)
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
        return "\n".join(str(r[-1]) for r in rows)


def searched(plan_text: str, index: str, dialect: str) -> bool:
    """The plan looks rows up through `index` with a condition."""
    for line in plan_text.splitlines():
        if index not in line:
            continue
        if dialect == "sqlite" and line.startswith("SEARCH"):
            return True
        if dialect == "postgresql":
            return "Index Cond" in plan_text.split(index, 1)[1].split("->", 1)[0]
    return False


def seeded(store: Store) -> None:
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    store.usage.write(run, [rec(d, 1.0) for d in range(1, 5)], utc(2026, 11, 2))
    store.usage.write_observations(run, [observation("i-1", utc(2026, 10, 3), utc(2026, 10, 1))])
    store.coverage.write(
        run, [entry(), entry(CoverageStatus.FAILED, account="2")], utc(2026, 10, 3)
    )


# name, call, the index (or one of several, `a|b`) its plan must search
QUERIES: list[tuple[str, Callable[[Store], object], str]] = [
    ("intervals.history", lambda s: s.intervals.history(OCT, utc(2026, 11, 1)), "ix_intervals_end"),
    (
        "intervals.history (recent)",
        lambda s: s.intervals.history(OCT, utc(2026, 11, 1), since=utc(2026, 10, 30)),
        # SQLite is told to search the recent part; PostgreSQL's planner picks by statistics
        # (on this tiny table either; on a month of intervals the narrow recent range)
        "ix_intervals_last|ix_intervals_end",
    ),
    (
        "intervals.older (one unit)",
        lambda s: s.intervals.older(
            OCT,
            utc(2026, 11, 1),
            utc(2026, 10, 30),
            ("aws", "111111111111", "us-east-1", "aws.ec2"),
        ),
        "ix_intervals_account_last",
    ),
    (
        "intervals.older_of (accounts behind)",
        lambda s: s.intervals.older_of(OCT, utc(2026, 11, 1), utc(2026, 10, 30), ["111111111111"]),
        "ix_intervals_account_last",
    ),
    (
        "fold (write_observations)",
        lambda s: s.usage.write_observations(
            1, [observation("i-1", utc(2026, 10, 4), utc(2026, 10, 1))]
        ),
        "ix_intervals_resource",
    ),
    (
        "daily peaks refresh (write_observations)",
        lambda s: s.usage.write_observations(
            1, [observation("i-1", utc(2026, 10, 4), utc(2026, 10, 1))]
        ),
        PEAKS,
    ),
    (
        "intervals.estimated_units",
        lambda s: s.intervals.estimated_units(OCT, ["aws.ec2"]),
        "ix_usage_estimates",
    ),
    (
        "coverage.read_times",
        lambda s: s.coverage.read_times(["aws.ec2"], OCT.start, OCT.end),
        "ix_coverage_reads",
    ),
    (
        "coverage.sampling_state",
        lambda s: s.coverage.sampling_state(["aws.ec2"], OCT, utc(2026, 11, 2)),
        "ix_coverage_run|ix_coverage_reads",  # on a tiny table the planner may pick either
    ),
    ("coverage.for_window", lambda s: s.coverage.for_window(OCT), "ix_coverage_period"),
    (
        "coverage.final_days",
        lambda s: s.coverage.final_days("aws", "aws.costexplorer", OCT.end - OCT.start),
        "ix_coverage_reads",
    ),
    ("peaks.for_window", lambda s: s.peaks.for_window(OCT), PEAKS),
    ("usage.totals", lambda s: s.usage.totals(OCT), ROLLUP),
    ("usage.peaks", lambda s: s.usage.peaks(OCT), ROLLUP),
    ("usage.billed", lambda s: s.usage.billed(OCT, ["accelerator_hours"]), ROLLUP),
    ("usage.daily_hours", lambda s: s.usage.daily_hours(OCT), ROLLUP),
    (
        "findings.find (notices)",
        lambda s: s.findings.find(status=FindingStatus.BREACH, lifecycle=Lifecycle.NEW),
        "ix_findings_status|ix_findings_lifecycle",  # either serves it; the planner picks
    ),
    ("outbox.due", lambda s: s.outbox.due(utc(2026, 11, 1)), "ix_outbox_due"),
]


@pytest.mark.parametrize(("name", "call", "index"), QUERIES, ids=[q[0] for q in QUERIES])
def test_each_hourly_query_searches_an_index(
    store: Store, name: str, call: Callable[[Store], object], index: str
) -> None:
    seeded(store)
    with captured(store) as statements:
        call(store)
    growing = [
        (sql, params)
        for sql, params in statements
        if any(f" {t}" in sql.replace('"', " ") for t in GROWING)
    ]
    assert growing, f"{name} ran no query on a growing table"
    plans = [plan(store, sql, params) for sql, params in growing]
    dialect = store.engine.dialect.name
    usable = index.split("|")
    assert any(searched(p, i, dialect) for p in plans for i in usable), f"{name}: {index}:\n" + (
        "\n---\n".join(plans)
    )


def test_the_rollup_refresh_of_a_write_searches_indexes(store: Store) -> None:
    """An hour's usage write re-sums only the days it touched: the roll-up's rows are deleted
    through its key and the usage rows found through ix_usage_account_period, both searched
    down to the day (not the account's every day)."""
    seeded(store)
    run = store.runs.start(OCT, utc(2026, 11, 3), "t", "0" * 64)
    with captured(store, ("DELETE", "INSERT")) as statements:
        store.usage.write(run, [rec(2, 3.0)], utc(2026, 11, 3))
    dialect = store.engine.dialect.name
    rolled = [(sql, p) for sql, p in statements if "usage_daily" in sql.split("(", 1)[0]]
    assert len(rolled) == 2, statements
    for sql, params in rolled:
        text = plan(store, sql, params)
        wanted = "ix_usage_account_period" if "SELECT" in sql.upper() else ROLLUP
        used = [i for i in wanted.split("|") if searched(text, i, dialect)]
        assert used, f"{sql}\n{text}"
        assert "period_start" in text.split(used[0], 1)[1][:400], text
