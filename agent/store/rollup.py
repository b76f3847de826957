"""The daily roll-up of usage (`usage_daily`), kept in the transaction of every usage write.

The assessment asks every hour for sums over the month to date (totals, peaks, billed figures, the
daily series). Over the per-resource rows those grow with instances × days; over their per-account
daily sums only with accounts × days, and the hour's write re-sums just the days it touched: the
rows of those (day, account) pairs are summed again from `usage` (an index search), never patched
by deltas, so a rewritten, moved or deleted record cannot leave a stale sum behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from computewatch.store.aggregates import day_flags, rank
from computewatch.store.schema import usage, usage_daily

# The roll-up's grouping: everything a window sum groups or filters by; region, collector and
# resource are summed away.
GROUP = (
    "provider",
    "account_id",
    "metric",
    "accelerator",
    "model",
    "sku",
    "method",
    "period_start",
    "period_end",
)
FLAGS = ("day_top", "day_live", "day_billed", "day_inventory")
CHUNK = 500  # accounts per statement
Touched = tuple[datetime, str, str]  # day start, provider, account id


def _resum(conn: Connection, where: Any) -> None:
    """Sum the usage rows `where` selects (whole days of whole accounts) and choose each day's
    billing source over them (window functions over each account, metric and day)."""
    cols = [usage.c[c] for c in GROUP]
    g = (
        sa.select(*cols, sa.func.sum(usage.c.quantity).label("quantity"))
        .where(where)
        .group_by(*cols)
        .subquery("g")
    )
    day = [g.c.provider, g.c.account_id, g.c.metric, g.c.period_start]
    chosen = sa.select(*(g.c[c] for c in GROUP), g.c.quantity, *day_flags(rank(g.c.method), day))
    conn.execute(sa.insert(usage_daily).from_select([*GROUP, "quantity", *FLAGS], chosen))


def refresh(conn: Connection, touched: Iterable[Touched]) -> None:
    """Sum again the usage of these (day, provider, account) pairs: after an upsert of records
    starting on those days, in the same transaction. A statement per day and provider with the
    accounts as an IN list: both backends then search the whole index prefix (a row-value IN
    searched SQLite's by account only, the account's every day)."""
    accounts: dict[tuple[datetime, str], set[str]] = defaultdict(set)
    for day, provider, account in touched:
        accounts[(day, provider)].add(account)
    d, u = usage_daily.c, usage.c
    for (day, provider), ids in sorted(accounts.items()):
        ordered = sorted(ids)
        for i in range(0, len(ordered), CHUNK):
            chunk = ordered[i : i + CHUNK]
            conn.execute(
                sa.delete(usage_daily).where(
                    d.period_start == day, d.provider == provider, d.account_id.in_(chunk)
                )
            )
            _resum(
                conn, (u.provider == provider) & u.account_id.in_(chunk) & (u.period_start == day)
            )


def refresh_range(
    conn: Connection,
    provider: str,
    start: datetime,
    end: datetime,
    accounts: Collection[str] | None,
) -> None:
    """Sum again a provider's days [start, end) of these accounts (None: all of them): after a
    billing-export delivery replaced that period."""
    d, u = usage_daily.c, usage.c
    mine_d = (d.provider == provider) & (d.period_start >= start) & (d.period_start < end)
    mine_u = (u.provider == provider) & (u.period_start >= start) & (u.period_start < end)
    if accounts is not None:
        ids = sorted(accounts)
        if not ids:
            return
        mine_d &= d.account_id.in_(ids)
        mine_u &= u.account_id.in_(ids)
    conn.execute(sa.delete(usage_daily).where(mine_d))
    _resum(conn, mine_u)


def backfill(conn: Connection) -> None:
    """Migration 15: the roll-up of every usage row already stored."""
    conn.execute(sa.delete(usage_daily))
    _resum(conn, sa.true())
