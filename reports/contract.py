"""The JSON audit report's contract (`computewatch.audit/1`) as typed models.

The JSON Schema is generated from these models (`contract_schema()`); the committed copy in
`schemas/audit-1.schema.json` is checked against it by a test. Metric fields of accounts and
customers, and the columns of the tokens objects, come from the metric table.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    create_model,
    model_serializer,
)

from computewatch.domain.metrics import METRICS, token_metrics

SCHEMA_ID = "computewatch.audit/1"


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(Doc):
    start: str = Field(description="ISO 8601, UTC, inclusive")
    end: str = Field(description="ISO 8601, UTC, exclusive")


class Gap(Doc):
    """An account-region-collector unit that could not be read: its usage is unknown, not 0."""

    provider: str
    account_id: str
    region: str
    collector: str
    error: str = Field(description="the cloud's error code, or SamplingGap / NotCollectedYet")
    message: str


CoverageLevel = Literal["complete", "partial", "failed"]


class Downtime(Doc):
    """A stretch no inventory read covered (the daemon was down): the sampling gaps of every
    unit it touches, merged."""

    start: str = Field(description="ISO 8601, UTC, inclusive")
    end: str = Field(description="ISO 8601, UTC, exclusive")
    hours: float = Field(ge=0)
    accounts: list[str] = Field(description='"provider:account" of every account it touches')
    units: int = Field(ge=0, description="account-region-collector units without a read in it")


class Coverage(Doc):
    status: CoverageLevel
    accounts_total: int = Field(ge=0)
    accounts_complete: int = Field(ge=0)
    accounts_partial: int = Field(ge=0)
    accounts_failed: int = Field(ge=0)
    gaps: list[Gap]
    downtime: list[Downtime] = Field(
        default=[], description="the sampling gaps as stretches of daemon downtime, oldest first"
    )


class AccountCoverage(Doc):
    status: CoverageLevel
    units_read: int = Field(ge=0)
    units_total: int = Field(ge=0)
    gaps: list[Gap]


class Band(Doc):
    """Estimated training compute (FLOP) at the low, central and high utilization."""

    low: float = Field(ge=0)
    central: float = Field(ge=0)
    high: float = Field(ge=0)


class AccountBand(Band):
    excluded_accelerator_hours: dict[str, float] = Field(
        description="chip -> hours left out of the estimate (no usable FLOP/s figure)"
    )


class Customer(Doc):
    id: str
    legal_name: str
    country: str = Field(description="ISO 3166-1 alpha-2 country of headquarters")
    country_groups: list[str]
    address: str
    beneficial_owners: list[str]
    intermediary: str | None = Field(description="the reseller the accounts are held through")
    ultimate_parent: str | None = Field(
        default=None,
        description='"Name (CC)" of the ultimate parent; its headquarters country counts for the '
        "country groups (headquarters test)",
    )


class Reconciliation(Doc):
    billing: float = Field(ge=0, description="billed accelerator-hours (authoritative)")
    inventory: float = Field(ge=0, description="inventory estimate over the same days")


class Scope(Doc):
    kind: Literal["account", "customer", "intermediary", "country_group", "organization"]
    key: str


class Finding(Doc):
    id: str
    rule: str
    title: str
    status: Literal["BREACH", "UNKNOWN", "OK"]
    severity: Literal["low", "medium", "high", "critical"]
    scope: Scope
    metric: str
    comparison: Literal[">", ">=", "<", "<="]
    value: float | None = Field(description="null: nothing could be read for the scope")
    threshold: float
    window: Period
    legal_basis: str
    citation: str
    legal_status: Literal["in-force", "proposed", "revoked", "bill", "internal-policy"]
    detail: str
    evidence: list[str]
    lifecycle: Literal["new", "ongoing", "resolved", "none"]
    first_seen: str | None
    scope_label: str
    framing: str = Field(
        default="",
        description='how the finding is worded: "threshold crossed (bill, not law)" for a rule '
        "that is not law; see legal_status_legend",
    )


class TrainingRun(Doc):
    """Sustained multi-accelerator use detected in the stored history (engine.training_runs)."""

    owner: str = Field(description='"customer:<id>" or "<provider>:<account>" if unregistered')
    label: str
    start: str
    end: str = Field(description="exclusive; the day after the last active day")
    ongoing: bool
    accounts: list[str]
    chips: list[str]
    peak_concurrent_accelerators: float = Field(description="highest day-average concurrency")
    accelerator_hours: float
    compute_capacity: AccountBand = Field(description="FLOP band over the run (upper-bound screen)")
    thresholds_crossed: list[str] = Field(
        description="per-run thresholds the central value exceeds"
    )


class SimultaneousPeak(Doc):
    """From the stored intervals: the most accelerators running at one instant, per region, and
    the implied cluster rate per region (highest dense precision)."""

    account: str
    total: float = Field(description="all chips at one instant, across regions")
    by_chip: dict[str, float]
    by_region: dict[str, dict[str, float]]
    cluster_ops_by_region: dict[str, float | None] = Field(
        description="region -> implied ops/s; null where a chip has no usable figure"
    )


class Run(Doc):
    id: int
    tool_version: str
    config_digest: str
    api_calls: dict[str, int]


class _Sparse(Doc):
    """A document whose optional numbers are left out where nothing was recorded (absent is not
    zero: the source did not report that role)."""

    @model_serializer(mode="wrap")
    def _drop_unrecorded(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        optional = {
            f.alias or name for name, f in type(self).model_fields.items() if not f.is_required()
        }
        return {k: v for k, v in data.items() if not (v is None and k in optional)}


def _tokens_model() -> type[Doc]:
    """Per model: one number per token role; roles not always shown appear only where recorded."""
    fields: dict[str, Any] = {}
    for d in token_metrics():
        if d.always_shown:
            fields[d.role] = (float, Field(ge=0, description=d.title))
        else:
            fields[d.role] = (float | None, Field(default=None, ge=0, description=d.title))
    model: type[Doc] = create_model("Tokens", __base__=_Sparse, **fields)
    return model


Tokens = _tokens_model()


def _metric_fields() -> dict[str, Any]:
    """`json_field -> {key: quantity}` for every metric the table puts in the JSON report."""
    out: dict[str, Any] = {}
    for d in METRICS:
        if not d.json_field:
            continue
        value_type = int if d.integer else float
        described = f"{d.title} ({d.unit}) by {d.key}"
        if d.json_optional:
            out[d.json_field] = (
                dict[str, value_type] | None,  # type: ignore[valid-type]
                Field(default=None, description=f"{described}; absent: none recorded"),
            )
            continue
        out[d.json_field] = (
            dict[str, value_type],  # type: ignore[valid-type]
            Field(description=described),
        )
    return out


_ACCOUNT_FIELDS: dict[str, Any] = {
    "provider": (Literal["aws", "azure"], ...),
    "account_id": (str, Field(min_length=1)),
    "name": (str, ...),
    "customer": (Customer | None, ...),
    "coverage": (AccountCoverage, ...),
    **_metric_fields(),
    "estimated_training_flop": (AccountBand | None, Field(description="null: usage unknown")),
    "tokens": (dict[str, Tokens], Field(description="model -> tokens by role")),  # type: ignore[valid-type]
    "billing_reconciliation": (dict[str, Reconciliation], ...),
    "tpp_hours": (float | None, Field(description="accelerator-hours x TPP; null: unknown")),
    "methods": (dict[str, str], Field(description="metric -> how it was measured")),
}
Account: Any = create_model("Account", __base__=_Sparse, **_ACCOUNT_FIELDS)

_CUSTOMER_FIELDS: dict[str, Any] = {
    "customer": (Customer, ...),
    "accounts": (list[str], Field(description='"aws:<account id>", "azure:<subscription id>"')),
    "coverage": (CoverageLevel, ...),
    **_metric_fields(),
    "estimated_training_flop": (Band | None, ...),
    "tokens": (dict[str, Tokens], ...),  # type: ignore[valid-type]
}
CustomerRollup: Any = create_model("CustomerRollup", __base__=_Sparse, **_CUSTOMER_FIELDS)


class ExportFile(Doc):
    name: str = Field(description="relative to the export's location")
    etag: str = Field(description="the storage ETag, or the SHA-256 of a local file")
    size: int = Field(ge=0)


class ExportDeliveryDoc(Doc):
    """The delivery a billing period's figures rest on (a re-delivery replaces it)."""

    export: str
    billing_period: str = Field(description="YYYY-MM")
    delivery_id: str = Field(description="manifest executionId, Azure run id, or a files digest")
    format: str
    schema_version: str
    manifest: str = Field(description="the manifest read, relative to the location")
    files: list[ExportFile]
    queries: dict[str, str] = Field(description="query or table -> SHA-256 / table version")


