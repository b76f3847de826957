"""Azure provider: which subscriptions to read, in which cloud, with which credential.

One Target per subscription with region "global": ARM list calls are subscription-wide, so a
subscription is the unit that succeeds or fails (its coverage entries say region "global").
Records carry the real resource location (e.g. "eastus") in their `region`.

Several tenants (`tenants`): one credential, built with `additionally_allowed_tenants`, asked for
each tenant's token through azure-identity's `get_token(..., tenant_id=...)` (supported by the
service principal, workload identity and default chains; not by managed identity, which the config
refuses). A tenant whose listing fails is a failed coverage entry `tenant:<id>`; the others go on.

Credentials: DefaultAzureCredential unless the config names a service principal (secret read
from the environment variable the config names), a workload identity (Kubernetes federated token:
AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_FEDERATED_TOKEN_FILE, ids overridable in the config) or a
managed identity. The credential and the
transport can be passed in, which is how tests and the demo point the real SDK at a fake ARM.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import requests
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.pipeline.transport import HttpTransport, RequestsTransport

from computewatch.collectors.azure.common import (
    AzureClients,
    ClientSettings,
    CloudEndpoints,
    cloud_endpoints,
    subscription_client,
    translate_errors,
)
from computewatch.collectors.base import (
    ApiCallCounter,
    CollectContext,
    Discovery,
    Permissions,
    Provider,
    Target,
    failed_coverage,
)
from computewatch.config.azure import AzureSettings
from computewatch.domain import Account
from computewatch.domain.errors import SourceError

REGION = "global"
TENANT_ACCOUNT = "tenant"  # account id of coverage entries for a failed subscription listing
SKIPPED_STATES = {"deleted"}


def build_transport(settings: AzureSettings) -> RequestsTransport:
    """One connection pool for every client and the credential of a run."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(10, 2 * settings.max_workers))
    session.mount("https://", adapter)
    return RequestsTransport(
        session=session,
        session_owner=False,
        connection_timeout=10,
        read_timeout=settings.read_timeout,
        connection_verify=settings.cloud.ca_bundle or True,
    )


def build_credential(
    settings: AzureSettings, cloud: CloudEndpoints, transport: HttpTransport[Any, Any]
) -> TokenCredential:
    """The configured credential, bound to the cloud's authority; secrets only from the environment."""
    from azure.identity import (
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
        WorkloadIdentityCredential,
    )

    cfg = settings.credential
    authority: dict[str, Any] = {"authority": cloud.authority}
    if settings.tenants:
        authority["additionally_allowed_tenants"] = list(settings.tenants)
    if not cloud.known_authority:
        authority["disable_instance_discovery"] = True  # MSAL cannot validate a private authority
    if cfg.kind == "service_principal":
        assert cfg.tenant_id and cfg.client_id and cfg.client_secret_env  # config validator
        secret = os.environ.get(cfg.client_secret_env)
        if not secret:
            raise SourceError(
                "identity",
                "SecretMissing",
                f"environment variable {cfg.client_secret_env} is not set",
            )
        return ClientSecretCredential(
            cfg.tenant_id, cfg.client_id, secret, transport=transport, **authority
        )
    if cfg.kind == "workload_identity":
        try:
            return WorkloadIdentityCredential(
                tenant_id=cfg.tenant_id,
                client_id=cfg.client_id,
                transport=transport,
                **authority,
            )
        except ValueError as exc:  # a tenant, client id or token file is not configured
            raise SourceError("identity", "WorkloadIdentityMissing", str(exc)) from exc
    if cfg.kind == "managed_identity":
        return ManagedIdentityCredential(client_id=cfg.client_id, transport=transport)
    if settings.cloud.ca_bundle:
        authority["connection_verify"] = settings.cloud.ca_bundle
    return DefaultAzureCredential(**authority)


class TenantCredential:
    """The run's credential, asked for tokens issued in one tenant (multi-tenant sign-in)."""

    def __init__(self, inner: TokenCredential, tenant_id: str) -> None:
        self._inner = inner
        self.tenant_id = tenant_id

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return self._inner.get_token(
            *scopes, claims=claims, tenant_id=self.tenant_id, enable_cae=enable_cae, **kwargs
        )


