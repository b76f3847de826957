"""The `aws:` section: accounts, organization discovery, regions, retries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from computewatch.config.base import _Strict

AwsAccountId = Annotated[str, Field(pattern=r"^\d{12}$", description="12-digit AWS account id")]


class AwsAccount(_Strict):
    """An account read directly: through a role to assume, a named profile, or the default chain."""

    id: AwsAccountId
    name: str = ""
    role_arn: str | None = Field(default=None, pattern=r"^arn:aws[\w-]*:iam::\d{12}:role/.+$")
    profile: str | None = None
    external_id_env: str | None = Field(
        default=None,
        description="name of the environment variable holding the AssumeRole external id",
    )

    @model_validator(mode="after")
    def _one_way_in(self) -> AwsAccount:
        if self.role_arn and self.profile:
            raise ValueError("give role_arn or profile, not both")
        return self


OuId = Annotated[str, Field(pattern=r"^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$")]


class AwsOrganization(_Strict):
    """Discover member accounts with Organizations ListAccounts and assume a role in each.

    Only ACTIVE accounts are read. Filters combine: an account must pass every one given.
    """

    role_name: str = "ComputewatchReadOnly"
    external_id_env: str | None = None
    include_accounts: list[AwsAccountId] = []
    exclude_accounts: list[AwsAccountId] = []
    include_ous: list[OuId] = Field(default=[], description="accounts anywhere under these OUs")
    exclude_ous: list[OuId] = []
    include_tags: dict[str, str] = Field(
        default={}, description="account tags that must match; value '*' matches any value"
    )
    exclude_tags: dict[str, str] = {}


class AwsSettings(_Strict):
    profile: str | None = Field(
        default=None, description="profile for the caller (management) account"
    )
    regions: list[str] | Literal["enabled"] = Field(
        description="regions to read in every account, or 'enabled': every region enabled for "
        "the account (DescribeRegions)"
    )
    home_region: str = Field(
        default="us-east-1",
        description="region for global APIs (STS, Organizations, Cost Explorer)",
    )
    accounts: list[AwsAccount] = []
    organization: AwsOrganization | None = None
    role_session_name: str = Field(default="computewatch-audit", pattern=r"^[\w+=,.@-]{2,64}$")
    max_workers: int = Field(default=8, ge=1, le=64, description="concurrent account-region units")
    retry_mode: Literal["standard", "adaptive"] = Field(
        default="standard",
        description="botocore retry mode; adaptive also slows the client down when throttled",
    )
    max_attempts: int = Field(
        default=6,
        ge=1,
        le=20,
        description="retries per API call after the first try (throttling, 5xx, timeouts); "
        "botocore's retries.max_attempts",
    )
    collectors: list[str] | None = Field(
        default=None, description="run only these collectors (default: all AWS collectors)"
    )
    collector_concurrency: dict[str, Annotated[int, Field(ge=1, le=64)]] = Field(
        default={},
        description="at most N account-regions at once per collector (e.g. aws.bedrock: 2), "
        "under the service's API rate limit",
    )

    @field_validator("regions")
    @classmethod
    def _some_regions(cls, v: list[str] | str) -> list[str] | str:
        if isinstance(v, list) and not v:
            raise ValueError("give at least one region, or 'enabled'")
        return v

    @model_validator(mode="after")
    def _has_accounts(self) -> AwsSettings:
        if not self.accounts and self.organization is None:
            raise ValueError("list accounts or configure organization discovery")
        return self
