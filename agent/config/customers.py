"""Know-your-customer registry: who stands behind each account, where, through which reseller.

Loaded from YAML (`config/customers.example.yaml`) or CSV; validated once: unknown country codes,
an account claimed by two customers and a dangling intermediary are errors with file and line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from iso3166 import countries
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from computewatch.config.identifiers import (
    check_account_id,
    check_display_text,
    normalise_account_id,
)
from computewatch.config.yamlsource import SourceMap, load_yaml, validate
from computewatch.domain.countries import country_groups
from computewatch.domain.errors import ConfigError


def _country(code: str) -> str:
    code = code.strip().upper()
    try:
        countries.get(code)
    except KeyError:
        raise ValueError(f"unknown ISO 3166-1 alpha-2 country code {code!r}") from None
    if len(code) != 2:
        raise ValueError(f"country must be an ISO 3166-1 alpha-2 code, got {code!r}")
    return code


CountryCode = Annotated[str, AfterValidator(_country)]
DisplayText = Annotated[str, AfterValidator(check_display_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Owner(_Strict):
    name: DisplayText = Field(min_length=1)
    country: CountryCode


class AccountRef(_Strict):
    provider: Literal["aws", "azure"]
    id: str = Field(min_length=1)

    @model_validator(mode="after")
    def _valid_id(self) -> AccountRef:
        """A 12-digit AWS id, a subscription GUID (matched in any case)."""
        object.__setattr__(self, "id", check_account_id(self.provider, self.id))
        return self


class Customer(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,80}$")
    legal_name: DisplayText = Field(min_length=1, description="as registered, in any script")
    country: CountryCode = Field(description="ISO 3166-1 alpha-2 country of headquarters")
    address: DisplayText = ""
    beneficial_owners: list[Owner] = []
    intermediary: str | None = Field(
        default=None, description="id of the reseller the accounts are held through"
    )
    ultimate_parent: Owner | None = Field(
        default=None,
        description="ultimate parent and the country of its headquarters: the D:5 / Macau rules "
        "reach entities headquartered there or whose ultimate parent is (BIS guidance, 13 May 2025)",
    )
    contact: str = Field(default="", description="customer contact (foreign-person report field)")
    payment_source: str = Field(
        default="", description="how the customer pays (card, invoice, reseller)"
    )
    accounts: list[AccountRef] = []


class RegistryFile(_Strict):
    version: Literal[1] = 1
    customers: list[Customer]


class Registry:
    """Customers by id and by account; country groups of each customer."""

    def __init__(self, customers: Iterable[Customer], origin: str = "") -> None:
        self.origin = origin
        self.customers: dict[str, Customer] = {c.id: c for c in customers}
        self.by_account: dict[tuple[str, str], str] = {}
        for c in self.customers.values():
            for ref in c.accounts:
                self.by_account[(ref.provider, ref.id)] = c.id

    def customer_of(self, provider: str, account_id: str) -> Customer | None:
        cid = self.by_account.get((provider, normalise_account_id(provider, account_id)))
        return None if cid is None else self.customers[cid]

    def groups(self, customer: Customer) -> frozenset[str]:
        """Country groups by headquarters test: the customer's own country and its ultimate
        parent's, so a Singapore subsidiary of a PRC parent is in D:5 like its parent."""
        own = country_groups().of(customer.country)
        return own | self.groups_via_parent(customer)

    def groups_via_parent(self, customer: Customer) -> frozenset[str]:
        """Groups the customer is in only through its ultimate parent's headquarters."""
        parent = customer.ultimate_parent
        if parent is None:
            return frozenset()
        return country_groups().of(parent.country) - country_groups().of(customer.country)

    def intermediary_of(self, customer: Customer) -> Customer | None:
        return None if customer.intermediary is None else self.customers[customer.intermediary]


