"""Amazon Bedrock: tokens and invocations per model from CloudWatch, fine-tuning jobs from Bedrock.

Tokens (method `metrics`): series in `AWS/Bedrock` are discovered with ListMetrics and only those
whose *only* dimension is `ModelId` are read; the same traffic is also published under extra
dimensions, and reading those too would count it twice. Values are fetched with GetMetricData, up
to 500 queries a call, so the cost per account-region is the ListMetrics pages plus
ceil(series / 500) GetMetricData pages, never a call per series. Records are daily sums per UTC
day of the window (a window edge off midnight is read with a shorter period that keeps it on a
period boundary). CloudWatch keeps hourly data 455 days; an older window is a SourceError, never 0.

Known limit of the API: ListMetrics omits series with no data in the past two weeks, so a model used
only before that cannot be discovered any more. Collecting regularly (the daemon) stores the daily
sums while the series are listed; a one-off audit of an older window can miss such a model, and
says so in the log.

Fine-tuning (method `job-history`): one `model_customization_jobs` record (quantity 1) per
ListModelCustomizationJobs job *created* in the window, on the UTC day of its creation. The
creation day never changes, so the count stays additive across any split of time (months summed
into a quarter, daily daemon runs); a job created before the window is counted in its own period.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from computewatch.collectors.aws.common import translate_errors
from computewatch.collectors.base import CollectContext, Collector, Permissions, Target
from computewatch.domain import Dimensions, Method, Metric, UsageRecord, Window
from computewatch.domain.errors import SourceError
from computewatch.domain.metrics import metric_def
from computewatch.domain.window import day_start

log = logging.getLogger(__name__)

NAMESPACE = "AWS/Bedrock"
MODEL_DIMENSION = "ModelId"
# CloudWatch metric name -> our metric. InputTokenCount excludes prompt-cache reads and writes,
# which Bedrock publishes as series of their own (only for models and accounts that use caching).
TOKEN_METRICS: dict[str, Metric] = {
    "InputTokenCount": Metric.MODEL_INPUT_TOKENS,
    "OutputTokenCount": Metric.MODEL_OUTPUT_TOKENS,
    "CacheReadInputTokenCount": Metric.MODEL_CACHE_READ_INPUT_TOKENS,
    "CacheWriteInputTokenCount": Metric.MODEL_CACHE_WRITE_INPUT_TOKENS,
    "Invocations": Metric.MODEL_INVOCATIONS,
}
QUERIES_PER_CALL = 500  # the GetMetricData maximum
DAY_SECONDS = 86400
RETENTION = timedelta(days=455)  # CloudWatch keeps 1-hour data this long
LIST_METRICS_HORIZON = timedelta(days=14)  # ListMetrics omits series idle for longer
# Finer periods are only kept this long (1-minute 15 days, 5-minute 63 days); then hourly.
RESOLUTIONS = ((timedelta(days=15), 60), (timedelta(days=63), 300), (RETENTION, 3600))
# Bedrock's creation-time bounds are exclusive; a day's margin each side, exact filter in code.
CREATION_MARGIN = timedelta(days=1)


@dataclass(frozen=True, slots=True, order=True)
class Series:
    """One CloudWatch series worth reading: a token metric for one model id."""

    metric_name: str
    model_id: str


def model_series(metrics: Iterable[dict[str, Any]]) -> list[Series]:
    """The token series among ListMetrics entries whose only dimension is ModelId."""
    found: set[Series] = set()
    for m in metrics:
        dims = m.get("Dimensions") or []
        if m.get("MetricName") in TOKEN_METRICS and len(dims) == 1:
            if dims[0].get("Name") == MODEL_DIMENSION and dims[0].get("Value"):
                found.add(Series(m["MetricName"], dims[0]["Value"]))
    return sorted(found)


def query_period(window: Window, now: datetime) -> int:
    """Seconds per GetMetricData period: a day, or a divisor of it that keeps both window edges on
    period boundaries (so no datapoint straddles an edge), coarse enough for the data's age."""
    age = now - window.start
    if age > RETENTION:
        raise SourceError(
            "cloudwatch",
            "RetentionExceeded",
            f"window starts {window.start:%Y-%m-%d}, more than {RETENTION.days} days before"
            f" {now:%Y-%m-%d}: CloudWatch no longer holds that data",
        )
    resolution = next(seconds for limit, seconds in RESOLUTIONS if age <= limit)
    micro = 10**6
    offsets = [(t - day_start(t)) // timedelta(microseconds=1) for t in (window.start, window.end)]
    period = math.gcd(DAY_SECONDS * micro, *offsets)
    if period % (resolution * micro):
        raise SourceError(
            "cloudwatch",
            "WindowResolution",
            f"window {window.label()} does not fall on {resolution}-second boundaries, the finest"
            " resolution CloudWatch keeps for data of that age",
        )
    return period // micro


def metric_query(query_id: str, series: Series, period: int) -> dict[str, Any]:
    """A MetricStat query for exactly this series (always with its dimension: a query without
    dimensions selects a different series in CloudWatch and every series in the emulator)."""
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": NAMESPACE,
                "MetricName": series.metric_name,
                "Dimensions": [{"Name": MODEL_DIMENSION, "Value": series.model_id}],
            },
            "Period": period,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