class AzureProvider(Provider):
    name = "azure"
    permissions = Permissions(
        member=(
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Management/managementGroups/descendants/read",
        )
    )

    def __init__(
        self,
        settings: AzureSettings,
        counter: ApiCallCounter,
        *,
        credential: TokenCredential | None = None,
        transport: HttpTransport[Any, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.counter = counter
        self.cloud = cloud_endpoints(settings.cloud)
        self._credential = credential
        self._transport = transport

    @classmethod
    def from_config(cls, section: Any, counter: ApiCallCounter) -> AzureProvider:
        return cls(section, counter)

    def max_workers(self) -> int:
        return self.settings.max_workers

    def client_settings(self) -> ClientSettings:
        """Resolve transport and credential (no network I/O yet); SourceError if a secret is missing."""
        if self._transport is None:
            self._transport = build_transport(self.settings)
        if self._credential is None:
            self._credential = build_credential(self.settings, self.cloud, self._transport)
        return ClientSettings(
            cloud=self.cloud,
            credential=self._credential,
            transport=self._transport,
            counter=self.counter,
            max_retries=self.settings.max_retries,
            max_retry_after=self.settings.max_retry_after,
        )

    def _listed(self, settings: ClientSettings) -> list[Account]:
        include = {s.lower() for s in self.settings.include_subscriptions}
        exclude = {s.lower() for s in self.settings.exclude_subscriptions}
        found: list[Account] = []
        with translate_errors("subscriptions"):
            for sub in subscription_client(settings).subscriptions.list():
                sid = str(sub.subscription_id or "").lower()
                if not sid or str(sub.state or "").lower() in SKIPPED_STATES:
                    continue
                if (include and sid not in include) or sid in exclude:
                    continue
                found.append(Account("azure", sid, str(sub.display_name or "")))
        return found

    def _per_tenant(self, settings: ClientSettings) -> list[tuple[str, ClientSettings]]:
        """(coverage account id, client settings) per tenant to list; the home tenant if none."""
        if not self.settings.tenants:
            return [(TENANT_ACCOUNT, settings)]
        return [
            (
                f"{TENANT_ACCOUNT}:{tid.lower()}",
                dataclasses.replace(
                    settings, credential=TenantCredential(settings.credential, tid)
                ),
            )
            for tid in self.settings.tenants
        ]

    def _under_groups(
        self, settings: ClientSettings, ctx: CollectContext, out: Discovery
    ) -> set[str]:
        """Subscription ids anywhere under the configured management groups; a group that cannot
        be read is a gap of its own (its subscriptions are then not known, so not read)."""
        from azure.mgmt.managementgroups import ManagementGroupsMgmtClient

        client = ManagementGroupsMgmtClient(settings.credential, **settings.kwargs())
        under: set[str] = set()
        for group in self.settings.management_groups:
            try:
                with translate_errors("managementgroups"):
                    for item in client.management_groups.get_descendants(group_id=group):
                        if str(item.type or "").lower().endswith("subscriptions"):
                            under.add(str(item.name).lower())
            except SourceError as err:
                account = f"management-group:{group}"
                out.failures.extend(
                    failed_coverage(
                        "azure", [account], [REGION], ["azure.subscriptions"], ctx.window, err
                    )
                )
        return under

    def discover(self, ctx: CollectContext, collector_names: list[str]) -> Discovery:
        out = Discovery()
        explicit = [Account("azure", s.id.lower(), s.name) for s in self.settings.subscriptions]
        try:
            settings = self.client_settings()
        except SourceError as err:
            out.accounts.extend(explicit)
            failed = [a.account_id for a in explicit] or [TENANT_ACCOUNT]
            names = collector_names if explicit else ["azure.subscriptions"]
            out.failures.extend(failed_coverage("azure", failed, [REGION], names, ctx.window, err))
            return out
        found: dict[str, tuple[Account, ClientSettings]] = {
            a.account_id: (a, settings) for a in explicit
        }
        for tenant_account, tenant_settings in [] if explicit else self._per_tenant(settings):
            try:
                listed = self._listed(tenant_settings)
            except SourceError as err:
                out.failures.extend(
                    failed_coverage(
                        "azure",
                        [tenant_account],
                        [REGION],
                        ["azure.subscriptions"],
                        ctx.window,
                        err,
                    )
                )
                continue
            for account in listed:  # a subscription seen from two tenants is read once
                found.setdefault(account.account_id, (account, tenant_settings))
        if self.settings.management_groups:
            under = self._under_groups(settings, ctx, out)
            found = {sid: v for sid, v in found.items() if sid in under}
        for sid, (account, sub_settings) in sorted(found.items()):
            out.accounts.append(account)
            out.targets.append(Target(account, REGION, AzureClients(sub_settings, sid)))
        return out
