"""The metrics a collector can record (the metric table lives here)."""

from __future__ import annotations

from enum import StrEnum


class Metric(StrEnum):
    ACCELERATOR_HOURS = "accelerator_hours"
    INSTANCE_HOURS = "instance_hours"
    PEAK_CONCURRENT_ACCELERATORS = "peak_concurrent_accelerators"
    MODEL_INPUT_TOKENS = "model_input_tokens"
    MODEL_OUTPUT_TOKENS = "model_output_tokens"
    MODEL_INVOCATIONS = "model_invocations"
    TRAINING_JOB_ACCELERATOR_HOURS = "training_job_accelerator_hours"
    # A fine-tuning / model-customization job seen in the period (quantity 1 per job): a training signal.
    MODEL_CUSTOMIZATION_JOBS = "model_customization_jobs"
    # Hours of fine-tuning training Azure Monitor reports for an account (a training signal).
    FINE_TUNING_HOURS = "fine_tuning_hours"
