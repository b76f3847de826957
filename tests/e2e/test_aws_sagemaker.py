"""SageMaker training-job collector: real boto3 against the moto server, plus the Search paging."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from computewatch.collectors.aws.clients import AccountClients, static_credentials
from computewatch.collectors.aws.sagemaker import (
    SageMakerTrainingCollector,
    overlapping_jobs,
    training_runs,
)
from computewatch.collectors.base import ApiCallCounter, CollectContext, Target
from computewatch.collectors.permissions import aws_actions
from computewatch.demo.emulated_aws import (
    EmulatedAws,
    MemberSpec,
    align_emulator_iam,
    aws_environment,
)
from computewatch.demo.emulated_aws_usage import TrainingJobSpec, seed_target, seed_training_job
from computewatch.domain import Account, Method, Metric, UsageRecord, Window, utc
from computewatch.domain.catalog import UNKNOWN_CHIP, Catalog
from computewatch.store import Store
from tests.helpers.aws import audit

OCT = Window.month("2026-10")
NOW = utc(2026, 11, 28, 12)
REGION = "us-east-1"

JOBS = [
    # 10 billable hours spread over 12 wall-clock hours: 4/12 on Oct 3, 8/12 on Oct 4.
    TrainingJobSpec(
        "h100-billable",
        "ml.p5.48xlarge",
        utc(2026, 10, 3, 20),
        utc(2026, 10, 4, 8),
        instance_count=2,
        billable_seconds=36_000,
    ),
    # No billable time reported: wall clock, 6 h.
    TrainingJobSpec("a100-wallclock", "ml.p4d.24xlarge", utc(2026, 10, 10), utc(2026, 10, 10, 6)),
    TrainingJobSpec("cpu-only", "ml.m5.xlarge", utc(2026, 10, 11), utc(2026, 10, 12)),
    # A GPU family the catalog does not know: one unknown accelerator per instance, never dropped.
    TrainingJobSpec(
        "new-gpu", "ml.p7.48xlarge", utc(2026, 10, 12), utc(2026, 10, 12, 1), instance_count=2
    ),
    # Started in September: only its October half counts.
    TrainingJobSpec("spans-start", "ml.g5.xlarge", utc(2026, 9, 30, 12), utc(2026, 10, 1, 12)),
    TrainingJobSpec("september", "ml.p5.48xlarge", utc(2026, 9, 1), utc(2026, 9, 2)),
    # Still running, last modified in September: the whole of October, 744 h.
    TrainingJobSpec("running", "ml.trn1.2xlarge", utc(2026, 9, 20)),
    # Heterogeneous cluster: two A100 nodes and a CPU node, 2 billable hours.
    TrainingJobSpec(
        "hetero",
        "",
        utc(2026, 10, 20),
        utc(2026, 10, 20, 3),
        billable_seconds=7200,
        groups=(("ml.p4d.24xlarge", 2), ("ml.m5.xlarge", 1)),
    ),
]


@pytest.fixture
def member(aws: EmulatedAws) -> str:
    org = aws.seed_organization([MemberSpec("ml-team")])
    where = seed_target(aws, org.members["ml-team"], REGION)
    for spec in JOBS:
        seed_training_job(aws, where, spec)
    return org.members["ml-team"]


def collect(
    cloud: EmulatedAws, account_id: str, catalog: Catalog
) -> tuple[list[UsageRecord], dict[str, int]]:
    counter = ApiCallCounter()
    with aws_environment(cloud.endpoint, "unused", "unused"):
        clients = AccountClients(
            static_credentials(**cloud.credentials_for(account_id)), None, counter
        )
        target = Target(Account("aws", account_id), REGION, clients.region(REGION))
        records = SageMakerTrainingCollector().collect(target, CollectContext(OCT, NOW, catalog))
    return records, counter.snapshot()


def test_training_accelerator_hours_exact(aws: EmulatedAws, member: str, catalog: Catalog) -> None:
    records, calls = collect(aws, member, catalog)

    per_job: dict[tuple[str, str, str], float] = defaultdict(float)
    for r in records:
        key = (r.dimensions.resource_id, r.dimensions.sku, r.dimensions.accelerator)
        per_job[key] += r.quantity
    assert per_job == pytest.approx(
        {
            ("h100-billable", "ml.p5.48xlarge", "H100"): 8 * 2 * 10,
            ("a100-wallclock", "ml.p4d.24xlarge", "A100"): 8 * 6,
            ("new-gpu", "ml.p7.48xlarge", UNKNOWN_CHIP): 1 * 2 * 1,
            ("spans-start", "ml.g5.xlarge", "A10G"): 12,
            ("running", "ml.trn1.2xlarge", "Trainium"): 744,
            ("hetero", "ml.p4d.24xlarge", "A100"): 8 * 2 * 2,
        }
    )
    h100 = {
        r.period_start: r.quantity for r in records if r.dimensions.resource_id == "h100-billable"
    }
    assert h100 == pytest.approx({utc(2026, 10, 3): 160 * 4 / 12, utc(2026, 10, 4): 160 * 8 / 12})
    assert all(OCT.start <= r.period_start < r.period_end <= OCT.end for r in records)
    assert {(r.metric, r.unit, r.method) for r in records} == {
        (Metric.TRAINING_JOB_ACCELERATOR_HOURS, "accelerator-hours", Method.JOB_HISTORY)
    }
    assert len([r for r in records if r.dimensions.resource_id == "running"]) == 31  # per day
    # Two Search pages (all jobs by last change; running jobs), no per-job call.
    assert calls == {"sagemaker:Search": 1}  # one page held every job, running ones too


def test_training_runs_prefers_billable_time() -> None:
    job: dict[str, Any] = {
        "TrainingJobName": "j",
        "TrainingJobStatus": "Completed",
        "TrainingStartTime": utc(2026, 10, 1),
        "TrainingEndTime": utc(2026, 10, 1, 4),
        "ResourceConfig": {"InstanceType": "ml.p5.48xlarge", "InstanceCount": 3},
    }
    assert [r.hours for r in training_runs(job, NOW)] == [4]
    assert [r.hours for r in training_runs({**job, "BillableTimeInSeconds": 5400}, NOW)] == [1.5]
    assert training_runs({**job, "TrainingStartTime": None}, NOW) == []  # never trained
    running = {**job, "TrainingJobStatus": "InProgress", "TrainingEndTime": None}
    assert [r.end for r in training_runs(running, NOW)] == [NOW]


def _page(*jobs: tuple[str, Any], token: str | None = None) -> dict[str, Any]:
    results = [
        {"TrainingJob": {"TrainingJobName": name, "LastModifiedTime": modified}}
        for name, modified in jobs
    ]
    return {"Results": results, **({"NextToken": token} if token else {})}


def test_search_stops_at_jobs_modified_before_the_window() -> None:
    client = boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    by_change = {
        "Resource": "TrainingJob",
        "SortBy": "LastModifiedTime",
        "SortOrder": "Descending",
        "MaxResults": 100,
    }
    with Stubber(client) as stub:
        stub.add_response("search", _page(("new", utc(2026, 10, 9)), token="t1"), by_change)
        stub.add_response(
            "search",
            _page(("mid", utc(2026, 10, 2)), ("old", utc(2026, 9, 3)), token="t2"),
            {**by_change, "NextToken": "t1"},
        )
        # Not asked for the third page: every later job changed before the window.
        stub.add_response(
            "search",
            _page(("long-runner", utc(2026, 8, 1))),
            {"Resource": "TrainingJob", "SearchExpression": ANY, "MaxResults": 100},
        )
        jobs = overlapping_jobs(client, OCT)
        stub.assert_no_pending_responses()
    assert sorted(j["TrainingJobName"] for j in jobs) == ["long-runner", "mid", "new", "old"]


def test_one_search_when_its_pages_hold_every_job() -> None:
    client = boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    by_change = {
        "Resource": "TrainingJob",
        "SortBy": "LastModifiedTime",
        "SortOrder": "Descending",
        "MaxResults": 100,
    }
    with Stubber(client) as stub:
        stub.add_response("search", _page(("new", utc(2026, 10, 9)), token="t1"), by_change)
        # The last page reaches before the window: nothing is left unread, no second search.
        stub.add_response(
            "search", _page(("old", utc(2026, 9, 3))), {**by_change, "NextToken": "t1"}
        )
        jobs = overlapping_jobs(client, OCT)
        stub.assert_no_pending_responses()
    assert sorted(j["TrainingJobName"] for j in jobs) == ["new", "old"]


def test_audit_stores_training_hours_and_a_denied_account_is_a_gap(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    no_sagemaker = tuple(
        a for a in aws_actions("member") if a not in SageMakerTrainingCollector.permissions.actions
    )
    org = aws.seed_organization(
        [MemberSpec("trainer"), MemberSpec("denied", allowed_actions=no_sagemaker)]
    )
    for name in ("trainer", "denied"):
        seed_training_job(aws, seed_target(aws, org.members[name], REGION), JOBS[0])
    align_emulator_iam()
    aws.enforce_iam()

    a = audit(aws, org, tmp_path, OCT, NOW, sqlite_url)

    assert a.account("trainer")["coverage"]["status"] == "complete"
    assert a.account("trainer")["methods"]["training_job_accelerator_hours"] == "job-history"
    stored = {
        (t.account_id, t.accelerator): t.quantity
        for t in Store.open(sqlite_url).usage.totals(OCT)
        if t.metric == Metric.TRAINING_JOB_ACCELERATOR_HOURS
    }
    assert stored == pytest.approx({(org.members["trainer"], "H100"): 160})
    denied = a.account("denied")
    assert denied["coverage"]["status"] == "partial"
    assert {(g["collector"], g["error"]) for g in denied["coverage"]["gaps"]} == {
        ("aws.sagemaker", "AccessDenied")
    }
