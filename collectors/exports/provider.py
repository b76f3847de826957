"""Billing exports as a provider: its discovery reads each export once for the window, and every
account the export names becomes a unit of the `exports.billing` collector.

The accounts keep their own cloud (`aws` for CUR 2.0 and AWS FOCUS, `azure` for Azure FOCUS), so
an account read from the export and by the live collectors is one account in the report, and
the engine reconciles the two. An export that cannot be read is a failed unit of its billing
account (or of the export itself), with the reason: never zeros.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, overload

from computewatch.collectors.base import (
    ApiCallCounter,
    CollectContext,
    Collector,
    Discovery,
    Permissions,
    Provider,
    Target,
    failed_coverage,
)
from computewatch.collectors.exports.reader import COLLECTOR, ExportRead, read_export
from computewatch.config.exports import ExportSettings, ExportSource
from computewatch.domain import Account, Metric, UsageRecord, Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.deliveries import AccountClaim, ExportDelivery, ExportFigures
from computewatch.domain.window import month_start, shift_months

# Reading exports from S3 (download-then-scan) and running the query in Athena, as the caller.
EXPORT_ACTIONS = (
    "s3:GetObject",
    "s3:ListBucket",
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "glue:GetTable",
)


class ExportHandle:
    """What a unit's collector reads: the export's result, read once on first use and shared by
    every unit of the export (a ClientFactory by protocol)."""

    def __init__(self, load: Callable[[], ExportRead]) -> None:
        self._load = load
        self._read: ExportRead | None = None
        self._lock = threading.Lock()

    def result(self) -> ExportRead:
        with self._lock:
            if self._read is None:
                self._read = self._load()
            return self._read

    def client(self, service: str) -> Any:
        return self.result()

    def release(self) -> None:
        """Nothing per account to drop: the export's read is shared by all its units."""


def export_handle(
    source: ExportSource,
    window: Window,
    catalog: Catalog,
    counter: ApiCallCounter,
    base_dir: str = "",
    session: Any = None,
    cache_dir: Path | None = None,
) -> ExportHandle:
    """The handle of one export for one window (S3 and Azure Blob locations are fetched, then
    scanned)."""
    fetch: Any = None
    if source.engine == "duckdb" and source.location.startswith("s3://"):
        from computewatch.collectors.exports.remote import S3Fetcher

        fetch = S3Fetcher(source, counter, session, cache_dir)
    elif source.engine == "duckdb" and source.blob is not None:
        from computewatch.collectors.exports.azblob import BlobFetcher

        fetch = BlobFetcher(source, counter, cache_dir=cache_dir)
    return ExportHandle(
        lambda: read_export(source, window, catalog, base_dir, fetch, counter, session)
    )


def failed_account(source: ExportSource) -> Account:
    ident = source.billing_account or f"export:{source.name}"
    return Account(source.cloud, ident, f"billing export {source.name}")


