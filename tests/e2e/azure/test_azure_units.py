"""Pure parts of the Azure side: event pairing, call names, metric choice, config rules."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from computewatch.collectors.azure.activity import PowerEvent, activity_filter, running_spans
from computewatch.collectors.azure.common import cloud_endpoints, operation_key
from computewatch.collectors.azure.openai import choose_metrics
from computewatch.collectors.azure.provider import AzureProvider
from computewatch.collectors.base import ApiCallCounter, CollectContext
from computewatch.collectors.runner import run_collection
from computewatch.config.azure import AzureSettings
from computewatch.domain import CoverageStatus, Metric, utc
from computewatch.domain.errors import SourceError
from tests.helpers.azure import SUB_GPU, FakeCredential

SINCE, UNTIL = utc(2026, 9, 1), utc(2026, 10, 5)


def ev(day: int, starts: bool, hour: int = 0) -> PowerEvent:
    return PowerEvent(utc(2026, 9, day, hour), starts)


@pytest.mark.parametrize(
    ("events", "running_now", "created", "spans"),
    [
        ([], True, None, [(SINCE, UNTIL)]),  # no event: its current state all along
        ([], False, None, []),
        ([], True, utc(2026, 9, 15), [(utc(2026, 9, 15), UNTIL)]),  # not before it existed
        ([ev(3, True), ev(4, False)], False, None, [(utc(2026, 9, 3), utc(2026, 9, 4))]),
        ([ev(10, False, 12)], False, None, [(SINCE, utc(2026, 9, 10, 12))]),  # stop first
        ([ev(7, False)], False, utc(2026, 9, 5), [(utc(2026, 9, 5), utc(2026, 9, 7))]),
        (
            [ev(20, True), ev(10, False), ev(12, False)],  # unordered, a repeated stop
            True,
            None,
            [(SINCE, utc(2026, 9, 10)), (utc(2026, 9, 20), UNTIL)],
        ),
        (
            [PowerEvent(utc(2026, 8, 30), False), ev(2, True)],
            True,
            None,
            [(utc(2026, 9, 2), UNTIL)],
        ),
    ],
)
def test_running_spans(
    events: list[PowerEvent], running_now: bool, created: Any, spans: list[Any]
) -> None:
    assert running_spans(events, running_now, created, SINCE, UNTIL) == spans


def test_activity_filter_uses_the_only_grammar_the_log_accepts() -> None:
    assert activity_filter(SINCE, UNTIL) == (
        "eventTimestamp ge '2026-09-01T00:00:00Z' and eventTimestamp le '2026-10-05T00:00:00Z' "
        "and resourceProvider eq 'Microsoft.Compute'"
    )


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/subscriptions", "GET Microsoft.Resources/subscriptions"),
        (
            f"/subscriptions/{SUB_GPU}/providers/Microsoft.Compute/virtualMachines",
            "GET Microsoft.Compute/virtualMachines",
        ),
        (
            f"/subscriptions/{SUB_GPU}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool/instanceView",
            "GET Microsoft.Compute/virtualMachineScaleSets/instanceView",
        ),
        (
            f"/subscriptions/{SUB_GPU}/providers/Microsoft.Insights/eventtypes/management/values",
            "GET Microsoft.Insights/eventtypes/values",
        ),
        (
            f"//subscriptions/{SUB_GPU}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/providers/Microsoft.Insights/metrics",
            "GET Microsoft.Insights/metrics",
        ),
    ],
)
def test_operation_key_is_stable_and_drops_names(path: str, key: str) -> None:
    assert operation_key("GET", path) == key


def _definition(name: str, *dims: str) -> SimpleNamespace:
    return SimpleNamespace(
        name=SimpleNamespace(value=name), dimensions=[SimpleNamespace(value=d) for d in dims]
    )


def test_metric_choice_prefers_newer_metrics_with_the_deployment_split() -> None:
    defs = [
        _definition("ProcessedPromptTokens", "ModelDeploymentName"),
        _definition("GeneratedTokens", "ModelDeploymentName"),
        _definition("AzureOpenAIRequests", "ModelDeploymentName"),
        _definition("InputTokens", "ModelDeploymentName"),
        _definition("OutputTokens", "ApiName"),  # no deployment split: unusable
    ]
    assert choose_metrics(defs, "acct") == {
        Metric.MODEL_INPUT_TOKENS: "InputTokens",
        Metric.MODEL_OUTPUT_TOKENS: "GeneratedTokens",
        Metric.MODEL_INVOCATIONS: "AzureOpenAIRequests",
    }
    with pytest.raises(SourceError) as err:
        choose_metrics(defs[:2], "acct")
    assert err.value.code == "MetricNotDefined"


def test_clouds_keep_endpoint_authority_and_scope_together() -> None:
    china = cloud_endpoints(AzureSettings.model_validate({"cloud": {"name": "china"}}).cloud)
    assert (china.arm, china.authority, china.scope) == (
        "https://management.chinacloudapi.cn",
        "https://login.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/.default",
    )
    gov = cloud_endpoints(AzureSettings.model_validate({"cloud": {"name": "usgov"}}).cloud)
    assert gov.scope == "https://management.core.usgovcloudapi.net/.default"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"cloud": {"name": "custom", "arm_endpoint": "https://arm.example"}},
            "needs arm_endpoint",
        ),
        ({"cloud": {"name": "china", "arm_endpoint": "https://arm.example"}}, "fixed endpoints"),
        (
            {
                "cloud": {
                    "name": "custom",
                    "arm_endpoint": "http://arm.example",
                    "authority_host": "https://a",
                    "token_scope": "https://arm/.default",
                }
            },
            "should match pattern",
        ),
        ({"credential": {"kind": "service_principal", "tenant_id": "t"}}, "needs tenant_id"),
        ({"credential": {"kind": "default", "client_secret_env": "X"}}, "from the environment"),
        ({"credential": {"kind": "managed_identity", "tenant_id": "t"}}, "only client_id"),
        (
            {"credential": {"kind": "workload_identity", "client_secret_env": "X"}},
            "federated token file",
        ),
        ({"subscriptions": [{"id": SUB_GPU}], "exclude_subscriptions": [SUB_GPU]}, "not both"),
        ({"subscriptions": [{"id": "not-a-guid"}]}, "should match pattern"),
        ({"tenants": [SUB_GPU], "subscriptions": [{"id": SUB_GPU}]}, "tenants apply to discovery"),
        (
            {"tenants": [SUB_GPU], "credential": {"kind": "managed_identity"}},
            "own tenant only",
        ),
        ({"tenants": ["contoso.onmicrosoft.com"]}, "should match pattern"),
        ({"credential": {"kind": "default"}, "secret": "x"}, "Extra inputs"),
    ],
)
def test_azure_config_is_strict(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AzureSettings.model_validate(section)


def test_unreachable_arm_is_a_failed_unit_not_zero(ctx: CollectContext) -> None:
    settings = AzureSettings.model_validate(
        {
            "cloud": {
                "name": "custom",
                "arm_endpoint": "https://127.0.0.1:9",  # discard port: nothing listens
                "authority_host": "https://127.0.0.1:9",
                "token_scope": "https://arm.invalid/.default",
            },
            "subscriptions": [{"id": SUB_GPU}],
            "max_retries": 0,
        }
    )
    provider = AzureProvider(settings, ApiCallCounter(), credential=FakeCredential("t"))
    result = run_collection([provider], ctx)
    assert {(c.collector, c.status, c.error_code) for c in result.coverage} == {
        ("azure.vms", CoverageStatus.FAILED, "ServiceRequestError"),
        ("azure.openai", CoverageStatus.FAILED, "ServiceRequestError"),
    }
    assert result.records == []
