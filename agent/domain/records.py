"""Immutable, validated records: the vocabulary every stage speaks (DESIGN §3)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from computewatch.domain.enums import CoverageStatus, Method
from computewatch.domain.metrics import Metric
from computewatch.domain.text import neutralise
from computewatch.domain.window import require_utc


@dataclass(frozen=True, slots=True)
class Dimensions:
    """What a quantity is about. Empty string means 'not applicable', so keys stay comparable."""

    sku: str = ""
    accelerator: str = ""
    model: str = ""
    resource_id: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "sku": self.sku,
            "accelerator": self.accelerator,
            "model": self.model,
            "resource_id": self.resource_id,
        }


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One measured quantity for one account-region-collector over one period."""

    provider: str
    account_id: str
    region: str
    collector: str
    metric: Metric
    unit: str
    dimensions: Dimensions
    period_start: datetime
    period_end: datetime
    quantity: float
    method: Method

    def __post_init__(self) -> None:
        require_utc("period_start", self.period_start)
        require_utc("period_end", self.period_end)
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        if self.quantity < 0:
            raise ValueError(f"quantity must not be negative, got {self.quantity}")
        for name in ("provider", "account_id", "region", "collector", "unit"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")

    @property
    def key(self) -> str:
        """The idempotency key: collecting the same period twice replaces, never adds."""
        return record_key(
            self.provider,
            self.account_id,
            self.region,
            self.collector,
            str(self.metric),
            dimensions_text(self.dimensions),
            self.period_start.isoformat(),
        )


def dimensions_text(d: Dimensions) -> str:
    """The dimensions as they enter the record key."""
    return json.dumps(d.as_dict(), sort_keys=True)


def record_key(
    provider: str,
    account_id: str,
    region: str,
    collector: str,
    metric: str,
    dimensions: str,
    start_iso: str,
) -> str:
    """The record key from its parts (`UsageRecord.key`; a bulk writer calls it with the parts
    it has cached, so that both make the same key)."""
    parts = (provider, account_id, region, collector, metric, dimensions, start_iso)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Observation:
    """What one collection saw of one resource (an instance, a VM) at one moment.

    Each observation proves the resource ran over [started_at, ended_at or observed_at]; the union
    of those intervals across repeated collections is the `sampled` usage, a lower bound that
    survives stop/start between samples and resources that vanish after termination.
    """

    provider: str
    account_id: str
    region: str
    collector: str
    resource_id: str
    observed_at: datetime
    sku: str
    accelerator: str
    count: float
    state: str
    started_at: datetime
    ended_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("observed_at", "started_at"):
            require_utc(name, getattr(self, name))
        if self.ended_at is not None:
            require_utc("ended_at", self.ended_at)

    @property
    def proven(self) -> tuple[datetime, datetime] | None:
        """The interval this observation proves the resource was running, if any."""
        end = self.ended_at if self.ended_at is not None else self.observed_at
        return (self.started_at, end) if end > self.started_at else None


@dataclass(frozen=True, slots=True)
class CoverageEntry:
    """Whether one account-region-collector was read for a period, and if not, why."""

    provider: str
    account_id: str
    region: str
    collector: str
    period_start: datetime
    period_end: datetime
    status: CoverageStatus
    error_code: str = ""
    error_message: str = ""

    def __post_init__(self) -> None:
        require_utc("period_start", self.period_start)
        require_utc("period_end", self.period_end)
        if self.status is CoverageStatus.FAILED and not self.error_code:
            raise ValueError("a failed coverage entry needs an error code")


@dataclass(frozen=True, slots=True)
class Account:
    """An account (AWS account, Azure subscription) as the report names it. Its name comes from
    the cloud, where the customer may have chosen it: control and bidi characters are shown as
    code points (domain.text), never passed on."""

    provider: str
    account_id: str
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", neutralise(self.name))


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The provenance of a report: which run, which tool version and configuration, which calls."""

    run_id: int
    tool_version: str
    config_digest: str
    api_calls: tuple[tuple[str, int], ...] = ()
