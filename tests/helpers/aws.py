"""Helpers for tests that audit an emulated AWS organization (one place, not copied per test)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from computewatch.demo.emulated_aws import (
    MANAGEMENT_ACCOUNT,
    EmulatedAws,
    InstanceSpec,
    MemberSpec,
    SeededOrg,
    aws_environment,
)
from computewatch.domain import Window
from computewatch.pipeline.audit import AuditOutcome, AuditRequest, run_audit
from computewatch.pipeline.loading import load_config
from tests.helpers.paths import REPO

REGIONS = ["us-east-1", "us-west-2"]


@dataclass
class Audit:
    outcome: AuditOutcome
    report: dict[str, Any]
    org: SeededOrg
    config_path: Path

    def account(self, name: str) -> dict[str, Any]:
        aid = self.org.members[name]
        return next(a for a in self.report["accounts"] if a["account_id"] == aid)

    def findings(self, rule: str, name: str) -> list[dict[str, Any]]:
        key = f"aws:{self.org.members[name]}"
        return [
            f for f in self.report["findings"] if f["rule"] == rule and f["scope"]["key"] == key
        ]


def write_config(
    tmp_path: Path, store_url: str, sections: dict[str, Any] | None = None, **aws_extra: Any
) -> Path:
    """The AWS test config: `aws_extra` merged into its aws section, `sections` at top level."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        (REPO / "config" / "rules" / "example.yaml").read_text("utf-8"), encoding="utf-8"
    )
    aws: dict[str, Any] = {
        "regions": REGIONS,
        "organization": {
            "role_name": "ComputewatchReadOnly",
            "exclude_accounts": [MANAGEMENT_ACCOUNT],
        },
        "max_workers": 4,
    }
    aws.update(aws_extra)
    config = {
        "reporting_entity": {"name": "Test Reseller <b>Ltd</b>"},
        "store": {"url": store_url},
        "aws": aws,
        "rules": ["rules.yaml"],
    } | (sections or {})
    path = tmp_path / "computewatch.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def seed(aws: EmulatedAws, members: list[MemberSpec], **kwargs: Any) -> SeededOrg:
    org = aws.seed_organization(members, **kwargs)
    aws.enforce_iam()
    return org


def audit(
    aws: EmulatedAws,
    org: SeededOrg,
    tmp_path: Path,
    window: Window,
    now: datetime,
    store_url: str,
    config_overrides: dict[str, Any] | None = None,
    **request: Any,
) -> Audit:
    import json

    config_path = write_config(tmp_path, store_url, **(config_overrides or {}))
    config = load_config(config_path)
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        # Collector and engine tests read the JSON report: no bundle, PDFs or notices unless asked.
        request = {"formats": ["json"], "bundle": False} | request
        outcome = run_audit(
            config,
            AuditRequest(window=window, now=now, out_dir=tmp_path / "reports", **request),
        )
    report = json.loads(outcome.paths["json"].read_text("utf-8"))
    return Audit(outcome, report, org, config_path)


# An organization of five members for the EC2 and CLI tests (October 2026).
OCT = Window.month("2026-10")
SCENARIO = [
    MemberSpec(
        "big-h100",
        (InstanceSpec("p5.48xlarge", "us-east-1", OCT.start - timedelta(days=3), count=2),),
    ),
    MemberSpec(
        "mixed",
        (
            InstanceSpec(
                "p4d.24xlarge",
                "us-west-2",
                OCT.start + timedelta(days=9),
                stopped=OCT.start + timedelta(days=19),
            ),
            InstanceSpec("g5.xlarge", "us-east-1", OCT.start + timedelta(days=30, hours=12)),
            # Ran only in September: nothing in October.
            InstanceSpec(
                "p5.48xlarge",
                "us-east-1",
                OCT.start - timedelta(days=20),
                stopped=OCT.start - timedelta(days=10),
            ),
        ),
    ),
    MemberSpec(
        "neuron", (InstanceSpec("trn1.32xlarge", "us-east-1", OCT.start + timedelta(days=14)),)
    ),
    MemberSpec(
        "denied",
        (InstanceSpec("p5.48xlarge", "us-west-2", OCT.start),),
        allowed_actions=("ec2:DescribeInstanceTypes",),
    ),
    MemberSpec("idle"),
]


def daemon_config(tmp_path: Path, store_url: str, **sections: Any) -> Path:
    """The AWS test config plus extra top-level sections (daemon:, mail:)."""
    return write_config(tmp_path, store_url, sections)


def big_h100(launched: datetime) -> MemberSpec:
    """A member running two p5.48xlarge (16 H100) since `launched`: a 3A090 breach in a month."""
    return MemberSpec("big-h100", (InstanceSpec("p5.48xlarge", "us-east-1", launched, count=2),))
