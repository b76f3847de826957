"""The accelerator catalog: chip figures with source and status, and shapes -> chip x count.

Loaded from a shipped data file on demand (never at import) so tests and users can pass their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from computewatch.domain import eccn
from computewatch.domain.errors import CatalogError

UNKNOWN_CHIP = "unknown"
FIGURE_STATUSES = ("confirmed", "approximate", "unconfirmed")


@dataclass(frozen=True, slots=True)
class Figure:
    """A number with where it came from and how far it can be trusted."""

    value: float | None
    status: str
    source: str

    @property
    def usable(self) -> bool:
        """May this figure feed an estimate printed in a regulator-facing report?"""
        return self.value is not None and self.status != "unconfirmed"


@dataclass(frozen=True, slots=True)
class Chip:
    name: str
    vendor: str
    aliases: tuple[str, ...]
    peak_dense_flops: Figure
    memory_gib: Figure
    tpp: Figure
    die_area_mm2: Figure
    max_dense_ops: Figure  # highest-throughput dense precision (702.7's theoretical maximum)
    peak_dense_fp8_flops: Figure  # FP8 training peak, where the chip has one
    eccn_3a090: str  # derived by computewatch.domain.eccn: "3A090.a", ..., "unconfirmed"

    @property
    def performance_density(self) -> float | None:
        if not (self.tpp.usable and self.die_area_mm2.usable):
            return None
        return eccn.performance_density(self.tpp.value, self.die_area_mm2.value)

    @property
    def controlled_3a090(self) -> bool | None:
        """True/False when the class is known; None when it is unconfirmed."""
        if self.eccn_3a090 == eccn.UNCONFIRMED:
            return None
        return self.eccn_3a090 in eccn.CONTROLLED


@dataclass(frozen=True, slots=True)
class Shape:
    """An instance type / VM size and the accelerators it carries."""

    provider: str
    name: str
    chip: str
    count: float
    source: str
    memory_gib: float | None = None  # per accelerator, when the shape carries a non-default variant


class Catalog:
    """Read-only view over the catalog data; lookups by chip, alias and shape."""

    def __init__(self, data: dict[str, Any], origin: str = "<memory>") -> None:
        self.origin = origin
        self.as_of = str(data.get("as_of", ""))
        self.sources: dict[str, str] = dict(data.get("sources", {}))
        self._chips: dict[str, Chip] = {}
        self._aliases: dict[str, str] = {}
        self._shapes: dict[tuple[str, str], Shape] = {}
        bound = data.get("max_applicable_die_area_mm2") or {}
        self.max_die_area_mm2 = float(bound.get("value") or 1716.0)
        for name, raw in (data.get("chips") or {}).items():
            tpp = self._figure(name, "tpp", raw)
            area = self._figure(name, "die_area_mm2", raw, required=False)
            chip = Chip(
                name=name,
                vendor=str(raw.get("vendor", "")),
                aliases=tuple(raw.get("aliases", [name])),
                peak_dense_flops=self._figure(name, "peak_dense_flops", raw),
                memory_gib=self._figure(name, "memory_gib", raw),
                tpp=tpp,
                die_area_mm2=area,
                max_dense_ops=self._figure(name, "max_dense_ops", raw, required=False),
                peak_dense_fp8_flops=self._figure(
                    name, "peak_dense_fp8_flops", raw, required=False
                ),
                eccn_3a090=eccn.classify_bounded(
                    tpp.value if tpp.usable else None,
                    area.value if area.usable else None,
                    self.max_die_area_mm2,
                ),
            )
            self._chips[name] = chip
            for alias in (name, *chip.aliases):
                self._aliases[alias.lower()] = name
        for provider, block in (data.get("instance_types") or {}).items():
            src = str(block.get("source", ""))
            for shape_name, raw in (block.get("types") or {}).items():
                if raw["chip"] not in self._chips:
                    raise CatalogError(
                        f"{origin}: {provider} {shape_name} names unknown chip {raw['chip']}"
                    )
                # Counts may be fractions ("1/3" of a partitioned GPU), kept exact until here.
                count = float(Fraction(str(raw["count"])))
                mem = raw.get("memory_gib")
                self._shapes[(provider, shape_name.lower())] = Shape(
                    provider,
                    shape_name,
                    raw["chip"],
                    count,
                    src,
                    None if mem is None else float(mem),
                )

    def _figure(self, chip: str, key: str, raw: dict[str, Any], required: bool = True) -> Figure:
        f = raw.get(key)
        if f is None and not required:
            return Figure(None, "unconfirmed", "")
        if not isinstance(f, dict) or f.get("status") not in FIGURE_STATUSES:
            raise CatalogError(
                f"{self.origin}: chip {chip} field {key} needs value, status, source"
            )
        if f.get("source") not in self.sources:
            raise CatalogError(f"{self.origin}: chip {chip} field {key} cites unknown source")
        value = f.get("value")
        return Figure(None if value is None else float(value), f["status"], f["source"])

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """Load the shipped catalog, or the file at `path`."""
        if path is None:
            text = (
                resources.files("computewatch.domain")
                .joinpath("data/accelerators.yaml")
                .read_text("utf-8")
            )
            origin = "agent/domain/data/accelerators.yaml"
        else:
            text, origin = path.read_text("utf-8"), str(path)
        return cls(yaml.safe_load(text), origin)

    def chip(self, name: str) -> Chip | None:
        return self._chips.get(name)

    def chips(self) -> list[Chip]:
        return list(self._chips.values())

    def canonical_chip(self, api_name: str) -> str | None:
        """Map a name as an API reports it ('A100', 'Trainium2') to the catalog's chip id."""
        return self._aliases.get(api_name.strip().lower())

    def shape(self, provider: str, name: str) -> Shape | None:
        return self._shapes.get((provider, name.lower()))

    def shapes(self, provider: str) -> list[Shape]:
        return [s for (p, _), s in self._shapes.items() if p == provider]

    def is_3a090(self, chip: str) -> bool:
        """Surely 3A090 (.a or .b); False also when unconfirmed (see Chip.controlled_3a090)."""
        c = self._chips.get(chip)
        return c is not None and c.controlled_3a090 is True

    def memory_gib(self, provider: str, shape_name: str) -> Figure | None:
        """Device memory per accelerator of a shape: the shape's variant, else the chip's figure."""
        shape = self.shape(provider, shape_name)
        if shape is None:
            return None
        chip = self._chips[shape.chip]
        if shape.memory_gib is not None:
            return Figure(shape.memory_gib, "confirmed", shape.source)
        return chip.memory_gib
