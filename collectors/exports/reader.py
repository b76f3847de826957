"""Read one configured export for a window: every billing period it touches, one delivery each.

The result is per account (records, what the export says about the account) plus, per period,
the provenance: delivery id, files with ETags or hashes, schema version, query digests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from computewatch.collectors.exports.cur2 import AccountSeen, PeriodRead
from computewatch.collectors.exports.delivery import Delivery, locate
from computewatch.collectors.exports.duck import VIEW, DuckScan
from computewatch.collectors.exports.measures import read_format
from computewatch.collectors.exports.queries import Query
from computewatch.collectors.exports.records import RecordSink
from computewatch.collectors.exports.schema import FORMATS
from computewatch.config.exports import ExportSource
from computewatch.domain import UsageRecord, Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import SourceError
from computewatch.domain.window import month_start, shift_months

COLLECTOR = "exports.billing"


@dataclass(frozen=True)
class PeriodProvenance:
    """Which delivery a period's figures came from (stored, and printed in the report)."""

    export: str
    format: str
    schema_version: str
    billing_period: str
    delivery_id: str
    manifest: str
    files: tuple[dict[str, object], ...]
    queries: tuple[tuple[str, str], ...]


@dataclass
class ExportRead:
    """One export read for a window: accounts, provenance per period, and the figures staged
    in `sink` (written to the store in bulk; `records` builds objects, for tests and units)."""

    source: ExportSource
    accounts: dict[str, AccountSeen] = field(default_factory=dict)
    sink: RecordSink | None = None
    periods: list[PeriodProvenance] = field(default_factory=list)
    error: SourceError | None = None

    @property
    def region(self) -> str:
        return unit_region(self.source)

    @property
    def records(self) -> dict[str, list[UsageRecord]]:
        """Every record by account (builds one object per record: small exports only)."""
        return self.sink.by_account() if self.sink is not None and self.error is None else {}

    def account_records(self, account_id: str) -> list[UsageRecord]:
        if self.sink is None or self.error is not None:
            return []
        return self.sink.records([account_id])


def unit_region(source: ExportSource) -> str:
    """The coverage unit's 'region': which export an account was read from."""
    return f"export:{source.name}"


def billing_periods(window: Window) -> list[date]:
    first = month_start(window.start)
    out = []
    while first < window.end:
        out.append(first.date())
        first = shift_months(first, 1)
    return out


def local_root(source: ExportSource, base_dir: str) -> Path:
    root = Path(source.location)
    return root if root.is_absolute() else Path(base_dir or ".") / root


def read_period_duckdb(
    delivery: Delivery, source: ExportSource, period: date, catalog: Catalog, sink: RecordSink
) -> tuple[PeriodRead, str]:
    fmt = FORMATS[source.format]
    with DuckScan(delivery, fmt) as scan:

        def run(q: Query) -> list[tuple[Any, ...]]:
            return scan.rows(q.duckdb())

        def fetch(q: Query) -> Any:
            return scan.stream(q.duckdb())

        return read_format(run, VIEW, source, period, catalog, sink, fetch=fetch), scan.version


def read_export(
    source: ExportSource,
    window: Window,
    catalog: Catalog,
    base_dir: str,
    fetch: Any = None,
    counter: Any = None,
    session: Any = None,
) -> ExportRead:
    """Read `source` for `window`; a failure of any period is the whole export's error (a
    month half-read is not a month)."""
    out = ExportRead(source)
    sink = RecordSink(source.cloud, out.region, COLLECTOR, window)
    try:
        for period in billing_periods(window):
            label = f"{period:%Y-%m}"
            if source.engine == "athena":
                from computewatch.collectors.exports.athena import read_period_athena

                read, version, delivery = read_period_athena(
                    source, period, catalog, sink, counter, session
                )
            else:
                delivery = (
                    fetch(source, label)
                    if fetch
                    else locate(local_root(source, base_dir), label, source.name)
                )
                read, version = read_period_duckdb(delivery, source, period, catalog, sink)
            for account_id, seen in read.accounts.items():
                out.accounts.setdefault(account_id, seen)
            out.periods.append(
                PeriodProvenance(
                    source.name,
                    source.format,
                    version,
                    label,
                    delivery.delivery_id,
                    delivery.manifest,
                    tuple(delivery.fingerprint()),
                    tuple(sorted(read.queries.items())),
                )
            )
    except SourceError as err:
        out.error = err
        sink.close()
        return out
    out.sink = sink
    return out