Points = dict[Series, list[tuple[datetime, float]]]


def fetch_points(cloudwatch: Any, series: list[Series], window: Window, period: int) -> Points:
    """Datapoints per series: one paginated GetMetricData per 500 series, results merged by id."""
    points: Points = defaultdict(list)
    paginator = cloudwatch.get_paginator("get_metric_data")
    for first in range(0, len(series), QUERIES_PER_CALL):
        batch = {f"q{i}": s for i, s in enumerate(series[first : first + QUERIES_PER_CALL])}
        status: dict[str, str] = {}
        pages = paginator.paginate(
            MetricDataQueries=[metric_query(qid, s, period) for qid, s in batch.items()],
            StartTime=window.start,
            EndTime=window.end,
            ScanBy="TimestampAscending",
        )
        for page in pages:
            for result in page["MetricDataResults"]:
                qid = result["Id"]
                points[batch[qid]].extend(zip(result["Timestamps"], result["Values"], strict=True))
                status[qid] = result.get("StatusCode", "Complete")
        incomplete = [qid for qid in batch if status.get(qid) != "Complete"]
        if incomplete:
            raise SourceError(
                "cloudwatch",
                status.get(incomplete[0]) or "MissingResult",
                f"GetMetricData did not complete {len(incomplete)} of {len(batch)} series,"
                f" e.g. {batch[incomplete[0]]}",
            )
    return points


def day_of(window: Window, moment: datetime) -> Window:
    """The UTC day holding `moment` (inside the window), clipped as `Window.day_windows()` does."""
    day = window.intersection(Window.day_of(moment))
    if day is None:
        raise ValueError(f"{moment} is not inside {window.label()}")
    return day


# Geographic prefixes of system-defined (cross-Region) inference profiles: `us.anthropic.claude-…`
# routes the same foundation model as `anthropic.claude-…` (Bedrock user guide, "Supported
# Regions and models for inference profiles"; CDK's CrossRegionInferenceProfileRegion).
PROFILE_GEOS = frozenset({"us", "us-gov", "eu", "apac", "jp", "au", "global"})


def foundation_model_id(model_id: str) -> str:
    """The foundation model a CloudWatch `ModelId` names, so tokens invoked directly, through a
    cross-Region profile (`us.`, `eu.`, `global.` …) or by ARN are counted under one model, the
    key billing exports use too. An application inference profile's ARN names no model and is
    kept as it is (visible, never dropped)."""
    for marker in (":foundation-model/", ":inference-profile/"):
        head, sep, tail = model_id.partition(marker)
        if sep and head.startswith("arn:"):
            model_id = tail
    geo, sep, rest = model_id.partition(".")
    if sep and geo in PROFILE_GEOS and "." in rest:
        return rest
    return model_id


