"""Writes billing exports in the real column names and value shapes, for the demo, the test
fixtures (tests/helpers/export_fixtures.py) and the benchmark.

Where each shape comes from:
- CUR 2.0 columns and types: AWS Data Exports user guide, "Cost and Usage Report (CUR) 2.0"
  table dictionary (bill_*, identity_*, line_item_*, pricing_*, product_* columns;
  `resource_tags` and `product` are map<string,string>; dates are timestamps, amounts doubles).
- Usage types: `USE1-BoxUsage:p5.48xlarge` (EC2, region code prefix), `USE1-Train:ml.p4d.24xlarge`
  (SageMaker training), `SpotUsage`, and Bedrock's per-token-type usage types
  (`-input-tokens`, `-output-tokens`, `-cache-read-input-token-count`,
  `-cache-write-input-token-count`; Amazon Bedrock user guide, "Understanding your Amazon Bedrock
  Cost and Usage Report data"); pricing_unit `Hrs`, `1K tokens`, `1M tokens`.
- Line item types: `Usage`, `DiscountedUsage`, `SavingsPlanCoveredUsage`, `Credit`, `Tax`,
  `SavingsPlanNegation` (table dictionary, line_item_line_item_type).
- Delivery layout and manifest: `<export>/data/BILLING_PERIOD=YYYY-MM/<export>-00001.snappy.parquet`
  and `<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json` with `executionId`,
  `exportArn`, `columns`, `dataFiles` (AWS Data Exports user guide, "Understanding export
  delivery", "Data Exports manifest file reference").
- FOCUS 1.2 (AWS `FOCUS_1_2_AWS`, Azure FocusCost): FinOps Foundation FOCUS specification column
  names; AWS adds `x_UsageType`, `x_ServiceCode`; Azure adds `x_SkuMeterName`, `x_SkuDetails`
  (JSON with `ServiceType`, the VM size) and, for CSP partners, `x_ResellerId/Name`,
  `x_CustomerId/Name` (Microsoft Cost Management FOCUS export documentation).
"""

from __future__ import annotations

import calendar
import csv
import gzip
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

CUR2_SCHEMA = pa.schema(
    [
        ("identity_line_item_id", pa.string()),
        ("identity_time_interval", pa.string()),
        ("bill_bill_type", pa.string()),
        ("bill_billing_entity", pa.string()),
        ("bill_billing_period_start_date", pa.timestamp("ms")),
        ("bill_billing_period_end_date", pa.timestamp("ms")),
        ("bill_payer_account_id", pa.string()),
        ("bill_payer_account_name", pa.string()),
        ("line_item_usage_account_id", pa.string()),
        ("line_item_usage_account_name", pa.string()),
        ("line_item_line_item_type", pa.string()),
        ("line_item_usage_start_date", pa.timestamp("ms")),
        ("line_item_usage_end_date", pa.timestamp("ms")),
        ("line_item_product_code", pa.string()),
        ("line_item_usage_type", pa.string()),
        ("line_item_operation", pa.string()),
        ("line_item_availability_zone", pa.string()),
        ("line_item_resource_id", pa.string()),
        ("line_item_usage_amount", pa.float64()),
        ("line_item_unblended_cost", pa.float64()),
        ("line_item_line_item_description", pa.string()),
        ("line_item_iam_principal", pa.string()),
        ("product_instance_type", pa.string()),
        ("product_region_code", pa.string()),
        ("product_servicecode", pa.string()),
        ("pricing_unit", pa.string()),
        ("pricing_term", pa.string()),
        ("resource_tags", pa.map_(pa.string(), pa.string())),
    ]
)

_STRING_DEFAULT = ""


def _ts(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)
    return (
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        .astimezone(UTC)
        .replace(tzinfo=None)
    )


def cur2_table(rows: Iterable[Mapping[str, Any]], schema: pa.Schema = CUR2_SCHEMA) -> pa.Table:
    """A CUR 2.0 table; absent fields are empty strings / NULL, as in a real delivery."""
    cols: dict[str, list[Any]] = {f.name: [] for f in schema}
    for i, row in enumerate(rows):
        for f in schema:
            value = row.get(f.name)
            if f.name == "identity_line_item_id" and value is None:
                value = f"li-{i:08d}"
            if pa.types.is_timestamp(f.type):
                value = _ts(value)
            elif pa.types.is_map(f.type):
                value = list((value or {}).items())
            elif pa.types.is_string(f.type) and value is None:
                value = _STRING_DEFAULT
            cols[f.name].append(value)
    return pa.table(cols, schema=schema)


