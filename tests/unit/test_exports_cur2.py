"""CUR 2.0 exports read with DuckDB: exact figures on the committed fixtures, provenance, and
bad exports as coverage gaps with a reason (never zeros)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from computewatch.collectors.base import ApiCallCounter, CollectContext
from computewatch.collectors.exports.delivery import sha256_file
from computewatch.collectors.exports.provider import ExportBillingCollector, ExportsProvider
from computewatch.collectors.exports.reader import read_export
from computewatch.collectors.exports.tokens import (
    bedrock_models,
    parse_usage_type,
    tokens_per_unit,
)
from computewatch.config.exports import ExportSettings, ExportSource
from computewatch.demo.billing_exports import cur2_table, write_delivery
from computewatch.domain import CoverageStatus, Method, Metric, Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.window import utc
from tests.helpers import export_fixtures as fx
from tests.helpers.export_totals import totals

OCTOBER = Window.month("2026-10")


def source(location: Path | str, name: str = "cur") -> ExportSource:
    return ExportSource(name=name, format="cur2", location=str(location), billing_account=fx.PAYER)


@pytest.mark.parametrize("folder", ["cur2-parquet", "cur2-csv"])
def test_the_fixture_gives_exact_figures(folder: str, catalog: Catalog) -> None:
    read = read_export(source(fx.FIXTURES / folder), OCTOBER, catalog, "")
    assert read.error is None
    assert totals(read) == fx.CUR2_EXPECTED
    assert sorted(read.accounts) == fx.CUR2_ACCOUNTS
    assert read.accounts[fx.KESTREL].name == "kestrel-ml"
    records = [r for rs in read.records.values() for r in rs]
    assert {r.method for r in records} == {Method.BILLING_EXPORT}
    assert {(r.provider, r.region, r.collector) for r in records} == {
        ("aws", "export:cur", "exports.billing")
    }
    assert len({r.key for r in records}) == len(records)  # one record per key and day


def test_provenance_names_the_delivery_its_files_and_queries(catalog: Catalog) -> None:
    root = fx.FIXTURES / "cur2-parquet"
    (period,) = read_export(source(root), OCTOBER, catalog, "").periods
    assert (period.billing_period, period.delivery_id, period.schema_version) == (
        "2026-10",
        "exec-2026-10-a",
        "2.0",
    )
    (f,) = period.files
    assert f["etag"] == sha256_file(root / str(f["name"]))
    queries = dict(period.queries)
    assert queries.pop("bedrock-models") == bedrock_models().version  # the name table used
    assert set(queries) == {"accounts", "hours", "tokens"}
    assert all(len(digest) == 64 for digest in queries.values())


def test_a_part_of_the_month_counts_only_its_days(catalog: Catalog) -> None:
    window = Window(utc(2026, 10, 2), utc(2026, 10, 3))
    read = read_export(source(fx.FIXTURES / "cur2-parquet"), window, catalog, "")
    got = totals(read)
    assert got[(fx.ATLAS, Metric.ACCELERATOR_HOURS, "H100")] == 8 * 15.0
    assert (fx.KESTREL, Metric.ACCELERATOR_HOURS, "A100") not in got


def test_a_redelivery_replaces_the_period(tmp_path: Path, catalog: Catalog) -> None:
    fx.write_cur2(tmp_path, "parquet", "exec-a")
    first = read_export(source(tmp_path), OCTOBER, catalog, "")
    rows = [r for r in fx.cur2_rows() if r["line_item_usage_account_id"] != fx.ATLAS]
    write_delivery(cur2_table(rows), tmp_path, "cur2-export", fx.PERIOD, execution_id="exec-b")
    second = read_export(source(tmp_path), OCTOBER, catalog, "")
    assert first.periods[0].delivery_id == "exec-a"
    assert second.periods[0].delivery_id == "exec-b"
    assert fx.ATLAS in first.records and fx.ATLAS not in second.records


def _bad(tmp_path: Path, catalog: Catalog) -> tuple[str, str]:
    read = read_export(source(tmp_path), OCTOBER, catalog, "")
    assert read.error is not None and not read.records
    return read.error.code, read.error.message


def test_missing_columns_are_a_gap(tmp_path: Path, catalog: Catalog) -> None:
    table = cur2_table(fx.cur2_rows()).drop_columns(["line_item_usage_amount"])
    write_delivery(table, tmp_path, "cur2-export", fx.PERIOD)
    code, message = _bad(tmp_path, catalog)
    assert code == "ExportMissingColumns" and "line_item_usage_amount" in message


def test_a_truncated_file_is_a_gap(tmp_path: Path, catalog: Catalog) -> None:
    (path,) = fx.write_cur2(tmp_path, "parquet")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert _bad(tmp_path, catalog)[0] == "ExportUnreadable"


def test_a_truncated_gzip_csv_is_a_gap(tmp_path: Path, catalog: Catalog) -> None:
    (path,) = fx.write_cur2(tmp_path, "csv")
    path.write_bytes(path.read_bytes()[:-40])
    assert _bad(tmp_path, catalog)[0] == "ExportUnreadable"


def test_the_wrong_month_is_a_gap(tmp_path: Path, catalog: Catalog) -> None:
    from datetime import datetime

    rows = [{**r, "bill_billing_period_start_date": datetime(2026, 9, 1)} for r in fx.cur2_rows()]
    write_delivery(cur2_table(rows), tmp_path, "cur2-export", fx.PERIOD)
    code, message = _bad(tmp_path, catalog)
    assert code == "ExportWrongPeriod" and "2026-09-01" in message


def test_no_delivery_for_the_month_is_a_gap(catalog: Catalog) -> None:
    read = read_export(source(fx.FIXTURES / "cur2-parquet"), Window.month("2026-11"), catalog, "")
    assert read.error is not None and read.error.code == "NoDelivery"


def test_an_unknown_pricing_unit_is_refused_not_guessed(tmp_path: Path, catalog: Catalog) -> None:
    rows = [fx.bedrock(fx.HALCYON, 3, "USE1-NovaPro-input-tokens", 5.0, "10K tokens")]
    write_delivery(cur2_table(rows), tmp_path, "cur2-export", fx.PERIOD)
    code, message = _bad(tmp_path, catalog)
    assert code == "UnknownPricingUnit" and "10K tokens" in message


@pytest.mark.parametrize(
    ("usage_type", "expected"),
    [
        ("USE1-Claude3.5Sonnet-input-tokens", ("Claude3.5Sonnet", Metric.MODEL_INPUT_TOKENS)),
        ("EUC1-Llama3-70B-output-tokens", ("Llama3-70B", Metric.MODEL_OUTPUT_TOKENS)),
        ("USW2-NovaPro-batch-output-tokens", ("NovaPro", Metric.MODEL_OUTPUT_TOKENS)),
        (
            "USE1-Claude4Opus-cross-region-global-cache-read-input-token-count",
            ("Claude4Opus", Metric.MODEL_CACHE_READ_INPUT_TOKENS),
        ),
        (
            "Claude3Haiku-cache-write-input-token-count",
            ("Claude3Haiku", Metric.MODEL_CACHE_WRITE_INPUT_TOKENS),
        ),
        ("USE1-MP:USE1_OutputTokenCount-Units", ("marketplace:prod-x", Metric.MODEL_OUTPUT_TOKENS)),
        ("USE1-ModelUnits-hours", None),
    ],
)
def test_bedrock_usage_types(usage_type: str, expected: object) -> None:
    assert parse_usage_type(usage_type, "prod-x") == expected


def test_pricing_units() -> None:
    assert tokens_per_unit("1K tokens") == 1000.0
    assert tokens_per_unit("1M  Tokens") == 1e6
    assert tokens_per_unit("10K tokens") is None


def test_the_provider_makes_a_unit_per_account_and_a_gap_for_a_bad_export(
    tmp_path: Path, catalog: Catalog
) -> None:
    shutil.copytree(fx.FIXTURES / "cur2-parquet", tmp_path / "good")
    (tmp_path / "bad").mkdir()
    settings = ExportSettings(
        sources=[source("good", "good"), source("bad", "bad")], base_dir=str(tmp_path)
    )
    provider = ExportsProvider(settings, ApiCallCounter())
    ctx = CollectContext(OCTOBER, utc(2026, 11, 5), catalog)
    found = provider.discover(ctx, ["exports.billing"])
    assert sorted(t.account.account_id for t in found.targets) == fx.CUR2_ACCOUNTS
    assert {(t.account.provider, t.region) for t in found.targets} == {("aws", "export:good")}
    (gap,) = found.failures
    assert (gap.provider, gap.account_id, gap.region, gap.status, gap.error_code) == (
        "aws",
        fx.PAYER,
        "export:bad",
        CoverageStatus.FAILED,
        "NoDelivery",
    )
    atlas = next(t for t in found.targets if t.account.account_id == fx.ATLAS)
    records = ExportBillingCollector().collect(atlas, ctx)
    assert sum(r.quantity for r in records if r.metric is Metric.ACCELERATOR_HOURS) == 280.0


def test_parquet_fixture_is_small_and_real_typed() -> None:
    (path,) = (fx.FIXTURES / "cur2-parquet").rglob("*.parquet")
    schema = pq.read_schema(path)
    assert str(schema.field("line_item_usage_start_date").type) == "timestamp[ms]"
    assert str(schema.field("resource_tags").type).startswith("map<string, string")
    assert path.stat().st_size < 64_000
