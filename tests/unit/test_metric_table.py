"""The metric table drives every output: a metric defined once reaches the JSON report, the CSV
annex, the customer roll-ups, the report tables and the rule measures without code of its own."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest

from computewatch.config.customers import AccountRef, Customer, Registry
from computewatch.domain import Account, CoverageEntry, CoverageStatus, LegalStatus, Rule, Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.metrics import DERIVED_METRICS, METRICS, Key, MetricDef, rule_metric_names
from computewatch.engine.measures import DERIVED, measure
from computewatch.engine.scopes import combine
from computewatch.reports.annex import write_annex
from computewatch.reports.json_report import to_contract, validate_contract
from computewatch.reports.render import render
from tests.helpers.usage import assessment, context, usage

OCT = Window.month("2026-10")
KEYS = {Key.CHIP: "H100", Key.MODEL: "anthropic.claude-x", Key.SKU: "p5.48xlarge"}


def quantity(i: int) -> float:
    return float(10 + i)  # a distinct, whole value per metric


def every_metric() -> dict[str, dict[str, float]]:
    return {str(d.metric): {KEYS[d.key]: quantity(i)} for i, d in enumerate(METRICS)}


def rule(metric: str, threshold: float) -> Rule:
    return Rule(
        "r",
        "t",
        "b",
        "",
        LegalStatus.INTERNAL_POLICY,
        metric,
        "account",
        "calendar_month",
        ">",
        threshold,
        "high",
    )


@pytest.mark.parametrize("d", METRICS, ids=lambda d: str(d.metric))
def test_every_metric_is_measurable_by_rules(catalog: Catalog, d: MetricDef) -> None:
    u = usage(Account("aws", "1"), catalog=catalog, **every_metric())
    got = measure(rule(str(d.metric), 0), u, catalog)
    assert got.value == quantity(METRICS.index(d))


def test_rule_metric_names_cover_the_table_and_the_derived_measures() -> None:
    assert set(rule_metric_names()) == {str(d.metric) for d in METRICS} | set(DERIVED_METRICS)
    assert set(DERIVED) == set(DERIVED_METRICS)


def test_model_tokens_count_every_token_role_but_invocations(catalog: Catalog) -> None:
    u = usage(Account("aws", "1"), catalog=catalog, **every_metric())
    expected = sum(quantity(i) for i, d in enumerate(METRICS) if d.counts_as_tokens)
    assert measure(rule("model_tokens", 0), u, catalog).value == expected


def test_combine_keeps_every_metric(catalog: Catalog) -> None:
    a = usage(Account("aws", "1"), catalog=catalog, **every_metric())
    b = usage(Account("aws", "2"), catalog=catalog, **every_metric())
    both = combine(Account("scope", "x"), [a, b])
    for i, d in enumerate(METRICS):
        assert both.of(d.metric) == {KEYS[d.key]: 2 * quantity(i)}, d.metric


def test_every_metric_reaches_json_annex_and_roll_up(catalog: Catalog, tmp_path: Path) -> None:
    ok = CoverageEntry("aws", "111111111111", "r", "c", OCT.start, OCT.end, CoverageStatus.OK)
    u = usage(Account("aws", "111111111111", "acct"), [ok], catalog=catalog, **every_metric())
    registry = Registry(
        [
            Customer(
                id="c1",
                legal_name="C1",
                country="DE",
                accounts=[AccountRef(provider="aws", id="111111111111")],
            )
        ]
    )
    a = assessment([u], [ok], [], OCT, OCT.end + timedelta(days=1), catalog, registry)
    ctx = context(a, catalog)
    doc = to_contract(ctx)
    validate_contract(doc)
    (account,) = doc["accounts"]
    (customer,) = doc["customers"]
    rows = list(csv.DictReader(write_annex(ctx, tmp_path, "a")["csv"].open(encoding="utf-8-sig")))
    html = render(ctx, "html")
    for i, d in enumerate(METRICS):
        q = quantity(i)
        key = KEYS[d.key]
        if d.role:
            assert account["tokens"][key][d.role] == q
            assert customer["tokens"][key][d.role] == q
        elif d.json_field:
            assert account[d.json_field] == {key: q}
            assert customer[d.json_field] == {key: q}
        assert [float(r["quantity"]) for r in rows if r["metric"] == d.metric] == [q]
        assert d.title in html or d.group == "compute", d.metric
    assert json.dumps(doc)  # serialisable as is
