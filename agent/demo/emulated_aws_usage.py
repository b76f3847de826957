"""Seed Bedrock and SageMaker usage into the emulated AWS (for `computewatch demo` and the tests).

Everything goes through real SDK calls against the moto server, except what AWS has no API for:
the emulator stamps jobs with the current time and runs them instantly, so creation, training and
end times, status and SageMaker's BillableTimeInSeconds are set on its in-process model afterwards
(as `EmulatedAws` backdates EC2 launch times).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from computewatch.demo.emulated_aws import EmulatedAws
from computewatch.domain import Window

BEDROCK_NAMESPACE = "AWS/Bedrock"
PUT_BATCH = 1000  # PutMetricData takes up to 1000 datums a call
SEED_ROLE = "arn:aws:iam::{account}:role/seeded-training-role"


@dataclass(frozen=True)
class SeedTarget:
    """Where to seed: an account (with credentials inside it) and a region."""

    account_id: str
    region: str
    credentials: Mapping[str, str]

    def client(self, cloud: EmulatedAws, service: str) -> Any:
        """A seeding client in this account and region (the caller closes it)."""
        return cloud.seed_client(service, self.region, **self.credentials)


def seed_target(cloud: EmulatedAws, account_id: str, region: str) -> SeedTarget:
    """Seeding credentials for an account of a seeded organization (call before enforce_iam)."""
    return SeedTarget(account_id, region, cloud.credentials_for(account_id))


@dataclass(frozen=True)
class ModelUsage:
    """Daily Bedrock traffic for one model: the same figures on every day seeded."""

    model_id: str
    input_tokens: float
    output_tokens: float
    invocations: float
    # Prompt caching: tokens read from / written to the cache (series exist only when used).
    cache_read_tokens: float = 0
    cache_write_tokens: float = 0


def seed_bedrock_tokens(
    cloud: EmulatedAws,
    where: SeedTarget,
    days: Window,
    usage: Sequence[ModelUsage],
    extra_dimensions: Mapping[str, str] | None = None,
    points_per_day: int = 2,
) -> None:
    """Publish `AWS/Bedrock` InputTokenCount / OutputTokenCount / Invocations (and the prompt-cache
    CacheReadInputTokenCount / CacheWriteInputTokenCount where used) for every day of
    `days`, each day's figure split over `points_per_day` datapoints. With `extra_dimensions` the
    series carry those dimensions next to ModelId, as Bedrock's own extra series do."""
    dims = [{"Name": k, "Value": v} for k, v in (extra_dimensions or {}).items()]
    data: list[dict[str, Any]] = []
    step = timedelta(days=1) / points_per_day
    for day in days.day_windows():
        for i in range(points_per_day):
            stamp = day.start + step * i + step / 2
            for u in usage:
                series = [
                    ("InputTokenCount", u.input_tokens, "Count"),
                    ("OutputTokenCount", u.output_tokens, "Count"),
                    ("Invocations", u.invocations, "Count"),
                ]
                if u.cache_read_tokens:
                    series.append(("CacheReadInputTokenCount", u.cache_read_tokens, "Count"))
                if u.cache_write_tokens:
                    series.append(("CacheWriteInputTokenCount", u.cache_write_tokens, "Count"))
                for name, total, unit in series:
                    data.append(
                        {
                            "MetricName": name,
                            "Dimensions": [{"Name": "ModelId", "Value": u.model_id}, *dims],
                            "Timestamp": stamp,
                            "Value": total / points_per_day,
                            "Unit": unit,
                        }
                    )
    cloudwatch = where.client(cloud, "cloudwatch")
    for first in range(0, len(data), PUT_BATCH):
        cloudwatch.put_metric_data(
            Namespace=BEDROCK_NAMESPACE, MetricData=data[first : first + PUT_BATCH]
        )
    cloudwatch.close()


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def seed_customization_job(
    cloud: EmulatedAws,
    where: SeedTarget,
    name: str,
    base_model_id: str,
    created: datetime,
    ended: datetime | None = None,
) -> str:
    """A Bedrock fine-tuning job created at `created`; Completed at `ended`, else InProgress.
    Returns its ARN."""
    from moto.bedrock.models import bedrock_backends  # demo/test extra

    bedrock = where.client(cloud, "bedrock")
    arn: str = bedrock.create_model_customization_job(
        jobName=name,
        customModelName=f"{name}-model",
        roleArn=SEED_ROLE.format(account=where.account_id),
        baseModelIdentifier=base_model_id,
        trainingDataConfig={"s3Uri": f"s3://seed-{where.account_id}/train.jsonl"},
        outputDataConfig={"s3Uri": f"s3://seed-{where.account_id}/output/"},
        hyperParameters={"epochCount": "1"},
    )["jobArn"]
    bedrock.close()
    job: Any = bedrock_backends[where.account_id][where.region].model_customization_jobs[name]
    stamp = "%Y-%m-%d %H:%M:%S"  # the emulator keeps these as strings
    job.creation_time = _naive_utc(created).strftime(stamp)
    job.last_modified_time = _naive_utc(ended or created).strftime(stamp)
    job.end_time = _naive_utc(ended).strftime(stamp) if ended else None
    job.status = "Completed" if ended else "InProgress"
    return arn


@dataclass(frozen=True)
class TrainingJobSpec:
    """A SageMaker training job. `ended` None: still InProgress. `groups` (type, count) pairs make a
    heterogeneous cluster instead of `instance_type` x `instance_count`."""

    name: str
    instance_type: str
    started: datetime
    ended: datetime | None = None
    instance_count: int = 1
    billable_seconds: int | None = None
    groups: tuple[tuple[str, int], ...] = ()


def seed_training_job(cloud: EmulatedAws, where: SeedTarget, spec: TrainingJobSpec) -> str:
    """Create the job through the API, then set its times, status and billable time. Returns its ARN."""
    from moto.sagemaker.models import sagemaker_backends  # demo/test extra

    resources: dict[str, Any] = {"VolumeSizeInGB": 100}
    if spec.groups:
        resources["InstanceGroups"] = [
            {"InstanceType": t, "InstanceCount": n, "InstanceGroupName": f"group-{i}"}
            for i, (t, n) in enumerate(spec.groups)
        ]
    else:
        resources.update(InstanceType=spec.instance_type, InstanceCount=spec.instance_count)
    sagemaker = where.client(cloud, "sagemaker")
    arn: str = sagemaker.create_training_job(
        TrainingJobName=spec.name,
        AlgorithmSpecification={
            "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3",
            "TrainingInputMode": "File",
        },
        RoleArn=SEED_ROLE.format(account=where.account_id),
        OutputDataConfig={"S3OutputPath": f"s3://seed-{where.account_id}/training/"},
        ResourceConfig=resources,
        StoppingCondition={"MaxRuntimeInSeconds": 28 * 86400},
    )["TrainingJobArn"]
    sagemaker.close()
    job: Any = sagemaker_backends[where.account_id][where.region].training_jobs[spec.name]
    job.creation_time = _naive_utc(spec.started - timedelta(minutes=5))
    job.training_start_time = _naive_utc(spec.started)
    job.training_end_time = _naive_utc(spec.ended) if spec.ended else None
    job.last_modified_time = _naive_utc(spec.ended or spec.started)
    job.training_job_status = job.secondary_status = "Completed" if spec.ended else "InProgress"
    if spec.billable_seconds is not None:
        job.billable_time_in_seconds = (
            spec.billable_seconds
        )  # attributes surface in Search/Describe
    return arn
