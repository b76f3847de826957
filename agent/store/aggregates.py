"""The measures where the best billing source supersedes the others day by day, summed in SQL.

Per account, metric and day only the rows of the best-ranked source count: a billing export over
Cost Explorer billing over the inventory estimates (engine.usage.BILLING_RANKS; the test checks
the two tables agree). The statement returns one row per account × metric × chip × sku × method
(never a row per day) with what counts and the reconciliation figures (billing against inventory,
and the export against the best live source, over the days both hold). The same day choice,
grouped by account, chip and day instead, gives the accelerator-hours series the daily chart and
training-run detection read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from computewatch.domain import BilledTotal, DailyTotal, Method, Metric
from computewatch.store.schema import usage
from computewatch.store.sql import aware

RANKS: dict[str, int] = {str(Method.BILLING_EXPORT): 2, str(Method.BILLING): 1}
EXPORT_RANK = 2


def _rank(method: Any) -> Any:
    return sa.case(*((method == m, r) for m, r in RANKS.items()), else_=0)


def _per_day(metrics: Iterable[str], scope: Any) -> Any:
    """Day rows joined with their (account, metric, day)'s best rank, best live rank (below the
    export's; -1 if none) and whether billing and inventory rows are both there."""
    cols = [
        usage.c.provider,
        usage.c.account_id,
        usage.c.metric,
        usage.c.accelerator,
        usage.c.sku,
        usage.c.method,
    ]
    day = sa.select(
        *cols,
        usage.c.period_start.label("day"),
        _rank(usage.c.method).label("r"),
        sa.func.sum(usage.c.quantity).label("q"),
    ).where(usage.c.metric.in_(list(metrics)))
    d = scope(day).group_by(*cols, usage.c.period_start).cte("d")
    flags = (
        sa.select(
            d.c.provider,
            d.c.account_id,
            d.c.metric,
            d.c.day,
            sa.func.max(d.c.r).label("top"),
            sa.func.max(sa.case((d.c.r < EXPORT_RANK, d.c.r), else_=-1)).label("live"),
            sa.func.max(sa.case((d.c.r == 1, 1), else_=0)).label("billed"),
            sa.func.max(sa.case((d.c.r == 0, 1), else_=0)).label("inventory"),
        )
        .group_by(d.c.provider, d.c.account_id, d.c.metric, d.c.day)
        .cte("f")
    )
    joined = d.join(
        flags,
        sa.and_(
            d.c.provider == flags.c.provider,
            d.c.account_id == flags.c.account_id,
            d.c.metric == flags.c.metric,
            d.c.day == flags.c.day,
        ),
    )
    return d, flags, joined


def billed_totals(metrics: Iterable[str], scope: Any) -> Any:
    """The statement: one row per account, metric, chip, sku and method."""
    d, f, joined = _per_day(metrics, scope)
    counts = d.c.r == f.c.top
    both = sa.and_(f.c.billed == 1, f.c.inventory == 1)
    exported = sa.and_(f.c.top == EXPORT_RANK, f.c.live >= 0)
    keys = [d.c.provider, d.c.account_id, d.c.metric, d.c.accelerator, d.c.sku, d.c.method]
    return (
        sa.select(
            *keys,
            sa.func.sum(sa.case((counts, d.c.q), else_=0.0)),
            sa.func.sum(sa.case((counts, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(both, d.c.r < EXPORT_RANK), d.c.q), else_=0.0)),
            sa.func.sum(sa.case((both, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(exported, d.c.r == EXPORT_RANK), d.c.q), else_=0.0)),
            sa.func.sum(sa.case((sa.and_(exported, d.c.r == f.c.live), d.c.q), else_=0.0)),
            sa.func.sum(sa.case((exported, 1), else_=0)),
        )
        .select_from(joined)
        .group_by(*keys)
        .order_by(*keys)
    )


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
    d, f, joined = _per_day([str(Metric.ACCELERATOR_HOURS)], scope)
    keys = [d.c.provider, d.c.account_id, d.c.accelerator, d.c.day]
    return (
        sa.select(*keys, sa.func.sum(d.c.q))
        .select_from(joined)
        .where(d.c.r == f.c.top)
        .group_by(*keys)
        .order_by(*keys)
    )


def to_daily(r: Any) -> DailyTotal:
    return DailyTotal(r[0], r[1], r[2], aware(r[3]), float(r[4]))
