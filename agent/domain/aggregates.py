"""Sums the store hands to the engine: typed rows, never raw dicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Total:
    """A summed quantity for one account, metric and dimension combination over a window."""

    provider: str
    account_id: str
    metric: str
    accelerator: str
    model: str
    sku: str
    method: str
    quantity: float


@dataclass(frozen=True, slots=True)
class Peak:
    """Largest daily sum (over regions) of per-region peak concurrency, per account and chip."""

    provider: str
    account_id: str
    accelerator: str
    method: str
    quantity: float


@dataclass(frozen=True, slots=True)
class DailyModelRow:
    """Per day and model: lets a billing export's tokens replace live metrics day by day."""

    provider: str
    account_id: str
    metric: str
    model: str
    method: str
    day: datetime
    quantity: float


@dataclass(frozen=True, slots=True)
class DailyRow:
    provider: str
    account_id: str
    metric: str
    accelerator: str
    sku: str
    method: str
    day: datetime
    quantity: float


@dataclass(frozen=True, slots=True)
class DailyTotal:
    provider: str
    account_id: str
    accelerator: str
    day: datetime
    quantity: float


@dataclass(frozen=True, slots=True)
class BilledTotal:
    """A metric billing supersedes, per account, chip, sku and method over a window, summed in
    the store: `quantity` over the days this row counts (billing rows, and other rows on days
    without billing; `days` of them), `overlap` over days that have both billing and other rows
    (`overlap_days`), for the billing/inventory reconciliation. Billing ranks: a billing export
    outranks Cost Explorer billing, which outranks inventory (engine.usage.BILLING_RANKS); `export`
    / `live` hold this row's part of the export reconciliation (export rows, and rows of the best
    live source, on days with an export and a live source; `export_days` of them)."""

    provider: str
    account_id: str
    metric: str
    accelerator: str
    sku: str
    method: str
    quantity: float
    days: int
    overlap: float
    overlap_days: int
    export: float = 0.0
    live: float = 0.0
    export_days: int = 0
