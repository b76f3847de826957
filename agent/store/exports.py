"""`store.exports`: ingested billing-export deliveries, one per (export, billing period).

Recording a delivery first deletes the figures the export's previous delivery of that period left
(usage rows of the export's unit in the period), so a re-delivery replaces the period, never adds
to it, and a record the new delivery no longer has does not linger.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from computewatch.domain import Dimensions, Method, Window
from computewatch.domain.deliveries import AccountClaim, ExportDelivery, ExportFigures
from computewatch.domain.records import dimensions_text, record_key
from computewatch.domain.window import DAY, day_start
from computewatch.store import rollup
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


COLUMNS = (
    "key", "provider", "account_id", "region", "collector", "metric", "unit", "sku",
    "accelerator", "model", "resource_id", "period_start", "period_end", "quantity", "method",
    "run_id", "collected_at",
)  # fmt: skip
SQLITE_CACHE_KIB = 64 * 1024  # page cache of the connection during a bulk write
UPDATE = ("unit", "period_end", "quantity", "method", "run_id", "collected_at")
CHANGED = ("unit", "period_end", "quantity", "method")


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
        return self.replace([d], run_id, now, accounts)[0][0]

    def replace(
        self,
        deliveries: Sequence[ExportDelivery],
        run_id: int,
        now: datetime,
        accounts: Collection[str] | None = None,
        figures: Iterable[ExportFigures] = (),
    ) -> tuple[list[str], int]:
        """`replace_period` for each delivery, then the new figures written in bulk, all in one
        transaction: a re-delivery replaces its periods at once or not at all. Returns the
        deliveries replaced (`replace_period`'s answer for each) and the rows written."""
        with self.engine.begin() as conn:
            replaced = [self._replace(conn, d, run_id, now, accounts) for d in deliveries]
            spans: dict[str, list[datetime]] = {}
            for d in deliveries:
                spans.setdefault(d.provider, []).extend((d.period_start, d.period_end))
            written = 0
            for f in figures:
                n, days = self._write(conn, f, run_id, now)
                written += n
                spans.setdefault(f.provider, []).extend(days)
            for provider, edges in spans.items():  # the daily roll-up of what changed
                rollup.refresh_range(conn, provider, min(edges), max(edges), accounts)
        return replaced, written

    def _replace(
        self,
        conn: Connection,
        d: ExportDelivery,
        run_id: int,
        now: datetime,
        accounts: Collection[str] | None,
    ) -> str:
        key = (export_deliveries.c.export == d.export) & (
            export_deliveries.c.billing_period == d.billing_period
        )
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

    def _write(
        self, conn: Connection, f: ExportFigures, run_id: int, now: datetime
    ) -> tuple[int, list[datetime]]:
        """Upsert the figures by key, a batch per statement (the DB-API's executemany or, on
        PostgreSQL, COPY into a scratch table): no object per row beyond the driver's tuple.
        Returns the rows written and the first and last day's bounds (none if no rows)."""
        dialect = conn.dialect
        processor = usage.c.period_start.type.dialect_impl(dialect).bind_processor(dialect)

        def stamp(value: datetime) -> Any:  # as the dialect stores a timestamp
            return processor(value) if processor is not None else value

        days: dict[date, tuple[str, Any, Any]] = {}
        dims: dict[tuple[str, str, str], str] = {}
        method, collected = str(Method.BILLING_EXPORT), stamp(now)
        load = _PgLoad(conn) if dialect.name == "postgresql" else None
        sql = _sqlite_upsert()
        if load is None:  # SQLite: the usage indexes' pages stay cached while a month goes in
            cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
            conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        written = 0
        for b in f.batches:
            c = {name: b.column(name).to_pylist() for name in b.schema.names}
            for d in set(c["usage_day"]) - days.keys():
                start = day_start(d)
                days[d] = (start.isoformat(), stamp(start), stamp(start + DAY))
            for t in set(zip(c["sku"], c["accelerator"], c["model"], strict=True)) - dims.keys():
                dims[t] = dimensions_text(Dimensions(sku=t[0], accelerator=t[1], model=t[2]))
            rows = []
            for a, m, u, s, ch, mo, d, q in zip(
                c["account_id"], c["metric"], c["unit"], c["sku"], c["accelerator"], c["model"],
                c["usage_day"], c["quantity"], strict=True,
            ):  # fmt: skip
                iso, start, end = days[d]
                key = record_key(f.provider, a, f.region, f.collector, m, dims[(s, ch, mo)], iso)
                rows.append(
                    (key, f.provider, a, f.region, f.collector, m, u, s, ch, mo, "", start, end,
                     q, method, run_id, collected)
                )  # fmt: skip
            if load is not None:
                load.copy(rows)
            else:
                conn.exec_driver_sql(sql, rows)
            written += len(rows)
        if load is not None:
            load.merge()
        else:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache or -2000)}")
        return written, ([day_start(min(days)), day_start(max(days)) + DAY] if days else [])

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


def _sqlite_upsert() -> str:
    marks = ", ".join("?" for _ in COLUMNS)
    sets = ", ".join(f"{c} = excluded.{c}" for c in UPDATE)
    differs = " OR ".join(f"usage.{c} IS NOT excluded.{c}" for c in CHANGED)
    return (  # the column names are this module's constants
        f"INSERT INTO usage ({', '.join(COLUMNS)}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT (key) DO UPDATE SET {sets} WHERE {differs}"
    )


class _PgLoad:
    """PostgreSQL: COPY the rows into a scratch table of the transaction, then one upsert."""

    def __init__(self, conn: Connection) -> None:
        raw = conn.connection.driver_connection
        assert raw is not None  # a connection inside a transaction has its driver's
        self.raw: Any = raw
        with self.raw.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS usage_load (LIKE usage) ON COMMIT DROP")
            cur.execute("TRUNCATE usage_load")

    def copy(self, rows: list[tuple[Any, ...]]) -> None:
        with (
            self.raw.cursor() as cur,
            cur.copy(f"COPY usage_load ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def merge(self) -> None:
        sets = ", ".join(f"{c} = excluded.{c}" for c in UPDATE)
        differs = " OR ".join(f"usage.{c} IS DISTINCT FROM excluded.{c}" for c in CHANGED)
        cols = ", ".join(COLUMNS)
        with self.raw.cursor() as cur:
            cur.execute(
                f"INSERT INTO usage ({cols}) SELECT {cols} FROM usage_load "  # noqa: S608
                f"ON CONFLICT (key) DO UPDATE SET {sets} WHERE {differs}"
            )
            cur.execute("TRUNCATE usage_load")
