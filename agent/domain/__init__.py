"""The domain: records, enums for every state, windows, the metric table, rules and findings.

No I/O at import; every other layer may import from here, and this package imports none of them.
"""

from computewatch.domain.aggregates import DailyRow, DailyTotal, Peak, Total
from computewatch.domain.enums import (
    NOT_COLLECTED,
    SAMPLING_GAP,
    CoverageStatus,
    FindingStatus,
    LegalStatus,
    Method,
)
from computewatch.domain.metrics import Metric
from computewatch.domain.records import Account, CoverageEntry, Dimensions, Observation, UsageRecord
from computewatch.domain.rules import Finding, FindingState, Rule
from computewatch.domain.window import Window, utc

__all__ = [
    "NOT_COLLECTED",
    "SAMPLING_GAP",
    "Account",
    "CoverageEntry",
    "CoverageStatus",
    "DailyRow",
    "DailyTotal",
    "Dimensions",
    "Finding",
    "FindingState",
    "FindingStatus",
    "LegalStatus",
    "Method",
    "Metric",
    "Observation",
    "Peak",
    "Rule",
    "Total",
    "UsageRecord",
    "Window",
    "utc",
]
