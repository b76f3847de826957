"""Billing exports where they live: in S3 (download-then-scan, ETag-keyed cache) and in Athena
(the same SQL text, answered by moto's Athena with the rows DuckDB gives for that text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from computewatch.collectors.base import ApiCallCounter
from computewatch.collectors.exports import queries
from computewatch.collectors.exports.delivery import locate
from computewatch.collectors.exports.duck import DuckScan
from computewatch.collectors.exports.provider import export_handle
from computewatch.collectors.exports.schema import CUR2
from computewatch.config.exports import ExportSource
from computewatch.demo.emulated_aws import EmulatedAws, aws_environment
from computewatch.domain import Window
from computewatch.domain.catalog import Catalog
from tests.helpers import export_fixtures as fx
from tests.helpers.export_totals import totals
from tests.helpers.export_units import upload_fixture

OCTOBER = Window.month("2026-10")
ATHENA_TYPES = {
    "VARCHAR": "varchar",
    "DOUBLE": "double",
    "DATE": "date",
    "BIGINT": "bigint",
    "BOOLEAN": "boolean",
    "INTEGER": "integer",
    "TIMESTAMP": "timestamp",
}


def test_s3_export_is_fetched_once_per_etag(
    aws: EmulatedAws, tmp_path: Path, catalog: Catalog
) -> None:
    s3 = aws.client("s3")
    upload_fixture(s3, "cur2-csv")
    source = ExportSource(
        name="cur", format="cur2", location="s3://cur-bucket/cur", cache_dir=str(tmp_path / "cache")
    )
    with aws_environment(aws.endpoint, "k", "s"):
        counter = ApiCallCounter()
        first = export_handle(source, OCTOBER, catalog, counter).result()
        again = export_handle(source, OCTOBER, catalog, counter).result()
    assert first.error is None and totals(first) == fx.CUR2_EXPECTED == totals(again)
    calls = counter.snapshot()
    assert calls["s3:ListBucket"] == 2
    assert calls["s3:GetObject"] == 2  # data file and manifest, downloaded once: the cache holds
    (f,) = first.periods[0].files
    head = s3.head_object(Bucket="cur-bucket", Key=f"cur/{f['name']}")
    assert f["etag"] == head["ETag"].strip('"')


def athena_answers(aws: EmulatedAws, texts: list[queries.Query]) -> None:
    """Queue, per query, the rows DuckDB returns for the same Trino text over the fixture."""
    delivery = locate(fx.FIXTURES / "cur2-parquet", fx.PERIOD, "cur")
    results = []
    with DuckScan(delivery, CUR2) as scan:
        scan.con.execute(
            "CREATE SCHEMA cur_db; CREATE VIEW cur_db.cur_table AS SELECT * FROM export_rows"
        )
        for q in texts:
            cursor = scan.con.execute(q.duckdb())
            kinds = [
                ATHENA_TYPES.get(str(d[1]).split("(")[0], "varchar") for d in cursor.description
            ]
            names = [str(d[0]) for d in cursor.description]
            rows: list[dict[str, Any]] = [{"Data": [{"VarCharValue": n} for n in names]}]
            for r in cursor.fetchall():
                rows.append({"Data": [{} if v is None else {"VarCharValue": str(v)} for v in r]})
            results.append(
                {
                    "rows": rows,
                    "column_info": [
                        {
                            "Name": n,
                            "Label": n,
                            "Type": k,
                            "Nullable": "UNKNOWN",
                            "CaseSensitive": False,
                            "CatalogName": "hive",
                            "SchemaName": "",
                            "TableName": "",
                            "Precision": 0,
                            "Scale": 0,
                        }
                        for n, k in zip(names, kinds, strict=True)
                    ],
                }
            )
    requests.post(
        f"{aws.endpoint}/moto-api/static/athena/query-results",
        json={"results": results},
        timeout=10,
    ).raise_for_status()


def test_athena_runs_the_same_sql_and_gives_the_same_figures(
    aws: EmulatedAws, catalog: Catalog
) -> None:
    start = "2026-10-01 00:00:00"
    table = '"cur_db"."cur_table"'
    texts = [
        queries.render(n, t, table=table, period_start=start, catalog=catalog)
        for n, t in (
            ("accounts", queries.CUR2_ACCOUNTS),
            ("hours", queries.CUR2_HOURS),
            ("tokens", queries.CUR2_TOKENS),
        )
    ]
    athena_answers(aws, texts)
    source = ExportSource.model_validate(
        {
            "name": "cur",
            "format": "cur2",
            "engine": "athena",
            "billing_account": fx.PAYER,
            "athena": {
                "database": "cur_db",
                "table": "cur_table",
                "workgroup": "primary",
                "output_location": "s3://athena-results/cw/",
            },
        }
    )
    with aws_environment(aws.endpoint, "k", "s"):
        counter = ApiCallCounter()
        read = export_handle(source, OCTOBER, catalog, counter).result()
        athena = aws.client("athena")
        ids = athena.list_query_executions()["QueryExecutionIds"]
        sent = {
            athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids
        }
    assert read.error is None, read.error
    assert totals(read) == fx.CUR2_EXPECTED
    assert sent == {q.text for q in texts}  # exactly the texts DuckDB ran (after transpiling)
    assert counter.snapshot()["athena:StartQueryExecution"] == 3
    assert read.periods[0].delivery_id.startswith("athena-")


def test_athena_cost_guard(aws: EmulatedAws, catalog: Catalog) -> None:
    source = ExportSource.model_validate(
        {
            "name": "cur",
            "format": "cur2",
            "engine": "athena",
            "athena": {
                "database": "cur_db",
                "table": "cur_table",
                "max_bytes_scanned": 1,
                "output_location": "s3://athena-results/cw/",
            },
        }
    )
    with aws_environment(aws.endpoint, "k", "s"):
        read = export_handle(source, OCTOBER, catalog, ApiCallCounter()).result()
    # moto reports no bytes scanned, so nothing is over the limit; an empty result is no zero.
    assert read.error is not None and read.error.code in ("ScanLimitExceeded", "NoDelivery")
