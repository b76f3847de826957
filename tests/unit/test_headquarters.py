"""Restricted-country rules by headquarters test, and the country groups as the EAR has them.

Sources: Hong Kong is treated as China since 85 FR 83765 (23 Dec 2020); Burma moved to D:1 by
86 FR 13173 (8 Mar 2021); Cambodia left D:5 when State removed it from ITAR 126.1 (BIS conforming
rule, 3 Feb 2026); BIS's 13 May 2025 guidance speaks of parties "headquartered in, or whose ultimate
parent is headquartered in" Macau or a D:5 destination.
"""

from pathlib import Path
from textwrap import dedent

from computewatch.config.customers import AccountRef, Customer, Owner, Registry, load_registry
from computewatch.config.rules import load_rules
from computewatch.domain import Account, CoverageEntry, CoverageStatus, FindingStatus, Metric
from computewatch.domain.catalog import Catalog
from computewatch.domain.countries import country_groups
from computewatch.engine.evaluate import evaluate_window
from computewatch.engine.kyc import kyc_findings
from computewatch.engine.usage import AccountUsage, coverage_level
from tests.helpers.engine import OCT
from tests.helpers.paths import REPO

HK, SG_SUB, SG_LOCAL, CN_PARENT_OF_NOTHING = "111111111111", "222222222222", "333333333333", ""

REGISTRY = Registry(
    [
        Customer(
            id="hk-lab",
            legal_name="香港示例人工智能有限公司",
            country="HK",
            accounts=[AccountRef(provider="aws", id=HK)],
        ),
        Customer(
            id="sg-sub",
            legal_name="Example AI Pte. Ltd.",
            country="SG",
            ultimate_parent=Owner(name="示例控股集团有限公司", country="CN"),
            accounts=[AccountRef(provider="aws", id=SG_SUB)],
        ),
        Customer(
            id="sg-local",
            legal_name="Local AI Pte. Ltd.",
            country="SG",
            ultimate_parent=Owner(name="Local Holdings Pte. Ltd.", country="SG"),
            accounts=[AccountRef(provider="aws", id=SG_LOCAL)],
        ),
    ]
)


def _usage(account: str, hours: dict[str, float]) -> AccountUsage:
    entries = [
        CoverageEntry("aws", account, "us-east-1", "c", OCT.start, OCT.end, CoverageStatus.OK)
    ]
    u = AccountUsage(Account("aws", account, account), coverage_level(entries), [], 1, 1)
    for chip, h in hours.items():
        u.add(Metric.ACCELERATOR_HOURS, chip, h)
    return u


def test_hong_kong_is_china_in_every_group() -> None:
    cg = country_groups()
    assert cg.of("HK") == cg.of("CN") >= {"D:1", "D:4", "D:5"}


def test_burma_in_d1_cambodia_out_of_d5_macau_named() -> None:
    cg = country_groups()
    assert "D:1" in cg.of("MM") and "D:5" in cg.of("MM")
    assert "D:5" not in cg.of("KH") and "D:1" in cg.of("KH")
    assert cg.of("MO") >= {"Macau", "D:1"} and "D:5" not in cg.of("MO")
    assert cg.as_of and "740" in cg.source


def test_groups_match_the_amending_rules() -> None:
    """Belarus (87 FR 13048, 2022) and Venezuela (84 FR 24018, 2019) are in D:4; Iran has no D:1 mark
    (it is reached through D:4, D:5 and E:1); E:1 no longer holds Sudan (rescission, Jan 2021)."""
    cg = country_groups()
    assert "D:4" in cg.of("BY") and "D:4" in cg.of("VE") and "D:1" in cg.of("VE")
    assert "D:1" not in cg.of("IR") and cg.of("IR") >= {"D:4", "D:5", "E:1"}
    assert cg.groups["E:1"] == {"IR", "KP", "SY"} and cg.groups["E:2"] == {"CU"}


def test_groups_look_through_the_ultimate_parent() -> None:
    sub = REGISTRY.customers["sg-sub"]
    assert "D:5" in REGISTRY.groups(sub)
    assert REGISTRY.groups_via_parent(sub) >= {"D:5"}
    assert REGISTRY.groups(REGISTRY.customers["sg-local"]) == frozenset()


def test_hk_customer_and_singapore_subsidiary_of_prc_parent_are_caught(catalog: Catalog) -> None:
    rules = load_rules([REPO / "config" / "rules" / "reference-thresholds.yaml"]).rules
    (d5,) = [r for r in rules if r.id == "us-ear-3a090-remote-d5"]
    usages = [_usage(HK, {"H100": 10}), _usage(SG_SUB, {"L4": 10}), _usage(SG_LOCAL, {"H100": 10})]
    found = {f.scope_key: f for f in evaluate_window([d5], usages, OCT, catalog, REGISTRY)}
    assert set(found) == {"customer:hk-lab", "customer:sg-sub"}
    assert all(f.status is FindingStatus.BREACH for f in found.values())
    kyc = {
        f.scope_key: f.status
        for f in kyc_findings(usages, REGISTRY, ["D:5", "Macau"], OCT)
        if f.rule.id == "kyc-restricted-country-usage"
    }
    assert kyc == {"customer:hk-lab": FindingStatus.BREACH, "customer:sg-sub": FindingStatus.BREACH}


def test_the_reason_is_on_the_finding(catalog: Catalog) -> None:
    (f,) = [
        f
        for f in kyc_findings([_usage(SG_SUB, {"H100": 1})], REGISTRY, ["D:5", "Macau"], OCT)
        if f.scope_key == "customer:sg-sub"
    ]
    assert "through ultimate parent 示例控股集团有限公司, CN" in f.detail + " ".join(f.evidence)


def test_csv_registry_carries_the_ultimate_parent(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        dedent(
            """\
            id,legal_name,country,ultimate_parent,aws_accounts
            sg-sub,Example AI Pte. Ltd.,SG,示例控股集团有限公司 (CN),222222222222
            """
        ),
        "utf-8",
    )
    reg = load_registry(path)
    parent = reg.customers["sg-sub"].ultimate_parent
    assert parent is not None and (parent.name, parent.country) == ("示例控股集团有限公司", "CN")
    assert "D:5" in reg.groups(reg.customers["sg-sub"])
