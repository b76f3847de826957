"""Exports in S3: download-then-scan, with a local cache keyed by ETag.

DuckDB's own S3 support is an extension downloaded at first use, which fails on machines without
internet (and in CI). Here boto3 lists the billing period's objects (the standard credential
chain, `AWS_ENDPOINT_URL` honoured), downloads each object whose ETag is not in the cache yet,
and DuckDB scans the local copies. A re-delivered file has a new ETag, so it is fetched again; an
unchanged one never is. Calls are counted as the IAM actions they need (s3:ListBucket,
s3:GetObject).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

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


class S3Fetcher:
    """Fetch one billing period of an S3 export into a local mirror; returns its Delivery."""

    def __init__(
        self,
        source: ExportSource,
        counter: ApiCallCounter,
        session: Any = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.source = source
        self.counter = counter
        self.bucket, self.prefix = split_s3(source.location)
        base = cache_dir or Path(source.cache_dir or platformdirs.user_cache_dir("computewatch"))
        self.cache = base / "exports"
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

    def _list(self, period: str) -> list[tuple[str, str]]:
        """(key, etag) of every object of the period (data and metadata)."""
        out: list[tuple[str, str]] = []
        token: dict[str, str] = {}
        where = f"s3://{self.bucket}/{self.prefix}"
        try:
            with translate_errors("s3"):
                while True:
                    page = self.client().list_objects_v2(
                        Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else "", **token
                    )
                    for obj in page.get("Contents", []):
                        key = str(obj["Key"])
                        if f"/{period_folder(period)}/" in key:
                            out.append((key, str(obj["ETag"]).strip('"')))
                    if not page.get("IsTruncated"):
                        break
                    token = {"ContinuationToken": page["NextContinuationToken"]}
        except SourceError as err:
            raise SourceError("s3", err.code, f"s3:ListBucket on {where}: {err.message}") from None
        return out

    def _cached(self, key: str, etag: str) -> Path:
        """The object's local copy, downloaded only if this ETag is not cached yet."""
        path = self.cache / self.bucket / etag / Path(key).name
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + f".part{os.getpid()}")
        try:
            with translate_errors("s3"), tmp.open("wb") as fh:
                body = self.client().get_object(Bucket=self.bucket, Key=key, IfMatch=etag)["Body"]
                shutil.copyfileobj(body, fh)
        except SourceError as err:
            tmp.unlink(missing_ok=True)
            raise SourceError("s3", err.code, f"s3:GetObject {key}: {err.message}") from None
        tmp.replace(path)
        return path

    def __call__(self, source: ExportSource, period: str) -> Delivery:
        objects = self._list(period)
        if not objects:
            raise SourceError(
                "exports",
                "NoDelivery",
                f"export {source.name}: no objects for {period} in "
                f"s3://{self.bucket}/{self.prefix}",
            )
        mirror = self.cache / "mirror" / self.bucket / source.name / period
        shutil.rmtree(mirror, ignore_errors=True)  # the mirror is this delivery only
        etags: dict[str, str] = {}
        for key, etag in objects:
            rel = key[len(self.prefix) + 1 :] if self.prefix else key
            target = mirror / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self._cached(key, etag), target)
            etags[rel] = etag
        return locate(mirror, period, source.name, etags)
