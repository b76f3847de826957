"""The `azure:` section: cloud, credential, subscriptions, tenants, retries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from computewatch.config.base import EnvVarName, _Strict

_GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
AzureSubscriptionId = Annotated[str, Field(pattern=_GUID, description="subscription id (GUID)")]
AzureTenantId = Annotated[str, Field(pattern=_GUID, description="Entra ID tenant id (GUID)")]
HttpsUrl = Annotated[str, Field(pattern=r"^https://[^\s/]+(/\S*)?$")]


class AzureCloud(_Strict):
    """Which cloud: its ARM endpoint, Entra ID authority and token scope always travel together.

    Overriding only the ARM endpoint would leave tokens scoped to the public cloud.
    """

    name: Literal["public", "china", "usgov", "custom"] = "public"
    arm_endpoint: HttpsUrl | None = Field(default=None, description="custom cloud only")
    authority_host: HttpsUrl | None = Field(default=None, description="custom cloud only")
    token_scope: str | None = Field(
        default=None, pattern=r"^\S+/\.default$", description="custom cloud only"
    )
    ca_bundle: str | None = Field(
        default=None,
        description="PEM file of CA certificates trusted for ARM and the authority "
        "(Azure Stack Hub, TLS-inspecting proxies); default: the system store",
    )

    @model_validator(mode="after")
    def _endpoints_match_name(self) -> AzureCloud:
        given = [self.arm_endpoint, self.authority_host, self.token_scope]
        if self.name == "custom" and not all(given):
            raise ValueError("a custom cloud needs arm_endpoint, authority_host and token_scope")
        if self.name != "custom" and any(given):
            raise ValueError(f"the {self.name} cloud has fixed endpoints; use name: custom")
        return self


class AzureCredential(_Strict):
    """How to sign in; secrets come from the environment variable named here, never the file."""

    kind: Literal["default", "service_principal", "workload_identity", "managed_identity"] = (
        "default"
    )
    tenant_id: str | None = Field(
        default=None, description="workload_identity: default AZURE_TENANT_ID from the environment"
    )
    client_id: str | None = Field(
        default=None, description="workload_identity: default AZURE_CLIENT_ID from the environment"
    )
    client_secret_env: EnvVarName | None = Field(
        default=None, description="environment variable holding the service principal secret"
    )

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> AzureCredential:
        if self.kind == "service_principal":
            if not (self.tenant_id and self.client_id and self.client_secret_env):
                raise ValueError(
                    "service_principal needs tenant_id, client_id and client_secret_env"
                )
        elif self.kind == "workload_identity":
            if self.client_secret_env:
                raise ValueError(
                    "workload_identity signs in with the federated token file "
                    "(AZURE_FEDERATED_TOKEN_FILE), not a secret"
                )
        elif self.kind == "managed_identity":
            if self.tenant_id or self.client_secret_env:
                raise ValueError("managed_identity takes only client_id (user-assigned identity)")
        elif self.tenant_id or self.client_id or self.client_secret_env:
            raise ValueError("the default credential chain reads its settings from the environment")
        return self


class AzureSubscription(_Strict):
    id: AzureSubscriptionId
    name: str = ""


class AzureSettings(_Strict):
    """Azure: every subscription the credential can see (or the listed ones), one cloud."""

    cloud: AzureCloud = AzureCloud()
    credential: AzureCredential = AzureCredential()
    subscriptions: list[AzureSubscription] = Field(
        default=[], description="read exactly these; empty: discover every visible subscription"
    )
    management_groups: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9._()-]{1,90}$")]] = Field(
        default=[],
        description="read only subscriptions under these management groups (ids); one "
        "descendants call per group",
    )
    include_subscriptions: list[AzureSubscriptionId] = []
    exclude_subscriptions: list[AzureSubscriptionId] = []
    tenants: list[AzureTenantId] = Field(
        default=[],
        description="tenant ids whose subscriptions to discover (the credential asks each tenant "
        "for its own token); empty: the credential's home tenant",
    )
    max_workers: int = Field(default=8, ge=1, le=64)
    max_retries: int = Field(default=6, ge=0, le=20)
    max_retry_after: int = Field(
        default=120, ge=1, le=3600, description="longest Retry-After (s) honoured before giving up"
    )
    read_timeout: int = Field(default=60, ge=1, le=600, description="seconds")

    @model_validator(mode="after")
    def _one_way_to_choose(self) -> AzureSettings:
        if self.subscriptions and (self.include_subscriptions or self.exclude_subscriptions):
            raise ValueError(
                "list subscriptions or filter discovery with include/exclude, not both"
            )
        if self.tenants and self.subscriptions:
            raise ValueError("tenants apply to discovery; filter it with include_subscriptions")
        if self.tenants and self.credential.kind == "managed_identity":
            raise ValueError(
                "a managed identity signs in to its own tenant only; tenants need "
                "another credential kind"
            )
        return self
