"""`store.exports`: ingested billing-export deliveries, one per (export, billing period).

Recording a delivery first deletes the figures the export's previous delivery of that period left
(usage rows of the export's unit in the period), so a re-delivery replaces the period, never adds
to it, and a record the new delivery no longer has does not linger.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa

from computewatch.domain import Window
from computewatch.domain.deliveries import AccountClaim, ExportDelivery
from computewatch.store.schema import TS, metadata, usage
from computewatch.store.sql import Repository, aware

export_deliveries = sa.Table(
    "export_deliveries",
    metadata,
    sa.Column("export", sa.String(100), primary_key=True),
    sa.Column("billing_period", sa.String(7), primary_key=True),
    sa.Column("provider", sa.String(20), nullable=False),
    sa.Column("region", sa.String(120), nullable=False),
    sa.Column("collector", sa.String(64), nullable=False),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("delivery_id", sa.String(200), nullable=False),
    sa.Column("previous_delivery_id", sa.String(200), nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("schema_version", sa.String(20), nullable=False),
    sa.Column("manifest", sa.String(400), nullable=False),
    sa.Column("files", sa.Text, nullable=False),  # JSON [[name, etag, size], ...]
    sa.Column("queries", sa.Text, nullable=False),  # JSON [[measure, digest], ...]
    sa.Column("accounts", sa.Text, nullable=False),  # JSON [AccountClaim fields, ...]
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("ingested_at", TS, nullable=False),
)


class ExportRepo(Repository):
    def replace_period(
        self,
        d: ExportDelivery,
        run_id: int,
        now: datetime,
        accounts: Collection[str] | None = None,
    ) -> str:
        """Record `d` as the period's delivery and drop the previous delivery's figures of the
        period (of `accounts` only, in a run limited to them); returns the delivery it replaced
        ("" if none, or the same one again)."""
        key = (export_deliveries.c.export == d.export) & (
            export_deliveries.c.billing_period == d.billing_period
        )
        with self.engine.begin() as conn:
            previous = conn.execute(sa.select(export_deliveries.c.delivery_id).where(key)).scalar()
            conn.execute(
                usage.delete().where(
                    (usage.c.collector == d.collector)
                    & (usage.c.region == d.region)
                    & (usage.c.period_start >= d.period_start)
                    & (usage.c.period_start < d.period_end)
                    & (usage.c.account_id.in_(sorted(accounts)) if accounts is not None else True)
                )
            )
            replaced = "" if previous in (None, d.delivery_id) else str(previous)
            row = {
                "export": d.export,
                "billing_period": d.billing_period,
                "provider": d.provider,
                "region": d.region,
                "collector": d.collector,
                "period_start": d.period_start,
                "period_end": d.period_end,
                "delivery_id": d.delivery_id,
                "previous_delivery_id": replaced,
                "format": d.format,
                "schema_version": d.schema_version,
                "manifest": d.manifest,
                "files": json.dumps([list(f) for f in d.files]),
                "queries": json.dumps([list(q) for q in d.queries]),
                "accounts": json.dumps([_claim(a) for a in d.accounts]),
                "run_id": run_id,
                "ingested_at": now,
            }
            self._upsert(
                conn,
                export_deliveries,
                [row],
                ["export", "billing_period"],
                [c for c in row if c not in ("export", "billing_period")],
            )
        return replaced

    def for_window(self, window: Window) -> list[ExportDelivery]:
        """The deliveries whose billing period overlaps `window`, by export and period."""
        t = export_deliveries
        stmt = (
            sa.select(t)
            .where((t.c.period_start < window.end) & (t.c.period_end > window.start))
            .order_by(t.c.export, t.c.billing_period)
        )
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(stmt).mappings()]

    def previous_of(self, export: str, billing_period: str) -> str:
        t = export_deliveries
        stmt = sa.select(t.c.previous_delivery_id).where(
            (t.c.export == export) & (t.c.billing_period == billing_period)
        )
        with self.engine.connect() as conn:
            return str(conn.execute(stmt).scalar() or "")


def _claim(a: AccountClaim) -> dict[str, str]:
    return {
        "provider": a.provider,
        "account_id": a.account_id,
        "name": a.name,
        "reseller_id": a.reseller_id,
        "reseller_name": a.reseller_name,
        "customer_id": a.customer_id,
        "customer_name": a.customer_name,
    }


def _delivery(r: sa.RowMapping) -> ExportDelivery:
    return ExportDelivery(
        export=r["export"],
        provider=r["provider"],
        region=r["region"],
        collector=r["collector"],
        billing_period=r["billing_period"],
        period_start=aware(r["period_start"]),
        period_end=aware(r["period_end"]),
        delivery_id=r["delivery_id"],
        format=r["format"],
        schema_version=r["schema_version"],
        manifest=r["manifest"],
        files=tuple((str(n), str(e), int(s)) for n, e, s in json.loads(r["files"])),
        queries=tuple((str(n), str(q)) for n, q in json.loads(r["queries"])),
        accounts=tuple(AccountClaim(**a) for a in json.loads(r["accounts"])),
    )
