"""A billing export is the account's billing record: per day it replaces Cost Explorer and the
inventory (never added to them), tokens included, and both figures are kept for the variance."""

from __future__ import annotations

from computewatch.domain import Account, CoverageEntry, CoverageStatus, DailyRow, Metric, Total
from computewatch.domain.aggregates import DailyModelRow
from computewatch.domain.window import utc
from computewatch.engine.usage import ALL_MODELS, build_account_usage

ACC = Account("aws", "111100000001", "atlas")
D1, D2 = utc(2026, 10, 1), utc(2026, 10, 2)


def row(method: str, day: object, qty: float, chip: str = "H100") -> DailyRow:
    return DailyRow(
        "aws", ACC.account_id, "accelerator_hours", chip, "p5.48xlarge", method, day, qty
    )  # type: ignore[arg-type]


def tokens(method: str, model: str, qty: float) -> Total:
    return Total("aws", ACC.account_id, "model_input_tokens", "", model, "", method, qty)


def ok() -> CoverageEntry:
    return CoverageEntry(
        "aws",
        ACC.account_id,
        "export:cur",
        "exports.billing",
        D1,
        utc(2026, 11, 1),
        CoverageStatus.OK,
    )


def test_the_export_replaces_live_hours_day_by_day_and_keeps_the_variance() -> None:
    rows = [
        row("billing-export", D1, 80.0),
        row("billing", D1, 72.0),
        row("sampled", D1, 64.0),
        row("sampled", D2, 16.0),  # a day the export does not have: inventory stays
    ]
    (u,) = build_account_usage([ACC], [], rows, [], [ok()])
    assert u.accelerator_hours == {"H100": 96.0}
    assert u.methods["accelerator_hours"] == {"billing-export", "sampled"}
    assert u.export_reconciliation == {("accelerator_hours", "H100"): (80.0, 72.0)}
    assert u.reconciliation == {"H100": (72.0, 64.0)}  # Cost Explorer vs inventory, as before


def test_exported_tokens_replace_the_live_metrics_and_are_compared() -> None:
    totals = [
        tokens("billing-export", "Claude3.5Sonnet", 2_000_000.0),
        tokens("metrics", "anthropic.claude-3-5-sonnet-20240620-v1:0", 1_900_000.0),
    ]
    (u,) = build_account_usage([ACC], totals, [], [], [ok()])
    assert u.of(Metric.MODEL_INPUT_TOKENS) == {"Claude3.5Sonnet": 2_000_000.0}
    assert u.export_reconciliation[("model_input_tokens", ALL_MODELS)] == (2_000_000.0, 1_900_000.0)


def test_what_an_export_does_not_measure_stays_as_the_live_collectors_read_it() -> None:
    sonnet = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    totals = [
        tokens("billing-export", sonnet, 2_040_000.0),
        tokens("metrics", sonnet, 2_000_000.0),
        Total("aws", ACC.account_id, "model_invocations", "", sonnet, "", "metrics", 900.0),
        Total("aws", ACC.account_id, "model_customization_jobs", "", sonnet, "", "job-history", 1),
    ]
    (u,) = build_account_usage([ACC], totals, [], [], [ok()])
    assert u.of(Metric.MODEL_INPUT_TOKENS) == {sonnet: 2_040_000.0}
    assert u.of(Metric.MODEL_INVOCATIONS) == {sonnet: 900.0}
    assert u.of(Metric.MODEL_CUSTOMIZATION_JOBS) == {sonnet: 1.0}
    assert u.export_reconciliation == {
        ("model_input_tokens", sonnet): (2_040_000.0, 2_000_000.0),
        ("model_input_tokens", ALL_MODELS): (2_040_000.0, 2_000_000.0),
    }


def test_while_the_month_is_delivered_tokens_are_replaced_and_compared_day_by_day() -> None:
    """The export has delivered day 1 only: day 2's live tokens stand and are not compared."""
    sonnet = "anthropic.claude-3-5-sonnet-20241022-v2:0"

    def day_tokens(method: str, day: object, qty: float) -> DailyModelRow:
        return DailyModelRow("aws", ACC.account_id, "model_input_tokens", sonnet, method, day, qty)  # type: ignore[arg-type]

    daily = [
        day_tokens("billing-export", D1, 1_020.0),
        day_tokens("metrics", D1, 1_000.0),
        day_tokens("metrics", D2, 700.0),
    ]
    totals = [  # the window sums the store also gives: not used for this account's tokens
        tokens("billing-export", sonnet, 1_020.0),
        tokens("metrics", sonnet, 1_700.0),
    ]
    (u,) = build_account_usage([ACC], totals, [], [], [ok()], daily_tokens=daily)
    assert u.of(Metric.MODEL_INPUT_TOKENS) == {sonnet: 1_720.0}
    assert u.methods["model_input_tokens"] == {"billing-export", "metrics"}
    assert u.export_reconciliation == {
        ("model_input_tokens", sonnet): (1_020.0, 1_000.0),
        ("model_input_tokens", ALL_MODELS): (1_020.0, 1_000.0),
    }


def test_without_an_export_nothing_changes() -> None:
    totals = [tokens("metrics", "m", 5.0)]
    (u,) = build_account_usage(
        [ACC], totals, [row("billing", D1, 8.0), row("sampled", D1, 6.0)], [], [ok()]
    )
    assert u.of(Metric.MODEL_INPUT_TOKENS) == {"m": 5.0}
    assert u.accelerator_hours == {"H100": 8.0}
    assert u.export_reconciliation == {}


def test_export_fine_tuning_replaces_live_hours_only_on_the_days_it_bills_them() -> None:
    """Fine-tuning may be billed in hours or in training tokens: on a delivered day without
    export hours, the live Azure Monitor hours stand (never zeroed); on a day the export bills
    hours, they replace the live ones (never added) and both are kept for the variance."""
    acc = Account("azure", "5f0c1d2e-0000-4000-8000-00000000a002", "contoso-ai")

    def ft(metric: str, method: str, day: object, qty: float) -> DailyModelRow:
        return DailyModelRow("azure", acc.account_id, metric, "gpt-35-turbo", method, day, qty)  # type: ignore[arg-type]

    daily = [
        ft("fine_tuning_hours", "billing-export", D1, 3.5),
        ft("fine_tuning_hours", "metrics", D1, 3.0),
        ft("fine_tuning_hours", "metrics", D2, 2.0),  # delivered day, no export hours: stands
        ft("fine_tuning_training_tokens", "billing-export", D2, 2_500_000.0),
    ]
    totals = [
        Total("azure", acc.account_id, r.metric, "", r.model, "", r.method, r.quantity)
        for r in daily
    ]
    entry = CoverageEntry(
        "azure", acc.account_id, "export:focus", "exports.billing", D1, utc(2026, 11, 1),
        CoverageStatus.OK,
    )  # fmt: skip
    (u,) = build_account_usage([acc], totals, [], [], [entry], daily_tokens=daily)
    assert u.of(Metric.FINE_TUNING_HOURS) == {"gpt-35-turbo": 5.5}
    assert u.methods["fine_tuning_hours"] == {"billing-export", "metrics"}
    assert u.export_reconciliation[("fine_tuning_hours", "gpt-35-turbo")] == (3.5, 3.0)
    assert u.of(Metric.FINE_TUNING_TRAINING_TOKENS) == {"gpt-35-turbo": 2_500_000.0}

    # Without the day rows (totals only), the export's hours replace the live ones.
    (u,) = build_account_usage([acc], totals, [], [], [entry])
    assert u.of(Metric.FINE_TUNING_HOURS) == {"gpt-35-turbo": 3.5}
