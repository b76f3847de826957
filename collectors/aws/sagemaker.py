"""SageMaker training jobs: accelerator-hours of every training run that overlaps the window.

accelerator-hours = accelerators per instance (catalog shape of the `ml.`-less type) x instance
count x hours. Hours are `BillableTimeInSeconds` when SageMaker reports it (finished jobs; for
managed spot it is the time actually billed); otherwise, for running jobs or where the API omits
it, wall-clock TrainingStartTime -> TrainingEndTime (or -> now while the job runs). The hours are
spread over the job's training interval in proportion to time and emitted per UTC day of the
window (`Window.day_windows()`), like the EC2 collector.

Jobs come from `Search` (Resource=TrainingJob), which returns full job descriptions 100 a page, so
there is no per-job call. One search per account-region (plus its pages): every job, newest
LastModifiedTime first, stopping after the page that reaches jobs last modified before the window
(a job that ended inside the window was modified at or after its end). Only when it stops early,
leaving older jobs unread, does a second search ask for jobs still InProgress, whose
LastModifiedTime can predate the window. Jobs are filtered exactly in code. (Range operators and
`Or` are not used server-side: the emulator treats them as equality and `And`.)

An instance type with no accelerator is skipped; an accelerator family (p*, g*, trn*, ...) that the
catalog does not know counts as one `unknown` accelerator per instance, never as zero.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from computewatch.collectors.aws.common import translate_errors
from computewatch.collectors.base import CollectContext, Collector, Permissions, Target
from computewatch.domain import Dimensions, Method, Metric, UsageRecord, Window
from computewatch.domain.catalog import UNKNOWN_CHIP, Catalog

# GPU / accelerator families, as the EC2 collector recognises them (type without the `ml.` prefix).
ACCELERATOR_FAMILY = re.compile(r"^(p\d|g\d|gr\d|trn\d|inf\d|dl\d)[a-z0-9-]*\.")
PAGE_SIZE = 100  # the Search maximum
RUNNING = frozenset({"InProgress", "Stopping"})


@dataclass(frozen=True, slots=True)
class TrainingRun:
    """One instance group of one training job, with the hours each instance trained."""

    job_name: str
    instance_type: str
    instance_count: int
    start: datetime
    end: datetime
    hours: float  # per instance: billable, else wall clock


def training_runs(job: dict[str, Any], now: datetime) -> list[TrainingRun]:
    """The runs of one Search TrainingJob entry; none if it never started training (and was
    never billed: billed time without a start time is placed at the job's creation)."""
    billable = job.get("BillableTimeInSeconds")
    started = job.get("TrainingStartTime") or (job.get("CreationTime") if billable else None)
    if started is None:
        return []
    start: datetime = started.astimezone(UTC)  # JSON epochs: always aware
    if job.get("TrainingEndTime") is not None:
        end = job["TrainingEndTime"].astimezone(UTC)
    elif job.get("TrainingJobStatus") in RUNNING:
        end = now
    else:
        end = (job.get("LastModifiedTime") or started).astimezone(UTC)
    hours = billable / 3600 if billable is not None else (end - start).total_seconds() / 3600
    config = job.get("ResourceConfig") or {}
    groups = config.get("InstanceGroups") or [config]  # heterogeneous clusters list groups
    return [
        TrainingRun(
            job["TrainingJobName"],
            g["InstanceType"],
            int(g.get("InstanceCount", 1)),
            start,
            max(end, start),
            max(hours, 0.0),
        )
        for g in groups
        if g.get("InstanceType")
    ]


def accelerators(instance_type: str, catalog: Catalog) -> tuple[str, float] | None:
    """(chip, count per instance) for an `ml.` type, or None when it carries no accelerator."""
    ec2_type = instance_type.removeprefix("ml.")
    shape = catalog.shape("aws", ec2_type)
    if shape is not None:
        return shape.chip, shape.count
    if ACCELERATOR_FAMILY.match(ec2_type):
        return UNKNOWN_CHIP, 1.0  # at least one: a lower bound, never dropped
    return None


def _share(run: TrainingRun, day: Window) -> float:
    """The fraction of the run's hours that fell on `day` (all of it for an instantaneous run)."""
    if run.end == run.start:
        return 1.0 if day.contains(run.start) else 0.0
    clipped = day.clip(run.start, run.end)
    if clipped is None:
        return 0.0
    return (clipped[1] - clipped[0]) / (run.end - run.start)


def run_records(
    target: Target, collector: str, runs: Iterable[TrainingRun], catalog: Catalog, window: Window
) -> list[UsageRecord]:
    """Daily accelerator-hours per job and instance type (groups of one type are summed)."""
    sums: dict[tuple[Dimensions, Window], float] = defaultdict(float)
    days = window.day_windows()
    for run in runs:
        acc = accelerators(run.instance_type, catalog)
        if acc is None:
            continue
        chip, per_instance = acc
        dims = Dimensions(sku=run.instance_type, accelerator=chip, resource_id=run.job_name)
        for day in days:
            share = _share(run, day)
            if share > 0:
                sums[(dims, day)] += run.hours * share * per_instance * run.instance_count
    return [
        UsageRecord(
            "aws",
            target.account.account_id,
            target.region,
            collector,
            Metric.TRAINING_JOB_ACCELERATOR_HOURS,
            "accelerator-hours",
            dims,
            day.start,
            day.end,
            quantity,
            Method.JOB_HISTORY,
        )
        for (dims, day), quantity in sorted(
            sums.items(), key=lambda kv: (kv[0][0].resource_id, kv[0][0].sku, kv[0][1].start)
        )
        if quantity > 0
    ]


def _search(sagemaker: Any, **kwargs: Any) -> Iterator[tuple[list[dict[str, Any]], bool]]:
    """Pages of TrainingJob descriptions, each with whether more pages follow."""
    pages = sagemaker.get_paginator("search").paginate(
        Resource="TrainingJob", PaginationConfig={"PageSize": PAGE_SIZE}, **kwargs
    )
    for page in pages:
        jobs = [r["TrainingJob"] for r in page["Results"] if "TrainingJob" in r]
        yield jobs, bool(page.get("NextToken"))


def overlapping_jobs(sagemaker: Any, window: Window) -> list[dict[str, Any]]:
    """Every job that may have trained inside the window (a superset; runs are clipped later)."""
    jobs: dict[str, dict[str, Any]] = {}
    unread = False
    for page, more in _search(sagemaker, SortBy="LastModifiedTime", SortOrder="Descending"):
        jobs.update((j["TrainingJobName"], j) for j in page)
        if more and any(j.get("LastModifiedTime", window.end) < window.start for j in page):
            unread = True  # sorted: later pages were all modified before the window
            break
    if unread:  # ... but a job still running may not have changed since
        running = {"Name": "TrainingJobStatus", "Operator": "Equals", "Value": "InProgress"}
        for page, _ in _search(sagemaker, SearchExpression={"Filters": [running]}):
            jobs.update((j["TrainingJobName"], j) for j in page)
    return list(jobs.values())


class SageMakerTrainingCollector(Collector):
    name = "aws.sagemaker"
    provider = "aws"
    permissions = Permissions(member=("sagemaker:Search",))
    metrics = (Metric.TRAINING_JOB_ACCELERATOR_HOURS,)
    max_concurrency = 4  # SageMaker Search has a low transactions-per-second limit
    description = "SageMaker training jobs: accelerator-hours (Search TrainingJob)"

    def collect(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        sagemaker = target.clients.client("sagemaker")
        with translate_errors("sagemaker"):
            jobs = overlapping_jobs(sagemaker, ctx.window)
        runs = [run for job in jobs for run in training_runs(job, ctx.now)]
        return run_records(target, self.name, runs, ctx.catalog, ctx.window)
