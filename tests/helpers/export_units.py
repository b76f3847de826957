"""Units of the `exports.billing` collector for the collector contract suite: the committed CUR
2.0 fixture in a bucket of the emulated AWS, read by an identity granted the export policy
(`reader`) or by one granted nothing to read (`denied`)."""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path
from typing import Any

import boto3

from computewatch.collectors.base import ApiCallCounter, Collector, Target
from computewatch.collectors.exports.provider import EXPORT_ACTIONS, export_handle
from computewatch.collectors.exports.reader import unit_region
from computewatch.config.exports import ExportSource
from computewatch.demo.emulated_aws import EmulatedAws
from computewatch.domain import Account, Window, utc
from computewatch.domain.catalog import Catalog
from tests.helpers import export_fixtures as fx

BUCKET = "cur-bucket"
PREFIX = "cur"


def upload_fixture(s3: Any, folder: str = "cur2-parquet", bucket: str = BUCKET) -> None:
    """Put a committed fixture export under s3://bucket/cur/."""
    s3.create_bucket(Bucket=bucket)
    root = fx.FIXTURES / folder
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        s3.put_object(
            Bucket=bucket,
            Key=f"{PREFIX}/{path.relative_to(root).as_posix()}",
            Body=path.read_bytes(),
        )


def source() -> ExportSource:
    return ExportSource(
        name="cur", format="cur2", location=f"s3://{BUCKET}/{PREFIX}", billing_account=fx.PAYER
    )


class ExportUnits:
    window = Window.month(fx.PERIOD)
    now = utc(2026, 11, 5)

    def __init__(self, cloud: EmulatedAws) -> None:
        self.cloud = cloud
        self._lock = threading.Lock()
        self._sent = 0
        self.cache = Path(tempfile.mkdtemp(prefix="cw-export-cache-"))
        cloud.enforce_iam(False)  # seeding, as the emulator's administrator
        try:
            upload_fixture(cloud.client("s3"))
            self.keys = {
                "reader": self._user("export-reader", EXPORT_ACTIONS),
                "denied": self._user("export-nobody", ("sts:GetCallerIdentity",)),
            }
        finally:
            cloud.enforce_iam()

    def _user(self, name: str, actions: tuple[str, ...]) -> dict[str, str]:
        iam = self.cloud.client("iam")
        iam.create_user(UserName=name)
        policy = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
        iam.put_user_policy(
            UserName=name,
            PolicyName="exports",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [policy]}),
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    def target(self, collector: type[Collector], account: str, counter: ApiCallCounter) -> Target:
        """The unit of the fixture's account `atlas-research`; its export read on first use."""
        session = boto3.Session(region_name="us-east-1", **self.keys[account])
        session.events.register("before-send.*.*", self._sent_one)
        cache = self.cache / account
        handle = export_handle(source(), self.window, Catalog.load(), counter, "", session, cache)
        return Target(Account("aws", fx.ATLAS, fx.NAMES[fx.ATLAS]), unit_region(source()), handle)

    def _sent_one(self, **_: Any) -> None:
        with self._lock:
            self._sent += 1

    def requests(self) -> int:
        with self._lock:
            return self._sent
