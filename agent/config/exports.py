"""The `exports:` section: billing exports read as a source (CUR 2.0, FOCUS 1.0-1.2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from computewatch.config.azure import AzureCredential
from computewatch.config.base import EnvVarName, _Strict

_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
# Host suffixes of the Blob and Data Lake (dfs) endpoints of the public and sovereign clouds.
_STORAGE_HOST = re.compile(r"^([a-z0-9]{3,24})\.(blob|dfs)\.(core\.\S+)$")
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
BLOB_SCHEMES = ("azblob://", "abfss://", "https://", "http://")


@dataclass(frozen=True, slots=True)
class BlobLocation:
    """Where an export lives in Azure Blob Storage / ADLS Gen2 (read through the Blob API,
    which Data Lake accounts also serve)."""

    account_url: str  # https://<account>.blob.core.windows.net, or an emulator's path-style URL
    account: str
    container: str
    prefix: str  # the export's folder inside the container ("" for the container's root)


def _parts(account: str, path: str, location: str) -> tuple[str, str]:
    container, _, prefix = path.strip("/").partition("/")
    if not _ACCOUNT.match(account):
        raise ValueError(
            f"{location}: storage account {account!r} is not 3-24 lower-case letters/digits"
        )
    if not _CONTAINER.match(container):
        raise ValueError(f"{location}: container {container!r} is not a valid container name")
    return container, prefix.strip("/")


def blob_location(location: str) -> BlobLocation | None:
    """The Blob location `location` names, None when it is not an Azure storage URL; ValueError
    (naming the part) when it is one but malformed. Forms: `azblob://account/container/path`,
    `abfss://container@account.dfs.core.windows.net/path`,
    `https://account.blob.core.windows.net/container/path` (or `.dfs.`, sovereign suffixes), and
    path-style `http(s)://127.0.0.1:10000/account/container/path` for an emulator (plain http
    only on the loopback)."""
    if not location.startswith(BLOB_SCHEMES):
        return None
    if location.startswith("azblob://"):
        account, _, path = location.removeprefix("azblob://").partition("/")
        container, prefix = _parts(account, path, location)
        return BlobLocation(f"https://{account}.blob.core.windows.net", account, container, prefix)
    url = urlsplit(location)
    host = (url.hostname or "").lower()
    if url.scheme == "abfss":
        found = _STORAGE_HOST.match(host)
        if not found or "@" not in url.netloc:
            raise ValueError(
                f"{location}: expected abfss://container@account.dfs.core.windows.net/path"
            )
        account, suffix = found.group(1), found.group(3)
        container, prefix = _parts(account, url.netloc.split("@", 1)[0] + url.path, location)
        return BlobLocation(f"https://{account}.blob.{suffix}", account, container, prefix)
    found = _STORAGE_HOST.match(host)
    if found and url.scheme == "https":
        account, suffix = found.group(1), found.group(3)
        container, prefix = _parts(account, url.path, location)
        return BlobLocation(f"https://{account}.blob.{suffix}", account, container, prefix)
    netloc = url.netloc.rsplit("@", 1)[-1]
    if url.scheme == "http" and not netloc.startswith(_LOOPBACK):
        raise ValueError(f"{location}: plain http is accepted only for an emulator on the loopback")
    if found:
        raise ValueError(f"{location}: Azure storage endpoints are https only")
    account, _, path = url.path.strip("/").partition("/")
    container, prefix = _parts(account, path, location)
    return BlobLocation(f"{url.scheme}://{netloc}/{account}", account, container, prefix)


class AzureBlobSettings(_Strict):
    """How to read an export from Azure Blob Storage / ADLS Gen2: an Entra ID credential
    (role Storage Blob Data Reader on the container) or a read-only SAS from the environment."""

    credential: AzureCredential = AzureCredential()
    sas_token_env: EnvVarName | None = Field(
        default=None, description="environment variable holding a SAS token (read + list)"
    )
    ca_bundle: str | None = Field(
        default=None, description="PEM file of CA certificates trusted for the storage endpoint"
    )

    @model_validator(mode="after")
    def _one_way(self) -> AzureBlobSettings:
        if self.sas_token_env and self.credential != AzureCredential():
            raise ValueError("give either sas_token_env or a credential, not both")
        return self


class AthenaSettings(_Strict):
    """Run the same query text in Amazon Athena, in the payer account (the data stays there)."""

    database: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    table: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    workgroup: str = Field(default="primary", pattern=r"^[A-Za-z0-9._-]+$")
    output_location: str = Field(pattern=r"^s3://.+", description="s3:// folder for results")
    region: str = "us-east-1"
    max_bytes_scanned: int | None = Field(
        default=None, gt=0, description="refuse a query that scanned more (cost guard)"
    )


class ExportSource(_Strict):
    """One export: where its files are and what it is.

    `location` is a local folder, `s3://bucket/prefix`, or an Azure Blob / ADLS Gen2 URL (see
    `blob_location`) holding the export (CUR 2.0 and FOCUS deliveries keep one folder per billing
    period, `BILLING_PERIOD=YYYY-MM`, and a manifest; Azure cost exports one folder per date
    range and run, `<export>/<YYYYMMDD-YYYYMMDD>/<run id>/`, with `manifest.json`).
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    format: Literal["cur2", "focus"]
    cloud: Literal["aws", "azure"] = "aws"
    location: str = ""
    billing_account: str = Field(
        default="", description="payer account / billing account id: the unit a failed read names"
    )
    engine: Literal["duckdb", "athena"] = "duckdb"
    athena: AthenaSettings | None = None
    cache_dir: str | None = Field(
        default=None, description="local cache of downloaded objects (default: a user cache dir)"
    )
    azure_blob: AzureBlobSettings | None = Field(
        default=None, description="credential for an Azure Blob location (default: azure-identity)"
    )

    @field_validator("location")
    @classmethod
    def _location_form(cls, value: str) -> str:
        blob_location(value)  # raises on a malformed Azure storage URL
        return value

    @property
    def blob(self) -> BlobLocation | None:
        return blob_location(self.location)

    @model_validator(mode="after")
    def _consistent(self) -> ExportSource:
        if self.format == "cur2" and self.cloud != "aws":
            raise ValueError("a CUR 2.0 export is an AWS export (cloud: aws)")
        if self.engine == "athena" and self.athena is None:
            raise ValueError("engine athena needs an athena: section")
        if self.engine == "duckdb" and not self.location:
            raise ValueError(
                "engine duckdb needs a location (folder, s3://bucket/prefix or azblob://account/"
                "container/path)"
            )
        if self.azure_blob is not None and self.blob is None:
            raise ValueError("azure_blob applies to an Azure Blob location only")
        return self


class ExportSettings(_Strict):
    sources: list[ExportSource] = Field(min_length=1)
    # Where relative local locations are resolved (set by the loader to the config's folder).
    base_dir: str = ""

    @model_validator(mode="after")
    def _unique(self) -> ExportSettings:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError("two exports share a name")
        return self
