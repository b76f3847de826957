"""Hostile and careless registry input (issue 14 items 6-8): clear errors with file and line."""

from pathlib import Path
from textwrap import dedent

import pytest

from computewatch.config.customers import load_registry
from computewatch.domain.errors import ConfigError

HEADER = "id,legal_name,country,aws_accounts,azure_subscriptions\n"


def test_non_utf8_csv_names_file_line_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    body = HEADER + "acme,Acme,FR,111111111111,\nmuller,Müller GmbH,DE,222222222222,\n"
    path.write_bytes(body.encode("cp1252"))
    with pytest.raises(ConfigError) as exc:
        load_registry(path)
    assert exc.value.exit_code == 2 and exc.value.line == 3
    assert str(path) in str(exc.value)
    assert "UTF-8" in str(exc.value) and "Windows-1252" in str(exc.value)


def test_garbage_csv_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(HEADER.encode() + bytes([0x81, 0xFE, 0xFF, 0x00, 0x9D]) * 10)
    with pytest.raises(ConfigError, match="not UTF-8") as exc:
        load_registry(path)
    assert exc.value.line == 2


@pytest.mark.parametrize("body", ["", HEADER, HEADER + ",,,,\n\n"])
def test_empty_csv_registry_is_an_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match="customer registry is empty"):
        load_registry(path)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("aws_accounts", "11111111111"),  # 11 digits
        ("aws_accounts", "arn:aws:iam::111111111111:root"),
        ("azure_subscriptions", "not-a-guid"),
    ],
)
def test_account_ids_are_validated(tmp_path: Path, column: str, value: str) -> None:
    row = {"aws_accounts": "", "azure_subscriptions": "", column: value}
    path = tmp_path / "customers.csv"
    path.write_text(
        HEADER + f"ok,Ok,FR,,\nacme,Acme,FR,{row['aws_accounts']},{row['azure_subscriptions']}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="is not a") as exc:
        load_registry(path)
    assert exc.value.line == 3 and value in str(exc.value)


def test_azure_subscription_matches_in_any_case(tmp_path: Path) -> None:
    path = tmp_path / "customers.yaml"
    path.write_text(
        dedent("""\
        version: 1
        customers:
          - id: acme
            legal_name: Acme
            country: FR
            accounts: [{provider: azure, id: 5D3B8F2E-6A41-4C97-B2D8-0E7F1A9C4B63}]
        """),
        encoding="utf-8",
    )
    reg = load_registry(path)
    for sub in ("5d3b8f2e-6a41-4c97-b2d8-0e7f1a9c4b63", "5D3B8F2E-6A41-4C97-B2D8-0E7F1A9C4B63"):
        found = reg.customer_of("azure", sub)
        assert found is not None and found.id == "acme"


@pytest.mark.parametrize(
    ("name", "code_point"),
    [
        ("Acme\rLtd", "U+000D"),
        ("Acme\nLtd", "U+000A"),
        ("Acme \u202egnp.exe", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("Acme\u2066Ltd", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("Acme\x1b[31mLtd", "U+001B"),
    ],
)
def test_control_and_bidi_characters_in_names_are_refused(
    tmp_path: Path, name: str, code_point: str
) -> None:
    path = tmp_path / "customers.csv"
    quoted = '"' + name + '"'
    path.write_text(HEADER + f"acme,{quoted},FR,111111111111,\n", encoding="utf-8", newline="")
    with pytest.raises(ConfigError, match="control or bidirectional") as exc:
        load_registry(path)
    assert code_point in str(exc.value) and "legal_name" in str(exc.value)


def test_scripts_with_joiners_stay_valid(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    names = ["深圳示例智能科技有限公司", "شرکت\u200cنمونه", "Société Générale"]
    rows = "".join(f"c{i}x,{n},FR,{i}{i}{i}{i}11111111,\n" for i, n in enumerate(names, 1))
    path.write_text(HEADER + rows, encoding="utf-8")
    assert [c.legal_name for c in load_registry(path).customers.values()] == names


def test_cloud_account_names_are_neutralised_in_every_format() -> None:
    """Names chosen in the cloud (an AWS account's, an Azure subscription's) cannot be refused
    like registry input; each control or bidi character is shown as its code point instead."""
    from computewatch.domain import Account, utc
    from computewatch.domain.catalog import Catalog
    from computewatch.reports.render import render
    from tests.helpers.engine import OCT
    from tests.helpers.store import entry
    from tests.helpers.usage import assessment, context, usage

    catalog = Catalog.load()
    account = Account("aws", "111111111111", "Acme \u202egnp.exe\r\n| x")
    assert account.name == "Acme [U+202E]gnp.exe[U+000D][U+000A]| x"
    cov = [entry()]
    u = usage(account, cov, catalog=catalog, accelerator_hours={"H100": 10})
    ctx = context(assessment([u], cov, [], OCT, utc(2026, 11, 2), catalog), catalog)
    for fmt in ("md", "html", "json"):
        text = render(ctx, fmt)
        assert "\u202e" not in text and "\r" not in text, fmt
        assert "U+202E" in text and "gnp.exe" in text, fmt


def test_account_option_matches_subscriptions_in_any_case() -> None:
    from computewatch.config.identifiers import normalise_any_account_id

    guid = "5D3B8F2E-6A41-4C97-B2D8-0E7F1A9C4B63"
    assert normalise_any_account_id(guid) == guid.lower()
    assert normalise_any_account_id(" 111111111111 ") == "111111111111"
