"""Loading: the config file, the rule and customer files it names, and checks across them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from computewatch.config.customers import Registry, load_registry
from computewatch.config.rules import RuleSet, load_rules
from computewatch.config.settings import AppConfig
from computewatch.config.yamlsource import SourceMap, load_yaml, validate
from computewatch.domain.countries import country_groups
from computewatch.domain.errors import ConfigError


class LoadedConfig:
    """The validated config plus what it points to (rules), and where it came from."""

    def __init__(
        self,
        path: Path,
        app: AppConfig,
        rules: RuleSet,
        registry: Registry,
        source_map: SourceMap | None = None,
    ) -> None:
        self.path = path
        self.app = app
        self.rules = rules
        self.registry = registry
        self.source_map = source_map or SourceMap(path)

    def error_at(self, loc: tuple[str | int, ...], reason: str) -> ConfigError:
        """An error about a value of this file, with its line (checks made after loading)."""
        return ConfigError(
            self.path,
            reason,
            line=self.source_map.line_for(loc),
            field=".".join(map(str, loc)),
        )

    @property
    def digest(self) -> str:
        """SHA-256 over the effective config and rules, for evidence manifests."""
        payload = {
            "config": self.app.model_dump(mode="json"),
            "rules": [r.id for r in self.rules.rules],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    @property
    def templates_dir(self) -> Path | None:
        d = self.app.reports.template_dir
        return None if d is None else self.relative(d)

    def relative(self, p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() else (self.path.parent / q)


def load_config(path: Path, collectors: Mapping[str, str] | None = None) -> LoadedConfig:
    """Load and validate the config file and every rule file it names. With `collectors` (name ->
    provider, from the collector registry), collector names in the file are checked too."""
    data, smap = load_yaml(path)
    if data is None:
        data = {}
    app = validate(AppConfig, data, smap)
    if app.exports is not None and not app.exports.base_dir:
        # Relative export folders are relative to the config file, like rules and customers.
        exports = app.exports.model_copy(update={"base_dir": str(path.parent.resolve())})
        app = app.model_copy(update={"exports": exports})
    rule_paths = [path.parent / p if not Path(p).is_absolute() else Path(p) for p in app.rules]
    known = set(country_groups().groups)
    for i, group in enumerate(app.restricted_country_groups):
        if group not in known:
            raise ConfigError(
                path,
                f"unknown country group {group!r} (known: {', '.join(sorted(known))})",
                line=smap.line_for(("restricted_country_groups", i)),
                field=f"restricted_country_groups.{i}",
            )
    registry = Registry([])
    if app.customers:
        registry = load_registry(path.parent / app.customers)
    loaded = LoadedConfig(path, app, load_rules(rule_paths), registry, smap)
    if collectors is not None:
        check_collector_names(loaded, collectors)
    return loaded


def check_collector_names(config: LoadedConfig, collectors: Mapping[str, str]) -> None:
    """Every collector the file names exists (and belongs to the section naming it)."""
    known = ", ".join(sorted(collectors))
    for name in config.app.daemon.collector_schedules:
        if name not in collectors:
            raise config.error_at(
                ("daemon", "collector_schedules", name),
                f"unknown collector {name!r} (known: {known})",
            )
    for section in ("aws", "azure"):
        settings = getattr(config.app, section, None)
        for i, name in enumerate(getattr(settings, "collectors", None) or []):
            if collectors.get(name) != section:
                mine = ", ".join(sorted(n for n, p in collectors.items() if p == section))
                raise config.error_at(
                    (section, "collectors", i),
                    f"unknown {section} collector {name!r} (known: {mine})",
                )


def config_schema() -> dict[str, object]:
    """JSON Schema of the configuration file."""
    schema = AppConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "computewatch configuration"
    return schema
