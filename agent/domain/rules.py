"""Rules (thresholds with their legal basis) and the findings judged from them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from computewatch.domain.enums import FindingStatus, LegalStatus, Lifecycle
from computewatch.domain.window import Window


@dataclass(frozen=True, slots=True)
class Rule:
    """A reporting threshold with its legal basis; loaded from YAML, validated in computewatch.config.rules."""

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
    # How the value was measured and what could not be read ("accelerator_hours: billing",
    # "gap <account> <region> <collector>: <code>"), for the reader.
    evidence: tuple[str, ...] = field(default=())
    # The accounts the scope holds ("aws:123456789012"), in order.
    members: tuple[str, ...] = field(default=())
    # Accounts with no registered customer that might belong to the scope.
    uncertain_members: tuple[str, ...] = field(default=())

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


@dataclass(frozen=True, slots=True)
class FindingState:
    """Where a finding stands in its lifecycle (computewatch.engine.lifecycle), as stored."""

    lifecycle: Lifecycle
    first_seen: datetime
    last_seen: datetime
    reported_at: datetime | None