def write_csv_gz(table: pa.Table, path: Path) -> None:
    """gzip CSV as Data Exports writes it: a header row, ISO timestamps with Z, maps as JSON."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(table.column_names)
    data = table.to_pylist()
    for row in data:
        out = []
        for name in table.column_names:
            v = row[name]
            if isinstance(v, datetime):
                v = v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            elif isinstance(v, list):
                v = json.dumps(dict(v), sort_keys=True)
            out.append("" if v is None else v)
        writer.writerow(out)
    path.write_bytes(gzip.compress(buf.getvalue().encode("utf-8"), mtime=0))


def write_delivery(
    table: pa.Table,
    root: Path,
    export: str,
    period: str,
    *,
    fmt: str = "parquet",
    execution_id: str = "",
    account: str = "999900000001",
    parts: int = 1,
    row_group_size: int = 1_000_000,
) -> list[Path]:
    """Write one billing period of an export under `root` in the Data Exports layout, with its
    manifest (when `execution_id` is given). Returns the data files written."""
    part = f"BILLING_PERIOD={period}"
    data_dir = root / export / "data" / part
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in data_dir.iterdir():  # a re-delivery replaces the period's files
        old.unlink()
    files: list[Path] = []
    per = -(-table.num_rows // parts) if table.num_rows else 0
    for n in range(parts):
        chunk = table.slice(n * per, per) if per else table
        if fmt == "parquet":
            path = data_dir / f"{export}-{n + 1:05d}.snappy.parquet"
            pq.write_table(chunk, path, compression="snappy", row_group_size=row_group_size)
        else:
            path = data_dir / f"{export}-{n + 1:05d}.csv.gz"
            write_csv_gz(chunk, path)
        files.append(path)
    if execution_id:
        meta = root / export / "metadata" / part
        meta.mkdir(parents=True, exist_ok=True)
        manifest = {
            "executionId": execution_id,
            "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{account}:export/{export}",
            "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
            "dataFiles": [f"s3://cur-bucket/cur/{export}/data/{part}/{p.name}" for p in files],
            "billingPeriod": {"start": f"{period}-01T00:00:00Z"},
        }
        (meta / f"{export}-Manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
    return files


# FOCUS 1.2 columns used here (a real export has more; readers must not depend on the rest).
FOCUS_COMMON = [
    ("BillingAccountId", pa.string()),
    ("BillingAccountName", pa.string()),
    ("BillingPeriodStart", pa.timestamp("ms")),
    ("BillingPeriodEnd", pa.timestamp("ms")),
    ("SubAccountId", pa.string()),
    ("SubAccountName", pa.string()),
    ("ChargeCategory", pa.string()),
    ("ChargeClass", pa.string()),
    ("ChargeDescription", pa.string()),
    ("ChargePeriodStart", pa.timestamp("ms")),
    ("ChargePeriodEnd", pa.timestamp("ms")),
    ("ConsumedQuantity", pa.float64()),
    ("ConsumedUnit", pa.string()),
    ("PricingQuantity", pa.float64()),
    ("PricingUnit", pa.string()),
    ("BilledCost", pa.float64()),
    ("EffectiveCost", pa.float64()),
    ("InvoiceId", pa.string()),
    ("RegionId", pa.string()),
    ("ResourceId", pa.string()),
    ("ServiceCategory", pa.string()),
    ("ServiceName", pa.string()),
    ("ServiceSubcategory", pa.string()),
    ("SkuId", pa.string()),
]
FOCUS_AWS_SCHEMA = pa.schema(
    [*FOCUS_COMMON, ("x_ServiceCode", pa.string()), ("x_UsageType", pa.string())]
)
FOCUS_AZURE_SCHEMA = pa.schema(
    [
        *FOCUS_COMMON,
        ("x_SkuMeterName", pa.string()),
        ("x_SkuDetails", pa.string()),
        ("x_ResellerId", pa.string()),
        ("x_ResellerName", pa.string()),
        ("x_CustomerId", pa.string()),
        ("x_CustomerName", pa.string()),
    ]
)


def write_azure_delivery(
    table: pa.Table,
    root: Path,
    export: str,
    period: str,
    run_id: str,
    submitted: str,
    fmt: str = "csv",
) -> Path:
    """Azure Cost Management's layout: `<export>/<YYYYMMDD-YYYYMMDD>/<run id>/part_0_0001.csv`
    (or `.parquet`: FocusCost exports offer both formats) and a `manifest.json` naming the run and
    listing its blobs with their sizes (Cost Management exports documentation)."""
    ym = period.replace("-", "")
    last = calendar.monthrange(int(period[:4]), int(period[5:7]))[1]
    run = root / export / f"{ym}01-{ym}{last:02d}" / run_id
    run.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        path = run / "part_0_0001.parquet"
        pq.write_table(table, path, compression="snappy")
        return _azure_manifest(run, path, export, run_id, submitted)
    path = run / "part_0_0001.csv"
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow(
            [
                ""
                if v is None
                else v.strftime("%Y-%m-%dT%H:%M:%SZ")
                if isinstance(v, datetime)
                else v
                for v in (row[c] for c in table.column_names)
            ]
        )
    path.write_text(buf.getvalue(), "utf-8")
    return _azure_manifest(run, path, export, run_id, submitted)


def _azure_manifest(run: Path, path: Path, export: str, run_id: str, submitted: str) -> Path:
    manifest = {
        "manifestVersion": "2024-04-01",
        "exportConfig": {"exportName": export, "type": "FocusCost", "dataVersion": "1.0r2"},
        "runInfo": {"runId": run_id, "submittedTime": submitted},
        "blobs": [
            {
                "blobName": f"{export}/{run.parent.name}/{run_id}/{path.name}",
                "byteCount": path.stat().st_size,
            }
        ],
    }
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
    return path
