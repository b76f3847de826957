"""The measures where the best billing source supersedes the others day by day, summed in SQL.

Per account, metric and day only the rows of the best-ranked source count: a billing export over
Cost Explorer billing over the inventory estimates (engine.usage.BILLING_RANKS; the test checks
the two tables agree). That choice is made once, when the day is summed into the daily roll-up
(`store.rollup` writes each row's `day_top`, `day_live`, `day_billed`, `day_inventory`), so the
statements here are single GROUP BYs over the roll-up: one row per account × metric × chip × sku
× method (never a row per day) with what counts and the reconciliation figures (billing against
inventory, and the export against the best live source, over the days both hold); and the
accelerator-hours series per account, chip and day that the daily chart and training-run
detection read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from computewatch.domain import BilledTotal, DailyTotal, Method, Metric
from computewatch.store.schema import usage_daily as daily
from computewatch.store.sql import aware

RANKS: dict[str, int] = {str(Method.BILLING_EXPORT): 2, str(Method.BILLING): 1}
EXPORT_RANK = 2


def rank(method: Any) -> Any:
    """A row's billing rank from its method (2 export, 1 Cost Explorer billing, 0 inventory)."""
    return sa.case(*((method == m, r) for m, r in RANKS.items()), else_=0)


def day_flags(r: Any, partition: list[Any]) -> list[Any]:
    """The day's choice as window functions over the rows of one (account, metric, day)."""

    def over(e: Any) -> Any:
        return sa.func.max(e).over(partition_by=partition)

    return [
        over(r).label("day_top"),
        over(sa.case((r < EXPORT_RANK, r), else_=-1)).label("day_live"),
        over(sa.case((r == 1, 1), else_=0)).label("day_billed"),
        over(sa.case((r == 0, 1), else_=0)).label("day_inventory"),
    ]


def billed_totals(metrics: Iterable[str], scope: Any) -> Any:
    """The statement: one row per account, metric, chip, sku and method."""
    d = daily.c
    r = rank(d.method)
    counts = r == d.day_top
    both = sa.and_(d.day_billed == 1, d.day_inventory == 1)
    exported = sa.and_(d.day_top == EXPORT_RANK, d.day_live >= 0)
    keys = [d.provider, d.account_id, d.metric, d.accelerator, d.sku, d.method]

    def days(cond: Any) -> Any:
        return sa.func.count(sa.distinct(sa.case((cond, d.period_start))))

    stmt = sa.select(
        *keys,
        sa.func.sum(sa.case((counts, d.quantity), else_=0.0)),
        days(counts),
        sa.func.sum(sa.case((sa.and_(both, r < EXPORT_RANK), d.quantity), else_=0.0)),
        days(both),
        sa.func.sum(sa.case((sa.and_(exported, r == EXPORT_RANK), d.quantity), else_=0.0)),
        sa.func.sum(sa.case((sa.and_(exported, r == d.day_live), d.quantity), else_=0.0)),
        days(exported),
    ).where(d.metric.in_(list(metrics)))
    return scope(stmt).group_by(*keys).order_by(*keys)


def to_billed(r: Any) -> BilledTotal:
    return BilledTotal(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        float(r[6]),
        int(r[7]),
        float(r[8]),
        int(r[9]),
        float(r[10]),
        float(r[11]),
        int(r[12]),
    )


def daily_hours(scope: Any) -> Any:
    """The statement: accelerator-hours per account, chip and day, the best source counting."""
    d = daily.c
    keys = [d.provider, d.account_id, d.accelerator, d.period_start]
    stmt = sa.select(*keys, sa.func.sum(d.quantity)).where(
        d.metric == str(Metric.ACCELERATOR_HOURS), rank(d.method) == d.day_top
    )
    return scope(stmt).group_by(*keys).order_by(*keys)


def to_daily(r: Any) -> DailyTotal:
    return DailyTotal(r[0], r[1], r[2], aware(r[3]), float(r[4]))
