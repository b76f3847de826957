"""Aggregated export rows -> the store's usage rows (method `billing-export`), one per key and day.

The engine (DuckDB or Athena) returns one row per account, day and shape (hours) or usage type
(tokens). Those rows stay columnar: they are loaded into a DuckDB staging database on disk (memory
bounded by DuckDB's limit, whatever the export's size), and the records are produced from it in
SQL, idempotency key included, as Arrow batches that the store writes in bulk. UsageRecord objects
are built only for a caller that asks for one account's records (the collector contract, tests).
"""

from __future__ import annotations

import tempfile
import threading
import weakref
from collections import defaultdict
from collections.abc import Collection, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from computewatch.domain import Dimensions, Method, Metric, UsageRecord, Window
from computewatch.domain.errors import SourceError
from computewatch.domain.window import DAY, day_start

SERVICE = "exports"

UNITS = {
    Metric.ACCELERATOR_HOURS: "accelerator-hours",
    Metric.INSTANCE_HOURS: "hours",
    Metric.TRAINING_JOB_ACCELERATOR_HOURS: "accelerator-hours",
    Metric.MODEL_INPUT_TOKENS: "tokens",
    Metric.MODEL_OUTPUT_TOKENS: "tokens",
    Metric.MODEL_CACHE_READ_INPUT_TOKENS: "tokens",
    Metric.MODEL_CACHE_WRITE_INPUT_TOKENS: "tokens",
    Metric.FINE_TUNING_HOURS: "hours",
    Metric.FINE_TUNING_TRAINING_TOKENS: "tokens",
}
# What DuckDB may use of the machine while staging and producing records.
STAGING_MEMORY = "256MB"
BATCH_ROWS = 50_000