def token_records(
    target: Target, collector: str, points: Points, window: Window
) -> list[UsageRecord]:
    """One record per (foundation model, UTC day, metric); days are `window.day_windows()`.
    Series of one model under several ids (direct and through inference profiles) are summed."""
    sums: dict[tuple[str, str, Window], float] = defaultdict(float)
    for series, values in points.items():
        model = foundation_model_id(series.model_id)
        for stamp, value in values:
            moment = as_utc(stamp)
            if window.contains(moment):  # CloudWatch may answer a period at the window's end
                sums[(model, series.metric_name, day_of(window, moment))] += value
    out: list[UsageRecord] = []
    for (model, metric_name, day), quantity in sorted(
        sums.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2].start)
    ):
        metric = TOKEN_METRICS[metric_name]
        unit = metric_def(metric).unit
        out.append(
            UsageRecord(
                "aws",
                target.account.account_id,
                target.region,
                collector,
                metric,
                unit,
                Dimensions(model=model),
                day.start,
                day.end,
                quantity,
                Method.METRICS,
            )
        )
    return out


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a timestamp without zone (the emulator sends some) is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def base_model_id(arn: str) -> str:
    """'arn:...:foundation-model/amazon.titan-text-express-v1' -> the model id; else the ARN."""
    _, sep, model = arn.partition(":foundation-model/")
    return model if sep else arn


def customization_records(
    target: Target, collector: str, jobs: Iterable[dict[str, Any]], window: Window
) -> list[UsageRecord]:
    """One record per job created in the window, on its creation day (clipped to the window)."""
    out: list[UsageRecord] = []
    for job in jobs:
        created = as_utc(job["creationTime"])
        if not window.contains(created):
            continue
        day = day_of(window, created)
        dims = Dimensions(
            model=base_model_id(job.get("baseModelArn", "")), resource_id=job["jobArn"]
        )
        out.append(
            UsageRecord(
                "aws",
                target.account.account_id,
                target.region,
                collector,
                Metric.MODEL_CUSTOMIZATION_JOBS,
                "jobs",
                dims,
                day.start,
                day.end,
                1,
                Method.JOB_HISTORY,
            )
        )
    return out


class BedrockCollector(Collector):
    name = "aws.bedrock"
    provider = "aws"
    permissions = Permissions(
        member=(
            "cloudwatch:ListMetrics",
            "cloudwatch:GetMetricData",
            "bedrock:ListModelCustomizationJobs",
        )
    )
    metrics = (
        *dict.fromkeys(TOKEN_METRICS.values()),
        Metric.MODEL_CUSTOMIZATION_JOBS,
    )
    # CloudWatch GetMetricData and ListMetrics share an API rate limit per account and region.
    max_concurrency = 4
    description = (
        "Bedrock tokens/invocations per model (CloudWatch AWS/Bedrock) and fine-tuning jobs"
    )

    def __init__(self) -> None:
        self._warned = False  # the discovery-horizon warning, once per run

    def collect(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        return self._tokens(target, ctx) + self._customization_jobs(target, ctx)

    def _tokens(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        period = query_period(ctx.window, ctx.now)
        if ctx.now - ctx.window.start > LIST_METRICS_HORIZON and not self._warned:
            self._warned = True
            log.warning(
                "Bedrock: the window starts more than %s days ago; ListMetrics does not list"
                " models idle since then, so their tokens may be missing",
                LIST_METRICS_HORIZON.days,
            )
        cloudwatch = target.clients.client("cloudwatch")
        with translate_errors("cloudwatch"):
            pages = cloudwatch.get_paginator("list_metrics").paginate(
                Namespace=NAMESPACE, Dimensions=[{"Name": MODEL_DIMENSION}]
            )
            series = model_series(m for page in pages for m in page["Metrics"])
            points = fetch_points(cloudwatch, series, ctx.window, period) if series else {}
        return token_records(target, self.name, points, ctx.window)

    def _customization_jobs(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        bedrock = target.clients.client("bedrock")
        with translate_errors("bedrock"):
            pages = bedrock.get_paginator("list_model_customization_jobs").paginate(
                creationTimeAfter=ctx.window.start - CREATION_MARGIN,
                creationTimeBefore=ctx.window.end + CREATION_MARGIN,
            )
            jobs = [job for page in pages for job in page["modelCustomizationJobSummaries"]]
        return customization_records(target, self.name, jobs, ctx.window)
