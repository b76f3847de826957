"""The configuration model: one YAML file validated once at load (pydantic v2, extra fields forbidden).

Secrets never live here: the file names environment variables (e.g. `external_id_env`), not values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, field_validator, model_validator

from computewatch.config.aws import AwsSettings
from computewatch.config.azure import AzureSettings
from computewatch.config.base import EnvVarName, _Strict
from computewatch.config.exports import ExportSettings

ReportFormat = Literal["html", "md", "json", "pdf", "csv", "xlsx"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("html", "md", "json", "pdf", "csv", "xlsx")


class RetentionSettings(_Strict):
    compact: bool = Field(
        default=True,
        description="compact a month once its report is sealed: delete its raw observations and "
        "all but each unit's latest coverage read (daily usage, proven intervals and the sealed "
        "bundle stay); the daemon does it after producing reports, `computewatch compact` on demand",
    )
    grace_days: int = Field(
        default=7,
        ge=0,
        description="days after a month's report was produced before the month is compacted",
    )


class StoreSettings(_Strict):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite in the user data directory. "
        "PostgreSQL: postgresql+psycopg://user@host/db (password from the environment via PGPASSWORD)",
    )
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        data_dir = Path(platformdirs.user_data_dir("computewatch"))
        return f"sqlite:///{data_dir / 'computewatch.db'}"


class ReportSettings(_Strict):
    formats: list[ReportFormat] = Field(default_factory=lambda: list(REPORT_FORMATS))
    out_dir: str = "reports"
    bundle_formats: list[ReportFormat] = Field(
        default_factory=list,
        description="formats every evidence bundle holds even when a run asks for fewer "
        "(e.g. [pdf] if your auditor wants the PDF in every bundle); an e-mailed report always "
        "renders its PDF and CSV attachments",
    )
    per_notice_pdf: bool = Field(
        default=False,
        description="also write one PDF per threshold notice (all notices are always in one "
        "combined notices PDF when PDFs are rendered)",
    )
    attest_internal_policy: bool = Field(
        default=False,
        description="threshold notices for internal-policy rules carry a certification block "
        "(the operator chooses to attest its own policy; it is still not law). Bills, proposals "
        "and revoked orders never do",
    )
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
    """Utilization band of the compute-capacity estimate; the defaults and their published sources
    are in computewatch.engine.estimates.BAND_SOURCES (high applies to the FP8 peak where present)."""

    low: float = Field(default=0.10, gt=0, le=1)
    central: float = Field(default=0.40, gt=0, le=1)
    high: float = Field(default=0.60, gt=0, le=1)

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
        return {name: _check_cron(cron) for name, cron in v.items()}


class AppConfig(_Strict):
    version: Literal[1] = 1
    reporting_entity: ReportingEntity
    store: StoreSettings = StoreSettings()
    aws: AwsSettings | None = None
    azure: AzureSettings | None = None
    exports: ExportSettings | None = None
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
