"""The `exports:` config section: validated at load, relative folders relative to the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from computewatch.config.loader import load_config
from computewatch.domain.errors import ConfigError


def write(tmp_path: Path, exports: str) -> Path:
    path = tmp_path / "cw.yaml"
    path.write_text(f"version: 1\nreporting_entity: {{name: X}}\nexports:\n{exports}", "utf-8")
    return path


def test_relative_locations_are_relative_to_the_config_file(tmp_path: Path) -> None:
    cfg = load_config(
        write(tmp_path, "  sources:\n    - {name: cur, format: cur2, location: cur}\n")
    )
    assert cfg.app.exports is not None
    assert cfg.app.exports.base_dir == str(tmp_path.resolve())


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{name: c, format: cur2, cloud: azure, location: x}", "CUR 2.0 export is an AWS export"),
        ("{name: c, format: cur2, engine: athena}", "engine athena needs an athena: section"),
        ("{name: c, format: focus}", "engine duckdb needs a location"),
        ("{name: c, format: cur3, location: x}", "format"),
        (
            "{name: c, format: cur2, engine: athena, athena: {database: 'd; DROP', table: t,"
            " output_location: 's3://o/'}}",
            "database",
        ),
    ],
)
def test_bad_sources_are_refused_with_the_reason(tmp_path: Path, source: str, reason: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, f"  sources:\n    - {source}\n"))
    assert reason in str(err.value)


@pytest.mark.parametrize(
    ("location", "account_url", "container", "prefix"),
    [
        (
            "azblob://partnerexports/cost/focus",
            "https://partnerexports.blob.core.windows.net",
            "cost",
            "focus",
        ),
        (
            "abfss://cost@partnerexports.dfs.core.windows.net/focus/monthly",
            "https://partnerexports.blob.core.windows.net",
            "cost",
            "focus/monthly",
        ),
        (
            "https://partnerexports.blob.core.chinacloudapi.cn/cost/",
            "https://partnerexports.blob.core.chinacloudapi.cn",
            "cost",
            "",
        ),
        (
            "http://127.0.0.1:10000/devstoreaccount1/cost/focus",
            "http://127.0.0.1:10000/devstoreaccount1",
            "cost",
            "focus",
        ),
    ],
)
def test_azure_blob_locations(
    tmp_path: Path, location: str, account_url: str, container: str, prefix: str
) -> None:
    cfg = load_config(
        write(
            tmp_path,
            f"  sources:\n    - {{name: f, format: focus, cloud: azure, location: '{location}'}}\n",
        )
    )
    assert cfg.app.exports is not None
    blob = cfg.app.exports.sources[0].blob
    assert blob is not None
    assert (blob.account_url, blob.container, blob.prefix) == (account_url, container, prefix)


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("azblob://partnerexports", "container '' is not a valid container name"),
        ("azblob://Partner_Exports/cost", "storage account 'Partner_Exports'"),
        ("abfss://partnerexports.dfs.core.windows.net/x", "expected abfss://container@account"),
        ("http://partnerexports.blob.core.windows.net/cost", "plain http is accepted only"),
        ("https://example.com/account/Bad_Container", "container 'Bad_Container'"),
    ],
)
def test_bad_azure_blob_locations_name_the_file_line_and_field(
    tmp_path: Path, location: str, reason: str
) -> None:
    path = write(
        tmp_path,
        "  sources:\n    - name: f\n      format: focus\n      cloud: azure\n"
        f"      location: '{location}'\n",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert reason in text
    assert "location" in text and "cw.yaml" in text and ":8" in text  # file:line of the field


def test_a_blob_credential_takes_a_sas_or_an_identity_not_both(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(
            write(
                tmp_path,
                "  sources:\n    - {name: f, format: focus, cloud: azure, location: "
                "'azblob://acct1/c01', azure_blob: {sas_token_env: SAS, credential: "
                "{kind: managed_identity}}}\n",
            )
        )
    assert "either sas_token_env or a credential" in str(err.value)


def test_blob_credentials_come_from_the_environment_at_the_endpoints_cloud(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from computewatch.collectors.exports.azblob import blob_credential
    from computewatch.config.exports import AzureBlobSettings
    from computewatch.domain.errors import SourceError

    settings = AzureBlobSettings.model_validate(
        {
            "credential": {
                "kind": "service_principal",
                "tenant_id": "00000000-0000-4000-8000-000000000001",
                "client_id": "c",
                "client_secret_env": "CW_BLOB_SECRET",
            }
        }
    )
    monkeypatch.delenv("CW_BLOB_SECRET", raising=False)
    with pytest.raises(SourceError) as err:
        blob_credential(settings, "https://acct1.blob.core.chinacloudapi.cn")
    assert err.value.code == "SecretMissing" and "CW_BLOB_SECRET" in err.value.message
    monkeypatch.setenv("CW_BLOB_SECRET", "not-logged")
    china = blob_credential(settings, "https://acct1.blob.core.chinacloudapi.cn")
    public = blob_credential(settings, "https://acct1.blob.core.windows.net")
    assert china._authority == "https://login.chinacloudapi.cn"
    assert public._authority == "https://login.microsoftonline.com"
