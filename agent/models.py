"""Immutable, validated records: the vocabulary every stage speaks (DESIGN §3)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum


def _require_utc(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be an aware UTC datetime, got {value!r}")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Shorthand for an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Method(StrEnum):
    """How a quantity was measured; printed next to every number."""

    BILLING = "billing"
    SAMPLED = "sampled"
    ACTIVITY_LOG = "activity-log"
    METRICS = "metrics"
    LAUNCH_TIME_ESTIMATE = "launch-time-estimate"
    # From a service's own job records (SageMaker training, Bedrock customization jobs).
    JOB_HISTORY = "job-history"


class Metric(StrEnum):
    ACCELERATOR_HOURS = "accelerator_hours"
    INSTANCE_HOURS = "instance_hours"
    PEAK_CONCURRENT_ACCELERATORS = "peak_concurrent_accelerators"
    MODEL_INPUT_TOKENS = "model_input_tokens"
    MODEL_OUTPUT_TOKENS = "model_output_tokens"
    MODEL_INVOCATIONS = "model_invocations"
    TRAINING_JOB_ACCELERATOR_HOURS = "training_job_accelerator_hours"
    # A fine-tuning / model-customization job seen in the period (quantity 1 per job): a training signal.
    MODEL_CUSTOMIZATION_JOBS = "model_customization_jobs"
    # Hours of fine-tuning training Azure Monitor reports for an account (a training signal).
    FINE_TUNING_HOURS = "fine_tuning_hours"


class CoverageStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


# Coverage gaps that are not an API's error code: an inventory read too long after the previous
# one, and a unit whose collector runs on its own schedule and has not read the period yet.
SAMPLING_GAP = "SamplingGap"
NOT_COLLECTED = "NotCollectedYet"


class FindingStatus(StrEnum):
    BREACH = "BREACH"
    UNKNOWN = "UNKNOWN"
    OK = "OK"


class LegalStatus(StrEnum):
    IN_FORCE = "in-force"
    PROPOSED = "proposed"
    REVOKED = "revoked"
    BILL = "bill"
    INTERNAL_POLICY = "internal-policy"


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC interval [start, end); the clock never enters `evaluate`, windows do."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_utc("start", self.start)
        _require_utc("end", self.end)
        if self.end <= self.start:
            raise ValueError(f"window end {self.end} is not after start {self.start}")

    @classmethod
    def month(cls, text: str) -> Window:
        """Parse 'YYYY-MM' into that calendar month."""
        m = re.fullmatch(r"(\d{4})-(\d{2})", text)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"month must look like 2026-10, got {text!r}")
        year, month = int(m.group(1)), int(m.group(2))
        end = utc(year + 1, 1, 1) if month == 12 else utc(year, month + 1, 1)
        return cls(utc(year, month, 1), end)

    @classmethod
    def quarter(cls, text: str) -> Window:
        """Parse 'YYYY-Qn' into that calendar quarter."""
        m = re.fullmatch(r"(\d{4})-[Qq]([1-4])", text)
        if not m:
            raise ValueError(f"quarter must look like 2026-Q3, got {text!r}")
        year, q = int(m.group(1)), int(m.group(2))
        start = utc(year, 3 * q - 2, 1)
        end = utc(year + 1, 1, 1) if q == 4 else utc(year, 3 * q + 1, 1)
        return cls(start, end)

    @classmethod
    def days(cls, first: date, last: date) -> Window:
        """Whole UTC days from `first` to `last`, both included."""
        return cls(
            utc(first.year, first.month, first.day),
            utc(last.year, last.month, last.day) + timedelta(days=1),
        )

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def clip(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The part of [start, end) inside this window, or None."""
        lo, hi = max(start, self.start), min(end, self.end)
        return (lo, hi) if hi > lo else None

    def day_windows(self) -> list[Window]:
        """The UTC days this window touches, each clipped to the window."""
        out: list[Window] = []
        day = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < self.end:
            nxt = day + timedelta(days=1)
            lo, hi = max(day, self.start), min(nxt, self.end)
            out.append(Window(lo, hi))
            day = nxt
        return out

    def calendar_months(self) -> list[Window]:
        """The calendar months this window touches, unclipped."""
        out: list[Window] = []
        cur = Window.month(f"{self.start.year:04d}-{self.start.month:02d}")
        while cur.start < self.end:
            out.append(cur)
            cur = Window.month(f"{cur.end.year:04d}-{cur.end.month:02d}")
        return out

    def label(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


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
        _require_utc("period_start", self.period_start)
        _require_utc("period_end", self.period_end)
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
        parts = [
            self.provider,
            self.account_id,
            self.region,
            self.collector,
            str(self.metric),
            json.dumps(self.dimensions.as_dict(), sort_keys=True),
            self.period_start.isoformat(),
        ]
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
            _require_utc(name, getattr(self, name))
        if self.ended_at is not None:
            _require_utc("ended_at", self.ended_at)

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
        _require_utc("period_start", self.period_start)
        _require_utc("period_end", self.period_end)
        if self.status is CoverageStatus.FAILED and not self.error_code:
            raise ValueError("a failed coverage entry needs an error code")


@dataclass(frozen=True, slots=True)
class Account:
    """An account (AWS account, Azure subscription) as the report names it."""

    provider: str
    account_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    """A reporting threshold with its legal basis; loaded from YAML, validated in agent.rules."""

    id: str
    title: str
    legal_basis: str
    citation: str
    legal_status: LegalStatus
    metric: str
    scope: str
    window: str
    comparison: str
    threshold: float
    severity: str
    chips: tuple[str, ...] = ()
    chip_class: str = ""
    band: str = "central"
    country_groups: tuple[str, ...] = ()
    model_pattern: str = ""
    provider: str = ""
    window_days: int = 0  # for window "rolling_days"


@dataclass(frozen=True, slots=True)
class Finding:
    """The outcome of one rule over one scope and window."""

    rule: Rule
    status: FindingStatus
    scope_kind: str
    scope_key: str
    window: Window
    value: float | None
    threshold: float
    detail: str
    evidence: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        """Stable across re-evaluations: hash of rule, scope and window."""
        raw = "|".join(
            [
                self.rule.id,
                self.scope_kind,
                self.scope_key,
                self.window.start.isoformat(),
                self.window.end.isoformat(),
            ]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:16]
