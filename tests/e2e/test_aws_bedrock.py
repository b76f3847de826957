"""Bedrock collector: real boto3 against the moto server (tokens, batching, jobs, gaps)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from computewatch.collectors.aws.bedrock import (
    BedrockCollector,
    Series,
    fetch_points,
    foundation_model_id,
    query_period,
    token_records,
)
from computewatch.collectors.aws.clients import AccountClients, static_credentials
from computewatch.collectors.base import ApiCallCounter, CollectContext, Target
from computewatch.collectors.permissions import aws_actions
from computewatch.demo.emulated_aws import (
    EmulatedAws,
    MemberSpec,
    align_emulator_iam,
    aws_environment,
)
from computewatch.demo.emulated_aws_usage import (
    ModelUsage,
    seed_bedrock_tokens,
    seed_customization_job,
    seed_target,
)
from computewatch.domain import Account, Dimensions, Method, Metric, UsageRecord, Window, utc
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import SourceError
from tests.helpers.aws import audit
from tests.helpers.paths import REPO

OCT = Window.month("2026-10")
NOW = utc(2026, 11, 28, 12)
REGION = "us-east-1"
CLAUDE = ModelUsage("anthropic.claude-3-5-sonnet-20240620-v1:0", 12_000, 3_000, 40)
TITAN = ModelUsage("amazon.titan-text-express-v1", 800, 150, 9)
LLAMA = ModelUsage("meta.llama3-70b-instruct-v1:0", 70, 30, 1)


def collect(
    cloud: EmulatedAws,
    account_id: str,
    window: Window,
    catalog: Catalog,
    now: Any = NOW,
    batch_sizes: list[int] | None = None,
) -> tuple[list[UsageRecord], dict[str, int]]:
    """Run the collector on one account-region; API calls counted, GetMetricData batches noted."""
    counter = ApiCallCounter()
    hooks = {}
    if batch_sizes is not None:

        def note(params: dict[str, Any], **_: Any) -> None:
            batch_sizes.append(len(params["MetricDataQueries"]))

        hooks["provide-client-params.cloudwatch.GetMetricData"] = note
    with aws_environment(cloud.endpoint, "unused", "unused"):
        creds = static_credentials(**cloud.credentials_for(account_id))
        clients = AccountClients(creds, None, counter, hooks)
        target = Target(Account("aws", account_id), REGION, clients.region(REGION))
        records = BedrockCollector().collect(target, CollectContext(window, now, catalog))
    return records, counter.snapshot()


def totals(records: list[UsageRecord]) -> dict[tuple[str, Metric], float]:
    out: dict[tuple[str, Metric], float] = defaultdict(float)
    for r in records:
        out[(r.dimensions.model, r.metric)] += r.quantity
    return dict(out)


def expected(usage: list[ModelUsage], days: int) -> dict[tuple[str, Metric], float]:
    return {
        (u.model_id, metric): value * days
        for u in usage
        for metric, value in (
            (Metric.MODEL_INPUT_TOKENS, u.input_tokens),
            (Metric.MODEL_OUTPUT_TOKENS, u.output_tokens),
            (Metric.MODEL_INVOCATIONS, u.invocations),
        )
    }


@pytest.fixture
def member(aws: EmulatedAws) -> str:
    org = aws.seed_organization([MemberSpec("ml-team")])
    return org.members["ml-team"]


def test_tokens_per_model_and_day_exact_extra_dimensions_ignored(
    aws: EmulatedAws, member: str, catalog: Catalog
) -> None:
    where = seed_target(aws, member, REGION)
    # Data from a week before to a week after October: only October may count.
    around = Window(OCT.start - timedelta(days=7), OCT.end + timedelta(days=7))
    seed_bedrock_tokens(aws, where, around, [CLAUDE, TITAN, LLAMA])
    # The same traffic again under an extra dimension: reading it would double-count.
    seed_bedrock_tokens(aws, where, around, [CLAUDE, TITAN], extra_dimensions={"Operation": "x"})
    # A model seen only under extra dimensions has no series of its own: nothing to ask for.
    ghost = ModelUsage("ghost.model-v1", 1, 1, 1)
    seed_bedrock_tokens(aws, where, around, [ghost], extra_dimensions={"Operation": "x"})

    batches: list[int] = []
    records, calls = collect(aws, member, OCT, catalog, batch_sizes=batches)

    assert totals(records) == expected([CLAUDE, TITAN, LLAMA], 31)
    assert len(records) == 3 * 3 * 31  # one per model, metric and day
    assert {(r.period_start, r.period_end) for r in records} == {
        (d.start, d.end) for d in OCT.day_windows()
    }
    units = {r.metric: r.unit for r in records}
    assert units == {
        Metric.MODEL_INPUT_TOKENS: "tokens",
        Metric.MODEL_OUTPUT_TOKENS: "tokens",
        Metric.MODEL_INVOCATIONS: "invocations",
    }
    assert {r.method for r in records} == {Method.METRICS}
    assert all(r.dimensions == Dimensions(model=r.dimensions.model) for r in records)
    assert batches == [9]  # 3 models x 3 metrics, the ghost's series not among them
    # One GetMetricData call and one customization-job page. (ListMetrics pages are
    # asserted below: the emulator lists a multi-dimension series once per datapoint.)
    assert calls["cloudwatch:GetMetricData"] == 1
    assert calls["bedrock:ListModelCustomizationJobs"] == 1
    assert set(calls) == {
        "bedrock:ListModelCustomizationJobs",
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
    }


def test_no_bedrock_use_is_zero_records(aws: EmulatedAws, member: str, catalog: Catalog) -> None:
    records, calls = collect(aws, member, OCT, catalog)
    assert records == []
    assert "cloudwatch:GetMetricData" not in calls  # nothing listed, nothing fetched


def test_partial_day_window_reads_only_its_part(
    aws: EmulatedAws, member: str, catalog: Catalog
) -> None:
    where = seed_target(aws, member, REGION)
    seed_bedrock_tokens(aws, where, Window.days(OCT.start.date(), OCT.start.date()), [TITAN])
    # Datapoints at 06:00 and 18:00, each half a day's figure; the window starts at noon.
    window = Window(utc(2026, 10, 1, 12), utc(2026, 10, 2))
    records, _ = collect(aws, member, window, catalog, now=utc(2026, 10, 5))
    assert totals(records)[(TITAN.model_id, Metric.MODEL_INPUT_TOKENS)] == TITAN.input_tokens / 2
    assert {(r.period_start, r.period_end) for r in records} == {(window.start, window.end)}


def test_501_series_take_two_get_metric_data_calls_and_two_list_pages(
    aws: EmulatedAws, member: str, catalog: Catalog
) -> None:
    where = seed_target(aws, member, REGION)
    day = Window.days(OCT.start.date(), OCT.start.date())
    models = [ModelUsage(f"custom.model-{i:03d}", i + 1, 2 * i + 1, 1) for i in range(167)]
    seed_bedrock_tokens(aws, where, day, models, points_per_day=1)  # 501 series

    batches: list[int] = []
    records, calls = collect(aws, member, day, catalog, batch_sizes=batches)

    assert calls["cloudwatch:GetMetricData"] == 2  # ceil(501 / 500)
    assert batches == [500, 1]
    assert calls["cloudwatch:ListMetrics"] == 2  # 500 series a page
    assert totals(records) == expected(models, 1)  # ids reused per batch map back correctly


def test_get_metric_data_pages_are_merged_and_incomplete_is_an_error() -> None:
    series = [Series("InputTokenCount", "m1"), Series("Invocations", "m1")]
    day1, day2 = utc(2026, 10, 1), utc(2026, 10, 2)
    window = Window(day1, utc(2026, 10, 3))
    client = boto3.client(
        "cloudwatch", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )

    def page(status: str, stamp: Any, value: float, token: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "MetricDataResults": [
                {"Id": qid, "Timestamps": [stamp], "Values": [value], "StatusCode": status}
                for qid in ("q0", "q1")
            ]
        }
        return {**body, "NextToken": token} if token else body

    with Stubber(client) as stub:
        stub.add_response("get_metric_data", page("PartialData", day1, 5, "more"))
        stub.add_response("get_metric_data", page("Complete", day2, 7))
        points = fetch_points(client, series, window, 86400)
        stub.assert_no_pending_responses()
    assert points[series[0]] == [(day1, 5), (day2, 7)]

    with Stubber(client) as stub:
        stub.add_response("get_metric_data", page("InternalError", day1, 5))
        with pytest.raises(SourceError) as err:
            fetch_points(client, series, window, 86400)
    assert err.value.code == "InternalError"


def test_points_outside_the_window_are_not_counted() -> None:
    target = Target(Account("aws", "111111111111"), REGION, clients=None)  # type: ignore[arg-type]
    series = Series("Invocations", "m1")
    points = {series: [(OCT.start - timedelta(days=1), 5.0), (OCT.start, 2.0), (OCT.end, 9.0)]}
    records = token_records(target, "aws.bedrock", points, OCT)
    assert [(r.period_start, r.quantity) for r in records] == [(OCT.start, 2.0)]


def test_query_period_retention_and_resolution() -> None:
    assert query_period(OCT, NOW) == 86400
    assert query_period(Window(utc(2026, 10, 1, 6), utc(2026, 10, 3)), utc(2026, 10, 9)) == 21600
    with pytest.raises(SourceError) as old:
        query_period(Window.month("2025-08"), NOW)  # more than 455 days back
    assert old.value.code == "RetentionExceeded"
    # 20 days back CloudWatch keeps 5-minute data only: a 30-second edge cannot be honoured.
    with pytest.raises(SourceError) as fine:
        query_period(Window(utc(2026, 11, 8, 0, 0) + timedelta(seconds=30), NOW), NOW)
    assert fine.value.code == "WindowResolution"


def test_window_beyond_retention_is_a_source_error_not_zero(
    aws: EmulatedAws, member: str, catalog: Catalog
) -> None:
    with pytest.raises(SourceError):
        collect(aws, member, Window.month("2025-08"), catalog)


def test_customization_jobs_counted_once_on_their_creation_day(
    aws: EmulatedAws, member: str, catalog: Catalog
) -> None:
    where = seed_target(aws, member, REGION)
    base = "amazon.titan-text-express-v1"
    seed_customization_job(aws, where, "september", base, utc(2026, 9, 29), utc(2026, 10, 2))
    done = seed_customization_job(aws, where, "done", base, utc(2026, 10, 5, 12), utc(2026, 10, 6))
    late = seed_customization_job(aws, where, "running", "meta.llama3-8b", utc(2026, 10, 31, 23))
    seed_customization_job(aws, where, "november", base, utc(2026, 11, 1))

    records, _ = collect(aws, member, OCT, catalog)

    jobs = sorted(
        (r.dimensions.resource_id, r.dimensions.model, r.period_start, r.quantity, r.unit)
        for r in records
        if r.metric is Metric.MODEL_CUSTOMIZATION_JOBS
    )
    assert jobs == sorted(
        [
            (done, base, utc(2026, 10, 5), 1, "jobs"),
            (late, "meta.llama3-8b", utc(2026, 10, 31), 1, "jobs"),
        ]
    )
    assert {r.method for r in records} == {Method.JOB_HISTORY}


def test_audit_reports_tokens_and_a_denied_account_as_a_gap(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    no_bedrock = tuple(
        a for a in aws_actions("member") if a not in BedrockCollector.permissions.actions
    )
    org = aws.seed_organization(
        [MemberSpec("tokens"), MemberSpec("denied", allowed_actions=no_bedrock)]
    )
    for name in ("tokens", "denied"):
        seed_bedrock_tokens(aws, seed_target(aws, org.members[name], REGION), OCT, [CLAUDE])
    align_emulator_iam()
    aws.enforce_iam()

    a = audit(aws, org, tmp_path, OCT, NOW, sqlite_url)

    tokens = a.account("tokens")
    assert tokens["coverage"]["status"] == "complete"
    assert tokens["tokens"] == {
        CLAUDE.model_id: {
            "input": CLAUDE.input_tokens * 31,
            "output": CLAUDE.output_tokens * 31,
            "invocations": CLAUDE.invocations * 31,
        }
    }
    assert tokens["methods"]["model_input_tokens"] == "metrics"
    denied = a.account("denied")
    assert denied["coverage"]["status"] == "partial"
    assert denied["tokens"] == {}  # unknown, not zero: the gap says so
    assert {(g["collector"], g["region"], g["error"]) for g in denied["coverage"]["gaps"]} == {
        ("aws.bedrock", "us-east-1", "AccessDenied"),
        ("aws.bedrock", "us-west-2", "AccessDenied"),
    }


def test_prompt_cache_tokens_reach_the_report_and_count_as_tokens(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    """Bedrock publishes prompt-cache reads and writes as series of their own: they are tokens the
    model processed (model_tokens), shown beside input and output, never folded into them."""
    cached = ModelUsage(
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        1_000,
        500,
        10,
        cache_read_tokens=4_000_000 / 31,
        cache_write_tokens=62_000 / 31,
    )
    org = aws.seed_organization([MemberSpec("cache")])
    seed_bedrock_tokens(aws, seed_target(aws, org.members["cache"], REGION), OCT, [cached])
    aws.enforce_iam()
    rules = {"rules": [str(REPO / "config" / "rules" / "internal-policy.yaml")]}
    a = audit(aws, org, tmp_path, OCT, NOW, sqlite_url, {"sections": rules}, bundle=False)

    (row,) = a.account("cache")["tokens"].values()
    assert row == {
        "input": 31_000.0,
        "output": 15_500.0,
        "cache_read_input": pytest.approx(4_000_000),
        "cache_write_input": pytest.approx(62_000),
        "invocations": 310.0,
    }
    assert a.account("cache")["methods"]["model_cache_read_input_tokens"] == "metrics"
    (tokens_rule,) = a.findings("internal-frontier-tokens-account", "cache")
    assert tokens_rule["value"] == pytest.approx(31_000 + 15_500 + 4_000_000 + 62_000)
    # Accounts without caching keep the three usual columns only (absent is not zero).
    assert "cache_read_input" not in a.report["accounts"][0]["tokens"].get(CLAUDE.model_id, {})


def test_inference_profile_tokens_count_under_their_foundation_model(
    aws: EmulatedAws, member: str, catalog: Catalog
) -> None:
    """Claude invoked directly, through the US cross-Region profile and by profile ARN is one
    model: one record per day and metric with the three series summed (so it matches the
    billing export's model key); an application profile's ARN names no model and stays apart."""
    where = seed_target(aws, member, REGION)
    base = CLAUDE.model_id
    via_us = ModelUsage(f"us.{base}", 500, 100, 5)
    via_arn = ModelUsage(f"arn:aws:bedrock:{REGION}:{member}:inference-profile/eu.{base}", 7, 3, 1)
    app = ModelUsage(
        f"arn:aws:bedrock:{REGION}:{member}:application-inference-profile/abc1", 2, 1, 1
    )
    seed_bedrock_tokens(aws, where, OCT, [CLAUDE, via_us, via_arn, app])

    records, _ = collect(aws, member, OCT, catalog)

    got = totals(records)
    assert got[(base, Metric.MODEL_INPUT_TOKENS)] == (12_000 + 500 + 7) * 31
    assert got[(base, Metric.MODEL_OUTPUT_TOKENS)] == (3_000 + 100 + 3) * 31
    assert got[(app.model_id, Metric.MODEL_INVOCATIONS)] == 31
    assert {r.dimensions.model for r in records} == {base, app.model_id}
    assert len(records) == 2 * 3 * 31  # summed, not one record per series


@pytest.mark.parametrize(
    ("model_id", "expected_model"),
    [
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
        (
            "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
        ),
        ("us-gov.meta.llama3-70b-instruct-v1:0", "meta.llama3-70b-instruct-v1:0"),
        ("global.anthropic.claude-sonnet-4-v1:0", "anthropic.claude-sonnet-4-v1:0"),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1",
            "amazon.titan-text-express-v1",
        ),
        (
            "arn:aws:bedrock:eu-west-1:111111111111:inference-profile/eu.amazon.nova-pro-v1:0",
            "amazon.nova-pro-v1:0",
        ),
        ("usx.model-v1", "usx.model-v1"),  # not a geography
        ("us.titan", "us.titan"),  # a geography-like provider with no model part is kept
    ],
)
def test_foundation_model_id(model_id: str, expected_model: str) -> None:
    assert foundation_model_id(model_id) == expected_model
