"""The measure where billing supersedes inventory day by day, summed in one SQL statement.

Per account, metric and day, billing rows count if there are any, the other rows otherwise; the
statement returns one row per account × metric × chip × sku × method (never a row per day), with
what counts and what overlaps (days holding both, for the reconciliation). The same day choice,
grouped by account and day instead, gives the audited window's daily accelerator-hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from computewatch.domain import BilledTotal, DailyTotal, Method, Metric, Window
from computewatch.store.schema import usage
from computewatch.store.sql import aware

_BILLING = str(Method.BILLING)


def _per_day(window: Window, metrics: Iterable[str], scope: Any) -> Any:
    """Day rows with, for each, whether its (account, metric, day) has billing and other rows."""
    day = sa.select(
        usage.c.provider,
        usage.c.account_id,
        usage.c.metric,
        usage.c.accelerator,
        usage.c.sku,
        usage.c.method,
        usage.c.period_start.label("day"),
        sa.func.sum(usage.c.quantity).label("q"),
    ).where(usage.c.metric.in_(list(metrics)))
    day = scope(day).group_by(
        usage.c.provider,
        usage.c.account_id,
        usage.c.metric,
        usage.c.accelerator,
        usage.c.sku,
        usage.c.method,
        usage.c.period_start,
    )
    d = day.cte("d")
    is_billing = sa.case((d.c.method == _BILLING, 1), else_=0)
    other = sa.case((d.c.method != _BILLING, 1), else_=0)
    flags = (
        sa.select(
            d.c.provider,
            d.c.account_id,
            d.c.metric,
            d.c.day,
            sa.func.max(is_billing).label("billed"),
            sa.func.max(other).label("other"),
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
    counts = sa.or_(d.c.method == _BILLING, flags.c.billed == 0)
    both = sa.and_(flags.c.billed == 1, flags.c.other == 1)
    return d, joined, counts, both


def billed_totals(window: Window, metrics: Iterable[str], scope: Any) -> Any:
    """The statement: one row per account, metric, chip, sku and method."""
    d, joined, counts, both = _per_day(window, metrics, scope)
    keys = [d.c.provider, d.c.account_id, d.c.metric, d.c.accelerator, d.c.sku, d.c.method]
    return (
        sa.select(
            *keys,
            sa.func.sum(sa.case((counts, d.c.q), else_=0.0)),
            sa.func.sum(sa.case((counts, 1), else_=0)),
            sa.func.sum(sa.case((both, d.c.q), else_=0.0)),
            sa.func.sum(sa.case((both, 1), else_=0)),
        )
        .select_from(joined)
        .group_by(*keys)
        .order_by(*keys)
    )


def to_billed(r: Any) -> BilledTotal:
    return BilledTotal(
        r[0], r[1], r[2], r[3], r[4], r[5], float(r[6]), int(r[7]), float(r[8]), int(r[9])
    )


def daily_hours(window: Window, scope: Any) -> Any:
    """The statement: accelerator-hours per account, chip and day, billing superseding
    inventory (per account and day, as for the totals)."""
    d, joined, counts, _ = _per_day(window, [str(Metric.ACCELERATOR_HOURS)], scope)
    keys = [d.c.provider, d.c.account_id, d.c.accelerator, d.c.day]
    return (
        sa.select(*keys, sa.func.sum(d.c.q))
        .select_from(joined)
        .where(counts)
        .group_by(*keys)
        .order_by(*keys)
    )


def to_daily(r: Any) -> DailyTotal:
    return DailyTotal(r[0], r[1], r[2], aware(r[3]), float(r[4]))
