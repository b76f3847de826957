"""Billing-export provenance: which delivery of which export a period's figures came from, and
what the export says about each account (know-your-customer evidence)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from computewatch.domain.window import require_utc


@dataclass(frozen=True, slots=True)
class AccountClaim:
    """An account as a billing export names it (CUR account name; Azure CSP reseller/customer)."""

    provider: str
    account_id: str
    name: str = ""
    reseller_id: str = ""
    reseller_name: str = ""
    customer_id: str = ""
    customer_name: str = ""


@dataclass(frozen=True, slots=True)
class ExportDelivery:
    """One billing period of one export as ingested. A re-delivery of the period replaces it (and
    its figures): (export, billing_period) is the key."""

    export: str
    provider: str  # the accounts' cloud
    region: str  # the coverage unit's region ("export:<name>")
    collector: str
    billing_period: str  # YYYY-MM
    period_start: datetime
    period_end: datetime
    delivery_id: str  # manifest execution id / Azure run id / digest of the files
    format: str
    schema_version: str
    manifest: str
    files: tuple[tuple[str, str, int], ...]  # (name, ETag or SHA-256, bytes)
    queries: tuple[tuple[str, str], ...]  # (measure, SHA-256 of the SQL text, or table version)
    accounts: tuple[AccountClaim, ...] = ()

    def __post_init__(self) -> None:
        require_utc("period_start", self.period_start)
        require_utc("period_end", self.period_end)


@dataclass(frozen=True)
class ExportFigures:
    """One export read's usage rows for the store, in bulk: Arrow record batches with the
    columns key (UsageRecord.key), account_id, metric, unit, sku, accelerator, model, usage_day
    (a date), quantity. Provider, region and collector are the same for every row, the method is
    `billing-export`. Columnar because a month of 50,000 accounts is millions of rows."""

    provider: str
    region: str
    collector: str
    batches: Iterable[Any]
