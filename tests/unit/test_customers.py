"""The know-your-customer registry: YAML and CSV, any script, strict validation with lines."""

from pathlib import Path
from textwrap import dedent

import pytest

from computewatch.config.customers import load_registry
from computewatch.domain.countries import country_groups
from computewatch.domain.errors import ConfigError
from tests.helpers.paths import REPO


def test_yaml_and_csv_examples_agree() -> None:
    yaml_reg = load_registry(REPO / "config" / "customers.example.yaml")
    csv_reg = load_registry(REPO / "config" / "customers.example.csv")
    assert set(yaml_reg.customers) == set(csv_reg.customers)
    for cid, c in yaml_reg.customers.items():
        other = csv_reg.customers[cid]
        assert (c.legal_name, c.country, c.intermediary, c.ultimate_parent) == (
            other.legal_name,
            other.country,
            other.intermediary,
            other.ultimate_parent,
        )
        assert {(a.provider, a.id) for a in c.accounts} == {
            (a.provider, a.id) for a in other.accounts
        }
    # Chinese names round-trip unchanged through both formats.
    assert csv_reg.customers["example-shenzhen-ai"].legal_name == "深圳示例智能科技有限公司"
    assert csv_reg.customers["example-shenzhen-ai"].beneficial_owners[0].country == "CN"


def test_lookup_and_groups() -> None:
    reg = load_registry(REPO / "config" / "customers.example.yaml")
    c = reg.customer_of("aws", "333333333333")
    assert c is not None and c.id == "example-shenzhen-ai"
    assert {"D:1", "D:4", "D:5"} <= reg.groups(c)
    assert "Macau" not in reg.groups(c)
    middle = reg.intermediary_of(c)
    assert middle is not None and middle.legal_name == "Example Cloud Resale Ltd."
    assert reg.customer_of("azure", "5d3b8f2e-6a41-4c97-b2d8-0e7f1a9c4b63").id == "example-genomics"  # type: ignore[union-attr]
    assert reg.customer_of("aws", "999999999999") is None


def test_country_groups_carry_source_and_status() -> None:
    cg = country_groups()
    assert "740" in cg.source and cg.as_of and cg.status
    assert cg.of("MO") >= {"Macau"}
    assert cg.of("CH") == frozenset()


BASE = """\
version: 1
customers:
  - id: reseller
    legal_name: Reseller Ltd
    country: IE
  - id: acme
    legal_name: Acme
    country: US
    intermediary: reseller
    accounts:
      - {provider: aws, id: "111111111111"}
"""


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (BASE.replace("country: US", "country: XX"), 8, "unknown ISO 3166-1"),
        (
            BASE.replace("intermediary: reseller", "intermediary: ghost"),
            9,
            "not a registered customer",
        ),
        (
            BASE
            + '  - id: other\n    legal_name: Other\n    country: FR\n    accounts: [{provider: aws, id: "111111111111"}]\n',
            15,
            "claimed by 'acme' and 'other'",
        ),
        (BASE + "  - id: acme\n    legal_name: Again\n    country: FR\n", 12, "defined twice"),
        (BASE.replace("provider: aws", "provider: gcp"), 11, "Input should be"),
    ],
)
def test_invalid_registry_names_line(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = tmp_path / "customers.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_registry(path)
    assert reason in str(exc.value)
    assert exc.value.line == line and str(path) in str(exc.value)


def test_csv_errors_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,legal_name,country\nok-one,One,FR\nbad-one,Bad,ZZ\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown ISO") as exc:
        load_registry(path)
    assert exc.value.line == 3