class ExportsProvider(Provider):
    name = "exports"
    permissions = Permissions(caller=EXPORT_ACTIONS)

    def __init__(self, settings: ExportSettings, counter: ApiCallCounter) -> None:
        self.settings = settings
        self.counter = counter
        self.reads: list[ExportRead] = []
        self.collecting = True  # whether this run's collection includes the export's collector
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, section: Any, counter: ApiCallCounter) -> ExportsProvider:
        return cls(section, counter)

    def max_workers(self) -> int:
        return 2

    def deliveries(self) -> list[ExportDelivery]:
        """Every period read without error in this run, with what the export says per account.
        None when the run leaves the export's collector out (`--collector`, or the daemon's hourly
        job when the export has a schedule of its own): discovery still reads the export for its
        accounts, but a delivery replaces the period's figures, which only the collector gives."""
        out: list[ExportDelivery] = []
        with self._lock:
            reads = list(self.reads) if self.collecting else []
        for read in reads:
            if read.error is not None:
                continue
            claims = tuple(
                AccountClaim(
                    read.source.cloud,
                    a.account_id,
                    a.name,
                    a.reseller_id,
                    a.reseller_name,
                    a.customer_id,
                    a.customer_name,
                )
                for a in sorted(read.accounts.values(), key=lambda a: a.account_id)
            )
            for p in read.periods:
                start = month_start(datetime.fromisoformat(f"{p.billing_period}-01T00:00:00+00:00"))
                out.append(
                    ExportDelivery(
                        export=p.export,
                        provider=read.source.cloud,
                        region=read.region,
                        collector=COLLECTOR,
                        billing_period=p.billing_period,
                        period_start=start,
                        period_end=shift_months(start, 1),
                        delivery_id=p.delivery_id,
                        format=p.format,
                        schema_version=p.schema_version,
                        manifest=p.manifest,
                        files=tuple(
                            (str(f["name"]), str(f["etag"]), int(str(f["size"]))) for f in p.files
                        ),
                        queries=p.queries,
                        accounts=claims,
                    )
                )
        return out

    def figures(self, units: set[tuple[str, str]]) -> list[ExportFigures]:
        """Per export read without error, the figures of its accounts whose unit ran."""
        out = []
        with self._lock:
            reads = list(self.reads)
        for read in reads:
            accounts = {a for region, a in units if region == read.region}
            if read.error is not None or read.sink is None or not accounts:
                continue
            out.append(
                ExportFigures(
                    read.source.cloud, read.region, COLLECTOR, read.sink.batches(accounts)
                )
            )
        return out

    def discover(self, ctx: CollectContext, collector_names: list[str]) -> Discovery:
        out = Discovery()
        self.collecting = ctx.only is None or COLLECTOR in ctx.only
        # Two exports naming one account (e.g. a CUR and a FOCUS export of the same payer): the
        # first configured that could be read gives its figures (reports/exports_view.py says so).
        taken: set[tuple[str, str]] = set()
        for source in self.settings.sources:
            handle = export_handle(
                source, ctx.window, ctx.catalog, self.counter, self.settings.base_dir
            )
            read = handle.result()
            with self._lock:
                self.reads.append(read)
            if read.error is not None:
                account = failed_account(source)
                out.accounts.append(account)
                out.failures.extend(
                    failed_coverage(
                        source.cloud,
                        [account.account_id],
                        [read.region],
                        collector_names,
                        ctx.window,
                        read.error,
                    )
                )
                continue
            for account_id, seen in sorted(read.accounts.items()):
                if (source.cloud, account_id) in taken:
                    continue  # an export configured earlier covers it: never added together
                taken.add((source.cloud, account_id))
                account = Account(source.cloud, account_id, seen.name)
                out.accounts.append(account)
                out.targets.append(Target(account, read.region, handle))
        return out


class ExportedRecords(Sequence[UsageRecord]):
    """One account's records of an export, built only if someone iterates them (the collector
    contract, a run without a store). The pipeline's store sink does not: it notes the unit and
    writes the export's figures in bulk (`ExportsProvider.figures`)."""

    def __init__(self, read: ExportRead, account_id: str) -> None:
        self.read = read
        self.account_id = account_id
        self.region = read.region
        self._items: list[UsageRecord] | None = None

    def _all(self) -> list[UsageRecord]:
        if self._items is None:
            self._items = self.read.account_records(self.account_id)
        return self._items

    def __bool__(self) -> bool:
        return True  # the unit ran; whether it has figures is the store's to count

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, i: int) -> UsageRecord: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[UsageRecord]: ...
    def __getitem__(self, i: int | slice) -> UsageRecord | Sequence[UsageRecord]:
        return self._all()[i]

    def __iter__(self) -> Iterator[UsageRecord]:
        return iter(self._all())


class ExportBillingCollector(Collector):
    name = COLLECTOR
    provider = "exports"
    # The records keep the account's own cloud, so live and export figures meet per account.
    record_providers = ("aws", "azure")
    permissions = Permissions(caller=EXPORT_ACTIONS)
    metrics = (
        Metric.ACCELERATOR_HOURS,
        Metric.INSTANCE_HOURS,
        Metric.TRAINING_JOB_ACCELERATOR_HOURS,
        Metric.MODEL_INPUT_TOKENS,
        Metric.MODEL_OUTPUT_TOKENS,
        Metric.MODEL_CACHE_READ_INPUT_TOKENS,
        Metric.MODEL_CACHE_WRITE_INPUT_TOKENS,
        Metric.FINE_TUNING_HOURS,
        Metric.FINE_TUNING_TRAINING_TOKENS,
    )
    description = (
        "Billing exports (CUR 2.0, FOCUS 1.0-1.2): accelerator-hours, tokens, fine-tuning training"
    )

    def collect(self, target: Target, ctx: CollectContext) -> Sequence[UsageRecord]:
        read: ExportRead = target.clients.client("export")
        if read.error is not None:
            raise read.error
        return ExportedRecords(read, target.account.account_id)
