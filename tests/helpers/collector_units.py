"""Units for the collector contract suite: one readable and one denied account per emulated cloud.

Each cloud is seeded once (the suite only reads it). `target(...)` builds a collector's Target the
way the providers do (AccountClients over the account's credentials, AzureClients over the run's
ClientSettings)
with the given ApiCallCounter counting its calls, and `requests()` says how many requests the
cloud has been sent so far (so the suite can check that every one of them was counted).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from computewatch.collectors.aws.clients import AccountClients, static_credentials
from computewatch.collectors.aws.provider import ORGANIZATION
from computewatch.collectors.azure.common import AzureClients
from computewatch.collectors.azure.provider import AzureProvider
from computewatch.collectors.base import ApiCallCounter, Collector, Target
from computewatch.config.azure import AzureSettings
from computewatch.demo.emulated_aws import EmulatedAws, InstanceSpec, MemberSpec
from computewatch.demo.emulated_aws_usage import (
    ModelUsage,
    TrainingJobSpec,
    seed_bedrock_tokens,
    seed_customization_job,
    seed_target,
    seed_training_job,
)
from computewatch.demo.emulated_azure import EmulatedAzure
from computewatch.domain import Account, Window, utc
from tests.helpers.azure import FakeCredential

AWS_WINDOW = Window.month("2026-10")
AWS_NOW = utc(2026, 10, 20, 6)
AWS_REGION = "us-east-1"
ROLE = "ComputewatchReadOnly"
# Granted where a unit must be refused every read: an action no collector calls.
NOTHING_TO_READ = ("sts:GetCallerIdentity",)


class Units(Protocol):
    window: Window
    now: datetime

    def target(
        self, collector: type[Collector], account: str, counter: ApiCallCounter
    ) -> Target: ...

    def requests(self) -> int: ...


class AwsUnits:
    """The moto server seeded with a `reader` member (EC2 instances, Bedrock tokens and a
    fine-tuning job, a SageMaker training job, billed hours) and a `denied` member whose audit
    role grants nothing to read; a `nobody` caller is refused the organization-wide reads."""

    window = AWS_WINDOW
    now = AWS_NOW

    def __init__(self, cloud: EmulatedAws) -> None:
        self.cloud = cloud
        self._lock = threading.Lock()
        self._sent = 0
        org = cloud.seed_organization(
            [
                MemberSpec(
                    "reader",
                    (
                        InstanceSpec(
                            "p5.48xlarge", AWS_REGION, AWS_WINDOW.start + timedelta(days=2)
                        ),
                        InstanceSpec(
                            "g5.xlarge",
                            AWS_REGION,
                            AWS_WINDOW.start + timedelta(days=4),
                            stopped=AWS_WINDOW.start + timedelta(days=6, hours=5),
                        ),
                    ),
                ),
                MemberSpec("denied", allowed_actions=NOTHING_TO_READ),
            ],
            role_name=ROLE,
        )
        self.members = org.members
        self.auditor = {
            "aws_access_key_id": org.auditor_key_id,
            "aws_secret_access_key": org.auditor_secret,
        }
        self.nobody = self._caller_without_reads()
        where = seed_target(cloud, org.members["reader"], AWS_REGION)
        seed_bedrock_tokens(
            cloud,
            where,
            Window(AWS_WINDOW.start + timedelta(days=1), AWS_WINDOW.start + timedelta(days=5)),
            [ModelUsage("anthropic.claude-3-5-sonnet-20241022-v2:0", 1000, 200, 3)],
        )
        seed_customization_job(
            cloud,
            where,
            "tune",
            "amazon.titan-text-express-v1",
            AWS_WINDOW.start + timedelta(days=3),
        )
        start = AWS_WINDOW.start + timedelta(days=7)
        seed_training_job(
            cloud,
            where,
            TrainingJobSpec("train", "ml.p4d.24xlarge", start, start + timedelta(hours=30)),
        )
        cloud.inject_cost_and_usage([_billing(org.members["reader"])])
        cloud.enforce_iam()

    def _caller_without_reads(self) -> dict[str, str]:
        iam = self.cloud.client("iam")
        iam.create_user(UserName="nobody")
        policy = {"Effect": "Allow", "Action": list(NOTHING_TO_READ), "Resource": "*"}
        iam.put_user_policy(
            UserName="nobody",
            PolicyName="nothing",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [policy]}),
        )
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        return {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    def target(self, collector: type[Collector], account: str, counter: ApiCallCounter) -> Target:
        """An organization collector runs as the caller (`account` "denied": as `nobody`); the
        others in the member account, through its audit role."""
        if collector.scope == "organization":
            creds = static_credentials(**(self.nobody if account == "denied" else self.auditor))
            where, region = ORGANIZATION, "global"
        else:
            caller = AccountClients(static_credentials(**self.auditor))
            role = caller.client("sts", AWS_REGION).assume_role(
                RoleArn=f"arn:aws:iam::{self.members[account]}:role/{ROLE}",
                RoleSessionName="contract",
            )["Credentials"]
            creds = static_credentials(
                role["AccessKeyId"], role["SecretAccessKey"], role["SessionToken"]
            )
            where, region = Account("aws", self.members[account], account), AWS_REGION
        clients = AccountClients(creds, counter=counter, hooks={"before-send.*.*": self._sent_one})
        return Target(where, region, clients.region(region))

    def _sent_one(self, **_: Any) -> None:
        with self._lock:
            self._sent += 1

    def requests(self) -> int:
        with self._lock:
            return self._sent


def _billing(account_id: str) -> dict[str, Any]:
    """Cost Explorer's answer for the days before AWS_NOW: 12 billed hours of p4d a day."""
    days = [
        AWS_WINDOW.start.date() + timedelta(days=i)
        for i in range((AWS_NOW - AWS_WINDOW.start).days)
    ]

    def day(d: date) -> dict[str, Any]:
        hours = {"Amount": "12.0", "Unit": "Hrs"}
        return {
            "TimePeriod": {"Start": d.isoformat(), "End": (d + timedelta(days=1)).isoformat()},
            "Total": {},
            "Groups": [{"Keys": [account_id, "p4d.24xlarge"], "Metrics": {"UsageQuantity": hours}}],
            "Estimated": False,
        }

    return {"ResultsByTime": [day(d) for d in days], "DimensionValueAttributes": []}


class AzureUnits:
    """The tests' Azure tenant (tests/azure/scenario.py) behind the fake ARM: its subscriptions
    grant computewatch's role, except the denied one (it may only list itself)."""

    def __init__(self, emulator: EmulatedAzure, window: Window, now: datetime) -> None:
        self.emulator = emulator
        self.window = window
        self.now = now
        settings = AzureSettings.model_validate({"cloud": emulator.cloud_config()})
        credential = FakeCredential(emulator.fake.access_token)
        self._settings = AzureProvider(
            settings, ApiCallCounter(), credential=credential
        ).client_settings()

    def target(self, collector: type[Collector], account: str, counter: ApiCallCounter) -> Target:
        settings = dataclasses.replace(self._settings, counter=counter)
        return Target(Account("azure", account), "global", AzureClients(settings, account))

    def requests(self) -> int:
        """ARM requests the emulator has answered (sign-in requests are not ARM calls)."""
        return len([s for s in self.emulator.fake.seen if "/oauth2/" not in s.path])
