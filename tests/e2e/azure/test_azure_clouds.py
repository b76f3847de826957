"""Sovereign clouds, the real sign-in flow, and the least-privilege custom role."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import BaseAdapter

from computewatch.collectors.azure.provider import AzureProvider
from computewatch.collectors.base import ApiCallCounter, CollectContext
from computewatch.collectors.permissions import azure_actions
from computewatch.collectors.runner import run_collection
from computewatch.config.azure import AzureSettings
from computewatch.demo.emulated_azure import EmulatedAzure, FakeArm, InProcessAdapter, TenantSpec
from computewatch.domain import CoverageStatus, Metric
from tests.helpers.azure import AI_SUB, GPU_SUB, H100_HOURS, SUB_AI, SUB_GPU, TENANT, TOKENS

SECRET_ENV = "CW_TEST_AZURE_SECRET"
ROLE = list(azure_actions())


class RefuseAdapter(BaseAdapter):
    """Mounted for every other URL: records and refuses anything not meant for the cloud."""

    def __init__(self) -> None:
        super().__init__()
        self.stray: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.stray.append(str(request.url))
        raise requests.ConnectionError(f"unexpected request to {request.url}")

    def close(self) -> None:
        """Nothing to release."""


def _served_on(fake: FakeArm, *hosts: str) -> tuple[RequestsTransport, RefuseAdapter]:
    """A transport on which `hosts` are answered by the fake in-process and anything else is
    refused (and recorded)."""
    refuse = RefuseAdapter()
    session = requests.Session()
    session.mount("https://", refuse)
    session.mount("http://", refuse)
    for host in hosts:
        session.mount(f"https://{host}/", InProcessAdapter(fake))
    return RequestsTransport(session=session, session_owner=False), refuse


def _sp_settings(cloud: dict[str, Any]) -> AzureSettings:
    return AzureSettings.model_validate(
        {
            "cloud": cloud,
            "credential": {
                "kind": "service_principal",
                "tenant_id": TENANT.tenant_id,
                "client_id": TENANT.client_id,
                "client_secret_env": SECRET_ENV,
            },
            "subscriptions": [{"id": SUB_GPU}, {"id": SUB_AI}],
        }
    )


@pytest.mark.parametrize(
    ("cloud", "arm_host", "login_host", "scope"),
    [
        (
            "china",
            "management.chinacloudapi.cn",
            "login.chinacloudapi.cn",
            "https://management.chinacloudapi.cn/.default",
        ),
        (
            "usgov",
            "management.usgovcloudapi.net",
            "login.microsoftonline.us",
            "https://management.core.usgovcloudapi.net/.default",
        ),
    ],
)
def test_sovereign_cloud_gets_every_request_and_token_request(
    cloud: str,
    arm_host: str,
    login_host: str,
    scope: str,
    ctx: CollectContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real ClientSecretCredential (MSAL) and management clients, served in-process on the
    sovereign hosts; any request elsewhere (e.g. the public cloud) is refused and recorded."""
    fake = FakeArm(TENANT, scope=scope)  # its authority only issues tokens for this scope
    transport, refuse = _served_on(fake, arm_host, login_host)
    monkeypatch.setenv(SECRET_ENV, TENANT.client_secret)
    provider = AzureProvider(_sp_settings({"name": cloud}), ApiCallCounter(), transport=transport)
    result = run_collection([provider], ctx)

    assert refuse.stray == []
    assert {c.status for c in result.coverage} == {CoverageStatus.OK}
    tokens = [s for s in fake.seen if s.path.endswith("/oauth2/v2.0/token")]
    assert tokens and {(s.host, s.form["scope"]) for s in tokens} == {(login_host, scope)}
    arm_calls = [s for s in fake.seen if s.path.startswith("/subscriptions/")]
    assert arm_calls and {s.host for s in arm_calls} == {arm_host}
    assert {s.host for s in fake.seen} == {arm_host, login_host}
    hours = sum(
        r.quantity
        for r in result.records
        if r.metric is Metric.ACCELERATOR_HOURS and r.dimensions.accelerator == "H100"
    )
    assert hours == H100_HOURS


