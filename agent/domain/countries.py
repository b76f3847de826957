"""EAR country groups by ISO 3166-1 alpha-2 code, loaded from the shipped data file on demand."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class CountryGroups:
    source: str
    as_of: str
    status: str
    groups: dict[str, frozenset[str]]

    def of(self, country: str) -> frozenset[str]:
        return frozenset(g for g, members in self.groups.items() if country in members)


@cache
def country_groups() -> CountryGroups:
    raw = yaml.safe_load(
        resources.files("computewatch.domain")
        .joinpath("data/country_groups.yaml")
        .read_text("utf-8")
    )
    return CountryGroups(
        source=raw["source"],
        as_of=str(raw["as_of"]),
        status=raw["status"],
        groups={name: frozenset(g["countries"]) for name, g in raw["groups"].items()},
    )
