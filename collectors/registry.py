"""Which providers and collectors exist: found, not registered.

`builtin()` imports the modules listed in BUILTIN_MODULES (data, not import side effects) on
first use and collects the Provider and Collector subclasses they define, keyed by their declared
`name`. The result is frozen and cached; importing this module imports no collector. Tests build
their own with `Registry.of([...])`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType, ModuleType
from typing import TypeVar

from computewatch.collectors.base import Collector, Permissions, Provider
from computewatch.domain import Metric

# The modules that define the built-in providers and collectors; imported by `builtin()` only.
BUILTIN_MODULES = (
    "computewatch.collectors.aws.provider",
    "computewatch.collectors.aws.ec2",
    "computewatch.collectors.aws.costexplorer",
    "computewatch.collectors.aws.bedrock",
    "computewatch.collectors.aws.sagemaker",
    "computewatch.collectors.azure.provider",
    "computewatch.collectors.azure.vms",
    "computewatch.collectors.azure.openai",
    "computewatch.collectors.exports.provider",
)

T = TypeVar("T", type[Collector], type[Provider])


class DeclarationError(TypeError):
    """A provider or collector class is missing a declaration, or two share a name (a bug in the
    code, not in any input, hence a TypeError)."""

    def __init__(self, cls: type, reason: str) -> None:
        self.cls = cls
        super().__init__(f"{cls.__module__}.{cls.__qualname__}: {reason}")


@dataclass(frozen=True, eq=False)
class Registry:
    """Providers and collectors by name; read-only."""

    providers: Mapping[str, type[Provider]]
    collectors: Mapping[str, type[Collector]]

    @classmethod
    def of(cls, classes: Iterable[type[Collector] | type[Provider]]) -> Registry:
        """A registry of exactly these classes; every declaration is checked."""
        providers: dict[str, type[Provider]] = {}
        collectors: dict[str, type[Collector]] = {}
        for item in classes:
            if issubclass(item, Collector):
                _add(collectors, _checked_collector(item))
            else:
                _add(providers, _checked_provider(item))
        for c in collectors.values():
            if c.provider not in providers:
                raise DeclarationError(c, f"provider {c.provider!r} is not registered")
        return cls(
            MappingProxyType(dict(sorted(providers.items()))),
            MappingProxyType(dict(sorted(collectors.items()))),
        )

    def provider(self, name: str) -> type[Provider]:
        return _get(self.providers, "provider", name)

    def collector(self, name: str) -> type[Collector]:
        return _get(self.collectors, "collector", name)

    def provider_names(self) -> list[str]:
        return list(self.providers)

    def collector_names(self) -> list[str]:
        return list(self.collectors)

    def collectors_for(self, provider: str) -> list[str]:
        """The names of `provider`'s collectors, sorted."""
        return [name for name, c in self.collectors.items() if c.provider == provider]


def defined_in(module: ModuleType) -> list[type[Collector] | type[Provider]]:
    """The concrete Provider and Collector classes a module defines (not those it imports)."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, (Collector, Provider))
        and value.__module__ == module.__name__
        and not inspect.isabstract(value)
    ]


@cache
def builtin() -> Registry:
    """The built-in providers and collectors (imported on the first call, then cached)."""
    modules = [importlib.import_module(name) for name in BUILTIN_MODULES]
    return Registry.of(cls for module in modules for cls in defined_in(module))


def _add(table: dict[str, T], item: T) -> None:
    if item.name in table and table[item.name] is not item:
        other = table[item.name]
        raise DeclarationError(
            item, f"name {item.name!r} is taken by {other.__module__}.{other.__qualname__}"
        )
    table[item.name] = item


def _get(table: Mapping[str, T], kind: str, name: str) -> T:
    try:
        return table[name]
    except KeyError:
        known = ", ".join(table) or "none"
        raise KeyError(f"unknown {kind} {name!r} (known: {known})") from None


def _declared(cls: type, attribute: str) -> object:
    value = getattr(cls, attribute, None)
    if value is None or value == "" or value == ():
        raise DeclarationError(cls, f"declares no {attribute}")
    return value


def _checked_provider(cls: type[Provider]) -> type[Provider]:
    _declared(cls, "name")
    if not isinstance(_declared(cls, "permissions"), Permissions):
        raise DeclarationError(cls, "permissions must be a Permissions")
    return cls


def _checked_collector(cls: type[Collector]) -> type[Collector]:
    name = str(_declared(cls, "name"))
    provider = _declared(cls, "provider")
    if not name.startswith(f"{provider}."):
        raise DeclarationError(cls, f"name {name!r} must start with its provider {provider!r}")
    if cls.scope not in ("account-region", "organization"):
        raise DeclarationError(cls, f"unknown scope {cls.scope!r}")
    permissions = _declared(cls, "permissions")
    if not isinstance(permissions, Permissions) or not permissions.actions:
        raise DeclarationError(cls, "permissions must be a Permissions naming its actions")
    metrics = _declared(cls, "metrics")
    if not isinstance(metrics, tuple) or not all(isinstance(m, Metric) for m in metrics):
        raise DeclarationError(cls, "metrics must be a tuple of Metric")
    return cls
