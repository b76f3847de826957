"""Training runs detected from the daily history, judged per run whatever months they span."""

from datetime import datetime, timedelta

from computewatch.config.customers import AccountRef, Customer, Registry
from computewatch.domain import Method, Metric, utc
from computewatch.domain.aggregates import DailyRow
from computewatch.domain.catalog import Catalog
from computewatch.engine.estimates import training_flop
from computewatch.engine.training_runs import RunThresholds, detect_training_runs

BAND = (0.10, 0.40, 0.60)
REGISTRY = Registry(
    [
        Customer(
            id="lab",
            legal_name="Lab",
            country="US",
            accounts=[
                AccountRef(provider="aws", id="111111111111"),
                AccountRef(provider="azure", id="00000000-0000-0000-0000-000000000001"),
            ],
        )
    ]
)


def rows(
    provider: str, account: str, chip: str, first: datetime, days: int, per_day: float
) -> list[DailyRow]:
    return [
        DailyRow(
            provider,
            account,
            str(Metric.ACCELERATOR_HOURS),
            chip,
            "sku",
            str(Method.BILLING),
            first + timedelta(days=i),
            per_day,
        )
        for i in range(days)
    ]


def test_a_run_across_two_months_crosses_what_neither_month_does(catalog: Catalog) -> None:
    # 64 H100s from 20 Oct to 9 Nov (21 days): 11 days in October, 10 in November.
    history = rows("aws", "111111111111", "H100", utc(2026, 10, 20), 21, 64 * 24)
    run_flop = training_flop({"H100": 64 * 24 * 21}, catalog, *BAND).central
    october = training_flop({"H100": 64 * 24 * 12}, catalog, *BAND).central
    threshold = (run_flop + october) / 2  # between the larger month and the whole run
    (run,) = detect_training_runs(
        history, REGISTRY, catalog, BAND, utc(2026, 12, 1), run_thresholds=((threshold, "T"),)
    )
    assert (run.start, run.end) == (utc(2026, 10, 20), utc(2026, 11, 10))
    assert run.crossed == ("T",) and run.peak_concurrent == 64 and not run.ongoing
    assert october < threshold and run.accelerator_hours == 64 * 24 * 21


def test_runs_span_accounts_and_clouds_and_gaps_split_them(catalog: Catalog) -> None:
    history = [
        *rows("aws", "111111111111", "H100", utc(2026, 10, 1), 3, 4 * 24),  # 4 + 4 on Azure = 8
        *rows("azure", "00000000-0000-0000-0000-000000000001", "A100", utc(2026, 10, 1), 3, 4 * 24),
        *rows(
            "aws", "111111111111", "H100", utc(2026, 10, 10), 1, 16 * 24
        ),  # one day: not sustained
        *rows("aws", "999", "H100", utc(2026, 10, 20), 5, 8 * 24),  # unregistered account
    ]
    runs = detect_training_runs(history, REGISTRY, catalog, BAND, utc(2026, 10, 25))
    assert [(r.owner, r.start, r.end, r.ongoing) for r in runs] == [
        ("aws:999", utc(2026, 10, 20), utc(2026, 10, 25), True),
        ("customer:lab", utc(2026, 10, 1), utc(2026, 10, 4), False),
    ]
    lab = runs[1]
    assert lab.accounts == (
        "aws:111111111111",
        "azure:00000000-0000-0000-0000-000000000001",
    ) and lab.chips == ("A100", "H100")
    shorter = detect_training_runs(
        history, REGISTRY, catalog, BAND, utc(2026, 10, 25), RunThresholds(8, 1)
    )
    assert len(shorter) == 3  # the single day counts once one day is enough


def test_billing_supersedes_inventory_and_overlapping_windows_count_once(catalog: Catalog) -> None:
    billed = rows("aws", "111111111111", "H100", utc(2026, 10, 1), 2, 8 * 24)
    sampled = [
        DailyRow(r.provider, r.account_id, r.metric, r.accelerator, r.sku, "sampled", r.day, 1.0)
        for r in billed
    ]
    (run,) = detect_training_runs(
        [*billed, *billed, *sampled], REGISTRY, catalog, BAND, utc(2026, 11, 1)
    )
    assert run.accelerator_hours == 2 * 8 * 24
