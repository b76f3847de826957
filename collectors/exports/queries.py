"""One query text per measure, in Athena's dialect (Trino SQL); DuckDB runs the same text after
a deterministic sqlglot transpile, so the SQL the tests execute is the SQL Athena receives.

Instance types are classified by joining to the catalog (a VALUES table rendered from it), and
usage-type families by joining to a small table; no per-row regular expressions. Only usage line
items count: CUR `Usage`, `DiscountedUsage` (reserved instances), `SavingsPlanCoveredUsage`;
FOCUS `ChargeCategory = 'Usage'` (never credits, taxes, refunds, negations).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import sqlglot

from computewatch.domain.catalog import Catalog

# Usage-type families (the part of `USE1-BoxUsage:p5.48xlarge` between the region code and the
# colon) that are instance running time, and whether they are training (SageMaker `Train:`).
FAMILIES: tuple[tuple[str, bool], ...] = (
    ("BoxUsage", False),  # EC2 on-demand (also under reserved instances / savings plans)
    ("SpotUsage", False),
    ("DedicatedUsage", False),
    ("HostUsage", False),
    ("Train", True),  # SageMaker training jobs
    ("Host", False),  # SageMaker real-time endpoints
    ("Processing", False),
    ("Notebk", False),
)

USAGE_LINES = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage")


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def shapes_values(catalog: Catalog, provider: str) -> str:
    rows = sorted((s.name.lower(), s.name, s.chip, s.count) for s in catalog.shapes(provider))
    rows = rows or [("", "", "", 0.0)]
    return ", ".join(f"({_lit(k)}, {_lit(n)}, {_lit(c)}, {count!r})" for k, n, c, count in rows)


def accelerated_values(catalog: Catalog, provider: str) -> str:
    """Instance families that carry accelerators (a size the catalog does not know yet is an
    unknown accelerator, counted once per instance-hour, never dropped)."""
    prefixes = sorted(
        {s.name.lower().split(".")[0] for s in catalog.shapes(provider) if "." in s.name}
    )
    return ", ".join(f"({_lit(p)})" for p in prefixes or ["-"])


def families_values() -> str:
    return ", ".join(f"({_lit(f)}, {'TRUE' if t else 'FALSE'})" for f, t in FAMILIES)


# The shared tail of every hours query: shapes classified by joining the catalog (not per-row
# regular expressions), SageMaker's `ml.` prefix dropped, unknown sizes of GPU families kept.
_SHAPE_HOURS = """
typed AS (
  SELECT account_id, usage_day, amount,
    CASE WHEN strpos(head, '-') > 0 THEN split_part(head, '-', 2) ELSE head END AS family,
    CASE WHEN substr(raw_shape, 1, 3) = 'ml.' THEN substr(raw_shape, 4) ELSE raw_shape END AS shape
  FROM usage_rows
)
SELECT t.account_id, t.usage_day, coalesce(s.shape_name, t.shape) AS shape,
  coalesce(s.chip, 'unknown') AS chip,
  coalesce(s.accelerators, 1.0) AS accelerators, f.training, sum(t.amount) AS hours
FROM typed t
JOIN families f ON t.family = f.family
LEFT JOIN shapes s ON t.shape = s.shape
LEFT JOIN accelerated a ON split_part(t.shape, '.', 1) = a.prefix
WHERE s.shape IS NOT NULL OR a.prefix IS NOT NULL
GROUP BY t.account_id, t.usage_day, coalesce(s.shape_name, t.shape), coalesce(s.chip, 'unknown'),
  coalesce(s.accelerators, 1.0), f.training
ORDER BY 1, 2, 3, 6
"""

CUR2_HOURS = (
    """
