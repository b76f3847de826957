"""FOCUS 1.0-1.2 exports: AWS `FOCUS_1_2_AWS` (x_UsageType, x_ServiceCode) and Azure FocusCost
(x_SkuDetails ServiceType, x_SkuMeterName; CSP x_Reseller*/x_Customer*)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import yaml

from computewatch.collectors.exports import queries
from computewatch.collectors.exports.cur2 import AccountSeen, Fetch, PeriodRead, Run
from computewatch.collectors.exports.records import RecordSink
from computewatch.collectors.exports.tokens import (
    UNKNOWN_MODEL,
    bedrock_models,
    parse_usage_type,
    tokens_per_unit,
)
from computewatch.config.exports import ExportSource
from computewatch.domain import Metric
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import SourceError

SERVICE = "exports"
__all__ = ["UNKNOWN_MODEL", "azure_meters", "normalise", "read_focus"]
DIRECTION_METRICS = {
    "input": Metric.MODEL_INPUT_TOKENS,
    "output": Metric.MODEL_OUTPUT_TOKENS,
    "cache_read": Metric.MODEL_CACHE_READ_INPUT_TOKENS,
    "cache_write": Metric.MODEL_CACHE_WRITE_INPUT_TOKENS,
    # Fine-tuning training: tokens trained on, or training hours when the meter bills hours.
    "training": Metric.FINE_TUNING_TRAINING_TOKENS,
}


def hours_per_unit(unit: str) -> float | None:
    """Hours in one unit of an hour-billed meter ("1 Hour", "10 Hours"); None if not hours."""
    words = unit.lower().split()
    if not words or not words[-1].startswith("hour"):
        return None
    if len(words) == 1:
        return 1.0
    try:
        return float(words[0])
    except ValueError:
        return None


def normalise(meter: str) -> str:
    return re.sub(r"[\s_-]+", " ", meter.strip().lower())


@dataclass(frozen=True)
class MeterTable:
    version: str
    meters: dict[str, tuple[str, str]]  # normalised meter -> (model, direction)
    words: tuple[tuple[str, tuple[str, ...]], ...]  # direction -> words, in order

    def lookup(self, meter: str) -> tuple[str, Metric]:
        """(model, metric) of a token meter; an unlisted one is an unknown model, its direction
        taken from the meter's words (input when none says otherwise)."""
        key = normalise(meter)
        if key in self.meters:
            model, direction = self.meters[key]
            return model, DIRECTION_METRICS[direction]
        words = set(key.split())
        for direction, names in self.words:
            if words & set(names):
                return f"{UNKNOWN_MODEL} ({meter})", DIRECTION_METRICS[direction]
        return f"{UNKNOWN_MODEL} ({meter})", Metric.MODEL_INPUT_TOKENS


@cache
def azure_meters() -> MeterTable:
    text = (
        resources.files("computewatch.collectors.exports")
        .joinpath("data/azure_openai_meters.yaml")
        .read_text("utf-8")
    )
    doc = yaml.safe_load(text)
    meters = {normalise(m["meter"]): (str(m["model"]), str(m["direction"])) for m in doc["meters"]}
    words = tuple((d, tuple(ws)) for d, ws in doc["directions"].items())
    return MeterTable(str(doc["version"]), meters, words)


def read_focus(
    run: Run,
    table: str,
    period_start: date,
    catalog: Catalog,
    sink: RecordSink,
    source: ExportSource,
    fetch: Fetch | None = None,
) -> PeriodRead:
    out = PeriodRead()
    start = f"{period_start.isoformat()} 00:00:00"
    aws = source.cloud == "aws"

    def render(name: str, template: str) -> queries.Query:
        return queries.render(
            name, template, table=table, period_start=start, catalog=catalog, provider=source.cloud
        )

    accounts = render(
        "accounts", queries.FOCUS_AWS_ACCOUNTS if aws else queries.FOCUS_AZURE_ACCOUNTS
    )
    hours = render("hours", queries.FOCUS_AWS_HOURS if aws else queries.FOCUS_AZURE_HOURS)
    tokens = render("tokens", queries.FOCUS_AWS_TOKENS if aws else queries.FOCUS_AZURE_TOKENS)
    for row in run(accounts):
        seen = AccountSeen(
            str(row[0]), str(row[1] or ""), str(row[2] or ""), line_items=int(row[3])
        )
        if not aws:
            seen.reseller_id, seen.reseller_name = str(row[4]), str(row[5])
            seen.customer_id, seen.customer_name = str(row[6]), str(row[7])
        out.accounts[seen.account_id] = seen
    if not out.accounts:
        raise SourceError(SERVICE, "NoDelivery", f"export {source.name}: no rows for {start[:7]}")
    fetch = fetch or run
    sink.load_hours(fetch(hours))
    sink.load_tokens(fetch(tokens))
    unknown_units: set[str] = set()
    mapping = []
    if aws:
        models = bedrock_models()
        for usage_type, code, unit in sink.token_kinds():
            parsed = parse_usage_type(usage_type, code)
            per_unit = tokens_per_unit(unit)
            if parsed is None:
                continue
            if per_unit is None:
                unknown_units.add(f"{usage_type} in {unit!r}")
                continue
            mapping.append(
                (usage_type, code, unit, models.model_id(parsed[0]), parsed[1], per_unit)
            )
        out.queries["bedrock-models"] = models.version
    else:
        table_ = azure_meters()
        for meter, code, unit in sink.token_kinds():
            model, metric = table_.lookup(meter)
            in_hours = hours_per_unit(unit)
            if metric is Metric.FINE_TUNING_TRAINING_TOKENS and in_hours is not None:
                metric, per_unit = Metric.FINE_TUNING_HOURS, in_hours
            else:
                per_unit = tokens_per_unit(unit)
            if per_unit is None:
                unknown_units.add(f"{meter} in {unit!r}")
                continue
            mapping.append((meter, code, unit, model, metric, per_unit))
        out.queries["azure-openai-meters"] = table_.version
    sink.map_tokens(mapping)
    if unknown_units:
        raise SourceError(
            SERVICE,
            "UnknownPricingUnit",
            f"export {source.name}: token quantities in units not known: "
            + "; ".join(sorted(unknown_units)),
        )
    out.queries.update({q.name: q.digest for q in (accounts, hours, tokens)})
    return out
