"""EC2 accelerator collection: pure helpers, then real boto3 calls against the moto server."""

from datetime import datetime
from pathlib import Path

import pytest

from computewatch.app.exits import audit_exit_code
from computewatch.collectors.aws.ec2 import (
    Accelerators,
    classify_type_info,
    observe,
    peak_concurrency,
    proven_intervals,
)
from computewatch.collectors.base import Target
from computewatch.collectors.intervals import Interval
from computewatch.demo.emulated_aws import EmulatedAws, InstanceSpec, MemberSpec
from computewatch.domain import Account, Observation, Window, utc
from computewatch.domain.catalog import UNKNOWN_CHIP, Catalog
from computewatch.reports.json_report import validate_contract
from computewatch.store import Store
from tests.helpers.aws import SCENARIO, audit, seed

OCT = Window.month("2026-10")
NOW = utc(2026, 11, 28, 12)


def test_classify_gpu_neuron_and_unknown(catalog: Catalog) -> None:
    gpu = {"InstanceType": "p4d.24xlarge", "GpuInfo": {"Gpus": [{"Name": "A100", "Count": 8}]}}
    neuron = {
        "InstanceType": "trn1.32xlarge",
        "NeuronInfo": {"NeuronDevices": [{"Name": "Trainium", "Count": 16}]},
    }
    odd = {
        "InstanceType": "g9z.xlarge",
        "GpuInfo": {"Gpus": [{"Name": "Z9000", "Count": 1}]},
    }
    assert classify_type_info(gpu, catalog) == Accelerators(
        "A100", 8, "ec2:DescribeInstanceTypes", "A100"
    )
    assert classify_type_info(neuron, catalog) == Accelerators(
        "Trainium", 16, "ec2:DescribeInstanceTypes", "Trainium"
    )
    unknown = classify_type_info(odd, catalog)
    assert unknown is not None and unknown.chip == UNKNOWN_CHIP and unknown.api_name == "Z9000"
    assert classify_type_info({"InstanceType": "m5.large"}, catalog) is None


def test_catalog_shape_wins_over_the_api_device_name(catalog: Catalog) -> None:
    """The API may name p6e-gb200's GPU "B200"; the catalog knows the shape is GB200. Where the
    catalog does not know the shape, the API's name decides."""
    gb200 = {
        "InstanceType": "p6e-gb200.36xlarge",
        "GpuInfo": {"Gpus": [{"Name": "B200", "Count": 4}]},
    }
    assert classify_type_info(gb200, catalog) == Accelerators(
        "GB200", 4, "ec2:DescribeInstanceTypes", "B200"
    )
    new_shape = {"InstanceType": "p9.48xlarge", "GpuInfo": {"Gpus": [{"Name": "B200", "Count": 8}]}}
    assert catalog.shape("aws", "p9.48xlarge") is None
    assert classify_type_info(new_shape, catalog) == Accelerators(
        "B200", 8, "ec2:DescribeInstanceTypes", "B200"
    )


TARGET = Target(Account("aws", "111111111111"), "us-east-1", clients=None)  # type: ignore[arg-type]


def test_observations_prove_running_time() -> None:
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
    assert observe(TARGET, "aws.ec2", running, acc, NOW).proven == (utc(2026, 10, 5), NOW)
    assert observe(TARGET, "aws.ec2", stopped, acc, NOW).proven == (
        utc(2026, 10, 5),
        utc(2026, 10, 7, 6),
    )
    assert (
        observe(TARGET, "aws.ec2", no_time, acc, NOW).proven is None
    )  # nothing proven, nothing counted


