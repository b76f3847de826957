"""The metric table: every metric a collector can record, defined once, as data.

Roll-ups (`combine`), rule measures, the JSON report, the CSV/XLSX annex and the report tables are
driven by this table. Adding a metric is one entry here plus, at most, the collector producing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum


class Metric(StrEnum):
    ACCELERATOR_HOURS = "accelerator_hours"
    INSTANCE_HOURS = "instance_hours"
    PEAK_CONCURRENT_ACCELERATORS = "peak_concurrent_accelerators"
    MODEL_INPUT_TOKENS = "model_input_tokens"
    MODEL_OUTPUT_TOKENS = "model_output_tokens"
    MODEL_CACHE_READ_INPUT_TOKENS = "model_cache_read_input_tokens"
    MODEL_CACHE_WRITE_INPUT_TOKENS = "model_cache_write_input_tokens"
    MODEL_INVOCATIONS = "model_invocations"
    TRAINING_JOB_ACCELERATOR_HOURS = "training_job_accelerator_hours"
    # A fine-tuning / model-customization job seen in the period (quantity 1 per job): a training signal.
    MODEL_CUSTOMIZATION_JOBS = "model_customization_jobs"
    # Hours of fine-tuning training Azure Monitor reports for an account (a training signal).
    FINE_TUNING_HOURS = "fine_tuning_hours"
    # Tokens a fine-tuning / model-customization job trained on, as billed (a training signal).
    FINE_TUNING_TRAINING_TOKENS = "fine_tuning_training_tokens"


class Key(StrEnum):
    """The dimension a metric is broken down by in every roll-up and output."""

    CHIP = "accelerator"
    MODEL = "model"
    SKU = "sku"


class Combine(StrEnum):
    """How a metric adds up across days, regions and accounts."""

    SUM = "sum"  # additive everywhere
    # The largest day; summed across regions and accounts, which bounds simultaneous use from
    # above (regional peaks need not fall at the same moment).
    PEAK = "peak"


class Group(StrEnum):
    """Where a metric appears in the reports."""

    COMPUTE = "compute"  # accelerator and instance time
    TOKENS = "tokens"  # per-model token usage (a customer-risk signal)
    TRAINING = "training"  # training signals: jobs, fine-tuning


@dataclass(frozen=True, slots=True)
class MetricDef:
    """One metric's definition."""

    metric: Metric
    unit: str
    key: Key
    combine: Combine
    group: Group
    title: str
    # Per day, a billing figure replaces the inventory estimate (never added to it).
    billing_supersedes: bool = False
    # Tokens: the column of the per-model table ("input", "output", ...), whether it counts
    # towards `model_tokens`, and whether the column is shown even where nothing was recorded.
    role: str = ""
    counts_as_tokens: bool = False
    always_shown: bool = True
    # Counts as "usage" for the know-your-customer checks (an account with usage and nobody
    # registered behind it).
    is_usage: bool = True
    # Whole numbers (jobs, accelerators): shown rounded.
    integer: bool = False
    # How a billing export's figure of this per-model metric replaces the live collectors' (kept
    # for the variance): "delivered_day" on every day the export has delivered (tokens: a day
    # delivered without a model's tokens billed none); "billed_day" only on the account's days
    # the export bills this metric (fine-tuning may be billed in hours or in tokens, so a day
    # without export hours leaves the live hours standing); "" where the export never measures it.
    export_replaces: str = ""
    # Field name in the JSON report's account and customer objects ("" for token metrics, which
    # are grouped under "tokens"); None: not in the JSON report.
    json_field: str | None = None
    # Added to the JSON contract after its version was released: an optional field, left out
    # where nothing was recorded (older readers of the same version never see it required).
    json_optional: bool = False


METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        Metric.ACCELERATOR_HOURS,
        "accelerator-hours",
        Key.CHIP,
        Combine.SUM,
        Group.COMPUTE,
        "Accelerator-hours",
        billing_supersedes=True,
        json_field="accelerator_hours",
    ),
    MetricDef(
        Metric.INSTANCE_HOURS,
        "hours",
        Key.SKU,
        Combine.SUM,
        Group.COMPUTE,
        "Instance-hours",
        billing_supersedes=True,
        is_usage=False,  # the same time as accelerator-hours, counted per machine
    ),
    MetricDef(
        Metric.PEAK_CONCURRENT_ACCELERATORS,
        "accelerators",
        Key.CHIP,
        Combine.PEAK,
        Group.COMPUTE,
        "Peak concurrent accelerators",
        is_usage=False,
        integer=True,
        json_field="peak_concurrent_accelerators",
    ),
    MetricDef(
        Metric.MODEL_INPUT_TOKENS,
        "tokens",
        Key.MODEL,
        Combine.SUM,
        Group.TOKENS,
        "Input tokens",
        role="input",
        counts_as_tokens=True,
        export_replaces="delivered_day",
        json_field="",
    ),
    MetricDef(
        Metric.MODEL_OUTPUT_TOKENS,
        "tokens",
        Key.MODEL,
        Combine.SUM,
        Group.TOKENS,
        "Output tokens",
        role="output",
        counts_as_tokens=True,
        export_replaces="delivered_day",
        json_field="",
    ),
    MetricDef(
        Metric.MODEL_CACHE_READ_INPUT_TOKENS,
        "tokens",
        Key.MODEL,
        Combine.SUM,
        Group.TOKENS,
        "Cache-read input tokens",
        role="cache_read_input",
        counts_as_tokens=True,
        export_replaces="delivered_day",
        always_shown=False,
        json_field="",
    ),
    MetricDef(
        Metric.MODEL_CACHE_WRITE_INPUT_TOKENS,
        "tokens",
        Key.MODEL,
        Combine.SUM,
        Group.TOKENS,
        "Cache-write input tokens",
        role="cache_write_input",
        counts_as_tokens=True,
        export_replaces="delivered_day",
        always_shown=False,
        json_field="",
    ),
    MetricDef(
        Metric.MODEL_INVOCATIONS,
        "invocations",
        Key.MODEL,
        Combine.SUM,
        Group.TOKENS,
        "Invocations",
        role="invocations",
        json_field="",
    ),
    MetricDef(
        Metric.TRAINING_JOB_ACCELERATOR_HOURS,
        "accelerator-hours",
        Key.CHIP,
        Combine.SUM,
        Group.TRAINING,
        "Training-job accelerator-hours",
        json_field="training_job_accelerator_hours",
    ),
    MetricDef(
        Metric.MODEL_CUSTOMIZATION_JOBS,
        "jobs",
        Key.MODEL,
        Combine.SUM,
        Group.TRAINING,
        "Fine-tuning jobs",
        is_usage=False,  # a job is a training signal; its compute shows up elsewhere or not at all
        integer=True,
        json_field="model_customization_jobs",
    ),
    MetricDef(
        Metric.FINE_TUNING_HOURS,
        "hours",
        Key.MODEL,
        Combine.SUM,
        Group.TRAINING,
        "Fine-tuning hours",
        is_usage=False,
        json_field="fine_tuning_hours",
        export_replaces="billed_day",
    ),
    MetricDef(
        Metric.FINE_TUNING_TRAINING_TOKENS,
        "tokens",
        Key.MODEL,
        Combine.SUM,
        Group.TRAINING,
        "Fine-tuning training tokens",
        is_usage=False,  # a training signal, like the fine-tuning jobs and hours
        json_field="fine_tuning_training_tokens",
        json_optional=True,
        export_replaces="billed_day",
    ),
)

# Measures a rule may use besides the metrics above; the engine computes them (engine.measures).
DERIVED_METRICS: dict[str, str] = {
    "model_tokens": "every token a model processed (input, output and prompt-cache tokens)",
    "implied_cluster_flops": "peak concurrent accelerators x their peak dense FLOP/s",
    "estimated_training_flop": "accelerator-hours x 3600 x peak dense FLOP/s x utilization band",
}

_BY_NAME = {d.metric: d for d in METRICS}


def metric_def(metric: Metric | str) -> MetricDef:
    """The definition of `metric`; KeyError names the known metrics."""
    try:
        return _BY_NAME[Metric(metric)]
    except ValueError:
        known = ", ".join(d.metric for d in METRICS)
        raise KeyError(f"unknown metric {metric!r} (known: {known})") from None


def token_metrics() -> Iterator[MetricDef]:
    """The per-model token metrics, in table order (the columns of every tokens table)."""
    return (d for d in METRICS if d.role)


def roles() -> tuple[str, ...]:
    return tuple(d.role for d in token_metrics())


def rule_metric_names() -> tuple[str, ...]:
    """Every name a rule's `metric` may take."""
    return (*(str(d.metric) for d in METRICS), *DERIVED_METRICS)
