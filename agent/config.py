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

from agent.customers import Registry, country_groups, load_registry
from agent.errors import ConfigError
from agent.rules import RuleSet, load_rules
from agent.yamlsource import load_yaml, validate

ReportFormat = Literal["html", "md", "json"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("html", "md", "json")


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


_GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
AzureSubscriptionId = Annotated[str, Field(pattern=_GUID, description="subscription id (GUID)")]
AzureTenantId = Annotated[str, Field(pattern=_GUID, description="Entra ID tenant id (GUID)")]
EnvVarName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
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
    formats: list[ReportFormat] = Field(default_factory=lambda: list(REPORT_FORMATS))
    out_dir: str = "reports"
    template_dir: str | None = Field(
        default=None,
        description="directory of templates overriding the shipped ones by name (rendered in a "
        "sandbox), relative to this file",
    )
    signing_key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="environment variable holding an Ed25519 private key that signs each manifest",
    )


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
    name: str = Field(
        min_length=1, description="who files the report (the cloud provider or reseller)"
    )


EmailAddress = Annotated[str, Field(pattern=r"^[^@\s<>\"(),;:]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")]
ReportKind = Literal["monthly", "quarterly", "notice"]


class MailSettings(_Strict):
    """SMTP delivery of reports. The password is read from the environment variable named in
    `password_env` at send time; it never lives in this file."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (port 587), tls (implicit, port 465) or none"
    )
    username: str | None = None
    password_env: EnvVarName | None = Field(
        default=None, description="environment variable holding the SMTP password"
    )
    sender: EmailAddress
    sender_name: str = "computewatch"
    recipients: dict[ReportKind, list[EmailAddress]] = Field(
        default={}, description="who receives each report type"
    )
    max_attachment_bytes: int = Field(
        default=10_000_000, ge=0, description="larger attachments are replaced by their path"
    )
    timeout: int = Field(default=30, ge=1, le=600, description="seconds per SMTP connection")

    @model_validator(mode="after")
    def _auth_needs_both(self) -> MailSettings:
        if bool(self.username) != bool(self.password_env):
            raise ValueError("username and password_env go together")
        if self.username and self.security == "none":
            raise ValueError("refusing to send a password without TLS (security: none)")
        return self


CronExpr = Annotated[
    str, Field(description="five-field cron expression (minute hour day month weekday), UTC")
]


def _check_cron(value: str) -> str:
    """Parse with APScheduler's own parser so a bad schedule fails at load, not at 3 a.m."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {value!r}: {exc}") from None
    return value


class CollectionSettings(_Strict):
    """How collections relate to each other over time (daemon and one-off audits alike)."""

    max_sample_gap_minutes: int = Field(
        default=150,
        ge=5,
        description="inventory reads (EC2) further apart than this leave a coverage gap between "
        "them, unless final billing covers those days; keep it above the collect schedule",
    )


def _check_collector(name: str) -> str:
    from collectors import registry  # the registry is the single list of collector names
    from collectors.base import collectors

    registry.load_builtin()
    if name not in collectors.names():
        raise ValueError(f"unknown collector {name!r} (known: {', '.join(collectors.names())})")
    return name


class DaemonSettings(_Strict):
    """Schedules and operations of `computewatch daemon` (all times UTC)."""

    collect: CronExpr = Field(
        default="5 * * * *", description="collect and evaluate month-to-date (default hourly)"
    )
    collect_on_start: bool = Field(
        default=True,
        description="collect once right after start (and the report catch-up) instead of "
        "waiting for the next `collect` time",
    )
    collector_schedules: dict[str, CronExpr] = Field(
        default={},
        description="collectors on a schedule of their own instead of `collect`, e.g. "
        "aws.costexplorer: '30 6 * * *' (each request is billed; its data changes daily)",
    )
    monthly_report: CronExpr = Field(
        default="0 6 1 * *", description="monthly report for the previous month (default the 1st)"
    )
    quarterly_report: CronExpr | None = Field(
        default="0 6 15 1,4,7,10 *",
        description="quarterly report for the previous quarter (due 15 Jan/Apr/Jul/Oct); "
        "null: no quarterly reports",
    )
    deliver_mail: CronExpr = Field(
        default="*/10 * * * *", description="retry queued e-mail that is due"
    )
    catch_up_months: int = Field(
        default=3,
        ge=0,
        le=24,
        description="on start, produce reports missed in at most this many months",
    )
    http_host: str = Field(
        default="127.0.0.1", description="address of /healthz and /metrics (keep it local)"
    )
    http_port: int | None = Field(
        default=9464, ge=0, le=65535, description="port of /healthz and /metrics; null: off"
    )
    stale_after_minutes: int = Field(
        default=180, ge=1, description="/healthz turns 503 when the last good collection is older"
    )
    state_file: str | None = Field(
        default=None,
        description="daemon state (next runs) for `status`; default: the user state directory",
    )

    @field_validator("collect", "monthly_report", "quarterly_report", "deliver_mail")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        return None if v is None else _check_cron(v)

    @field_validator("collector_schedules")
    @classmethod
    def _schedules(cls, v: dict[str, str]) -> dict[str, str]:
        return {_check_collector(name): _check_cron(cron) for name, cron in v.items()}


class AppConfig(_Strict):
    version: Literal[1] = 1
    reporting_entity: ReportingEntity
    store: StoreSettings = StoreSettings()
    aws: AwsSettings | None = None
    azure: AzureSettings | None = None
    rules: list[str] = Field(default=[], description="rule files, relative to this file")
    customers: str | None = Field(
        default=None, description="customer registry (YAML or CSV), relative to this file"
    )
    restricted_country_groups: list[str] = Field(
        default=["D:5", "Macau"],
        description="usage by a customer in these EAR country groups is a finding of its own",
    )
    reports: ReportSettings = ReportSettings()
    estimates: EstimateSettings = EstimateSettings()
    mail: MailSettings | None = None
    collection: CollectionSettings = CollectionSettings()
    daemon: DaemonSettings = DaemonSettings()

    @field_validator("rules")
    @classmethod
    def _rules_unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a rule file is listed twice")
        return v


class LoadedConfig:
    """The validated config plus what it points to (rules), and where it came from."""

    def __init__(self, path: Path, app: AppConfig, rules: RuleSet, registry: Registry) -> None:
        self.path = path
        self.app = app
        self.rules = rules
        self.registry = registry

    @property
    def digest(self) -> str:
        """SHA-256 over the effective config and rules, for evidence manifests."""
        payload = {
            "config": self.app.model_dump(mode="json"),
            "rules": [r.id for r in self.rules.rules],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    @property
    def templates_dir(self) -> Path | None:
        d = self.app.reports.template_dir
        return None if d is None else self.relative(d)

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
    known = set(country_groups().groups)
    for i, group in enumerate(app.restricted_country_groups):
        if group not in known:
            raise ConfigError(
                path,
                f"unknown country group {group!r} (known: {', '.join(sorted(known))})",
                line=smap.line_for(("restricted_country_groups", i)),
                field=f"restricted_country_groups.{i}",
            )
    registry = Registry([])
    if app.customers:
        registry = load_registry(path.parent / app.customers)
    return LoadedConfig(path, app, load_rules(rule_paths), registry)


def config_schema() -> dict[str, object]:
    """JSON Schema of the configuration file."""
    schema = AppConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "computewatch configuration"
    return schema
