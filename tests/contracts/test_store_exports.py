"""store.exports: billing-export deliveries; a re-delivered period replaces its figures."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from computewatch.domain import Dimensions, Method, Metric, UsageRecord, Window, utc
from computewatch.domain.deliveries import AccountClaim, ExportDelivery, ExportFigures
from computewatch.domain.window import DAY
from computewatch.store import Store

OCT = Window.month("2026-10")
REGION = "export:cur"


def delivery(delivery_id: str) -> ExportDelivery:
    return ExportDelivery(
        export="cur",
        provider="aws",
        region=REGION,
        collector="exports.billing",
        billing_period="2026-10",
        period_start=OCT.start,
        period_end=OCT.end,
        delivery_id=delivery_id,
        format="cur2",
        schema_version="2.0",
        manifest="cur/metadata/BILLING_PERIOD=2026-10/cur-Manifest.json",
        files=(("cur/data/BILLING_PERIOD=2026-10/cur-00001.snappy.parquet", "e7a1", 1024),),
        queries=(("hours", "ab" * 32),),
        accounts=(AccountClaim("aws", "111100000001", "atlas", customer_name="Atlas Ltd."),),
    )


def rec(account: str, day: int, qty: float, region: str = REGION) -> UsageRecord:
    start = utc(2026, 10, day)
    return UsageRecord(
        "aws",
        account,
        region,
        "exports.billing",
        Metric.ACCELERATOR_HOURS,
        "accelerator-hours",
        Dimensions(sku="p5.48xlarge", accelerator="H100"),
        start,
        start + DAY,
        qty,
        Method.BILLING_EXPORT,
    )


def test_a_redelivery_replaces_the_period_and_keeps_its_provenance(store: Store) -> None:
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    assert store.exports.replace_period(delivery("exec-a"), run, utc(2026, 11, 2)) == ""
    store.usage.write(
        run, [rec("111100000001", 1, 80.0), rec("111100000002", 2, 8.0)], utc(2026, 11, 2)
    )
    other = rec("111100000001", 1, 5.0, region="export:other")  # another export: untouched
    store.usage.write(run, [other], utc(2026, 11, 2))
    # The re-delivery no longer has account ...002: its figure must not linger.
    assert store.exports.replace_period(delivery("exec-b"), run, utc(2026, 11, 3)) == "exec-a"
    store.usage.write(run, [rec("111100000001", 1, 96.0)], utc(2026, 11, 3))
    got = {(t.account_id, t.quantity) for t in store.usage.totals(OCT)}
    assert got == {("111100000001", 96.0 + 5.0)}
    (stored,) = store.exports.for_window(OCT)
    assert stored == delivery("exec-b")
    assert store.exports.previous_of("cur", "2026-10") == "exec-a"
    # The same delivery again is idempotent.
    assert store.exports.replace_period(delivery("exec-b"), run, utc(2026, 11, 4)) == ""
    assert store.exports.for_window(Window.month("2026-11")) == []


def test_a_run_limited_to_some_accounts_replaces_only_theirs(store: Store) -> None:
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    store.usage.write(
        run, [rec("111100000001", 1, 80.0), rec("111100000002", 2, 8.0)], utc(2026, 11, 2)
    )
    store.exports.replace_period(delivery("exec-a"), run, utc(2026, 11, 2), {"111100000001"})
    assert {t.account_id for t in store.usage.totals(OCT)} == {"111100000002"}


def test_token_totals_per_day_and_model(store: Store) -> None:
    """What lets an export replace live tokens only on the days it has delivered."""
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)

    def tok(region: str, day: int, model: str, qty: float, method: Method) -> UsageRecord:
        start = utc(2026, 10, day)
        return UsageRecord(
            "aws",
            "111100000001",
            region,
            "exports.billing" if method is Method.BILLING_EXPORT else "aws.bedrock",
            Metric.MODEL_INPUT_TOKENS,
            "tokens",
            Dimensions(model=model),
            start,
            start + DAY,
            qty,
            method,
        )

    store.usage.write(
        run,
        [
            tok(REGION, 1, "m1", 1_020.0, Method.BILLING_EXPORT),
            tok("us-east-1", 1, "m1", 600.0, Method.METRICS),
            tok("us-west-2", 1, "m1", 400.0, Method.METRICS),
            tok("us-east-1", 2, "m2", 700.0, Method.METRICS),
        ],
        utc(2026, 11, 2),
    )
    rows = store.usage.daily_model_totals(OCT, [str(Metric.MODEL_INPUT_TOKENS)])
    got = {(r.model, str(r.method), r.day.day): r.quantity for r in rows}
    assert got == {
        ("m1", "billing-export", 1): 1_020.0,
        ("m1", "metrics", 1): 1_000.0,
        ("m2", "metrics", 2): 700.0,
    }


def figures(rows: list[tuple[str, str, str, str, str, int, float]]) -> ExportFigures:
    """(account, metric, unit, sku, chip or model, day, quantity) as one Arrow batch."""
    tokens = [r[1].startswith("model_") for r in rows]
    batch = pa.RecordBatch.from_pydict(
        {
            "account_id": [r[0] for r in rows],
            "metric": [r[1] for r in rows],
            "unit": [r[2] for r in rows],
            "sku": [r[3] for r in rows],
            "accelerator": ["" if t else r[4] for r, t in zip(rows, tokens, strict=True)],
            "model": [r[4] if t else "" for r, t in zip(rows, tokens, strict=True)],
            "usage_day": [date(2026, 10, r[5]) for r in rows],
            "quantity": [r[6] for r in rows],
        }
    )
    return ExportFigures("aws", REGION, "exports.billing", [batch])


def test_bulk_figures_are_the_records_a_record_write_would_store(store: Store) -> None:
    """The bulk path (Arrow batches, executemany / COPY) keys and stamps rows exactly like
    `usage.write`, and a re-delivery through it replaces the period in one transaction."""
    run = store.runs.start(OCT, utc(2026, 11, 2), "t", "0" * 64)
    model = 'unknown model (Cláude "x")'  # a text JSON escapes: the key must still match
    bulk = [
        ("111100000001", "accelerator_hours", "accelerator-hours", "p5.48xlarge", "H100", 1, 80.0),
        ("111100000001", "model_input_tokens", "tokens", "", model, 2, 1_000.0),
    ]
    replaced, written = store.exports.replace(
        [delivery("exec-a")], run, utc(2026, 11, 2), None, [figures(bulk)]
    )
    assert (replaced, written) == ([""], 2)
    tok = UsageRecord(
        "aws",
        "111100000001",
        REGION,
        "exports.billing",
        Metric.MODEL_INPUT_TOKENS,
        "tokens",
        Dimensions(model=model),
        utc(2026, 10, 2),
        utc(2026, 10, 3),
        1_000.0,
        Method.BILLING_EXPORT,
    )
    # The same records written one by one hit the same keys: nothing is added.
    store.usage.write(run, [rec("111100000001", 1, 80.0), tok], utc(2026, 11, 2))
    totals = {(t.metric, t.quantity) for t in store.usage.totals(OCT)}
    assert totals == {(Metric.ACCELERATOR_HOURS, 80.0), (Metric.MODEL_INPUT_TOKENS, 1_000.0)}
    rows = store.usage.daily_model_totals(OCT, [str(Metric.MODEL_INPUT_TOKENS)])
    assert [(r.model, str(r.method), r.day.day) for r in rows] == [(model, "billing-export", 2)]
    # A re-delivery without the tokens: they do not linger, the hours are replaced.
    again = [(*bulk[0][:6], 96.0)]
    assert store.exports.replace(
        [delivery("exec-b")], run, utc(2026, 11, 3), None, [figures(again)]
    ) == (["exec-a"], 1)
    assert {(t.metric, t.quantity) for t in store.usage.totals(OCT)} == {
        (Metric.ACCELERATOR_HOURS, 96.0)
    }
