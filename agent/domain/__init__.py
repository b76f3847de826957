"""The domain: records, enums for every state, windows, the metric table, rules and findings.

No I/O at import; every other layer may import from here, and this package imports none of them.
"""

from computewatch.domain.aggregates import BilledTotal, DailyRow, DailyTotal, Peak, Total
from computewatch.domain.enums import (
    NOT_COLLECTED,
    SAMPLING_GAP,
    CoverageLevel,
    CoverageStatus,
    FindingStatus,
    LegalStatus,
    Lifecycle,
    Method,
    RunStatus,
    ScopeKind,
)
from computewatch.domain.metrics import Metric
from computewatch.domain.records import (
    Account,
    CoverageEntry,
    Dimensions,
    Observation,
    RunInfo,
    UsageRecord,
)
from computewatch.domain.rules import Finding, FindingState, Rule
from computewatch.domain.window import Window, utc

__all__ = [
    "NOT_COLLECTED",
    "SAMPLING_GAP",
    "Account",
    "BilledTotal",
    "CoverageEntry",
    "CoverageLevel",
    "CoverageStatus",
    "DailyRow",
    "DailyTotal",
    "Dimensions",
    "Finding",
    "FindingState",
    "FindingStatus",
    "LegalStatus",
    "Lifecycle",
    "Method",
    "Metric",
    "Observation",
    "Peak",
    "Rule",
    "RunInfo",
    "RunStatus",
    "ScopeKind",
    "Total",
    "UsageRecord",
    "Window",
    "utc",
]
