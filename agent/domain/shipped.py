"""The data files shipped with computewatch (the repository's config/: rule profiles, permission
documents, example config and registries), read the same way from a wheel and a checkout."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable


def shipped(*parts: str) -> Traversable:
    """A shipped file, e.g. `shipped("rules", "reference-thresholds.yaml")`."""
    return resources.files("computewatch.shipped").joinpath(*parts)
