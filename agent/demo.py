"""The embedded demo: an emulated AWS organization, a fictional scenario, a full audit.

All names are fictional. The audited period is the last full calendar month before `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from agent.config import load_config
from agent.emulated_aws import (
    MANAGEMENT_ACCOUNT,
    EmulatedAws,
    InstanceSpec,
    MemberSpec,
    aws_environment,
)
from agent.models import Window
from agent.pipeline import AuditOutcome, AuditRequest, run_audit
from collectors.runner import Progress

REGIONS = ["us-east-1", "us-west-2"]
DEMO_RULES = Path(__file__).resolve().parent.parent / "config" / "rules" / "example.yaml"


def previous_month(now: datetime) -> Window:
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = first - timedelta(days=1)
    return Window.month(f"{last_month.year:04d}-{last_month.month:02d}")


def scenario(period: Window) -> list[MemberSpec]:
    """Five member accounts: one over the 3A090 threshold, one that denies the audit role."""
    p = period.start

    def at(days: float) -> datetime:
        return p + timedelta(days=days)

    return [
        MemberSpec(
            "aurora-frontier-research",
            (InstanceSpec("p5.48xlarge", "us-east-1", at(-5), count=2),),
        ),
        MemberSpec(
            "meridian-genomics",
            (
                InstanceSpec("p4d.24xlarge", "us-west-2", at(9), stopped=at(19)),
                InstanceSpec("g5.xlarge", "us-east-1", at(2)),
            ),
        ),
        MemberSpec(
            "kestrel-analytics",
            (
                InstanceSpec("trn1.32xlarge", "us-east-1", at(14)),
                InstanceSpec("g5.12xlarge", "us-west-2", at(20), stopped=at(27)),
            ),
        ),
        MemberSpec(
            # Its audit role lacks ec2:DescribeInstances: a real AccessDenied from the emulator.
            "halcyon-media",
            (InstanceSpec("p5.48xlarge", "us-west-2", at(3)),),
            allowed_actions=("ec2:DescribeInstanceTypes", "ec2:DescribeRegions"),
        ),
        MemberSpec("quiet-ledger-finance"),
    ]


@dataclass
class DemoResult:
    outcome: AuditOutcome
    config_path: Path
    window: Window


def write_demo_config(out_dir: Path, store_url: str) -> Path:
    cfg_dir = out_dir / "config"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    rules_path = cfg_dir / "rules.yaml"
    rules_path.write_text(DEMO_RULES.read_text("utf-8"), encoding="utf-8")
    config = {
        "version": 1,
        "reporting_entity": {"name": "Northwind Cloud Resale Ltd. (fictional)"},
        "store": {"url": store_url},
        "aws": {
            "regions": REGIONS,
            # The management account runs no workloads here; excluding it is the usual practice.
            "organization": {
                "role_name": "ComputewatchReadOnly",
                "exclude_accounts": [MANAGEMENT_ACCOUNT],
            },
            "max_workers": 4,
        },
        "rules": ["rules.yaml"],
        "reports": {"formats": ["html", "md", "json"], "out_dir": str(out_dir / "reports")},
    }
    path = cfg_dir / "computewatch.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_demo(out_dir: Path, now: datetime, progress: Progress | None = None) -> DemoResult:
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "computewatch.db"
    if db.exists():
        db.unlink()  # the demo starts from an empty store each time
    window = previous_month(now)
    cloud = EmulatedAws().start()
    try:
        org = cloud.seed_organization(scenario(window))
        cloud.enforce_iam()
        config_path = write_demo_config(out_dir, f"sqlite:///{db}")
        config = load_config(config_path)
        with aws_environment(cloud.endpoint, org.auditor_key_id, org.auditor_secret):
            outcome = run_audit(
                config,
                AuditRequest(
                    window=window,
                    now=now,
                    out_dir=out_dir / "reports",
                    formats=["html", "md", "json"],
                    progress=progress,
                ),
            )
    finally:
        cloud.stop()
    return DemoResult(outcome, config_path, window)