HOURS_COLUMNS = (
    ("account_id", "VARCHAR"),
    ("usage_day", "DATE"),
    ("shape", "VARCHAR"),
    ("chip", "VARCHAR"),
    ("accelerators", "DOUBLE"),
    ("hours", "DOUBLE"),
    ("training_hours", "DOUBLE"),
)
TOKEN_COLUMNS = (
    ("account_id", "VARCHAR"),
    ("usage_day", "DATE"),
    ("name", "VARCHAR"),  # usage type (CUR, AWS FOCUS) or meter (Azure)
    ("code", "VARCHAR"),  # product code ('' for Azure meters)
    ("unit", "VARCHAR"),
    ("quantity", "DOUBLE"),
)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class RecordSink:
    """The measure rows of one export read, staged in DuckDB; records come out of it in SQL."""

    def __init__(self, provider: str, region: str, collector: str, window: Window) -> None:
        self.provider = provider
        self.region = region
        self.collector = collector
        self.window = window
        self._lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix="cw-export-")
        self._con = duckdb.connect(
            str(Path(self._dir.name) / "staging.duckdb"),
            config={
                "memory_limit": STAGING_MEMORY,
                "threads": 2,
                "temp_directory": str(Path(self._dir.name) / "spill"),
                "preserve_insertion_order": False,
            },
        )
        weakref.finalize(self, _close, self._con, self._dir)
        self._con.execute("SET enable_progress_bar = false")
        for table, cols in (("hours", HOURS_COLUMNS), ("tokens", TOKEN_COLUMNS)):
            spec = ", ".join(f"{n} {t}" for n, t in cols)
            self._con.execute(f"CREATE TABLE {table} ({spec})")
        self._con.execute(
            "CREATE TABLE token_map (name VARCHAR, code VARCHAR, unit VARCHAR, model VARCHAR, "
            "metric VARCHAR, factor DOUBLE, record_unit VARCHAR)"
        )

    def close(self) -> None:
        _close(self._con, self._dir)

    # -- loading ------------------------------------------------------------------------------
    def load_hours(self, rows: Any) -> None:
        """Rows of an hours query (Arrow table/reader, or tuples from Athena)."""
        self._load("hours", HOURS_COLUMNS, rows)

    def load_tokens(self, rows: Any) -> None:
        """Rows (account, day, usage type or meter, product code, unit, quantity)."""
        self._load("tokens", TOKEN_COLUMNS, rows)

    def _load(self, table: str, cols: tuple[tuple[str, str], ...], rows: Any) -> None:
        if isinstance(rows, list):  # Athena's result pages
            rows = pa.table({n: [r[i] for r in rows] for i, (n, _) in enumerate(cols)})
        with self._lock:
            self._con.register("incoming", rows)
            try:
                self._con.execute(f"INSERT INTO {table} SELECT * FROM incoming")
                if table == "tokens":  # keys of the token map: never NULL
                    self._con.execute(
                        "UPDATE tokens SET name = coalesce(name, ''), code = coalesce(code, ''), "
                        "unit = coalesce(unit, '') "
                        "WHERE name IS NULL OR code IS NULL OR unit IS NULL"
                    )
            except duckdb.Error as exc:  # the engine's stream failed while being read
                first = str(exc).strip().splitlines()[0][:300]
                raise SourceError(SERVICE, "ExportQueryFailed", first) from None
            finally:
                self._con.unregister("incoming")

    def token_kinds(self) -> list[tuple[str, str, str]]:
        """The distinct (usage type or meter, product code, unit) not mapped yet."""
        with self._lock:
            rows = self._con.execute(
                "SELECT DISTINCT t.name, t.code, t.unit FROM tokens t "
                "ANTI JOIN token_map m ON t.name = m.name AND t.code = m.code AND t.unit = m.unit "
                "ORDER BY 1, 2, 3"
            ).fetchall()
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def map_tokens(self, mapping: list[tuple[str, str, str, str, Metric, float]]) -> None:
        """(name, code, unit) -> (model, metric, quantity per unit: tokens, or hours for
        hour-billed training); kinds left out are dropped."""
        if not mapping:
            return
        with self._lock:
            self._con.executemany(
                "INSERT INTO token_map VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(n, c, u, m, str(metric), f, UNITS[metric]) for n, c, u, m, metric, f in mapping],
            )

    # -- records ------------------------------------------------------------------------------
    def _days(self) -> tuple[date, date]:
        """The first and last day whose start lies inside the window."""
        first = self.window.start.date()
        if day_start(first) < self.window.start:
            first += timedelta(days=1)
        last = (self.window.end - timedelta(microseconds=1)).date()
        return first, last

    def _sql(self, accounts: str) -> str:
        first, last = self._days()
        hours = """
          SELECT account_id, usage_day, shape, chip, accelerators, sum(hours) AS hours,
            sum(training_hours) AS training
          FROM hours GROUP BY 1, 2, 3, 4, 5"""
        parts = [
            f"SELECT account_id, {_lit(str(metric))} AS metric, {_lit(UNITS[metric])} AS unit, "
            f"shape AS sku, chip AS accelerator, '' AS model, usage_day, {qty} AS quantity FROM h"
            for metric, qty in (
                (Metric.INSTANCE_HOURS, "hours"),
                (Metric.ACCELERATOR_HOURS, "hours * accelerators"),
                (Metric.TRAINING_JOB_ACCELERATOR_HOURS, "training * accelerators"),
            )
        ]
        parts.append(
            "SELECT t.account_id, m.metric, m.record_unit, '', '', m.model, t.usage_day, "
            "sum(t.quantity * m.factor) FROM tokens t JOIN token_map m "
            "ON t.name = m.name AND t.code = m.code AND t.unit = m.unit GROUP BY 1, 2, 3, 6, 7"
        )
        # In account and day order: the store's (provider, account, start) index then grows at
        # its end instead of at random places.
        return f"""
        WITH h AS ({hours}), r AS ({" UNION ALL ".join(parts)})
        SELECT account_id, metric, unit, sku, accelerator, model, usage_day, quantity
        FROM r
        WHERE quantity > 0 AND usage_day BETWEEN DATE '{first}' AND DATE '{last}' {accounts}
        ORDER BY account_id, usage_day"""

    def batches(self, accounts: Collection[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The records, as Arrow batches (account_id, metric, unit, sku, accelerator, model,
        usage_day, quantity), of `accounts` (all when None)."""
        with self._lock:
            cur = self._con.cursor()
        where = ""
        if accounts is not None:
            cur.register("wanted", pa.table({"account_id": sorted(accounts)}))
            where = "AND account_id IN (SELECT account_id FROM wanted)"
        try:
            yield from cur.sql(self._sql(where)).to_arrow_reader(BATCH_ROWS)
        finally:
            cur.close()

    def _record(self, row: dict[str, Any]) -> UsageRecord:
        metric = Metric(row["metric"])
        start = day_start(row["usage_day"])
        return UsageRecord(
            self.provider,
            row["account_id"],
            self.region,
            self.collector,
            metric,
            row["unit"],
            Dimensions(sku=row["sku"], accelerator=row["accelerator"], model=row["model"]),
            start,
            start + DAY,
            row["quantity"],
            Method.BILLING_EXPORT,
        )

    def records(self, accounts: Collection[str] | None = None) -> list[UsageRecord]:
        """UsageRecords (for one account's unit, or tests): sorted like the store reads them."""
        out = [self._record(r) for b in self.batches(accounts) for r in b.to_pylist()]
        out.sort(
            key=lambda r: (
                r.account_id,
                r.metric,
                r.period_start,
                r.dimensions.sku,
                r.dimensions.model,
            )
        )
        return out

    def by_account(self) -> dict[str, list[UsageRecord]]:
        out: dict[str, list[UsageRecord]] = defaultdict(list)
        for r in self.records():
            out[r.account_id].append(r)
        return dict(out)


def _close(con: duckdb.DuckDBPyConnection, folder: tempfile.TemporaryDirectory[str]) -> None:
    con.close()
    folder.cleanup()
