"""Bedrock usage types in billing exports -> model x direction, and pricing units -> tokens.

Bedrock bills each token type as its own usage type (Amazon Bedrock user guide, "Understanding
your Amazon Bedrock Cost and Usage Report data"): `<region>-<model>-input-tokens`,
`-output-tokens`, `-cache-read-input-token-count`, `-cache-write-input-token-count`, with
service-tier, batch and cross-region variants in the middle; Marketplace models bill as
`<region>-MP:<region>_InputTokenCount-Units`. Quantities come in the pricing unit's blocks
(1K or 1M tokens). Tables, not code: an unknown unit is refused (never guessed), an unknown
usage type keeps its billed name as the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from computewatch.domain import Metric

UNKNOWN_MODEL = "unknown model"

# (marker, metric): the first marker the usage type ends with (or, for `mantle`, contains) wins.
DIRECTIONS: tuple[tuple[str, Metric], ...] = (
    ("-cache-read-input-token-count", Metric.MODEL_CACHE_READ_INPUT_TOKENS),
    ("-cache-write-input-token-count", Metric.MODEL_CACHE_WRITE_INPUT_TOKENS),
    ("-mantle-input-tokens", Metric.MODEL_INPUT_TOKENS),
    ("-mantle-output-tokens", Metric.MODEL_OUTPUT_TOKENS),
    ("-input-tokens", Metric.MODEL_INPUT_TOKENS),
    ("-output-tokens", Metric.MODEL_OUTPUT_TOKENS),
    ("_inputtokencount-units", Metric.MODEL_INPUT_TOKENS),
    ("_outputtokencount-units", Metric.MODEL_OUTPUT_TOKENS),
)

# Variants billed under their own usage type; the tokens belong to the same model.
VARIANTS = (
    "-cross-region-global",
    "-cross-region",
    "-batch",
    "-global",
    "-flex",
    "-priority",
    "-latency-optimized",
)

# Pricing units (lower-cased) -> tokens per unit.
UNITS: dict[str, float] = {
    "tokens": 1.0,
    "token": 1.0,
    "count": 1.0,
    "units": 1.0,
    "1k tokens": 1e3,
    "1k": 1e3,
    "1m tokens": 1e6,
    "1m": 1e6,
}


def tokens_per_unit(unit: str) -> float | None:
    """How many tokens one unit of `unit` is (None: not a unit we know)."""
    return UNITS.get(" ".join(unit.lower().split()))


# Bedrock model customization (fine-tuning, continued pre-training, distillation) is billed per
# token trained on (Amazon Bedrock pricing, "Model customization": price per 1,000 tokens, plus
# monthly storage per custom model), under usage types that name the base model and the
# customization, e.g. `USE1-NovaMicro-Customization-Training-Tokens`. The words below are taken
# out of the usage type to leave the billed model name; storage rows (no training word) are not
# training. This shape is inferred from the token usage types' pattern and the pricing page, not
# from a delivered CUR: a variant with both words still counts, under whatever name remains.
CUSTOMIZATION_WORDS = frozenset(
    {"customization", "custom", "model", "training", "train", "tokens", "token", "count", "units"}
)


def _drop_region(stem: str) -> str:
    head, sep, rest = stem.partition("-")
    if sep and head.isupper() and head.isalnum() and len(head) <= 5:
        return rest  # USE1-, EUC1-, ...
    return stem


def parse_customization(usage_type: str) -> str | None:
    """The billed model of a Bedrock customization-training usage type; None if not one."""
    low = usage_type.lower()
    if "customization" not in low or "train" not in low:
        return None
    parts = [p for p in _drop_region(usage_type).split("-") if p.lower() not in CUSTOMIZATION_WORDS]
    return "-".join(parts) or usage_type


def parse_usage_type(usage_type: str, product_code: str) -> tuple[str, Metric] | None:
    """(model as billed, metric) of a Bedrock token usage type (customization training tokens
    included); None if it is not one."""
    low = usage_type.lower()
    trained = parse_customization(usage_type)
    if trained is not None:
        return trained, Metric.FINE_TUNING_TRAINING_TOKENS
    for marker, metric in DIRECTIONS:
        pos = low.rfind(marker)
        if pos < 0 or (not marker.startswith("-mantle") and not low.endswith(marker)):
            continue
        if "mp:" in low:  # Marketplace: the product code names the listing
            return f"marketplace:{product_code}", metric
        stem = _drop_region(usage_type[:pos])
        for variant in VARIANTS:
            if stem.lower().endswith(variant):
                stem = stem[: -len(variant)]
                break
        return stem or usage_type, metric
    return None


@dataclass(frozen=True)
class BedrockModels:
    """Billed model name -> Bedrock model id (data/bedrock_models.yaml), so that export and
    CloudWatch tokens are keyed by the same model."""

    version: str
    models: dict[str, str]  # lower-cased billed name -> model id

    def model_id(self, billed: str) -> str:
        """The model id of a billed name; an unlisted one stays visible as an unknown model."""
        return self.models.get(billed.lower(), f"{UNKNOWN_MODEL} ({billed})")


@cache
def bedrock_models() -> BedrockModels:
    text = (
        resources.files("computewatch.collectors.exports")
        .joinpath("data/bedrock_models.yaml")
        .read_text("utf-8")
    )
    doc = yaml.safe_load(text)
    models = {str(m["billed"]).lower(): str(m["model"]) for m in doc["models"]}
    return BedrockModels(str(doc["version"]), models)
