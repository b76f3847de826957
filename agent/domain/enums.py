"""Every state the product speaks of, as an enum: no free-form strings for states."""

from __future__ import annotations

from enum import StrEnum


class Method(StrEnum):
    """How a quantity was measured; printed next to every number."""

    BILLING = "billing"
    SAMPLED = "sampled"
    ACTIVITY_LOG = "activity-log"
    METRICS = "metrics"
    LAUNCH_TIME_ESTIMATE = "launch-time-estimate"
    # From a service's own job records (SageMaker training, Bedrock customization jobs).
    JOB_HISTORY = "job-history"
    # From a billing export (CUR 2.0, FOCUS): the delivery used is recorded with the run.
    BILLING_EXPORT = "billing-export"


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


class CoverageLevel(StrEnum):
    """How much of an account (or a scope, or the whole audit) could be read."""

    COMPLETE = "complete"  # every unit read
    PARTIAL = "partial"  # some units failed: figures are lower bounds
    FAILED = "failed"  # nothing could be read: figures are unknown


class Lifecycle(StrEnum):
    """Where a finding stands across runs."""

    NEW = "new"  # open (BREACH / UNKNOWN), not yet in a report
    ONGOING = "ongoing"  # open and already reported
    RESOLVED = "resolved"  # was open, now OK
    NONE = "none"  # never open


class RunStatus(StrEnum):
    """A run's state in the runs table; the last three say how a finished run ended."""

    RUNNING = "running"
    FAILED = "failed"  # an error ended it
    ABANDONED = "abandoned"  # its process died without finishing it
    COMPLETE = "complete"
    PARTIAL = "partial"
    BREACH = "breach"


class ScopeKind(StrEnum):
    """What a rule is judged over."""

    ACCOUNT = "account"
    CUSTOMER = "customer"
    INTERMEDIARY = "intermediary"
    COUNTRY_GROUP = "country_group"
    ORGANIZATION = "organization"
