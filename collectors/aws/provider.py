"""AWS provider: which accounts and regions to read, and how to get in.

Credentials come from the standard boto3 chain (environment, profile, instance role); member
accounts are entered with STS AssumeRole. `AWS_ENDPOINT_URL` (honoured by boto3 itself) points
the same code at an emulator.
"""

from __future__ import annotations

import os
from typing import Any

from botocore.credentials import RefreshableCredentials

from computewatch.collectors.aws.clients import (
    AccountClients,
    caller_credentials,
    shared_session,
)
from computewatch.collectors.aws.common import client_config, translate_errors
from computewatch.collectors.base import (
    ApiCallCounter,
    CollectContext,
    Discovery,
    Permissions,
    Provider,
    Target,
    failed_coverage,
)
from computewatch.config.aws import AwsAccount, AwsOrganization, AwsSettings
from computewatch.domain import Account
from computewatch.domain.errors import SourceError, UsageError

ORGANIZATION = Account("aws", "organization", "AWS Organization (caller's billing view)")
ALL_REGIONS = "all-regions"


class AwsProvider(Provider):
    name = "aws"
    permissions = Permissions(
        # In the management account: list the organization and enter each member account.
        caller=(
            "organizations:ListAccounts",
            "organizations:ListRoots",
            "organizations:ListAccountsForParent",
            "organizations:ListOrganizationalUnitsForParent",
            "organizations:ListTagsForResource",
            "sts:AssumeRole",
        ),
        # In each member account: its enabled regions.
        member=("ec2:DescribeRegions",),
    )

    def __init__(self, settings: AwsSettings, counter: ApiCallCounter) -> None:
        self.settings = settings
        self.counter = counter
        self.client_config = client_config(settings.retry_mode, settings.max_attempts)

    @classmethod
    def from_config(cls, section: Any, counter: ApiCallCounter) -> AwsProvider:
        return cls(section, counter)

    def max_workers(self) -> int:
        return self.settings.max_workers

    def concurrency_limits(self) -> dict[str, int]:
        return dict(self.settings.collector_concurrency)

    def enabled_collectors(self, available: list[str]) -> list[str]:
        wanted = self.settings.collectors
        if wanted is None:
            return available
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise UsageError(
                f"aws.collectors: unknown collector(s) {', '.join(unknown)} (known: {', '.join(available)})"
            )
        return [n for n in available if n in wanted]

    # -- credentials --------------------------------------------------------------------------
    def _clients(self, profile: str | None = None) -> AccountClients:
        """The caller's clients (the standard chain, or a named profile)."""
        return AccountClients(caller_credentials(profile), self.client_config, self.counter)

    def _client(self, clients: AccountClients, service: str) -> Any:
        return clients.client(service, self.settings.home_region)

    def _assume(
        self, base: AccountClients, role_arn: str, external_id_env: str | None
    ) -> AccountClients:
        """A member account's clients: the caller's STS AssumeRole credentials, no new session."""
        kwargs: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": self.settings.role_session_name,
        }
        if external_id_env:
            value = os.environ.get(external_id_env)
            if not value:
                raise SourceError(
                    "sts", "ExternalIdMissing", f"environment variable {external_id_env} is not set"
                )
            kwargs["ExternalId"] = value

        def fetch() -> dict[str, str]:
            # The caller's STS client is looked up on every renewal: it may have been released
            # (and is then built again) once the organization-wide units finished.
            with translate_errors("sts"):
                creds = self._client(base, "sts").assume_role(**kwargs)["Credentials"]
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        # The first call happens now (a denied role is a coverage gap at discovery); botocore
        # calls `fetch` again before the credentials expire, so a run longer than the role's
        # session (one hour by default) keeps reading instead of failing with ExpiredToken.
        credentials = RefreshableCredentials.create_from_metadata(
            fetch(), refresh_using=fetch, method="sts-assume-role"
        )
        return AccountClients(credentials, self.client_config, self.counter)

    # -- organization -----------------------------------------------------------------------
    def _org_accounts(self, base: AccountClients, org_cfg: AwsOrganization) -> list[AwsAccount]:
        client = self._client(base, "organizations")
        partition = shared_session().get_partition_for_region(self.settings.home_region)
        with translate_errors("organizations"):
            listed = [
                acct
                for page in client.get_paginator("list_accounts").paginate()
                for acct in page["Accounts"]
                if acct.get("Status", "ACTIVE") == "ACTIVE"
            ]
            ous = _ou_index(client) if (org_cfg.include_ous or org_cfg.exclude_ous) else {}
        found: list[AwsAccount] = []
        for acct in listed:
            aid = acct["Id"]
            if org_cfg.include_accounts and aid not in org_cfg.include_accounts:
                continue
            if aid in org_cfg.exclude_accounts:
                continue
            if ous:
                path = ous.get(aid, set())
                if org_cfg.include_ous and not path & set(org_cfg.include_ous):
                    continue
                if path & set(org_cfg.exclude_ous):
                    continue
            if (org_cfg.include_tags or org_cfg.exclude_tags) and not _tags_pass(
                client, aid, org_cfg
            ):
                continue
            found.append(
                AwsAccount(
                    id=aid,
                    name=acct.get("Name", ""),
                    role_arn=f"arn:{partition}:iam::{aid}:role/{org_cfg.role_name}",
                    external_id_env=org_cfg.external_id_env,
                )
            )
        return found

    # -- discovery --------------------------------------------------------------------------
    def _regions(self, clients: AccountClients) -> list[str]:
        if isinstance(self.settings.regions, list):
            return list(self.settings.regions)
        with translate_errors("ec2"):
            out = self._client(clients, "ec2").describe_regions(
                Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]}]
            )
        return sorted(r["RegionName"] for r in out["Regions"])

    def _configured_regions(self) -> list[str]:
        return (
            list(self.settings.regions)
            if isinstance(self.settings.regions, list)
            else [ALL_REGIONS]
        )

    def discover(self, ctx: CollectContext, collector_names: list[str]) -> Discovery:
        out = Discovery()
        base = self._clients(self.settings.profile)
        out.org_targets.append(
            Target(ORGANIZATION, "global", base.region(self.settings.home_region))
        )
        wanted: list[AwsAccount] = list(self.settings.accounts)
        if self.settings.organization is not None:
            try:
                listed = self._org_accounts(base, self.settings.organization)
            except SourceError as err:
                out.failures.extend(
                    failed_coverage(
                        "aws", ["organization"], ["global"], ["aws.organizations"], ctx.window, err
                    )
                )
                listed = []
            known = {a.id for a in wanted}
            wanted.extend(a for a in listed if a.id not in known)
        for acct in wanted:
            account = Account("aws", acct.id, acct.name)
            out.accounts.append(account)
            clients = base
            try:
                if acct.role_arn:
                    clients = self._assume(base, acct.role_arn, acct.external_id_env)
                elif acct.profile:
                    clients = self._clients(acct.profile)
                else:
                    clients = base
                regions = self._regions(clients)
            except SourceError as err:
                if clients is not base:
                    clients.release()
                out.failures.extend(
                    failed_coverage(
                        "aws",
                        [acct.id],
                        self._configured_regions(),
                        collector_names,
                        ctx.window,
                        err,
                    )
                )
                continue
            for region in regions:
                out.targets.append(Target(account, region, clients.region(region)))
        return out


