"""The configuration model: one YAML file validated once at load (pydantic v2, extra fields forbidden).

Secrets never live here: the file names environment variables (e.g. `external_id_env`), not values.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.rules import RuleSet, load_rules
from agent.yamlsource import load_yaml, validate

REPORT_FORMATS = ("html", "md", "json")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


AwsAccountId = Annotated[str, Field(pattern=r"^\d{12}$", description="12-digit AWS account id")]


class AwsAccount(_Strict):
    """An account read directly: through a role to assume, a named profile, or the default chain."""

    id: AwsAccountId
    name: str = ""
    role_arn: str | None = Field(default=None, pattern=r"^arn:aws[\w-]*:iam::\d{12}:role/.+$")
    profile: str | None = None
    external_id_env: str | None = Field(
        default=None, description="name of the environment variable holding the AssumeRole external id"
    )

    @model_validator(mode="after")
    def _one_way_in(self) -> AwsAccount:
        if self.role_arn and self.profile:
            raise ValueError("give role_arn or profile, not both")
        return self


class AwsOrganization(_Strict):
    """Discover member accounts with Organizations ListAccounts and assume a role in each."""

    role_name: str = "ComputewatchReadOnly"
    external_id_env: str | None = None
    include_accounts: list[AwsAccountId] = []
    exclude_accounts: list[AwsAccountId] = []


class AwsSettings(_Strict):
    profile: str | None = Field(default=None, description="profile for the caller (management) account")
    regions: list[str] = Field(min_length=1, description="regions to read in every account")
    accounts: list[AwsAccount] = []
    organization: AwsOrganization | None = None
    role_session_name: str = Field(default="computewatch-audit", pattern=r"^[\w+=,.@-]{2,64}$")
    max_workers: int = Field(default=8, ge=1, le=64)

    @model_validator(mode="after")
    def _has_accounts(self) -> AwsSettings:
        if not self.accounts and self.organization is None:
            raise ValueError("list accounts or configure organization discovery")
        return self


class StoreSettings(_Strict):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite in the user data directory. "
        "PostgreSQL: postgresql+psycopg://user@host/db (password from the environment via PGPASSWORD)",
    )

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        data_dir = Path(platformdirs.user_data_dir("computewatch"))
        return f"sqlite:///{data_dir / 'computewatch.db'}"


class ReportSettings(_Strict):
    formats: list[Literal["html", "md", "json"]] = list(REPORT_FORMATS)  # type: ignore[assignment]
    out_dir: str = "reports"


class Utilization(_Strict):
    """Model FLOP utilization band used for training-compute estimates (published runs: 35-45 %)."""

    low: float = Field(default=0.25, gt=0, le=1)
    central: float = Field(default=0.40, gt=0, le=1)
    high: float = Field(default=0.55, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Utilization:
        if not self.low <= self.central <= self.high:
            raise ValueError("utilization must satisfy low <= central <= high")
        return self


class EstimateSettings(_Strict):
    utilization: Utilization = Utilization()


class ReportingEntity(_Strict):
    name: str = Field(min_length=1, description="who files the report (the cloud provider or reseller)")


class AppConfig(_Strict):
    version: Literal[1] = 1
    reporting_entity: ReportingEntity
    store: StoreSettings = StoreSettings()
    aws: AwsSettings | None = None
    rules: list[str] = Field(default=[], description="rule files, relative to this file")
    reports: ReportSettings = ReportSettings()
    estimates: EstimateSettings = EstimateSettings()

    @field_validator("rules")
    @classmethod
    def _rules_unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a rule file is listed twice")
        return v


class LoadedConfig:
    """The validated config plus what it points to (rules), and where it came from."""

    def __init__(self, path: Path, app: AppConfig, rules: RuleSet) -> None:
        self.path = path
        self.app = app
        self.rules = rules

    @property
    def digest(self) -> str:
        """SHA-256 over the effective config and rules, for evidence manifests."""
        payload = {"config": self.app.model_dump(mode="json"), "rules": [r.id for r in self.rules.rules]}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def relative(self, p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() else (self.path.parent / q)


def load_config(path: Path) -> LoadedConfig:
    """Load and validate the config file and every rule file it names."""
    data, smap = load_yaml(path)
    if data is None:
        data = {}
    app = validate(AppConfig, data, smap)
    rule_paths = [path.parent / p if not Path(p).is_absolute() else Path(p) for p in app.rules]
    return LoadedConfig(path, app, load_rules(rule_paths))


def config_schema() -> dict[str, object]:
    """JSON Schema of the configuration file."""
    schema = AppConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "computewatch configuration"
    return schema
