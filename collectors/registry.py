"""A tiny registry: names to classes, so adding a collector is one file and one decorator line."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# Modules that register the built-in providers and collectors; imported on demand, never at import time.
BUILTIN_MODULES = (
    "computewatch.collectors.aws.provider",
    "computewatch.collectors.aws.ec2",
    "computewatch.collectors.aws.costexplorer",
    "computewatch.collectors.azure.provider",
    "computewatch.collectors.azure.vms",
    "computewatch.collectors.azure.openai",
    "computewatch.collectors.aws.bedrock",
    "computewatch.collectors.aws.sagemaker",
)


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(item: T) -> T:
            if name in self._items and self._items[name] is not item:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = item
            return item

        return decorate

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise KeyError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())


def load_builtin() -> None:
    """Import the built-in provider and collector modules so they register themselves."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