class ExportVarianceDoc(Doc):
    """An account both an export and the live collectors cover: both figures."""

    account: str = Field(description='"aws:<account id>", "azure:<subscription id>"')
    name: str
    metric: str = Field(description="the metric (metric table name)")
    key: str = Field(description='chip or model ("all models": every model together)')
    export: float = Field(ge=0, description="the billing export's figure (counted)")
    live: float = Field(ge=0, description="the live collectors' figure (set aside)")
    variance_pct: float | None = Field(description="live against export, %; null: export 0")


class ExportOverlap(Doc):
    """An account named by more than one export for a period: one export counted, never added."""

    billing_period: str
    account: str
    name: str
    counted: str = Field(description="the export whose figures count (configured first)")
    not_counted: list[str]


class BillingExports(Doc):
    deliveries: list[ExportDeliveryDoc]
    reconciliation: list[ExportVarianceDoc]
    overlaps: list[ExportOverlap]


class AuditReport(_Sparse):
    """A compute usage audit: coverage first, usage per account and customer, findings, run."""

    schema_: Literal["computewatch.audit/1"] = Field(alias="schema")
    report_id: str
    generated_at: str
    reporting_entity: str
    period: Period
    coverage: Coverage
    accounts: list[Account]
    customers: list[CustomerRollup]
    findings: list[Finding]
    run: Run
    legal_status_legend: dict[str, str] = Field(
        default={}, description="legal_status -> what it means (in force, proposed, bill, ...)"
    )
    country_groups_source: str = Field(
        default="", description="the EAR country groups used, with their as-of date"
    )
    training_runs: list[TrainingRun] = Field(
        default=[], description="training runs detected across every window read from the store"
    )
    simultaneous_peaks: list[SimultaneousPeak] = Field(
        default=[],
        description="true simultaneous peaks from stored intervals (accounts with sampled usage)",
    )
    billing_exports: BillingExports | None = Field(
        default=None,
        description="billing exports read: the delivery used per export and period, export vs "
        "live per chip and model, accounts in more than one export; absent: no export",
    )


def contract_schema() -> dict[str, Any]:
    """The JSON Schema of the report, generated from the models above."""
    schema = AuditReport.model_json_schema(mode="validation", by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://computewatch.invalid/schemas/audit-1.schema.json",
        "title": "computewatch audit report",
        **schema,
    }