def test_service_principal_signs_in_over_https(
    ctx: CollectContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Custom cloud: the authority and ARM on the emulator, TLS trusted through `ca_bundle`."""
    monkeypatch.setenv(SECRET_ENV, TENANT.client_secret)
    with EmulatedAzure(TENANT) as emulator:
        provider = AzureProvider(_sp_settings(emulator.cloud_config()), ApiCallCounter())
        result = run_collection([provider], ctx)
        seen = list(emulator.fake.seen)
    assert {c.status for c in result.coverage} == {CoverageStatus.OK}
    discovery = f"/{TENANT.tenant_id}/v2.0/.well-known/openid-configuration"
    token = f"/{TENANT.tenant_id}/oauth2/v2.0/token"
    assert seen[0].path == discovery  # collector threads may each sign in; all before ARM
    assert {s.path for s in seen if not s.path.startswith("/subscriptions/")} == {discovery, token}
    assert all(s.status == 200 for s in seen)


def test_wrong_secret_fails_every_unit_with_the_sign_in_error(
    ctx: CollectContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-the-secret")
    with EmulatedAzure(TENANT) as emulator:
        provider = AzureProvider(_sp_settings(emulator.cloud_config()), ApiCallCounter())
        result = run_collection([provider], ctx)
    assert {(c.status, c.error_code) for c in result.coverage} == {
        (CoverageStatus.FAILED, "ClientAuthenticationError")
    }
    assert not result.records


def _granted(actions: list[str]) -> TenantSpec:
    subs = tuple(
        dataclasses.replace(s, allowed_actions=tuple(actions), management_group="mg-research")
        for s in (GPU_SUB, AI_SUB)
    )
    return dataclasses.replace(TENANT, subscriptions=subs)


def _run_with(tenant: TenantSpec, ctx: CollectContext) -> tuple[Any, FakeArm]:
    from tests.helpers.azure import FakeCredential

    with EmulatedAzure(tenant) as emulator:
        # Discovery through a management group exercises its read action as well.
        settings = AzureSettings.model_validate(
            {"cloud": emulator.cloud_config(), "management_groups": ["mg-research"]}
        )
        credential = FakeCredential(emulator.fake.access_token)
        provider = AzureProvider(settings, ApiCallCounter(), credential=credential)
        return run_collection([provider], ctx), emulator.fake


def test_custom_role_is_enough(ctx: CollectContext) -> None:
    result, fake = _run_with(_granted(ROLE), ctx)
    assert {c.status for c in result.coverage} == {CoverageStatus.OK}
    assert all(s.status == 200 for s in fake.seen)
    gpt4o = sum(
        r.quantity
        for r in result.records
        if r.metric is Metric.MODEL_INPUT_TOKENS and r.dimensions.model == "gpt-4o"
    )
    assert gpt4o == TOKENS["gpt-4o"]["input"]


@pytest.mark.parametrize("action", ROLE)
def test_every_action_of_the_custom_role_is_used(action: str, ctx: CollectContext) -> None:
    result, fake = _run_with(_granted([a for a in ROLE if a != action]), ctx)
    if action == "Microsoft.Resources/subscriptions/read":
        assert result.accounts == []  # nothing is listed
    else:
        assert any(s.status == 403 for s in fake.seen)


def test_default_credential_chain_signs_in_from_the_environment(
    ctx: CollectContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DefaultAzureCredential (its EnvironmentCredential), bound to the cloud's authority."""
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", TENANT.client_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", TENANT.client_secret)
    with EmulatedAzure(TENANT) as emulator:
        settings = AzureSettings.model_validate(
            {"cloud": emulator.cloud_config(), "subscriptions": [{"id": SUB_GPU}]}
        )
        result = run_collection([AzureProvider(settings, ApiCallCounter())], ctx)
        token_calls = emulator.fake.calls("/oauth2/v2.0/token")
    assert {c.status for c in result.coverage} == {CoverageStatus.OK}
    assert token_calls and {c.form["client_id"] for c in token_calls} == {TENANT.client_id}


