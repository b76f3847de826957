"""FOCUS 1.0-1.2 exports (AWS FOCUS_1_2_AWS Parquet, Azure FocusCost CSV with CSP columns):
exact figures on the committed fixtures, the Azure OpenAI meter table, schema versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from computewatch.collectors.exports.focus import UNKNOWN_MODEL, azure_meters, normalise
from computewatch.collectors.exports.reader import read_export
from computewatch.collectors.exports.schema import FOCUS, detect_version
from computewatch.config.exports import ExportSource
from computewatch.demo.billing_exports import FOCUS_AZURE_SCHEMA, cur2_table, write_azure_delivery
from computewatch.domain import Metric, Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import SourceError
from tests.helpers import export_fixtures as fx
from tests.helpers.export_totals import totals

OCTOBER = Window.month("2026-10")


def focus(location: Path, cloud: str) -> ExportSource:
    return ExportSource(name="focus", format="focus", cloud=cloud, location=str(location))  # type: ignore[arg-type]


def test_aws_focus_gives_exact_figures(catalog: Catalog) -> None:
    read = read_export(focus(fx.FIXTURES / "focus-aws", "aws"), OCTOBER, catalog, "")
    assert read.error is None
    assert totals(read) == fx.FOCUS_AWS_EXPECTED
    (period,) = read.periods
    assert (period.schema_version, period.delivery_id) == ("1.2", "exec-focus-2026-10-a")


def test_azure_focuscost_gives_exact_figures_and_names_reseller_and_customer(
    catalog: Catalog,
) -> None:
    read = read_export(focus(fx.FIXTURES / "focus-azure", "azure"), OCTOBER, catalog, "")
    assert read.error is None
    assert totals(read) == fx.FOCUS_AZURE_EXPECTED
    assert {r.provider for rs in read.records.values() for r in rs} == {"azure"}
    seen = read.accounts[fx.SUB_NEW]
    assert (seen.name, seen.reseller_name, seen.customer_id, seen.customer_name) == (
        "fabrikam-lab",
        fx.RESELLER[1],
        *fx.CUSTOMERS[fx.SUB_NEW],
    )
    (period,) = read.periods
    assert period.delivery_id == "run-0001"
    assert dict(period.queries)["azure-openai-meters"] == azure_meters().version


def test_the_latest_azure_run_is_the_delivery(tmp_path: Path, catalog: Catalog) -> None:
    fx.write_focus_azure(tmp_path, "run-0001", "2026-11-02T04:00:00Z")
    rows = [r for r in fx.focus_azure_rows() if "H100" not in str(r["x_SkuDetails"])]
    write_azure_delivery(
        cur2_table(rows, FOCUS_AZURE_SCHEMA),
        tmp_path,
        "focuscost",
        fx.PERIOD,
        "run-0002",
        "2026-11-03T04:00:00Z",
    )
    read = read_export(focus(tmp_path, "azure"), OCTOBER, catalog, "")
    assert read.periods[0].delivery_id == "run-0002"
    assert (fx.SUB_GPU, Metric.ACCELERATOR_HOURS, "H100") not in totals(read)


def test_the_meter_table_maps_every_generation_and_keeps_unknown_meters() -> None:
    table = azure_meters()
    assert table.lookup("GPT-4o-0806 Inp Glbl Tokens") == ("gpt-4o", Metric.MODEL_INPUT_TOKENS)
    assert table.lookup("gpt 4o 0513 output global tokens") == (
        "gpt-4o",
        Metric.MODEL_OUTPUT_TOKENS,
    )
    assert table.lookup("gpt 4.1 cchd inp glbl Tokens") == (
        "gpt-4.1",
        Metric.MODEL_CACHE_READ_INPUT_TOKENS,
    )
    model, metric = table.lookup("phi-5 Outp regional Tokens")
    assert model == f"{UNKNOWN_MODEL} (phi-5 Outp regional Tokens)"
    assert metric is Metric.MODEL_OUTPUT_TOKENS
    assert table.version and len(table.meters) == len({normalise(m) for m in table.meters})


def test_focus_versions_are_told_apart_and_an_unknown_one_is_refused() -> None:
    base = [
        "BillingAccountId",
        "SubAccountId",
        "SubAccountName",
        "ChargeCategory",
        "ChargePeriodStart",
        "ConsumedQuantity",
        "ConsumedUnit",
        "ServiceName",
        "BillingPeriodStart",
    ]
    assert detect_version(FOCUS, base, "x") == "1.0"
    assert detect_version(FOCUS, [*base, "ServiceSubcategory"], "x") == "1.1"
    assert detect_version(FOCUS, [*base, "ServiceSubcategory", "InvoiceId"], "x") == "1.2"
    # FOCUS 1.0-preview named the quantity UsageQuantity: not a version this reader knows.
    preview = [c for c in base if not c.startswith("Consumed")] + ["UsageQuantity", "UsageUnit"]
    with pytest.raises(SourceError) as err:
        detect_version(FOCUS, preview, "x")
    assert err.value.code == "UnknownSchemaVersion" and "ConsumedQuantity" in err.value.message


def test_a_cur_folder_read_as_focus_is_a_gap(catalog: Catalog) -> None:
    read = read_export(focus(fx.FIXTURES / "cur2-parquet", "aws"), OCTOBER, catalog, "")
    assert read.error is not None and read.error.code == "ExportMissingColumns"


def test_fine_tuning_meters_are_training_in_tokens_or_hours() -> None:
    from computewatch.collectors.exports.focus import hours_per_unit

    table = azure_meters()
    assert table.lookup("gpt-4o-mini-0718 Ft Trng Tokens") == (
        "gpt-4o-mini",
        Metric.FINE_TUNING_TRAINING_TOKENS,
    )
    model, metric = table.lookup("gpt-4.5 FT Training Tokens")  # not listed: still training
    assert (model, metric) == (
        "unknown model (gpt-4.5 FT Training Tokens)",
        Metric.FINE_TUNING_TRAINING_TOKENS,
    )
    assert [hours_per_unit(u) for u in ("1 Hour", "10 Hours", "Hours", "1M", "1 GB/Month")] == [
        1.0,
        10.0,
        1.0,
        None,
        None,
    ]


def test_a_run_short_of_its_manifest_is_a_gap(tmp_path: Path, catalog: Catalog) -> None:
    """The run's manifest lists its blobs with byte counts: a file cut short or missing (a copy
    interrupted, a run still being written) is a gap, never a smaller month."""
    import shutil

    shutil.copytree(fx.FIXTURES / "focus-azure", tmp_path / "focus")
    (part,) = (tmp_path / "focus").rglob("part_0_0001.csv")
    part.write_bytes(part.read_bytes()[:-200])
    read = read_export(focus(tmp_path / "focus", "azure"), OCTOBER, catalog, "")
    assert read.error is not None and read.error.code == "TruncatedFile"
    assert read.records == {}
    part.unlink()
    read = read_export(focus(tmp_path / "focus", "azure"), OCTOBER, catalog, "")
    assert read.error is not None and read.error.code in ("MissingFile", "NoDelivery")
