"""Issue 14 item 3: an Azure VM listed without a size is never dropped silently: a second, full
listing sizes it, and one that stays unsized makes the unit a coverage gap."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import pytest

from computewatch.collectors.azure.provider import AzureProvider
from computewatch.collectors.base import ApiCallCounter, CollectContext
from computewatch.collectors.runner import CollectionResult, run_collection
from computewatch.config.azure import AzureSettings
from computewatch.demo.emulated_azure import EmulatedAzure
from computewatch.domain import CoverageStatus, Metric
from tests.helpers.azure import (
    A100_HOURS,
    GPU_SUB,
    H100_HOURS,
    SUB_GPU,
    TENANT,
    UNKNOWN_HOURS,
    FakeCredential,
)


def _collect(
    ctx: CollectContext, listed: Literal["full-listing-only", "never"]
) -> CollectionResult:
    vms = tuple(replace(v, size_listed=listed) if "h100" in v.name else v for v in GPU_SUB.vms)
    assert vms != GPU_SUB.vms
    sub = replace(GPU_SUB, vms=vms)
    tenant = replace(TENANT, subscriptions=(sub, *TENANT.subscriptions[1:]))
    with EmulatedAzure(tenant, page_size=2) as arm:
        settings = AzureSettings.model_validate({"cloud": arm.cloud_config(), "max_retry_after": 5})
        provider = AzureProvider(
            settings, ApiCallCounter(), credential=FakeCredential(arm.fake.access_token)
        )
        return run_collection([provider], ctx)


def _vm_coverage(result: CollectionResult) -> tuple[CoverageStatus, str, str]:
    (entry,) = [
        c for c in result.coverage if c.account_id == SUB_GPU and c.collector == "azure.vms"
    ]
    return entry.status, entry.error_code, entry.error_message


def test_size_missing_from_the_status_listing_is_filled_by_a_full_listing(
    ctx: CollectContext,
) -> None:
    result = _collect(ctx, "full-listing-only")
    assert _vm_coverage(result)[0] is CoverageStatus.OK
    hours: dict[str, float] = {}
    for r in result.records:
        if r.account_id == SUB_GPU and r.metric is Metric.ACCELERATOR_HOURS:
            hours[r.dimensions.accelerator] = hours.get(r.dimensions.accelerator, 0) + r.quantity
    assert hours == pytest.approx(
        {"H100": H100_HOURS, "A100": A100_HOURS, "unknown": UNKNOWN_HOURS}
    )


def test_vm_without_any_size_is_a_coverage_gap(ctx: CollectContext) -> None:
    status, code, message = _vm_coverage(_collect(ctx, "never"))
    assert status is CoverageStatus.FAILED and code == "UnclassifiedResource"
    assert "without a size" in message and "h100" in message