WITH shapes (shape, shape_name, chip, accelerators) AS (VALUES {shapes}),
families (family, training) AS (VALUES {families}),
accelerated (prefix) AS (VALUES {accelerated}),
usage_rows AS (
  SELECT line_item_usage_account_id AS account_id,
    CAST(date_trunc('day', line_item_usage_start_date) AS DATE) AS usage_day,
    split_part(line_item_usage_type, ':', 1) AS head,
    lower(CASE WHEN coalesce(product_instance_type, '') <> '' THEN product_instance_type
          ELSE split_part(line_item_usage_type, ':', 2) END) AS raw_shape,
    line_item_usage_amount AS amount
  FROM {table}
  WHERE line_item_line_item_type IN ({usage_lines})
    AND bill_billing_period_start_date = TIMESTAMP '{period_start}'
    AND strpos(line_item_usage_type, ':') > 0
    AND line_item_usage_amount > 0
),
"""
    + _SHAPE_HOURS
)

CUR2_TOKENS = """
SELECT line_item_usage_account_id AS account_id,
  CAST(date_trunc('day', line_item_usage_start_date) AS DATE) AS usage_day,
  line_item_usage_type AS usage_type,
  line_item_product_code AS product_code,
  coalesce(pricing_unit, '') AS unit,
  sum(line_item_usage_amount) AS quantity
FROM {table}
WHERE line_item_line_item_type IN ({usage_lines})
  AND bill_billing_period_start_date = TIMESTAMP '{period_start}'
  AND (line_item_product_code = 'AmazonBedrock' OR strpos(line_item_usage_type, 'MP:') > 0)
  AND (strpos(lower(line_item_usage_type), 'token') > 0
    OR strpos(lower(line_item_usage_type), 'customization') > 0)
  AND line_item_usage_amount > 0
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3, 4, 5
"""

CUR2_ACCOUNTS = """
SELECT line_item_usage_account_id AS account_id,
  max(coalesce(line_item_usage_account_name, '')) AS account_name,
  max(bill_payer_account_id) AS payer_id,
  count(*) AS line_items,
  min(bill_billing_period_start_date) AS first_period,
  max(bill_billing_period_start_date) AS last_period
FROM {table}
WHERE bill_billing_period_start_date = TIMESTAMP '{period_start}'
GROUP BY 1
ORDER BY 1
"""


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    text: str  # Trino / Athena SQL, exactly as sent to Athena

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def duckdb(self) -> str:
        return to_duckdb(self.text)


@cache
def to_duckdb(text: str) -> str:
    return sqlglot.transpile(text, read="trino", write="duckdb")[0]


def render(
    name: str,
    template: str,
    *,
    table: str,
    period_start: str,
    catalog: Catalog,
    provider: str = "aws",
) -> Query:
    text = template.format(
        table=table,
        period_start=period_start,
        shapes=shapes_values(catalog, provider),
        families=families_values(),
        accelerated=accelerated_values(catalog, provider),
        usage_lines=", ".join(_lit(x) for x in USAGE_LINES),
    )
    return Query(name, text.strip())


# FOCUS 1.0-1.2. Usage only (ChargeCategory 'Usage'); corrections of earlier periods
# (ChargeClass 'Correction') are left to the period they correct.
FOCUS_WHERE = """ChargeCategory = 'Usage'
    AND coalesce(ChargeClass, '') <> 'Correction'
    AND BillingPeriodStart = TIMESTAMP '{period_start}'
    AND ConsumedQuantity > 0"""

# AWS FOCUS_1_2_AWS: the instance type is in x_UsageType, classified like CUR 2.0.
FOCUS_AWS_HOURS = (
    """
WITH shapes (shape, shape_name, chip, accelerators) AS (VALUES {shapes}),
families (family, training) AS (VALUES {families}),
accelerated (prefix) AS (VALUES {accelerated}),
usage_rows AS (
  SELECT SubAccountId AS account_id,
    CAST(date_trunc('day', ChargePeriodStart) AS DATE) AS usage_day,
    split_part(x_UsageType, ':', 1) AS head,
    lower(split_part(x_UsageType, ':', 2)) AS raw_shape,
    ConsumedQuantity AS amount
  FROM {table}
  WHERE """
    + FOCUS_WHERE
    + """
    AND strpos(x_UsageType, ':') > 0
),
"""
    + _SHAPE_HOURS
)

FOCUS_AWS_TOKENS = (
    """
