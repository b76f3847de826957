"""EC2 accelerator collection: pure helpers, then real boto3 calls against the moto server."""

from datetime import timedelta
from pathlib import Path

import pytest

from agent.catalog import UNKNOWN_CHIP, Catalog
from agent.emulated_aws import EmulatedAws, InstanceSpec, MemberSpec
from agent.models import Window, utc
from agent.store import Store
from collectors.aws.ec2 import (
    Accelerators,
    Interval,
    classify_type_info,
    instance_interval,
    peak_concurrency,
)
from reports.json_report import validate_contract
from tests.aws_scenarios import audit, seed

OCT = Window.month("2026-10")
NOW = utc(2026, 11, 28, 12)


def at(days: float) -> "object":
    return OCT.start + timedelta(days=days)


def test_classify_gpu_neuron_and_unknown(catalog: Catalog) -> None:
    gpu = {"InstanceType": "p4d.24xlarge", "GpuInfo": {"Gpus": [{"Name": "A100", "Count": 8}]}}
    neuron = {
        "InstanceType": "trn1.32xlarge",
        "NeuronInfo": {"NeuronDevices": [{"Name": "Trainium", "Count": 16}]},
    }
    odd = {
        "InstanceType": "g4ad.xlarge",
        "GpuInfo": {"Gpus": [{"Name": "Radeon Pro V520", "Count": 1}]},
    }
    assert classify_type_info(gpu, catalog) == Accelerators(
        "A100", 8, "ec2:DescribeInstanceTypes", "A100"
    )
    assert classify_type_info(neuron, catalog) == Accelerators(
        "Trainium", 16, "ec2:DescribeInstanceTypes", "Trainium"
    )
    unknown = classify_type_info(odd, catalog)
    assert (
        unknown is not None
        and unknown.chip == UNKNOWN_CHIP
        and unknown.api_name == "Radeon Pro V520"
    )
    assert classify_type_info({"InstanceType": "m5.large"}, catalog) is None


def test_instance_intervals() -> None:
    acc = Accelerators("H100", 8, "catalog")
    running = {
        "InstanceId": "i-1",
        "InstanceType": "p5.48xlarge",
        "LaunchTime": utc(2026, 10, 5),
        "State": {"Name": "running"},
    }
    stopped = {
        **running,
        "State": {"Name": "stopped"},
        "StateTransitionReason": "User initiated (2026-10-07 06:00:00 GMT)",
    }
    no_time = {**running, "State": {"Name": "stopped"}, "StateTransitionReason": ""}
    iv = instance_interval(running, acc, NOW)
    assert iv is not None and (iv.start, iv.end) == (utc(2026, 10, 5), NOW)
    iv = instance_interval(stopped, acc, NOW)
    assert iv is not None and iv.end == utc(2026, 10, 7, 6)
    assert instance_interval(no_time, acc, NOW) is None


def test_peak_concurrency_counts_overlap_only() -> None:
    h = Accelerators("H100", 8, "catalog")
    a = Accelerators("A100", 8, "catalog")
    day = Window(utc(2026, 10, 1), utc(2026, 10, 2))
    ivs = [
        Interval("i-1", "p5.48xlarge", h, utc(2026, 10, 1, 0), utc(2026, 10, 1, 6)),
        Interval(
            "i-2", "p5.48xlarge", h, utc(2026, 10, 1, 6), utc(2026, 10, 1, 12)
        ),  # starts as i-1 ends
        Interval("i-3", "p5.48xlarge", h, utc(2026, 10, 1, 5), utc(2026, 10, 1, 7)),
        Interval("i-4", "p4d.24xlarge", a, utc(2026, 9, 1), utc(2026, 12, 1)),
    ]
    assert peak_concurrency(ivs, day) == {"H100": 16, "A100": 8}


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


def test_organization_audit_exact_figures(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    org = seed(aws, SCENARIO)
    a = audit(aws, org, tmp_path, OCT, NOW, sqlite_url)
    validate_contract(a.report)

    assert a.account("big-h100")["accelerator_hours"] == {"H100": 2 * 8 * 744}
    assert a.account("big-h100")["peak_concurrent_accelerators"] == {"H100": 16}
    assert a.account("mixed")["accelerator_hours"] == {"A100": 8 * 240, "A10G": 12}
    assert a.account("neuron")["accelerator_hours"] == {"Trainium": 16 * 17 * 24}
    flop = a.account("big-h100")["estimated_training_flop"]
    assert flop["central"] == pytest.approx(2 * 8 * 744 * 3600 * 9.89e14 * 0.40)
    assert a.account("mixed")["estimated_training_flop"]["excluded_accelerator_hours"] == {
        "A10G": 12
    }

    idle = a.account("idle")
    assert idle["coverage"]["status"] == "complete" and idle["accelerator_hours"] == {}
    assert idle["estimated_training_flop"]["central"] == 0  # measured zero

    denied = a.account("denied")
    assert denied["coverage"]["status"] == "failed"
    assert {g["error"] for g in denied["coverage"]["gaps"]} == {"AccessDenied"}
    assert denied["estimated_training_flop"] is None and denied["accelerator_hours"] == {}

    assert a.findings("internal-3a090-hours-month", "big-h100")[0]["status"] == "BREACH"
    assert a.findings("internal-3a090-hours-month", "mixed")[0]["status"] == "OK"
    assert (
        a.findings("internal-3a090-hours-month", "neuron")[0]["status"] == "UNKNOWN"
    )  # Trainium: unconfirmed
    denied_f = a.findings("internal-3a090-hours-month", "denied")[0]
    assert denied_f["status"] == "UNKNOWN" and denied_f["value"] is None
    assert a.report["coverage"]["status"] == "partial"
    assert a.outcome.exit_code == 3


def test_rerun_is_idempotent_and_types_resolved_once_per_region(
    aws: EmulatedAws, tmp_path: Path, store_url: str
) -> None:
    org = seed(aws, SCENARIO)
    first = audit(aws, org, tmp_path / "1", OCT, NOW, store_url)
    rows = Store.open(store_url).count_usage()
    second = audit(aws, org, tmp_path / "2", OCT, NOW, store_url)
    assert Store.open(store_url).count_usage() == rows
    strip = lambda r: [{k: v for k, v in a.items()} for a in r["accounts"]]  # noqa: E731
    assert strip(first.report) == strip(second.report)

    calls = first.outcome.api_calls
    # 4 readable + 1 denied member, 2 regions: DescribeInstances once per readable account-region
    # (each catalog chunk is one call), DescribeInstanceTypes only for the first account per region.
    per_unit = calls["ec2:DescribeInstances"] / 10
    assert per_unit == int(per_unit) and per_unit <= 2
    single = audit(aws, org, tmp_path / "3", OCT, NOW, store_url, accounts={org.members["idle"]})
    assert (
        single.outcome.api_calls["ec2:DescribeInstanceTypes"] == calls["ec2:DescribeInstanceTypes"]
    )


def test_account_filter_limits_the_report(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    org = seed(aws, SCENARIO)
    a = audit(aws, org, tmp_path, OCT, NOW, sqlite_url, accounts={org.members["mixed"]})
    assert [x["account_id"] for x in a.report["accounts"]] == [org.members["mixed"]]
    assert a.outcome.exit_code == 0
