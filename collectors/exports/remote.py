"""Exports in object storage: download-then-scan, with a local cache keyed by ETag.

DuckDB's own S3 and Azure support are extensions downloaded at first use, which fails on machines
without internet (and in CI). Here the store's SDK lists the billing period's objects, downloads
each object whose ETag is not in the cache yet, and DuckDB scans the local copies. A re-delivered
file has a new ETag, so it is fetched again; an unchanged one never is. `RemoteFetcher` holds the
cache and the mirror; `S3Fetcher` (boto3, the standard credential chain, `AWS_ENDPOINT_URL`
honoured) and `BlobFetcher` (collectors/exports/azblob.py) list and download. Calls are counted
as the IAM / RBAC actions they need.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import IO, Any

import platformdirs

from computewatch.collectors.aws.common import client_config, new_session, translate_errors
from computewatch.collectors.base import ApiCallCounter
from computewatch.collectors.exports.delivery import Delivery, locate, period_folder
from computewatch.config.exports import ExportSource
from computewatch.domain.errors import SourceError

# botocore operation -> the IAM action it needs (what the counter and error messages name).
IAM_ACTIONS = {"ListObjectsV2": "ListBucket", "GetObject": "GetObject", "HeadObject": "GetObject"}


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


def in_period(key: str, period: str) -> bool:
    """Whether an object belongs to billing period `period` (YYYY-MM): AWS Data Exports'
    `BILLING_PERIOD=YYYY-MM` folder, or an Azure cost export's `YYYYMMDD-YYYYMMDD` range that
    starts on the month's first day."""
    ym = period.replace("-", "")
    return f"/{period_folder(period)}/" in key or f"/{ym}01-{ym}" in f"/{key}"


class RemoteFetcher:
    """The ETag-keyed cache and the per-delivery mirror; subclasses list and download."""

    service = ""  # counter and error-message service name
    where = ""  # the location, as error messages show it

    def __init__(self, source: ExportSource, store: str, cache_dir: Path | None) -> None:
        self.source = source
        self.store = store  # cache sub-folder: bucket, or account/container
        base = cache_dir or Path(source.cache_dir or platformdirs.user_cache_dir("computewatch"))
        self.cache = base / "exports"
        self.prefix = ""

    def list_period(self, period: str) -> list[tuple[str, str]]:
        """(key, etag) of every object of the period to mirror."""
        raise NotImplementedError

    def download(self, key: str, etag: str, out: IO[bytes]) -> None:
        """Write the object (that exact ETag) to `out`; SourceError if it cannot be read."""
        raise NotImplementedError

    def cached(self, key: str, etag: str) -> Path:
        """The object's local copy, downloaded only if this ETag is not cached yet."""
        path = self.cache / self.store / etag / Path(key).name
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + f".part{os.getpid()}")
        try:
            with tmp.open("wb") as fh:
                self.download(key, etag, fh)
        except SourceError:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(path)
        return path

    def __call__(self, source: ExportSource, period: str) -> Delivery:
        objects = self.list_period(period)
        if not objects:
            raise SourceError(
                "exports",
                "NoDelivery",
                f"export {source.name}: no objects for {period} in {self.where}",
            )
        mirror = self.cache / "mirror" / self.store / source.name / period
        shutil.rmtree(mirror, ignore_errors=True)  # the mirror is this delivery only
        etags: dict[str, str] = {}
        for key, etag in objects:
            rel = key[len(self.prefix) + 1 :] if self.prefix else key
            target = mirror / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.cached(key, etag), target)
            etags[rel] = etag
        return locate(mirror, period, source.name, etags)


class S3Fetcher(RemoteFetcher):
    """Fetch one billing period of an S3 export into a local mirror; returns its Delivery."""

    service = "s3"

    def __init__(
        self,
        source: ExportSource,
        counter: ApiCallCounter,
        session: Any = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.bucket, prefix = split_s3(source.location)
        super().__init__(source, self.bucket, cache_dir)
        self.prefix = prefix
        self.where = f"s3://{self.bucket}/{self.prefix}"
        self.counter = counter
        self._session = session
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            session = self._session or new_session()

            def count(model: Any, **_: Any) -> None:
                op = str(model.name)
                self.counter.add("s3", IAM_ACTIONS.get(op, op))

            session.events.register("before-call.s3.*", count)
            self._client = session.client("s3", config=client_config())
        return self._client

    def list_period(self, period: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        token: dict[str, str] = {}
        try:
            with translate_errors("s3"):
                while True:
                    page = self.client().list_objects_v2(
                        Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else "", **token
                    )
                    for obj in page.get("Contents", []):
                        key = str(obj["Key"])
                        if in_period(key, period):
                            out.append((key, str(obj["ETag"]).strip('"')))
                    if not page.get("IsTruncated"):
                        break
                    token = {"ContinuationToken": page["NextContinuationToken"]}
        except SourceError as err:
            raise SourceError(
                "s3", err.code, f"s3:ListBucket on {self.where}: {err.message}"
            ) from None
        return out

    def download(self, key: str, etag: str, out: IO[bytes]) -> None:
        try:
            with translate_errors("s3"):
                body = self.client().get_object(Bucket=self.bucket, Key=key, IfMatch=etag)["Body"]
                shutil.copyfileobj(body, out)
        except SourceError as err:
            raise SourceError("s3", err.code, f"s3:GetObject {key}: {err.message}") from None