def _ou_index(client: Any) -> dict[str, set[str]]:
    """Account id -> every OU (and root) above it: one walk of the tree, no per-account calls."""
    index: dict[str, set[str]] = {}

    def walk(parent: str, above: set[str]) -> None:
        here = above | {parent}
        for page in client.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
            for acct in page["Accounts"]:
                index[acct["Id"]] = here
        for page in client.get_paginator("list_organizational_units_for_parent").paginate(
            ParentId=parent
        ):
            for ou in page["OrganizationalUnits"]:
                walk(ou["Id"], here)

    for root in client.list_roots()["Roots"]:
        walk(root["Id"], set())
    return index


def _tags_pass(client: Any, account_id: str, org_cfg: AwsOrganization) -> bool:
    """Tag filters need the account's tags: one call per candidate account, only when configured."""
    with translate_errors("organizations"):
        pages = client.get_paginator("list_tags_for_resource").paginate(ResourceId=account_id)
        tags = {t["Key"]: t["Value"] for page in pages for t in page["Tags"]}

    def match(want: dict[str, str]) -> bool:
        return any(k in tags and (v == "*" or tags[k] == v) for k, v in want.items())

    if org_cfg.include_tags and not all(
        k in tags and (v == "*" or tags[k] == v) for k, v in org_cfg.include_tags.items()
    ):
        return False
    return not (org_cfg.exclude_tags and match(org_cfg.exclude_tags))