def test_workload_identity_signs_in_with_the_federated_token_at_the_clouds_authority(
    ctx: CollectContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """WorkloadIdentityCredential from the Kubernetes environment, on the China authority:
    the token file's content is the client assertion; nothing leaves the China hosts."""
    from azure.identity import WorkloadIdentityCredential

    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(TENANT.federated_token)
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", "not-this-one")  # the config's client_id wins
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    scope = "https://management.chinacloudapi.cn/.default"
    fake = FakeArm(TENANT, scope=scope)
    transport, refuse = _served_on(fake, "management.chinacloudapi.cn", "login.chinacloudapi.cn")
    settings = AzureSettings.model_validate(
        {
            "cloud": {"name": "china"},
            "credential": {"kind": "workload_identity", "client_id": TENANT.client_id},
            "subscriptions": [{"id": SUB_AI}],
        }
    )
    provider = AzureProvider(settings, ApiCallCounter(), transport=transport)
    assert isinstance(provider.client_settings().credential, WorkloadIdentityCredential)
    result = run_collection([provider], ctx)

    assert refuse.stray == []
    assert {c.status for c in result.coverage} == {CoverageStatus.OK}
    tokens = [s for s in fake.seen if s.path.endswith("/oauth2/v2.0/token")]
    assert tokens and {
        (s.host, s.path, s.form["client_id"], s.form["client_assertion"]) for s in tokens
    } == {
        (
            "login.chinacloudapi.cn",
            f"/{TENANT.tenant_id}/oauth2/v2.0/token",
            TENANT.client_id,
            TENANT.federated_token,
        )
    }
    assert "client_secret" not in tokens[0].form


def test_workload_identity_without_its_environment_is_a_discovery_failure(
    ctx: CollectContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = AzureSettings.model_validate({"credential": {"kind": "workload_identity"}})
    found = AzureProvider(settings, ApiCallCounter()).discover(ctx, ["azure.vms"])
    assert found.targets == []
    assert [(f.account_id, f.error_code) for f in found.failures] == [
        ("tenant", "WorkloadIdentityMissing")
    ]
    assert "token_file_path" in found.failures[0].error_message


GUEST_TENANT = "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b"
MISSING_TENANT = "5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c"
SUB_GUEST = "44444444-4444-4444-8444-444444444444"


def test_several_tenants_each_listed_with_its_own_token_a_failing_one_is_a_gap(
    ctx: CollectContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real ClientSecretCredential asks the authority for a token per tenant; ARM lists
    each token's subscriptions; a tenant the app is not registered in fails alone."""
    guest = TenantSpec(GUEST_TENANT, (dataclasses.replace(AI_SUB, id=SUB_GUEST, name="guest"),))
    monkeypatch.setenv(SECRET_ENV, TENANT.client_secret)
    with EmulatedAzure(TENANT, guests=(guest,)) as emulator:
        settings = AzureSettings.model_validate(
            {
                "cloud": emulator.cloud_config(),
                "credential": emulator.credential_config(SECRET_ENV),
                "tenants": [TENANT.tenant_id, GUEST_TENANT, MISSING_TENANT],
                "include_subscriptions": [SUB_GPU, SUB_GUEST],
            }
        )
        result = run_collection([AzureProvider(settings, ApiCallCounter())], ctx)
        tokens = {c.path.split("/")[1] for c in emulator.fake.calls("/oauth2/v2.0/token")}
        asked = {c.path.split("/")[1] for c in emulator.fake.calls("/v2.0/")}
    assert tokens == {TENANT.tenant_id, GUEST_TENANT}
    assert asked == {TENANT.tenant_id, GUEST_TENANT, MISSING_TENANT}  # MSAL's tenant discovery
    assert sorted(a.account_id for a in result.accounts) == sorted([SUB_GPU, SUB_GUEST])
    by_account = {(c.account_id, c.collector): (c.status, c.error_code) for c in result.coverage}
    assert by_account == {
        (SUB_GPU, "azure.vms"): (CoverageStatus.OK, ""),
        (SUB_GPU, "azure.openai"): (CoverageStatus.OK, ""),
        (SUB_GUEST, "azure.vms"): (CoverageStatus.OK, ""),
        (SUB_GUEST, "azure.openai"): (CoverageStatus.OK, ""),
        (f"tenant:{MISSING_TENANT}", "azure.subscriptions"): (
            CoverageStatus.FAILED,
            "ClientAuthenticationError",
        ),
    }
    guest_tokens = sum(
        r.quantity
        for r in result.records
        if r.account_id == SUB_GUEST and r.metric is Metric.MODEL_INPUT_TOKENS
    )
    assert guest_tokens == sum(t["input"] for t in TOKENS.values())


def test_management_group_filter_and_an_unreadable_group(ctx: CollectContext) -> None:
    from tests.helpers.azure import FakeCredential

    subs = (
        dataclasses.replace(GPU_SUB, management_group="mg-training"),
        dataclasses.replace(AI_SUB, management_group="mg-apps"),
    )
    with EmulatedAzure(dataclasses.replace(TENANT, subscriptions=subs)) as emulator:
        emulator.fake.add_fault("managementGroups/mg-locked/", 403, "AuthorizationFailed")
        settings = AzureSettings.model_validate(
            {"cloud": emulator.cloud_config(), "management_groups": ["mg-training", "mg-locked"]}
        )
        provider = AzureProvider(
            settings, ApiCallCounter(), credential=FakeCredential(emulator.fake.access_token)
        )
        result = run_collection([provider], ctx)
        descendants = emulator.fake.calls("/descendants")
    assert [a.account_id for a in result.accounts] == [GPU_SUB.id]  # mg-apps is not configured
    gaps = [
        (c.account_id, c.error_code) for c in result.coverage if c.status is CoverageStatus.FAILED
    ]
    assert gaps == [("management-group:mg-locked", "AuthorizationFailed")]
    assert len(descendants) == 2  # one call per group, no per-subscription calls
