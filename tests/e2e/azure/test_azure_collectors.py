"""Azure collection through the real SDK clients against the fake ARM over HTTPS."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta

import pytest

from computewatch.collectors.base import CollectContext
from computewatch.collectors.runner import CollectionResult, run_collection
from computewatch.demo.emulated_azure import EmulatedAzure
from computewatch.domain import CoverageStatus, Method, Metric, UsageRecord
from tests.helpers.azure import (
    A100_HOURS,
    FINE_TUNING_HOURS,
    H100_HOURS,
    SUB_AI,
    SUB_DENIED,
    SUB_GPU,
    TOKENS,
    UNKNOWN_HOURS,
    WINDOW,
    MakeProvider,
)


def collect(
    make_provider: MakeProvider, ctx: CollectContext, **section: object
) -> CollectionResult:
    provider, _, _ = make_provider(**section)
    return run_collection([provider], ctx)


def totals(records: list[UsageRecord], account: str, metric: Metric, key: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for r in records:
        if r.account_id == account and r.metric is metric:
            out[getattr(r.dimensions, key)] += r.quantity
    return dict(out)


def coverage(result: CollectionResult) -> dict[tuple[str, str], tuple[CoverageStatus, str]]:
    return {(c.account_id, c.collector): (c.status, c.error_code) for c in result.coverage}


def test_accelerator_hours_per_chip_match_the_fake(
    make_provider: MakeProvider, ctx: CollectContext
) -> None:
    result = collect(make_provider, ctx)
    hours = totals(result.records, SUB_GPU, Metric.ACCELERATOR_HOURS, "accelerator")
    assert hours == pytest.approx(
        {"H100": H100_HOURS, "A100": A100_HOURS, "unknown": UNKNOWN_HOURS}
    )
    gpu = [r for r in result.records if r.account_id == SUB_GPU]
    assert {r.method for r in gpu} == {Method.ACTIVITY_LOG}
    # Daily records aligned to 00:00 UTC, in the resource's real location.
    assert all(
        r.period_start.hour == 0 and r.period_end - r.period_start == timedelta(days=1) for r in gpu
    )
    assert {(r.dimensions.accelerator, r.region) for r in gpu} == {
        ("H100", "eastus"),
        ("A100", "westeurope"),
        ("unknown", "eastus"),
    }
    peaks: dict[str, float] = defaultdict(float)
    for r in gpu:
        if r.metric is Metric.PEAK_CONCURRENT_ACCELERATORS:
            peaks[r.dimensions.accelerator] = max(peaks[r.dimensions.accelerator], r.quantity)
    assert dict(peaks) == {"H100": 8, "A100": 6, "unknown": 1}
    # The scale set counts its 3 machines in instance-hours; the plain VM is not a GPU VM.
    instance_hours = totals(result.records, SUB_GPU, Metric.INSTANCE_HOURS, "sku")
    assert instance_hours["Standard_NC48ads_A100_v4"] == pytest.approx(3 * 16 * 24)
    assert "Standard_D4s_v5" not in instance_hours


def test_tokens_per_model_match_the_fake(
    make_provider: MakeProvider, ctx: CollectContext, arm: EmulatedAzure
) -> None:
    result = collect(make_provider, ctx)
    got = {
        model: {
            "input": totals(result.records, SUB_AI, Metric.MODEL_INPUT_TOKENS, "model").get(
                model, 0
            ),
            "output": totals(result.records, SUB_AI, Metric.MODEL_OUTPUT_TOKENS, "model").get(
                model, 0
            ),
            "invocations": totals(result.records, SUB_AI, Metric.MODEL_INVOCATIONS, "model").get(
                model, 0
            ),
        }
        for model in TOKENS
    }
    assert got == TOKENS
    ai = [r for r in result.records if r.account_id == SUB_AI]
    assert {r.method for r in ai} == {Method.METRICS}
    assert {r.dimensions.model for r in ai if r.unit == "tokens"} == set(TOKENS)
    # The metric dimension comes back lower-cased; the record keeps the deployment's real id.
    assert any(r.dimensions.resource_id.endswith("/deployments/GPT4o-Prod") for r in ai)
    assert all(r.period_start >= WINDOW.start and r.period_end <= WINDOW.end for r in ai)
    # Newer metrics where the account defines them, classic ones elsewhere; never both.
    # Fine-tuning hours ride along when split by deployment, else get their own unsplit query.
    asked = sorted(
        (c.path.split("/")[8], c.query["metricnames"], c.query.get("$filter", ""))
        for c in arm.fake.calls("/metrics")
    )
    split = "ModelDeploymentName eq '*'"
    assert asked == [
        ("lumen-foundry", "FineTunedTrainingHours", ""),
        ("lumen-foundry", "InputTokens,OutputTokens,ModelRequests", split),
        (
            "lumen-openai",
            "ProcessedPromptTokens,GeneratedTokens,AzureOpenAIRequests,FineTunedTrainingHours",
            split,
        ),
    ]


def test_fine_tuning_hours_per_model_match_the_fake(
    make_provider: MakeProvider, ctx: CollectContext
) -> None:
    result = collect(make_provider, ctx)
    tuning = [r for r in result.records if r.metric is Metric.FINE_TUNING_HOURS]
    assert totals(tuning, SUB_AI, Metric.FINE_TUNING_HOURS, "model") == FINE_TUNING_HOURS
    assert {(r.unit, r.method) for r in tuning} == {("hours", Method.METRICS)}
    # One record per account, model and day, keyed by the account (not a deployment).
    assert {(r.dimensions.resource_id.rsplit("/", 1)[1], r.dimensions.model) for r in tuning} == {
        ("lumen-openai", "gpt-4o-mini"),
        ("lumen-foundry", ""),
    }
    assert len(tuning) == 10 + 2
    assert sorted(r.period_start.day for r in tuning if r.dimensions.model == "") == [21, 22]


def test_forbidden_subscription_is_a_failed_coverage_entry_the_others_are_read(
    make_provider: MakeProvider, ctx: CollectContext
) -> None:
    result = collect(make_provider, ctx)
    assert coverage(result) == {
        (SUB_GPU, "azure.vms"): (CoverageStatus.OK, ""),
        (SUB_GPU, "azure.openai"): (CoverageStatus.OK, ""),
        (SUB_AI, "azure.vms"): (CoverageStatus.OK, ""),
        (SUB_AI, "azure.openai"): (CoverageStatus.OK, ""),
        (SUB_DENIED, "azure.vms"): (CoverageStatus.FAILED, "AuthorizationFailed"),
        (SUB_DENIED, "azure.openai"): (CoverageStatus.FAILED, "AuthorizationFailed"),
    }
    denied = [c for c in result.coverage if c.account_id == SUB_DENIED]
    assert all("does not have authorization" in c.error_message for c in denied)
    assert all(c.region == "global" for c in result.coverage)
    assert not [r for r in result.records if r.account_id == SUB_DENIED]
    assert {a.account_id: a.name for a in result.accounts}[SUB_DENIED] == "quarantine-sandbox"


def test_429_with_retry_after_is_retried(
    make_provider: MakeProvider, ctx: CollectContext, arm: EmulatedAzure
) -> None:
    arm.fake.add_fault(
        "/providers/Microsoft.Compute/virtualMachines", 429, "TooManyRequests", retry_after=1
    )
    provider, counter, _ = make_provider(subscriptions=[{"id": SUB_GPU}])
    started = time.monotonic()
    result = run_collection([provider], ctx)
    assert time.monotonic() - started >= 1.0
    assert coverage(result)[(SUB_GPU, "azure.vms")] == (CoverageStatus.OK, "")
    vm_calls = [c for c in arm.fake.seen if c.path.endswith("/Microsoft.Compute/virtualMachines")]
    first_page = [c.status for c in vm_calls if "$skiptoken" not in c.query]
    assert first_page == [429, 200]
    assert (
        totals(result.records, SUB_GPU, Metric.ACCELERATOR_HOURS, "accelerator")["H100"]
        == H100_HOURS
    )
    # Counted once per logical call (two pages), not per attempt.
    assert counter.snapshot()["arm:GET Microsoft.Compute/virtualMachines"] == 2


def test_retry_after_beyond_the_limit_fails_the_unit_fast(
    make_provider: MakeProvider, ctx: CollectContext, arm: EmulatedAzure
) -> None:
    arm.fake.add_fault(
        "/providers/Microsoft.CognitiveServices/accounts", 429, "TooManyRequests", retry_after=3600
    )
    provider, _, _ = make_provider(subscriptions=[{"id": SUB_AI}])
    started = time.monotonic()
    result = run_collection([provider], ctx)
    assert time.monotonic() - started < 5
    assert coverage(result)[(SUB_AI, "azure.openai")] == (CoverageStatus.FAILED, "TooManyRequests")
    assert coverage(result)[(SUB_AI, "azure.vms")] == (CoverageStatus.OK, "")


def test_next_link_paging(
    make_provider: MakeProvider, ctx: CollectContext, arm: EmulatedAzure
) -> None:
    provider, counter, _ = make_provider()
    result = run_collection([provider], ctx)
    assert sorted(a.account_id for a in result.accounts) == [SUB_GPU, SUB_AI, SUB_DENIED]
    listing = [c for c in arm.fake.seen if c.path == "/subscriptions"]
    assert [c.query.get("$skiptoken") for c in listing] == [None, "2"]
    calls = counter.snapshot()
    assert calls["arm:GET Microsoft.Resources/subscriptions"] == 2
    # 4 VMs come in two pages; one call each for the empty and the forbidden subscription.
    assert calls["arm:GET Microsoft.Compute/virtualMachines"] == 2 + 1 + 1
    vm_pages = [
        c
        for c in arm.fake.seen
        if c.path.endswith(f"{SUB_GPU}/providers/Microsoft.Compute/virtualMachines")
    ]
    assert [(c.query.get("$skiptoken"), c.query["statusOnly"]) for c in vm_pages] == [
        (None, "true"),
        ("2", "true"),
    ]
    assert calls["arm:GET Microsoft.Insights/eventtypes/values"] > 2  # the log spans several pages


def test_include_and_exclude_filter_discovery(
    make_provider: MakeProvider, ctx: CollectContext
) -> None:
    provider, _, _ = make_provider(
        include_subscriptions=[SUB_GPU, SUB_AI], exclude_subscriptions=[SUB_AI]
    )
    assert [a.account_id for a in provider.discover(ctx, ["azure.vms"]).accounts] == [SUB_GPU]
    provider, counter, _ = make_provider(subscriptions=[{"id": SUB_AI.upper(), "name": "apps"}])
    found = provider.discover(ctx, ["azure.vms"])
    assert [(a.account_id, a.name) for a in found.accounts] == [(SUB_AI, "apps")]
    assert counter.snapshot() == {}  # an explicit list needs no listing call


def test_window_past_retention_is_a_gap_not_zero(
    make_provider: MakeProvider, ctx: CollectContext
) -> None:
    # 91 days after the window starts: the Activity Log (90 d) is gone, metrics (93 d) are not.
    late = CollectContext(window=WINDOW, now=WINDOW.start + timedelta(days=91), catalog=ctx.catalog)
    result = collect(make_provider, late, subscriptions=[{"id": SUB_GPU}, {"id": SUB_AI}])
    cov = coverage(result)
    assert cov[(SUB_GPU, "azure.vms")] == (CoverageStatus.FAILED, "RetentionExceeded")
    assert cov[(SUB_AI, "azure.openai")] == (CoverageStatus.OK, "")
    assert not [r for r in result.records if r.metric is Metric.ACCELERATOR_HOURS]
    later = CollectContext(
        window=WINDOW, now=WINDOW.start + timedelta(days=94), catalog=ctx.catalog
    )
    result = collect(make_provider, later, subscriptions=[{"id": SUB_AI}])
    assert coverage(result)[(SUB_AI, "azure.openai")] == (
        CoverageStatus.FAILED,
        "RetentionExceeded",
    )


def test_missing_secret_is_a_discovery_failure(
    make_provider: MakeProvider,
    ctx: CollectContext,
    arm: EmulatedAzure,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CW_TEST_AZURE_SECRET", raising=False)
    from computewatch.collectors.azure.provider import AzureProvider
    from computewatch.collectors.base import ApiCallCounter
    from computewatch.config.azure import AzureSettings

    settings = AzureSettings.model_validate(
        {"cloud": arm.cloud_config(), "credential": arm.credential_config("CW_TEST_AZURE_SECRET")}
    )
    found = AzureProvider(settings, ApiCallCounter()).discover(ctx, ["azure.vms"])
    assert found.targets == []
    assert [(f.account_id, f.collector, f.error_code) for f in found.failures] == [
        ("tenant", "azure.subscriptions", "SecretMissing")
    ]
