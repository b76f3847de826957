"""What each export format must contain, as data: required columns, typed columns, versions.

Column names are the formats' own: AWS CUR 2.0 (Data Exports table dictionary: bill_*,
line_item_*, product_*, pricing_* columns), FOCUS 1.0-1.2 (FinOps Foundation specification;
provider columns start with `x_`: AWS `x_UsageType`/`x_ServiceCode`, Azure `x_SkuMeterName`,
`x_SkuDetails`, and for CSP partners `x_ResellerId/Name`, `x_CustomerId/Name`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from computewatch.domain.errors import SourceError

SERVICE = "exports"


@dataclass(frozen=True, slots=True)
class Version:
    """A schema version and the columns that identify it (all must be present)."""

    name: str
    required: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    # Columns every version has: without them the file is not this format at all.
    identity: tuple[str, ...]
    # Known versions, newest first: the first whose columns are all present is the version.
    versions: tuple[Version, ...]
    # Columns read as timestamps / numbers (gzip CSV carries text; Parquet its own types).
    timestamps: tuple[str, ...]
    numbers: tuple[str, ...]
    # Columns read when present (KYC names, IAM principal); absent ones read as NULL.
    optional: tuple[str, ...] = ()


CUR2_COLUMNS = (
    "bill_billing_period_start_date",
    "bill_payer_account_id",
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_type",
    "line_item_usage_amount",
    "line_item_product_code",
    "product_instance_type",
    "pricing_unit",
)

CUR2 = Format(
    name="cur2",
    identity=("bill_billing_period_start_date", "line_item_usage_account_id"),
    # CUR 2.0 has one fixed schema (Data Exports); its additions over legacy CUR include the
    # account names, so their presence tells CUR 2.0 from a legacy CUR.
    versions=(Version("2.0", (*CUR2_COLUMNS, "line_item_usage_account_name")),),
    timestamps=("bill_billing_period_start_date", "line_item_usage_start_date"),
    numbers=("line_item_usage_amount",),
    optional=("line_item_usage_account_name", "bill_payer_account_name", "line_item_iam_principal"),
)

FOCUS_BASE = (
    "BillingAccountId",
    "SubAccountId",
    "SubAccountName",
    "ChargeCategory",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ServiceName",
    "BillingPeriodStart",
)

FOCUS = Format(
    name="focus",
    identity=("BillingAccountId", "ChargePeriodStart", "BillingPeriodStart"),
    versions=(
        # 1.2 added invoice and pricing-currency columns; 1.1 service subcategories.
        Version("1.2", (*FOCUS_BASE, "InvoiceId", "ServiceSubcategory")),
        Version("1.1", (*FOCUS_BASE, "ServiceSubcategory")),
        Version("1.0", FOCUS_BASE),
    ),
    timestamps=("ChargePeriodStart", "BillingPeriodStart"),
    numbers=("ConsumedQuantity", "PricingQuantity"),
    optional=(
        "ChargeClass",
        "PricingUnit",
        "PricingQuantity",
        "x_UsageType",
        "x_ServiceCode",
        "x_SkuMeterName",
        "x_SkuDetails",
        "x_ResellerId",
        "x_ResellerName",
        "x_CustomerId",
        "x_CustomerName",
    ),
)

FORMATS = {f.name: f for f in (CUR2, FOCUS)}


def detect_version(fmt: Format, columns: Collection[str], export: str) -> str:
    """The schema version of a file with these columns; SourceError naming what is wrong."""
    present = set(columns)
    missing = [c for c in fmt.identity if c not in present]
    if missing:
        raise SourceError(
            SERVICE,
            "ExportMissingColumns",
            f"export {export}: not a {fmt.name} export, missing {', '.join(missing)}",
        )
    for version in fmt.versions:
        if all(c in present for c in version.required):
            return version.name
    oldest = fmt.versions[-1]
    lacking = [c for c in oldest.required if c not in present]
    raise SourceError(
        SERVICE,
        "UnknownSchemaVersion" if len(fmt.versions) > 1 else "ExportMissingColumns",
        f"export {export}: {fmt.name} columns match no known version "
        f"({', '.join(v.name for v in fmt.versions)}); missing {', '.join(lacking)}",
    )