def _check_registry(parsed: list[Customer], path: Path, smap: SourceMap | None) -> Registry:
    def fail(reason: str, loc: tuple[str | int, ...]) -> ConfigError:
        line = smap.line_for(loc) if smap else None
        return ConfigError(path, reason, line=line, field=".".join(map(str, loc)))

    seen_ids: dict[str, int] = {}
    claimed: dict[tuple[str, str], str] = {}
    for i, c in enumerate(parsed):
        if c.id in seen_ids:
            raise fail(f"customer id {c.id!r} is defined twice", ("customers", i, "id"))
        seen_ids[c.id] = i
        for j, ref in enumerate(c.accounts):
            key = (ref.provider, ref.id)
            if key in claimed:
                raise fail(
                    f"{ref.provider} account {ref.id} is claimed by {claimed[key]!r} and {c.id!r}",
                    ("customers", i, "accounts", j, "id"),
                )
            claimed[key] = c.id
    for i, c in enumerate(parsed):
        if c.intermediary is not None and c.intermediary not in seen_ids:
            raise fail(
                f"intermediary {c.intermediary!r} is not a registered customer",
                ("customers", i, "intermediary"),
            )
        if c.intermediary == c.id:
            raise fail(
                "a customer cannot be its own intermediary", ("customers", i, "intermediary")
            )
    return Registry(parsed, str(path))


def _read_csv_text(path: Path) -> str:
    """The file as text; a registry that is not UTF-8 is refused with the line of the first bad
    byte (guessing would garble names), and one without a single data row is refused too."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint = "save it as UTF-8 (CSV UTF-8 in Excel)"
        try:
            data.decode("cp1252")
            hint += "; it looks like Windows-1252 (ANSI)"
        except UnicodeDecodeError:
            pass
        raise ConfigError(
            path, f"not UTF-8 text (byte 0x{data[exc.start]:02x}): {hint}", line=line
        ) from None
    if not [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)][1:]:
        raise ConfigError(path, "the customer registry is empty (a header and one row or more)")
    return text


def _from_csv(path: Path) -> list[dict[str, Any]]:
    """CSV columns: id, legal_name, country, address, beneficial_owners ('Name (CC); ...'),
    intermediary, ultimate_parent ('Name (CC)'), aws_accounts, azure_subscriptions (separated by
    ';' or spaces)."""
    rows: list[dict[str, Any]] = []
    text = _read_csv_text(path)
    for row in csv.DictReader(io.StringIO(text)):
        owners = []
        for part in filter(
            None, (p.strip() for p in (row.get("beneficial_owners") or "").split(";"))
        ):
            name, _, rest = part.rpartition("(")
            owners.append({"name": name.strip() or part, "country": rest.rstrip(") ").strip()})
        accounts = [
            {"provider": provider, "id": value}
            for provider, column in (("aws", "aws_accounts"), ("azure", "azure_subscriptions"))
            for value in (row.get(column) or "").replace(";", " ").split()
        ]
        parent = (row.get("ultimate_parent") or "").strip()
        name, _, rest = parent.rpartition("(")
        rows.append(
            {
                "ultimate_parent": (
                    {"name": name.strip() or parent, "country": rest.rstrip(") ").strip()}
                    if parent
                    else None
                ),
                "id": row.get("id", ""),
                "legal_name": row.get("legal_name", ""),
                "country": row.get("country", ""),
                "address": row.get("address") or "",
                "beneficial_owners": owners,
                "intermediary": row.get("intermediary") or None,
                "accounts": accounts,
            }
        )
    return rows


def load_registry(path: Path) -> Registry:
    """Load the customer registry from YAML or CSV (by extension)."""
    if path.suffix.lower() == ".csv":
        try:
            rows = _from_csv(path)
        except FileNotFoundError:
            raise ConfigError(path, "file not found") from None
        smap = SourceMap(path)
        for i in range(len(rows)):
            smap.lines[("customers", i)] = i + 2  # header is line 1
        parsed = validate(RegistryFile, {"customers": rows}, smap)
        return _check_registry(parsed.customers, path, smap)
    data, smap = load_yaml(path)
    parsed = validate(RegistryFile, data, smap)
    return _check_registry(parsed.customers, path, smap)
