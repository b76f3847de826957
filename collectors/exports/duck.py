"""DuckDB in-process over one delivery's files: a typed view, a schema check, the queries.

Parquet is scanned in place (projection and row-group pruning); gzip CSV is read as text and
cast once in the view. A file that cannot be read (truncated, not Parquet) is a SourceError,
never an empty result.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any

import duckdb

from computewatch.collectors.exports.delivery import Delivery
from computewatch.collectors.exports.schema import Format, detect_version
from computewatch.domain.errors import SourceError

SERVICE = "exports"
VIEW = "export_rows"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _str_list(items: Sequence[str]) -> str:
    return "[" + ", ".join("'" + s.replace("'", "''") + "'" for s in items) + "]"


class DuckScan:
    """One connection over one delivery (a billing period of an export)."""

    def __init__(self, delivery: Delivery, fmt: Format, memory_limit: str = "512MB") -> None:
        self.delivery = delivery
        self.fmt = fmt
        self._spill = tempfile.TemporaryDirectory(prefix="cw-scan-")
        # Bounded: what the aggregation needs beyond the limit spills to disk (a month of
        # 100 million rows stays under 1 GiB for the whole process).
        self.con = duckdb.connect(
            config={
                "memory_limit": memory_limit,
                "threads": 2,
                "temp_directory": self._spill.name,
                "preserve_insertion_order": False,
            }
        )
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")  # no terminal noise in logs
        self.version = ""
        self.columns: tuple[str, ...] = ()

    def close(self) -> None:
        self.con.close()
        self._spill.cleanup()

    def __enter__(self) -> DuckScan:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _source(self) -> str:
        paths = [str(f.path) for f in self.delivery.files]
        if all(p.endswith(".parquet") for p in paths):
            return f"read_parquet({_str_list(paths)}, union_by_name = true)"
        if all(p.endswith((".csv.gz", ".csv")) for p in paths):
            return f"read_csv({_str_list(paths)}, header = true, all_varchar = true, union_by_name = true)"
        raise SourceError(SERVICE, "MixedFormats", f"export {self.delivery.export}: mixed files")

    def open(self) -> None:
        """Create the typed view; SourceError if the files cannot be read or lack columns."""
        try:
            raw = self.con.execute(f"DESCRIBE SELECT * FROM {self._source()}").fetchall()
            columns = tuple(str(r[0]) for r in raw)
            types = {str(r[0]): str(r[1]).upper() for r in raw}
            self.version = detect_version(self.fmt, columns, self.delivery.export)
            select = []
            for c in columns:
                q = _quote(c)
                # A column already of the wanted type is passed through: a cast per row of a
                # 100-million-row month is what the scan would otherwise spend its time on.
                if c in self.fmt.timestamps and types[c] != "TIMESTAMP":
                    select.append(f"CAST(CAST({q} AS TIMESTAMPTZ) AS TIMESTAMP) AS {q}")
                elif c in self.fmt.numbers and types[c] != "DOUBLE":
                    select.append(f"CAST({q} AS DOUBLE) AS {q}")
                else:
                    select.append(q)
            select += [
                f"CAST(NULL AS VARCHAR) AS {_quote(c)}"
                for c in self.fmt.optional
                if c not in columns
            ]
            self.columns = columns
            self.con.execute(
                f"CREATE VIEW {VIEW} AS SELECT {', '.join(select)} FROM {self._source()}"
            )
            # Reading a column of every file now turns a truncated file into a clear gap.
            self.con.execute(f"SELECT count({_quote(self.fmt.identity[0])}) FROM {VIEW}").fetchall()
        except duckdb.Error as exc:
            raise SourceError(
                SERVICE,
                "ExportUnreadable",
                f"export {self.delivery.export} {self.delivery.billing_period}: {_first_line(exc)}",
            ) from None

    def stream(self, sql: str) -> Any:
        """The result as an Arrow stream (batches cross into the staging database, never rows
        into Python); a failure while it is read surfaces from the reader."""
        try:
            return self.con.sql(sql).to_arrow_reader(100_000)
        except duckdb.Error as exc:
            raise SourceError(
                SERVICE, "ExportQueryFailed", f"export {self.delivery.export}: {_first_line(exc)}"
            ) from None

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self.con.execute(sql).fetchall()]
        except duckdb.Error as exc:
            raise SourceError(
                SERVICE, "ExportQueryFailed", f"export {self.delivery.export}: {_first_line(exc)}"
            ) from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]
