"""YAML loading that remembers where each value came from, so errors name file, line and field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from computewatch.domain.errors import ConfigError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class SourceMap:
    """Maps a path inside the document (('aws', 'accounts', 0, 'id')) to its 1-based line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[Loc, int] = {}

    def line_for(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest part of `loc` that exists in the document."""
        parts = tuple(loc)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.lines.get((), None)


def _walk(node: yaml.Node, loc: Loc, smap: SourceMap) -> None:
    smap.lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise ConfigError(
                    smap.path,
                    "duplicate key",
                    line=key_node.start_mark.line + 1,
                    field=".".join(map(str, (*loc, key))),
                )
            seen.add(key)
            _walk(value_node, (*loc, key), smap)
            smap.lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), smap)


def load_yaml(path: Path) -> tuple[Any, SourceMap]:
    """Parse a YAML file; syntax errors become ConfigError with the line."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read: {exc}") from None
    smap = SourceMap(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(path, f"invalid YAML: {exc.problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"invalid YAML: {exc}") from None
    if node is not None:
        _walk(node, (), smap)
    return data, smap


def validate(model: type[M], data: Any, smap: SourceMap, base: Loc = ()) -> M:
    """Validate with pydantic; every error is reported with its file, line and dotted field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # A misspelt field usually also causes a 'missing' error; the misspelling is the root cause.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        found = [_config_error(smap, (*base, *err["loc"]), err) for err in errors]
        shown = found[:MAX_LISTED]
        if len(found) > MAX_LISTED:
            rest = len(found) - MAX_LISTED
            shown.append(
                ConfigError(smap.path, f"... and {rest} more error{'s' if rest > 1 else ''}")
            )
        first = shown[0]
        raise ConfigError(
            smap.path, first.reason, line=first.line, field=first.field, more=tuple(shown[1:])
        ) from None


MAX_LISTED = 20  # a config with more problems than this is usually the wrong file


def _config_error(smap: SourceMap, loc: Loc, err: Any) -> ConfigError:
    field = ".".join(str(p) for p in loc) or None
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; see `computewatch schema`)"
    return ConfigError(smap.path, msg, line=smap.line_for(loc), field=field)
