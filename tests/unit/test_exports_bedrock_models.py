"""The billed Bedrock name -> model id table: versioned, well-formed, and unmapped names kept."""

from __future__ import annotations

import re
from importlib import resources

import yaml

from computewatch.collectors.exports.tokens import UNKNOWN_MODEL, bedrock_models, parse_usage_type
from computewatch.domain import Metric

# Bedrock model ids as CloudWatch's ModelId dimension shows them: provider.name[-version][:n]
MODEL_ID = re.compile(r"^[a-z0-9-]+\.[a-z0-9.-]+(:\d+)?$")


def test_the_table_is_versioned_and_every_entry_is_a_model_id() -> None:
    doc = yaml.safe_load(
        resources.files("computewatch.collectors.exports")
        .joinpath("data/bedrock_models.yaml")
        .read_text("utf-8")
    )
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc["version"])
    billed = [str(m["billed"]).lower() for m in doc["models"]]
    assert len(billed) == len(set(billed)), "a billed name is listed twice"
    for m in doc["models"]:
        assert MODEL_ID.match(m["model"]), m


def test_a_billed_usage_type_is_keyed_by_the_cloudwatch_model_id() -> None:
    table = bedrock_models()
    parsed = parse_usage_type("USE1-Claude3.5SonnetV2-batch-output-tokens", "AmazonBedrock")
    assert parsed == ("Claude3.5SonnetV2", Metric.MODEL_OUTPUT_TOKENS)
    assert table.model_id(parsed[0]) == "anthropic.claude-3-5-sonnet-20241022-v2:0"
    assert table.model_id("claude3.5sonnet") == "anthropic.claude-3-5-sonnet-20240620-v1:0"
    assert table.model_id("NovaPro") == "amazon.nova-pro-v1:0"


def test_an_unmapped_billed_name_stays_visible_as_an_unknown_model() -> None:
    table = bedrock_models()
    assert table.model_id("Claude9Magnum") == f"{UNKNOWN_MODEL} (Claude9Magnum)"
    assert table.model_id("marketplace:prod-x") == f"{UNKNOWN_MODEL} (marketplace:prod-x)"


def test_customization_training_rows_are_training_tokens_of_the_base_model() -> None:
    cases = {
        "USE1-NovaMicro-Customization-Training-Tokens": "NovaMicro",
        "USW2-Llama3-8B-Customization-Training-Tokens": "Llama3-8B",
        # a variant naming a direction is still training, never inference input tokens
        "USE1-NovaPro-Customization-Training-input-tokens": "NovaPro-input",
        "EUC1-Customization-Training-Tokens": "EUC1-Customization-Training-Tokens",
    }
    for usage_type, billed in cases.items():
        assert parse_usage_type(usage_type, "AmazonBedrock") == (
            billed,
            Metric.FINE_TUNING_TRAINING_TOKENS,
        ), usage_type
    assert bedrock_models().model_id("Llama3-8B") == "meta.llama3-8b-instruct-v1:0"
    # storage of a custom model is no training (and no token row)
    assert parse_usage_type("USE1-NovaMicro-Customization-Storage", "AmazonBedrock") is None
