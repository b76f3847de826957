"""The only place that wires the stages: collect -> assess -> deliver."""
