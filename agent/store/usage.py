"""Usage records, sampled observations and account names; the sums the engine reads are computed
in SQL so that a large history never travels into Python row by row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from computewatch.domain import (
    Account,
    BilledTotal,
    DailyRow,
    DailyTotal,
    Metric,
    Observation,
    Peak,
    Total,
    UsageRecord,
    Window,
)
from computewatch.domain.aggregates import DailyModelRow
from computewatch.store import aggregates, rollup
from computewatch.store.intervals import fold
from computewatch.store.schema import accounts, observations, usage
from computewatch.store.schema import usage_daily as daily
from computewatch.store.sql import Repository, aware, maybe_aware

AccountKeys = Iterable[tuple[str, str]] | None  # (provider, account id); None: every account


def _scope(stmt: Any, window: Window, account_keys: AccountKeys) -> Any:
    """Daily sums inside the window, of these accounts (an empty list selects none)."""
    stmt = stmt.where(daily.c.period_start >= window.start, daily.c.period_end <= window.end)
    if account_keys is not None:
        keys = list(account_keys)
        if not keys:
            return stmt.where(sa.false())
        stmt = stmt.where(sa.tuple_(daily.c.provider, daily.c.account_id).in_(keys))
    return stmt


class UsageRepo(Repository):
    """`store.usage`: idempotent writes on the record key (DESIGN §3) and the sums over them."""

    # -- writes -------------------------------------------------------------------------------
    def write(self, run_id: int, records: Iterable[UsageRecord], collected_at: datetime) -> int:
        """Upsert records by key: collecting the same period twice replaces, never adds.
        Returns how many distinct records were written."""
        rows: dict[str, dict[str, Any]] = {}
        for r in records:
            rows[r.key] = {
                "key": r.key,
                "provider": r.provider,
                "account_id": r.account_id,
                "region": r.region,
                "collector": r.collector,
                "metric": str(r.metric),
                "unit": r.unit,
                **r.dimensions.as_dict(),
                "period_start": r.period_start,
                "period_end": r.period_end,
                "quantity": r.quantity,
                "method": str(r.method),
                "run_id": run_id,
                "collected_at": collected_at,
            }
        update = ["unit", "period_end", "quantity", "method", "run_id", "collected_at"]
        # An hourly run re-derives days whose figures mostly stand: only a changed figure is
        # rewritten (run_id and collected_at then name the run that last changed it).
        changed = ["unit", "period_end", "quantity", "method"]
        touched = {(r["period_start"], r["provider"], r["account_id"]) for r in rows.values()}
        with self.engine.begin() as conn:
            self._upsert(conn, usage, list(rows.values()), ["key"], update, changed)
            rollup.refresh(conn, touched)
        return len(rows)

    def write_observations(self, run_id: int, items: Iterable[Observation]) -> None:
        """Upsert sampled observations by (unit, resource, observed_at)."""
        rows = {
            (o.provider, o.account_id, o.region, o.collector, o.resource_id, o.observed_at): {
                "provider": o.provider,
                "account_id": o.account_id,
                "region": o.region,
                "collector": o.collector,
                "resource_id": o.resource_id,
                "observed_at": o.observed_at,
                "sku": o.sku,
                "accelerator": o.accelerator,
                "count": o.count,
                "state": o.state,
                "started_at": o.started_at,
                "ended_at": o.ended_at,
                "run_id": run_id,
            }
            for o in items
        }
        key = ["provider", "account_id", "region", "collector", "resource_id", "observed_at"]
        update = ["sku", "accelerator", "count", "state", "started_at", "ended_at", "run_id"]
        with self.engine.begin() as conn:
            self._upsert(conn, observations, list(rows.values()), key, update)
            fold(conn, run_id, self._observed(rows.values()))

    def save_accounts(self, items: Iterable[Account]) -> None:
        """Upsert account names (the latest name wins)."""
        rows = {
            (a.provider, a.account_id): {
                "provider": a.provider,
                "account_id": a.account_id,
                "name": a.name,
            }
            for a in items
        }
        with self.engine.begin() as conn:
            self._upsert(conn, accounts, list(rows.values()), ["provider", "account_id"], ["name"])

    @staticmethod
    def _observed(rows: Iterable[dict[str, Any]]) -> list[Observation]:
        return [Observation(**{k: v for k, v in r.items() if k != "run_id"}) for r in rows]

    # -- reads --------------------------------------------------------------------------------
    def observations(self, window: Window, before: datetime) -> list[Observation]:
        """Observations that can prove running time inside `window`, made before `before`."""
        end = sa.func.coalesce(observations.c.ended_at, observations.c.observed_at)
        stmt = (
            sa.select(observations)
            .where(end > window.start, observations.c.started_at < window.end)
            .where(observations.c.observed_at < before)
            .order_by(observations.c.observed_at)
        )
        with self.engine.connect() as conn:
            return [
                Observation(
                    provider=r["provider"],
                    account_id=r["account_id"],
                    region=r["region"],
                    collector=r["collector"],
                    resource_id=r["resource_id"],
                    observed_at=aware(r["observed_at"]),
                    sku=r["sku"],
                    accelerator=r["accelerator"],
                    count=r["count"],
                    state=r["state"],
                    started_at=aware(r["started_at"]),
                    ended_at=maybe_aware(r["ended_at"]),
                )
                for r in conn.execute(stmt).mappings()
            ]

    def account_names(self) -> dict[tuple[str, str], str]:
        """(provider, account id) -> name."""
        with self.engine.connect() as conn:
            return {(r.provider, r.account_id): r.name for r in conn.execute(sa.select(accounts))}

    def count(self) -> int:
        """How many usage records the store holds."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(usage)).scalar() or 0)

    def totals(self, window: Window, account_keys: AccountKeys = None) -> list[Total]:
        """Sums of every additive metric inside the window, grouped down to chip/model/sku/method."""
        cols = [
            daily.c.provider,
            daily.c.account_id,
            daily.c.metric,
            daily.c.accelerator,
            daily.c.model,
            daily.c.sku,
            daily.c.method,
        ]
        stmt = sa.select(*cols, sa.func.sum(daily.c.quantity)).where(
            daily.c.metric != str(Metric.PEAK_CONCURRENT_ACCELERATORS)
        )
        stmt = _scope(stmt, window, account_keys).group_by(*cols).order_by(*cols)
        with self.engine.connect() as conn:
            return [
                Total(r[0], r[1], r[2], r[3], r[4], r[5], r[6], float(r[7]))
                for r in conn.execute(stmt)
            ]

    def peaks(self, window: Window, account_keys: AccountKeys = None) -> list[Peak]:
        """Per account and chip: the largest day of summed per-region peaks (an upper bound
        across regions)."""
        per_day = _scope(
            sa.select(
                daily.c.provider,
                daily.c.account_id,
                daily.c.accelerator,
                daily.c.method,
                daily.c.period_start,
                sa.func.sum(daily.c.quantity).label("q"),
            ).where(daily.c.metric == str(Metric.PEAK_CONCURRENT_ACCELERATORS)),
            window,
            account_keys,
        ).group_by(
            daily.c.provider,
            daily.c.account_id,
            daily.c.accelerator,
            daily.c.method,
            daily.c.period_start,
        )
        sub = per_day.subquery()
        stmt = (
            sa.select(
                sub.c.provider,
                sub.c.account_id,
                sub.c.accelerator,
                sub.c.method,
                sa.func.max(sub.c.q),
            )
            .group_by(sub.c.provider, sub.c.account_id, sub.c.accelerator, sub.c.method)
            .order_by(sub.c.provider, sub.c.account_id, sub.c.accelerator)
        )
        with self.engine.connect() as conn:
            return [Peak(r[0], r[1], r[2], r[3], float(r[4])) for r in conn.execute(stmt)]

    def daily_totals(
        self, window: Window, metrics: Iterable[str], account_keys: AccountKeys = None
    ) -> list[DailyRow]:
        """Per day, account, metric, chip, sku and method: lets a billing figure supersede an
        inventory estimate day by day instead of both being summed."""
        cols = [
            daily.c.provider,
            daily.c.account_id,
            daily.c.metric,
            daily.c.accelerator,
            daily.c.sku,
            daily.c.method,
            daily.c.period_start,
        ]
        return [
            DailyRow(r[0], r[1], r[2], r[3], r[4], r[5], aware(r[6]), float(r[7]))
            for r in self._sums(cols, metrics, window, account_keys)
        ]

    def daily_model_totals(
        self, window: Window, metrics: Iterable[str], account_keys: AccountKeys = None
    ) -> list[DailyModelRow]:
        """Per day, account, metric, model and method (token metrics a billing export replaces
        day by day while its month is still being delivered)."""
        cols = [
            daily.c.provider,
            daily.c.account_id,
            daily.c.metric,
            daily.c.model,
            daily.c.method,
            daily.c.period_start,
        ]
        return [
            DailyModelRow(r[0], r[1], r[2], r[3], r[4], aware(r[5]), float(r[6]))
            for r in self._sums(cols, metrics, window, account_keys)
        ]

    def _sums(
        self,
        cols: list[Any],
        metrics: Iterable[str],
        window: Window,
        account_keys: AccountKeys,
    ) -> list[Any]:
        """Quantities of `metrics` in the window summed per `cols`, ordered by them."""
        stmt = _scope(
            sa.select(*cols, sa.func.sum(daily.c.quantity)).where(
                daily.c.metric.in_(list(metrics))
            ),
            window,
            account_keys,
        )
        with self.engine.connect() as conn:
            return list(conn.execute(stmt.group_by(*cols).order_by(*cols)))

    def billed(
        self, window: Window, metrics: Iterable[str], account_keys: AccountKeys = None
    ) -> list[BilledTotal]:
        """Metrics billing supersedes day by day (export > billing > inventory), summed in one
        statement: one row per account, metric, chip, sku and method (see `store.aggregates`)."""
        stmt = aggregates.billed_totals(metrics, lambda q: _scope(q, window, account_keys))
        with self.engine.connect() as conn:
            return [aggregates.to_billed(r) for r in conn.execute(stmt)]

    def daily_hours(self, window: Window, account_keys: AccountKeys = None) -> list[DailyTotal]:
        """Accelerator-hours per account, chip and day (the day's best billing source), one
        statement: the daily chart and training-run detection read it."""
        stmt = aggregates.daily_hours(lambda q: _scope(q, window, account_keys))
        with self.engine.connect() as conn:
            return [aggregates.to_daily(r) for r in conn.execute(stmt)]
