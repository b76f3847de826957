"""Azure cost exports read straight from Blob Storage: the real azure-storage-blob SDK against
Azurite (HTTPS, OAuth-checked), in Cost Management's layout `<container>/<directory>/<export>/
<YYYYMMDD-YYYYMMDD>/<run id>/` with the run's manifest; download-then-scan with the ETag cache."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from computewatch.collectors.base import ApiCallCounter
from computewatch.collectors.exports.azblob import STORAGE_SCOPE, BlobFetcher
from computewatch.collectors.exports.provider import export_handle
from computewatch.collectors.exports.reader import read_export
from computewatch.config.exports import ExportSource
from computewatch.domain import Window
from computewatch.domain.catalog import Catalog
from tests.helpers import export_fixtures as fx
from tests.helpers.azurite import Azurite, EmulatorCredential
from tests.helpers.export_totals import totals

OCTOBER = Window.month(fx.PERIOD)
DIRECTORY = "partner/cost"


def source(azurite: Azurite, container: str, **blob: object) -> ExportSource:
    return ExportSource.model_validate(
        {
            "name": "focus-blob",
            "format": "focus",
            "cloud": "azure",
            "location": f"{azurite.url}/{container}/{DIRECTORY}",
            "azure_blob": {"ca_bundle": azurite.ca_bundle, **blob},
        }
    )


def container_with(azurite: Azurite, folder: str) -> str:
    name = f"exports-{uuid.uuid4().hex[:12]}"
    azurite.upload(name, DIRECTORY, fx.FIXTURES / folder)
    return name


@pytest.mark.parametrize("folder", ["focus-azure", "focus-azure-parquet"])
def test_focuscost_in_blob_storage_gives_the_fixture_figures_and_is_fetched_once_per_etag(
    azurite: Azurite, tmp_path: Path, catalog: Catalog, folder: str
) -> None:
    container = container_with(azurite, folder)
    src = source(azurite, container)
    cred = EmulatorCredential()
    counter = ApiCallCounter()
    first = read_export(
        src, OCTOBER, catalog, "", BlobFetcher(src, counter, cred, tmp_path), counter
    )
    again = read_export(
        src, OCTOBER, catalog, "", BlobFetcher(src, counter, cred, tmp_path), counter
    )
    assert first.error is None, first.error
    assert totals(first) == fx.FOCUS_AZURE_EXPECTED == totals(again)
    assert set(cred.scopes) == {STORAGE_SCOPE}  # an Entra ID token for Storage, nothing else
    calls = counter.snapshot()
    assert calls["blob:ListBlobs"] == 2
    assert calls["blob:GetBlob"] == 2  # the part file and the manifest, once: the cache holds
    (period,) = first.periods
    assert period.delivery_id == "run-0001"
    assert period.manifest.endswith("20261001-20261031/run-0001/manifest.json")
    (f,) = period.files
    blob = (
        azurite.service()
        .get_container_client(container)
        .get_blob_client(f"{DIRECTORY}/{f['name']}")
        .get_blob_properties()
    )
    assert f["etag"] == blob.etag.strip('"')  # the storage ETag is the file's provenance


def test_only_the_latest_run_of_the_month_is_downloaded(
    azurite: Azurite, tmp_path: Path, catalog: Catalog
) -> None:
    """Every daily run stays in the container; the latest (manifest submittedTime) is the
    delivery, and the older runs' data files are never fetched."""
    container = container_with(azurite, "focus-azure")
    later = tmp_path / "later"
    rows = [r for r in fx.focus_azure_rows() if r["SubAccountName"] != "fabrikam-lab"]
    fx.write_focus_azure(later, "run-0002", "2026-11-03T04:00:00Z", rows=rows)
    azurite.upload(container, DIRECTORY, later)
    src = source(azurite, container)
    counter = ApiCallCounter()
    read = read_export(
        src,
        OCTOBER,
        catalog,
        "",
        BlobFetcher(src, counter, EmulatorCredential(), tmp_path / "cache"),
        counter,
    )
    assert read.error is None, read.error
    assert read.periods[0].delivery_id == "run-0002"
    assert fx.SUB_NEW not in read.records  # run-0001's figures for it are not added
    assert counter.snapshot()["blob:GetBlob"] == 3  # two manifests, one data file


def test_a_sas_token_from_the_environment_through_the_provider(
    azurite: Azurite, tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = container_with(azurite, "focus-azure")
    monkeypatch.setenv("CW_TEST_EXPORT_SAS", azurite.sas(container))
    src = source(azurite, container, sas_token_env="CW_TEST_EXPORT_SAS")
    read = export_handle(src, OCTOBER, catalog, ApiCallCounter(), cache_dir=tmp_path).result()
    assert read.error is None, read.error
    assert totals(read) == fx.FOCUS_AZURE_EXPECTED


def test_refused_access_is_a_gap_naming_the_role_and_never_the_secret(
    azurite: Azurite, tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = container_with(azurite, "focus-azure")
    sas = azurite.sas(container, list_=False)  # may read blobs, may not list them
    monkeypatch.setenv("CW_TEST_EXPORT_SAS", sas)
    src = source(azurite, container, sas_token_env="CW_TEST_EXPORT_SAS")
    read = export_handle(src, OCTOBER, catalog, ApiCallCounter(), cache_dir=tmp_path).result()
    assert read.error is not None and read.error.code.startswith("Authorization")
    assert "containers/blobs/read" in read.error.message
    assert "sig=" not in str(read.error) and sas.split("sig=")[-1] not in str(read.error)
    assert read.records == {}  # a gap, never zeros

    wrong_audience = EmulatorCredential(audience="https://management.azure.com")
    read = read_export(
        source(azurite, container),
        OCTOBER,
        catalog,
        "",
        BlobFetcher(source(azurite, container), ApiCallCounter(), wrong_audience, tmp_path),
    )
    assert read.error is not None and read.error.service == "blob"


def test_a_missing_sas_variable_is_named(
    azurite: Azurite, tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CW_TEST_EXPORT_SAS", raising=False)
    src = source(azurite, "exports-none", sas_token_env="CW_TEST_EXPORT_SAS")
    read = export_handle(src, OCTOBER, catalog, ApiCallCounter(), cache_dir=tmp_path).result()
    assert read.error is not None and read.error.code == "SecretMissing"
    assert "CW_TEST_EXPORT_SAS" in read.error.message


def test_an_empty_month_in_the_container_is_no_delivery(
    azurite: Azurite, tmp_path: Path, catalog: Catalog
) -> None:
    container = container_with(azurite, "focus-azure")
    src = source(azurite, container)
    read = read_export(
        src,
        Window.month("2026-09"),
        catalog,
        "",
        BlobFetcher(src, ApiCallCounter(), EmulatorCredential(), tmp_path),
    )
    assert read.error is not None and read.error.code == "NoDelivery"
