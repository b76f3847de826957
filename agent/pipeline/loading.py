"""Loading a configuration for a run: the file, and its collector names checked against the
registry (the config layer itself knows no collectors)."""

from __future__ import annotations

from pathlib import Path

from computewatch.collectors.registry import builtin
from computewatch.config.loader import LoadedConfig
from computewatch.config.loader import load_config as load_file


def known_collectors() -> dict[str, str]:
    """Collector name -> provider, for every registered collector."""
    return {name: cls.provider for name, cls in builtin().collectors.items()}


def load_config(path: Path) -> LoadedConfig:
    """The validated configuration; errors name the file, line and field."""
    return load_file(path, known_collectors())
