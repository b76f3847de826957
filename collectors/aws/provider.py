"""AWS provider: which accounts to read (explicit list or Organizations) and how to get in.

Credentials come from the standard boto3 chain (environment, profile, instance role); member
accounts are entered with STS AssumeRole. `AWS_ENDPOINT_URL` (honoured by boto3 itself) points
the same code at an emulator.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

from agent.config import AwsAccount, AwsSettings
from agent.errors import SourceError
from agent.models import Account, CoverageEntry, CoverageStatus
from collectors.aws.common import CLIENT_CONFIG, AwsClients, count_calls, translate_errors
from collectors.base import ApiCallCounter, CollectContext, Discovery, Provider, Target, providers


@providers.register("aws")
class AwsProvider(Provider):
    name = "aws"

    def __init__(self, settings: AwsSettings, counter: ApiCallCounter) -> None:
        self.settings = settings
        self.counter = counter

    @classmethod
    def from_config(cls, section: Any, counter: ApiCallCounter) -> AwsProvider:
        return cls(section, counter)

    def max_workers(self) -> int:
        return self.settings.max_workers

    def _session(self, profile: str | None = None, **creds: str) -> boto3.Session:
        session = (
            boto3.Session(profile_name=profile, **creds) if profile else boto3.Session(**creds)
        )
        count_calls(session, self.counter)
        return session

    def _assume(
        self, base: boto3.Session, role_arn: str, external_id_env: str | None
    ) -> boto3.Session:
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
        sts = base.client("sts", region_name=self.settings.regions[0], config=CLIENT_CONFIG)
        with translate_errors("sts"):
            creds = sts.assume_role(**kwargs)["Credentials"]
        return self._session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def _org_accounts(self, base: boto3.Session) -> list[AwsAccount]:
        org_cfg = self.settings.organization
        assert org_cfg is not None
        client = base.client(
            "organizations", region_name=self.settings.regions[0], config=CLIENT_CONFIG
        )
        partition = base.get_partition_for_region(self.settings.regions[0])
        found: list[AwsAccount] = []
        with translate_errors("organizations"):
            for page in client.get_paginator("list_accounts").paginate():
                for acct in page["Accounts"]:
                    if acct.get("Status", "ACTIVE") != "ACTIVE":
                        continue
                    aid = acct["Id"]
                    if org_cfg.include_accounts and aid not in org_cfg.include_accounts:
                        continue
                    if aid in org_cfg.exclude_accounts:
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

    def _failed(
        self, account_id: str, collector_names: list[str], ctx: CollectContext, err: SourceError
    ) -> list[CoverageEntry]:
        return [
            CoverageEntry(
                provider="aws",
                account_id=account_id,
                region=region,
                collector=name,
                period_start=ctx.window.start,
                period_end=ctx.window.end,
                status=CoverageStatus.FAILED,
                error_code=err.code,
                error_message=f"{err.service}: {err.message}",
            )
            for region in self.settings.regions
            for name in collector_names
        ]

    def discover(self, ctx: CollectContext, collector_names: list[str]) -> Discovery:
        out = Discovery()
        base = self._session(self.settings.profile)
        wanted: list[AwsAccount] = list(self.settings.accounts)
        if self.settings.organization is not None:
            try:
                listed = self._org_accounts(base)
            except SourceError as err:
                out.failures.extend(self._failed("organization", ["aws.organizations"], ctx, err))
                listed = []
            known = {a.id for a in wanted}
            wanted.extend(a for a in listed if a.id not in known)
        for acct in wanted:
            account = Account("aws", acct.id, acct.name)
            out.accounts.append(account)
            try:
                if acct.role_arn:
                    session = self._assume(base, acct.role_arn, acct.external_id_env)
                elif acct.profile:
                    session = self._session(acct.profile)
                else:
                    session = base
            except SourceError as err:
                out.failures.extend(self._failed(acct.id, collector_names, ctx, err))
                continue
            for region in self.settings.regions:
                out.targets.append(Target(account, region, AwsClients(session, region)))
        return out
