"""Estimates and aggregation properties: TPP-hours, utilization band, re-collection in any order."""

import random
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computewatch.domain import Account, Dimensions, Method, Metric, UsageRecord, Window, utc
from computewatch.domain.catalog import Catalog
from computewatch.engine.estimates import methodology, tpp_hours, training_flop
from computewatch.engine.usage import BILLED_METRICS, build_account_usage
from computewatch.store import Store

OCT = Window.month("2026-10")


def test_tpp_hours_use_confirmed_figures_only(catalog: Catalog) -> None:
    tpp = tpp_hours({"H100": 100.0, "A100": 10.0, "A10G": 50.0, "unknown": 5.0}, catalog)
    assert tpp.value == pytest.approx(100 * 15832 + 10 * 4992)
    assert tpp.left_out == ("A10G", "unknown")


def test_utilization_band_changes_the_flop_band_and_the_methodology_only(catalog: Catalog) -> None:
    hours = {"H100": 1000.0, "T4": 10.0}
    a, b = (
        training_flop(hours, catalog, 0.25, 0.40, 0.55),
        training_flop(hours, catalog, 0.30, 0.35, 0.60),
    )
    assert (a.central, b.central) == (
        pytest.approx(1000 * 3600 * 9.89e14 * 0.40 + 10 * 3600 * 6.5e13 * 0.40),
        pytest.approx(1000 * 3600 * 9.89e14 * 0.35 + 10 * 3600 * 6.5e13 * 0.35),
    )
    assert a.excluded_hours == b.excluded_hours
    notes_a = {n.topic: n.text for n in methodology(catalog, 0.25, 0.40, 0.55)}
    notes_b = {n.topic: n.text for n in methodology(catalog, 0.30, 0.35, 0.60)}
    topic = "Compute capacity used (FLOP band)"
    assert {t for t in notes_a if notes_a[t] != notes_b[t]} == {topic}
    assert "35%" in notes_b[topic] and "upper-bound screen" in notes_b[topic]


def record(account: str, day: int, chip: str, rid: str, qty: float) -> UsageRecord:
    start = OCT.start + timedelta(days=day)
    return UsageRecord(
        "aws",
        account,
        "us-east-1",
        "aws.ec2",
        Metric.ACCELERATOR_HOURS,
        "accelerator-hours",
        Dimensions(sku="x", accelerator=chip, resource_id=rid),
        start,
        start + timedelta(days=1),
        qty,
        Method.SAMPLED,
    )


records = st.lists(
    st.builds(
        record,
        st.sampled_from(["111111111111", "222222222222"]),
        st.integers(0, 30),
        st.sampled_from(["H100", "A100"]),
        st.sampled_from(["i-1", "i-2", "i-3"]),
        st.floats(0, 1000, allow_nan=False),
    ),
    max_size=40,
)


@settings(max_examples=25, deadline=None)
@given(records, st.randoms(use_true_random=False))
def test_totals_ignore_order_and_recollection(
    catalog: Catalog, batch: list[UsageRecord], rnd: random.Random
) -> None:
    """Writing the same records in any order, and again (a re-collection), gives the totals of the
    distinct records: the last figure for each key, never a sum of repeats."""
    expected: dict[tuple[str, str], float] = {}
    latest = {r.key: r for r in batch}  # a later record with the same key replaces the earlier
    for r in latest.values():
        k = (r.account_id, r.dimensions.accelerator)
        expected[k] = expected.get(k, 0.0) + r.quantity
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 's.db'}"
        with Store.open(url) as store:
            run = store.runs.start(OCT, utc(2026, 11, 1), "t", "0" * 64)
            store.usage.write(run, batch, utc(2026, 11, 1))  # one collection...
            store.usage.write(
                run, [latest[r.key] for r in shuffled], utc(2026, 11, 2)
            )  # ...collected again
            accounts = [Account("aws", a) for a in ("111111111111", "222222222222")]
            usages = build_account_usage(
                accounts,
                store.usage.totals(OCT),
                store.usage.daily_totals(OCT, BILLED_METRICS),
                store.usage.peaks(OCT),
                [],
            )
        Store.dispose(url)  # its pooled connections, before the directory goes
    got = {
        (u.account.account_id, chip): h for u in usages for chip, h in u.accelerator_hours.items()
    }
    assert got.keys() == {k for k, v in expected.items()} and all(
        got[k] == pytest.approx(v) for k, v in expected.items()
    )
