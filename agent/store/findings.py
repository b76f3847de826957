"""Findings as remembered across runs. Which lifecycle a finding moves to is decided by the engine
(computewatch.engine.lifecycle); this module only reads and writes what it decided."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from computewatch.domain import Finding, FindingState, FindingStatus, Lifecycle
from computewatch.store.schema import findings
from computewatch.store.sql import BATCH, Repository, aware, maybe_aware

# Written on every save; first_seen and reported_at are kept once set.
_UPDATED = [
    "rule_id",
    "scope_kind",
    "scope_key",
    "window_start",
    "window_end",
    "status",
    "value",
    "threshold",
    "severity",
    "lifecycle",
    "last_seen",
    "detail",
    "run_id",
]


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One finding as stored (the columns of the findings table, in order)."""

    id: str
    rule_id: str
    scope_kind: str
    scope_key: str
    window_start: datetime
    window_end: datetime
    status: FindingStatus
    value: float | None
    threshold: float
    severity: str
    lifecycle: Lifecycle
    first_seen: datetime
    last_seen: datetime
    reported_at: datetime | None
    detail: str
    run_id: int


def _row(r: sa.RowMapping) -> FindingRow:
    return FindingRow(
        id=r["id"],
        rule_id=r["rule_id"],
        scope_kind=r["scope_kind"],
        scope_key=r["scope_key"],
        window_start=aware(r["window_start"]),
        window_end=aware(r["window_end"]),
        status=FindingStatus(r["status"]),
        value=r["value"],
        threshold=r["threshold"],
        severity=r["severity"],
        lifecycle=Lifecycle(r["lifecycle"]),
        first_seen=aware(r["first_seen"]),
        last_seen=aware(r["last_seen"]),
        reported_at=maybe_aware(r["reported_at"]),
        detail=r["detail"],
        run_id=int(r["run_id"]),
    )


class FindingRepo(Repository):
    """`store.findings`."""

    def states(self, ids: Iterable[str]) -> dict[str, FindingState]:
        """Lifecycle, first/last seen and report time of the findings already stored."""
        wanted = sorted(set(ids))
        cols = [
            findings.c.id,
            findings.c.lifecycle,
            findings.c.first_seen,
            findings.c.last_seen,
            findings.c.reported_at,
        ]
        out: dict[str, FindingState] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), BATCH):
                stmt = sa.select(*cols).where(findings.c.id.in_(wanted[i : i + BATCH]))
                for fid, lifecycle, first, last, reported in conn.execute(stmt):
                    out[fid] = FindingState(
                        Lifecycle(lifecycle), aware(first), aware(last), maybe_aware(reported)
                    )
        return out

    def save(
        self, items: Sequence[Finding], states: Mapping[str, FindingState], run_id: int
    ) -> None:
        """Upsert a run's findings with the states the lifecycle gave them, in one INSERT ... ON
        CONFLICT statement: a stored finding keeps its first_seen and reported_at."""
        rows: dict[str, dict[str, Any]] = {}
        for f in items:
            state = states[f.id]
            rows[f.id] = {
                "id": f.id,
                "rule_id": f.rule.id,
                "scope_kind": f.scope_kind,
                "scope_key": f.scope_key,
                "window_start": f.window.start,
                "window_end": f.window.end,
                "status": str(f.status),
                "value": f.value,
                "threshold": f.threshold,
                "severity": f.rule.severity,
                "lifecycle": str(state.lifecycle),
                "first_seen": state.first_seen,
                "last_seen": state.last_seen,
                "reported_at": state.reported_at,
                "detail": f.detail,
                "run_id": run_id,
            }
        with self.engine.begin() as conn:
            self._upsert(conn, findings, list(rows.values()), ["id"], _UPDATED)

    def mark_reported(self, states: Mapping[str, FindingState]) -> None:
        """Store the report time and lifecycle of findings that went out in a report, unless an
        earlier report already did (a concurrent run keeps the first report time)."""
        reported = [(fid, s) for fid, s in states.items() if s.reported_at is not None]
        if not reported:
            return
        stmt = (
            findings.update()
            .where(findings.c.id == sa.bindparam("fid"), findings.c.reported_at.is_(None))
            .values(reported_at=sa.bindparam("at"), lifecycle=sa.bindparam("stage"))
        )
        params = [
            {"fid": fid, "at": s.reported_at, "stage": str(s.lifecycle)} for fid, s in reported
        ]
        with self.engine.begin() as conn:
            conn.execute(stmt, params)

    def find(
        self,
        status: FindingStatus | None = None,
        lifecycle: Lifecycle | None = None,
        rule_id: str | None = None,
        scope: str | None = None,
    ) -> list[FindingRow]:
        """Stored findings by window, rule and scope; `scope` matches part of the scope key."""
        stmt = sa.select(findings).order_by(
            findings.c.window_start, findings.c.rule_id, findings.c.scope_key
        )
        if status:
            stmt = stmt.where(findings.c.status == str(status))
        if lifecycle:
            stmt = stmt.where(findings.c.lifecycle == str(lifecycle))
        if rule_id:
            stmt = stmt.where(findings.c.rule_id == rule_id)
        if scope:
            stmt = stmt.where(findings.c.scope_key.contains(scope, autoescape=True))
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(stmt).mappings()]

    def open_by_status(self) -> dict[FindingStatus, int]:
        """How many stored findings are not OK (BREACH, UNKNOWN), by status."""
        stmt = (
            sa.select(findings.c.status, sa.func.count())
            .where(findings.c.status != str(FindingStatus.OK))
            .group_by(findings.c.status)
        )
        with self.engine.connect() as conn:
            return {FindingStatus(status): int(n) for status, n in conn.execute(stmt)}
