"""Benchmark: collect a fleet of accounts from a local moto server and report API economy.

Not a test: prints wall time, API calls by operation and calls per account-region, so that the
README's performance section can be refreshed. Usage:

    .venv/bin/python bench/aws_fleet.py --accounts 50 --regions 4 --instances 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from computewatch.demo.emulated_aws import (
    MANAGEMENT_ACCOUNT,
    EmulatedAws,
    InstanceSpec,
    MemberSpec,
    aws_environment,
)
from computewatch.demo.emulated_aws_usage import ModelUsage, seed_bedrock_tokens, seed_target
from computewatch.domain import Window
from computewatch.pipeline.audit import AuditRequest, run_audit
from computewatch.pipeline.loading import load_config

ALL_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "eu-central-1", "us-east-2"]
TYPES = ["p5.48xlarge", "p4d.24xlarge", "g5.xlarge", "trn1.32xlarge", "g6e.12xlarge"]


def fleet(accounts: int, regions: list[str], per_region: int, window: Window) -> list[MemberSpec]:
    members = []
    for a in range(accounts):
        instances = tuple(
            InstanceSpec(
                TYPES[(a + r + i) % len(TYPES)], region, window.start + timedelta(days=(a + i) % 20)
            )
            for r, region in enumerate(regions)
            for i in range(per_region)
        )
        members.append(MemberSpec(f"bench-{a:03d}", instances))
    return members


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--regions", type=int, default=4, choices=range(1, len(ALL_REGIONS) + 1))
    parser.add_argument(
        "--instances", type=int, default=3, help="accelerator instances per account-region"
    )
    parser.add_argument(
        "--models", type=int, default=2, help="Bedrock models with token series per account-region"
    )
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    regions = ALL_REGIONS[: args.regions]
    now = datetime.now(UTC)
    window = Window.previous_month(now)
    cloud = EmulatedAws().start()
    try:
        t0 = time.perf_counter()
        org = cloud.seed_organization(fleet(args.accounts, regions, args.instances, window))
        days = Window(window.start, window.start + timedelta(days=3))
        models = [
            ModelUsage(f"bench.model-{m}", 1000 * (m + 1), 100, 10) for m in range(args.models)
        ]
        for account_id in org.members.values():
            for region in regions:
                seed_bedrock_tokens(
                    cloud, seed_target(cloud, account_id, region), days, models, points_per_day=1
                )
        cloud.enforce_iam()
        seeded = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "bench.yaml"
            cfg.write_text(
                yaml.safe_dump(
                    {
                        "reporting_entity": {"name": "bench"},
                        "store": {"url": f"sqlite:///{tmp}/bench.db"},
                        "aws": {
                            "regions": regions,
                            "organization": {"exclude_accounts": [MANAGEMENT_ACCOUNT]},
                            "max_workers": args.workers,
                        },
                    }
                )
            )
            with aws_environment(cloud.endpoint, org.auditor_key_id, org.auditor_secret):
                t1 = time.perf_counter()
                outcome = run_audit(
                    load_config(cfg),
                    AuditRequest(window, now, Path(tmp) / "out", ["json"], bundle=False),
                )
                wall = time.perf_counter() - t1
    finally:
        cloud.stop()
    units = args.accounts * len(regions)
    total = sum(outcome.api_calls.values())
    print(
        f"fleet: {args.accounts} accounts x {len(regions)} regions x {args.instances} instances; workers {args.workers}"
    )
    print(f"seeding (not measured): {seeded:.1f} s")
    print(
        f"collection + evaluation + report: {wall:.1f} s wall, {units / wall:.1f} account-regions/s"
    )
    print(
        f"records written: {outcome.records_written}; coverage: {outcome.context.coverage.status}"
    )
    print("API calls by operation:")
    for op, n in sorted(outcome.api_calls.items()):
        print(f"  {op:<45} {n:>7}  ({n / units:.2f} per account-region)")
    print(f"  {'total':<45} {total:>7}  ({total / units:.2f} per account-region)")


if __name__ == "__main__":
    main()
