"""Exports in Azure Blob Storage / ADLS Gen2: download-then-scan with the ETag-keyed cache.

Cost Management delivers an export run as `<container>/<directory>/<export name>/
<YYYYMMDD-YYYYMMDD>/<run id>/` with the run's `manifest.json` (its `runInfo.submittedTime` and
`blobs` list) next to the `part_*` CSV or Parquet files; every run of a month stays in the
container. Only the manifests of the month's runs are read to pick the latest run, then only that
run's files are downloaded (cached by ETag, as for S3). Data Lake Gen2 accounts serve the same Blob
API, so one client reads both.

Credentials never come from the config file: an Entra ID credential from azure-identity (the
default chain, a service principal whose secret is in the environment, workload or managed
identity), needing only the data action below (built-in role Storage Blob Data Reader), or a
read-only SAS token from the environment variable the config names. Neither is logged: errors
carry the storage service's error code and the location, never the request's query string.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit

from azure.core.credentials import AzureSasCredential
from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError

from computewatch.collectors.base import ApiCallCounter
from computewatch.collectors.exports.remote import RemoteFetcher, in_period
from computewatch.config.exports import AzureBlobSettings, BlobLocation, ExportSource
from computewatch.domain.errors import SourceError

SERVICE = "blob"
# The one RBAC data action listing and reading blobs needs (Storage Blob Data Reader grants it).
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
# Blob REST operation (as counted) -> the data action it needs.
BLOB_CALLS = {"ListBlobs": BLOB_READ, "GetBlob": BLOB_READ}
STORAGE_SCOPE = "https://storage.azure.com/.default"  # what the SDK asks azure-identity for
# Storage endpoint suffix -> the cloud whose Entra ID authority signs in for it.
SOVEREIGN = {".core.chinacloudapi.cn": "china", ".core.usgovcloudapi.net": "usgov"}
RANGE = re.compile(r"^\d{8}-\d{8}$")  # an Azure export's date-range folder


def blob_credential(settings: AzureBlobSettings | None, account_url: str = "") -> Any:
    """The configured credential (secrets read from the environment here, nowhere else), signed
    in at the authority of the cloud the storage endpoint belongs to."""
    cfg = settings or AzureBlobSettings()
    if cfg.sas_token_env:
        sas = os.environ.get(cfg.sas_token_env, "")
        if not sas:
            raise SourceError(
                "identity", "SecretMissing", f"environment variable {cfg.sas_token_env} is not set"
            )
        return AzureSasCredential(sas.lstrip("?"))
    from computewatch.collectors.azure.common import CLOUDS
    from computewatch.collectors.azure.provider import build_credential
    from computewatch.config.azure import AzureSettings

    cloud = CLOUDS["public"]
    for suffix, name in SOVEREIGN.items():
        if urlsplit(account_url).netloc.endswith(suffix):
            cloud = CLOUDS[name]
    settings_ = AzureSettings(credential=cfg.credential)
    return build_credential(settings_, cloud, None)  # type: ignore[arg-type]


def _fail(exc: AzureError, what: str) -> SourceError:
    """A storage failure as a coverage reason: the service's error code, never the URL's query
    (which would carry a SAS token)."""
    if isinstance(exc, HttpResponseError):
        code = str(getattr(exc, "error_code", None) or f"HTTP{exc.status_code}")
        hint = f" (needs {BLOB_READ})" if exc.status_code == 403 else ""
        return SourceError(SERVICE, code, f"{what}: HTTP {exc.status_code} {code}{hint}")
    if isinstance(exc, ServiceRequestError):
        return SourceError(SERVICE, "ServiceRequestError", f"{what}: cannot connect")
    return SourceError(SERVICE, type(exc).__name__, f"{what}: {type(exc).__name__}")


class BlobFetcher(RemoteFetcher):
    """Fetch one billing period of an export in Blob Storage into a local mirror."""

    service = SERVICE

    def __init__(
        self,
        source: ExportSource,
        counter: ApiCallCounter,
        credential: Any = None,
        cache_dir: Path | None = None,
    ) -> None:
        loc = source.blob
        if loc is None:
            raise ValueError(f"{source.location} is not an Azure Blob location")
        self.loc: BlobLocation = loc
        super().__init__(source, f"azblob/{loc.account}/{loc.container}", cache_dir)
        self.prefix = loc.prefix
        self.where = f"{loc.account_url}/{loc.container}/{loc.prefix}".rstrip("/")
        self.counter = counter
        self._credential = credential
        self._client: Any = None
        self._modified: dict[str, str] = {}

    def client(self) -> Any:
        if self._client is None:
            from azure.storage.blob import ContainerClient

            cred = self._credential or blob_credential(self.source.azure_blob, self.loc.account_url)
            kwargs: dict[str, Any] = {"retry_total": 3}
            bundle = self.source.azure_blob.ca_bundle if self.source.azure_blob else None
            if bundle:
                kwargs["connection_verify"] = bundle
            self._client = ContainerClient(
                self.loc.account_url, self.loc.container, credential=cred, **kwargs
            )
        return self._client

    def list_period(self, period: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        start = f"{self.prefix}/" if self.prefix else None
        try:
            pages = self.client().list_blobs(name_starts_with=start).by_page()
            for page in pages:
                self.counter.add(SERVICE, "ListBlobs")
                for blob in page:
                    if in_period(str(blob.name), period):
                        name = str(blob.name)
                        found.append((name, str(blob.etag).strip('"')))
                        self._modified[name] = blob.last_modified.isoformat()
        except AzureError as exc:
            raise _fail(exc, f"List Blobs on {self.where}") from None
        return self._latest_run(found)

    def download(self, key: str, etag: str, out: IO[bytes]) -> None:
        self.counter.add(SERVICE, "GetBlob")
        try:
            stream = self.client().download_blob(key, etag=etag, match_condition=_if_match())
            stream.readinto(out)
        except AzureError as exc:
            raise _fail(exc, f"Get Blob {self.loc.container}/{key}") from None

    def _latest_run(self, objects: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Azure layout: only the latest run's blobs (by its manifest's submittedTime, else the
        newest blob); any other layout: every object of the period."""
        runs: dict[str, list[tuple[str, str]]] = {}
        rest: list[tuple[str, str]] = []
        for key, etag in objects:
            parent = PurePosixPath(key).parent
            if RANGE.match(parent.parent.name):
                runs.setdefault(str(parent), []).append((key, etag))
            else:
                rest.append((key, etag))
        if len(runs) < 2:
            return objects

        def submitted(run: str) -> tuple[str, str]:
            newest = max(self._modified.get(k, "") for k, _ in runs[run])
            for key, etag in runs[run]:
                if PurePosixPath(key).name == "manifest.json":
                    try:
                        doc = json.loads(self.cached(key, etag).read_text("utf-8"))
                        return (str(doc["runInfo"]["submittedTime"]), newest)
                    except (ValueError, KeyError, TypeError):
                        break
            return ("", newest)

        return [*runs[max(runs, key=submitted)], *rest]


def _if_match() -> Any:
    from azure.core import MatchConditions

    return MatchConditions.IfNotModified
