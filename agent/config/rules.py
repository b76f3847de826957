"""Rule files: YAML profiles of reporting thresholds, validated strictly at load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from computewatch.config.yamlsource import load_yaml, validate
from computewatch.domain import LegalStatus, Rule
from computewatch.domain.countries import country_groups
from computewatch.domain.errors import ConfigError
from computewatch.domain.metrics import rule_metric_names


def _known_metric(name: str) -> str:
    if name not in rule_metric_names():
        raise ValueError(f"unknown metric {name!r} (known: {', '.join(rule_metric_names())})")
    return name


# Any metric of the metric table, or a derived measure (DERIVED_METRICS).
RuleMetric = Annotated[
    str,
    AfterValidator(_known_metric),
    Field(json_schema_extra={"enum": list(rule_metric_names())}),
]
Scope = Literal["account", "customer", "intermediary", "country_group", "organization"]
WindowKind = Literal["calendar_month", "quarter", "rolling_days", "audit_period"]


class RuleFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    chips: list[str] = []
    chip_class: Literal["3A090"] | None = None
    country_groups: list[str] = Field(
        default=[], description="customers in these EAR country groups"
    )
    model_pattern: str = Field(
        default="", description="glob over model ids, e.g. 'anthropic.claude-*'"
    )
    provider: Literal["aws", "azure"] | None = None


class RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,80}$")
    title: str = Field(min_length=3)
    legal_basis: str = Field(min_length=3)
    citation: str = ""
    status: LegalStatus
    metric: RuleMetric
    filters: RuleFilters = RuleFilters()
    scope: Scope = "account"
    window: WindowKind = "calendar_month"
    days: int | None = Field(
        default=None, ge=1, le=3660, description="length of a rolling_days window"
    )
    comparison: Literal[">", ">=", "<", "<="] = ">"
    threshold: float = Field(ge=0)
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    band: Literal["low", "central", "high"] = Field(
        default="central",
        description="which end of an estimate band is compared (estimated_training_flop)",
    )

    @model_validator(mode="after")
    def _window_days(self) -> RuleModel:
        if (self.window == "rolling_days") != (self.days is not None):
            raise ValueError("'days' is required with window rolling_days, and only with it")
        known = set(country_groups().groups)
        unknown = [g for g in self.filters.country_groups if g not in known]
        if unknown:
            raise ValueError(
                f"unknown country group(s) {unknown} (known: {', '.join(sorted(known))})"
            )
        return self

    def to_rule(self) -> Rule:
        return Rule(
            id=self.id,
            title=self.title,
            legal_basis=self.legal_basis,
            citation=self.citation,
            legal_status=self.status,
            metric=self.metric,
            scope=self.scope,
            window=self.window,
            comparison=self.comparison,
            threshold=self.threshold,
            severity=self.severity,
            chips=tuple(self.filters.chips),
            chip_class=self.filters.chip_class or "",
            band=self.band,
            country_groups=tuple(self.filters.country_groups),
            model_pattern=self.filters.model_pattern,
            provider=self.filters.provider or "",
            window_days=self.days or 0,
        )


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str = Field(min_length=1)
    description: str = ""
    rules: list[RuleModel] = Field(min_length=1)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    sources: tuple[str, ...]


def load_rules(paths: list[Path]) -> RuleSet:
    """Load rule files; a rule id defined twice (in one file or across files) is an error."""
    rules: list[Rule] = []
    where: dict[str, str] = {}
    for path in paths:
        data, smap = load_yaml(path)
        parsed = validate(RuleFile, data, smap)
        for i, model in enumerate(parsed.rules):
            if model.id in where:
                raise ConfigError(
                    path,
                    f"rule id {model.id!r} is already defined in {where[model.id]}",
                    line=smap.line_for(("rules", i, "id")),
                    field=f"rules.{i}.id",
                )
            where[model.id] = str(path)
            rules.append(model.to_rule())
    return RuleSet(tuple(rules), tuple(str(p) for p in paths))