SELECT SubAccountId AS account_id,
  CAST(date_trunc('day', ChargePeriodStart) AS DATE) AS usage_day,
  x_UsageType AS usage_type,
  x_ServiceCode AS product_code,
  coalesce(PricingUnit, ConsumedUnit, '') AS unit,
  sum(coalesce(PricingQuantity, ConsumedQuantity)) AS quantity
FROM {table}
WHERE """
    + FOCUS_WHERE
    + """
  AND (x_ServiceCode = 'AmazonBedrock' OR strpos(x_UsageType, 'MP:') > 0)
  AND (strpos(lower(x_UsageType), 'token') > 0
    OR strpos(lower(x_UsageType), 'customization') > 0)
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3, 4, 5
"""
)

FOCUS_AWS_ACCOUNTS = """
SELECT SubAccountId AS account_id, max(coalesce(SubAccountName, '')) AS account_name,
  max(BillingAccountId) AS payer_id, count(*) AS line_items
FROM {table}
WHERE BillingPeriodStart = TIMESTAMP '{period_start}'
GROUP BY 1
ORDER BY 1
"""

# Azure FocusCost: the VM size is x_SkuDetails' ServiceType (e.g. Standard_ND96isr_H100_v5);
# SubAccountId is the subscription's resource id.
FOCUS_AZURE_HOURS = (
    """
WITH shapes (shape, shape_name, chip, accelerators) AS (VALUES {shapes}),
usage_rows AS (
  SELECT lower(replace(SubAccountId, '/subscriptions/', '')) AS account_id,
    CAST(date_trunc('day', ChargePeriodStart) AS DATE) AS usage_day,
    lower(json_extract_scalar(nullif(x_SkuDetails, ''), '$.ServiceType')) AS shape,
    ConsumedQuantity AS amount
  FROM {table}
  WHERE """
    + FOCUS_WHERE
    + """
    AND strpos(lower(ConsumedUnit), 'hour') > 0
)
SELECT u.account_id, u.usage_day, s.shape_name AS shape, s.chip, s.accelerators,
  FALSE AS training,
  sum(u.amount) AS hours
FROM usage_rows u
JOIN shapes s ON u.shape = s.shape
GROUP BY u.account_id, u.usage_day, s.shape_name, s.chip, s.accelerators
ORDER BY 1, 2, 3
"""
)

FOCUS_AZURE_TOKENS = (
    """
SELECT lower(replace(SubAccountId, '/subscriptions/', '')) AS account_id,
  CAST(date_trunc('day', ChargePeriodStart) AS DATE) AS usage_day,
  x_SkuMeterName AS meter,
  coalesce(ConsumedUnit, '') AS unit,
  sum(ConsumedQuantity) AS quantity
FROM {table}
WHERE """
    + FOCUS_WHERE
    + """
  AND (strpos(lower(x_SkuMeterName), 'token') > 0
    OR strpos(lower(x_SkuMeterName), 'train') > 0
    OR strpos(lower(x_SkuMeterName), 'trng') > 0)
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
"""
)

FOCUS_AZURE_ACCOUNTS = """
SELECT lower(replace(SubAccountId, '/subscriptions/', '')) AS account_id,
  max(coalesce(SubAccountName, '')) AS account_name,
  max(BillingAccountId) AS payer_id, count(*) AS line_items,
  max(coalesce(x_ResellerId, '')) AS reseller_id, max(coalesce(x_ResellerName, '')) AS reseller,
  max(coalesce(x_CustomerId, '')) AS customer_id, max(coalesce(x_CustomerName, '')) AS customer
FROM {table}
WHERE BillingPeriodStart = TIMESTAMP '{period_start}'
GROUP BY 1
ORDER BY 1
"""