def test_proven_intervals_union_samples() -> None:
    def obs(
        rid: str, seen: datetime, launched: datetime, ended: datetime | None = None
    ) -> Observation:
        return Observation(
            "aws",
            "1",
            "us-east-1",
            "aws.ec2",
            rid,
            seen,
            "p5.48xlarge",
            "H100",
            8,
            "running",
            launched,
            ended,
        )

    ivs = proven_intervals(
        [
            obs("i-1", utc(2026, 10, 10), utc(2026, 10, 1)),
            obs("i-1", utc(2026, 10, 12), utc(2026, 10, 1)),  # still the same run
            obs("i-1", utc(2026, 10, 20), utc(2026, 10, 15)),  # stopped and restarted in between
            obs("i-2", utc(2026, 10, 3), utc(2026, 10, 2)),  # since vanished
        ]
    )
    assert [(iv.resource_id, iv.start, iv.end) for iv in ivs] == [
        ("i-1", utc(2026, 10, 1), utc(2026, 10, 12)),
        ("i-1", utc(2026, 10, 15), utc(2026, 10, 20)),
        ("i-2", utc(2026, 10, 2), utc(2026, 10, 3)),
    ]


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
        a.findings("internal-3a090-hours-month", "neuron")[0]["status"] == "BREACH"
    )  # Trainium: TPP 3,040 is at least 3A090.b for any physical die
    denied_f = a.findings("internal-3a090-hours-month", "denied")[0]
    assert denied_f["status"] == "UNKNOWN" and denied_f["value"] is None
    assert a.report["coverage"]["status"] == "partial"
    assert audit_exit_code(a.outcome) == 3


def test_rerun_is_idempotent_and_types_resolved_once_per_region(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    org = seed(aws, SCENARIO)
    first = audit(aws, org, tmp_path / "1", OCT, NOW, sqlite_url)
    rows = Store.open(sqlite_url).usage.count()
    second = audit(aws, org, tmp_path / "2", OCT, NOW, sqlite_url)
    assert Store.open(sqlite_url).usage.count() == rows
    strip = lambda r: [{k: v for k, v in a.items()} for a in r["accounts"]]  # noqa: E731
    assert strip(first.report) == strip(second.report)

    calls = first.outcome.api_calls
    # 4 readable + 1 denied member, 2 regions: DescribeInstances once per readable account-region
    # (each catalog chunk is one call), DescribeInstanceTypes only for the first account per region.
    per_unit = calls["ec2:DescribeInstances"] / 10
    assert per_unit == int(per_unit) and per_unit <= 2
    single = audit(aws, org, tmp_path / "3", OCT, NOW, sqlite_url, accounts={org.members["idle"]})
    assert (
        single.outcome.api_calls["ec2:DescribeInstanceTypes"] == calls["ec2:DescribeInstanceTypes"]
    )


def test_account_filter_limits_the_report(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    org = seed(aws, SCENARIO)
    a = audit(aws, org, tmp_path, OCT, NOW, sqlite_url, accounts={org.members["mixed"]})
    assert [x["account_id"] for x in a.report["accounts"]] == [org.members["mixed"]]
    assert audit_exit_code(a.outcome) == 0


def test_repeated_collections_build_sampled_history(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    org = seed(
        aws,
        [
            MemberSpec(
                "sampled",
                (
                    InstanceSpec("p5.48xlarge", "us-east-1", utc(2026, 10, 1)),
                    InstanceSpec("p4d.24xlarge", "us-east-1", utc(2026, 10, 1)),
                ),
            )
        ],
    )
    aid = org.members["sampled"]
    restarted, terminated = org.instances["sampled"]
    first = audit(aws, org, tmp_path / "1", OCT, utc(2026, 10, 10), sqlite_url)
    assert first.account("sampled")["accelerator_hours"] == {"H100": 8 * 9 * 24, "A100": 8 * 9 * 24}
    assert first.account("sampled")["methods"]["accelerator_hours"] == "launch-time-estimate"

    # Between samples: the H100 instance is stopped and started again on the 15th (its launch
    # time moves), the A100 instance is terminated on the 12th.
    aws.set_instance_times(aid, "us-east-1", restarted, launched=utc(2026, 10, 15))
    aws.set_instance_times(
        aid,
        "us-east-1",
        terminated,
        utc(2026, 10, 1),
        stopped=utc(2026, 10, 12),
        state="terminated",
    )
    second = audit(aws, org, tmp_path / "2", OCT, utc(2026, 10, 20), sqlite_url)
    hours = second.account("sampled")["accelerator_hours"]
    assert hours["H100"] == 8 * (9 + 5) * 24  # Oct 1-10 proven by the first sample, Oct 15-20 now
    assert hours["A100"] == 8 * 11 * 24  # Oct 1-12: the termination time is recorded
    assert second.account("sampled")["methods"]["accelerator_hours"] == "sampled"
