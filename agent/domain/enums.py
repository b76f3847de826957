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
