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


# The shared middle of every hours query: the distinct usage kinds of the period (a few hundred
# (usage type, instance type) pairs, however many rows) are classified by joining the catalog and
# the families (no per-row regular expressions, no string functions per row), SageMaker's `ml.`
# prefix dropped, unknown sizes of GPU families kept; the rows are then joined to the kinds.
_CLASSIFY = """
typed AS (
  SELECT usage_type, instance_type,
    CASE WHEN strpos(head, '-') > 0 THEN split_part(head, '-', 2) ELSE head END AS family,
    CASE WHEN substr(raw_shape, 1, 3) = 'ml.' THEN substr(raw_shape, 4) ELSE raw_shape END AS shape
  FROM (
    SELECT usage_type, instance_type, split_part(usage_type, ':', 1) AS head,
      lower(CASE WHEN instance_type <> '' THEN instance_type
            ELSE split_part(usage_type, ':', 2) END) AS raw_shape
    FROM kinds
  ) k
),
classified AS (
  SELECT t.usage_type, t.instance_type, coalesce(s.shape_name, t.shape) AS shape,
    coalesce(s.chip, 'unknown') AS chip, coalesce(s.accelerators, 1.0) AS accelerators, f.training
  FROM typed t
  JOIN families f ON t.family = f.family
  LEFT JOIN shapes s ON t.shape = s.shape
  LEFT JOIN accelerated a ON split_part(t.shape, '.', 1) = a.prefix
  WHERE s.shape IS NOT NULL OR a.prefix IS NOT NULL
)
"""

_CATALOG = """
WITH shapes (shape, shape_name, chip, accelerators) AS (VALUES {shapes}),
families (family, training) AS (VALUES {families}),
accelerated (prefix) AS (VALUES {accelerated}),
"""

CUR2_USAGE = """line_item_line_item_type IN ({usage_lines})
    AND bill_billing_period_start_date = TIMESTAMP '{period_start}'"""

# One row per account, day and shape: instance-hours, and of them the training jobs' hours.
CUR2_HOURS = (
    _CATALOG
    + """kinds AS (
  SELECT DISTINCT line_item_usage_type AS usage_type,
    coalesce(product_instance_type, '') AS instance_type
  FROM {table}
  WHERE """
    + CUR2_USAGE
    + """
    AND strpos(line_item_usage_type, ':') > 0
),"""
    + _CLASSIFY
    + """SELECT line_item_usage_account_id AS account_id,
  CAST(date_trunc('day', line_item_usage_start_date) AS DATE) AS usage_day,
  c.shape, c.chip, c.accelerators, sum(line_item_usage_amount) AS hours,
  sum(CASE WHEN c.training THEN line_item_usage_amount ELSE 0 END) AS training_hours
FROM {table}
JOIN classified c ON line_item_usage_type = c.usage_type
  AND coalesce(product_instance_type, '') = c.instance_type
WHERE """
    + CUR2_USAGE
    + """
  AND line_item_usage_amount > 0
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3
"""
)

CUR2_TOKENS = (
    """
WITH kinds AS (
  SELECT DISTINCT line_item_usage_type AS usage_type,
    coalesce(line_item_product_code, '') AS product_code
  FROM {table}
  WHERE """
    + CUR2_USAGE
    + """
),
wanted AS (
  SELECT usage_type, product_code FROM kinds
  WHERE (product_code = 'AmazonBedrock' OR strpos(usage_type, 'MP:') > 0)
    AND (strpos(lower(usage_type), 'token') > 0
      OR strpos(lower(usage_type), 'customization') > 0)
)
SELECT line_item_usage_account_id AS account_id,
  CAST(date_trunc('day', line_item_usage_start_date) AS DATE) AS usage_day,
  line_item_usage_type AS usage_type,
  line_item_product_code AS product_code,
  coalesce(pricing_unit, '') AS unit,
  sum(line_item_usage_amount) AS quantity
FROM {table}
JOIN wanted w ON line_item_usage_type = w.usage_type
  AND coalesce(line_item_product_code, '') = w.product_code
WHERE """
    + CUR2_USAGE
    + """
  AND line_item_usage_amount > 0
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3, 4, 5
"""
)

# Grouped by account and name first: a max() of strings over every row costs more than the scan.
CUR2_ACCOUNTS = """
SELECT account_id, max(account_name) AS account_name, max(payer_id) AS payer_id,
  sum(line_items) AS line_items, min(period) AS first_period, max(period) AS last_period
FROM (
  SELECT line_item_usage_account_id AS account_id,
    coalesce(line_item_usage_account_name, '') AS account_name,
    bill_payer_account_id AS payer_id, bill_billing_period_start_date AS period,
    count(*) AS line_items
  FROM {table}
  WHERE bill_billing_period_start_date = TIMESTAMP '{period_start}'
  GROUP BY 1, 2, 3, 4
) g
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
    _CATALOG
    + """kinds AS (
  SELECT DISTINCT x_UsageType AS usage_type, '' AS instance_type
  FROM {table}
  WHERE """
    + FOCUS_WHERE
    + """
    AND strpos(x_UsageType, ':') > 0
),"""
    + _CLASSIFY
    + """SELECT SubAccountId AS account_id,
  CAST(date_trunc('day', ChargePeriodStart) AS DATE) AS usage_day,
  c.shape, c.chip, c.accelerators, sum(ConsumedQuantity) AS hours,
  sum(CASE WHEN c.training THEN ConsumedQuantity ELSE 0 END) AS training_hours
FROM {table}
JOIN classified c ON x_UsageType = c.usage_type
WHERE """
    + FOCUS_WHERE
    + """
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3
"""
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
  sum(u.amount) AS hours, CAST(0 AS DOUBLE) AS training_hours
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
  '' AS product_code,
  coalesce(ConsumedUnit, '') AS unit,
  sum(ConsumedQuantity) AS quantity
FROM {table}
WHERE """
    + FOCUS_WHERE
    + """
  AND (strpos(lower(x_SkuMeterName), 'token') > 0
    OR strpos(lower(x_SkuMeterName), 'train') > 0
    OR strpos(lower(x_SkuMeterName), 'trng') > 0)
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3, 4, 5
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
