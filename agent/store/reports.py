"""Scheduled reports that went out: the daemon's catch-up asks which periods are still due."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from computewatch.store.schema import produced_reports
from computewatch.store.sql import Repository, aware


@dataclass(frozen=True, slots=True)
class ProducedReport:
    """A scheduled report that went out; (kind, period) is produced once."""

    kind: str
    period: str
    period_start: datetime
    period_end: datetime
    produced_at: datetime
    report_id: str
    bundle: str


class ReportRepo(Repository):
    """`store.reports`."""

    def record(self, report: ProducedReport) -> bool:
        """Remember a produced scheduled report; False if (kind, period) was already recorded."""
        return self._insert_once(produced_reports, dataclasses.asdict(report))

    def produced(self, kind: str | None = None) -> list[ProducedReport]:
        """Produced reports (of one kind), by period."""
        stmt = sa.select(produced_reports).order_by(produced_reports.c.period_start)
        if kind:
            stmt = stmt.where(produced_reports.c.kind == kind)
        with self.engine.connect() as conn:
            return [
                ProducedReport(
                    kind=r["kind"],
                    period=r["period"],
                    period_start=aware(r["period_start"]),
                    period_end=aware(r["period_end"]),
                    produced_at=aware(r["produced_at"]),
                    report_id=r["report_id"],
                    bundle=r["bundle"],
                )
                for r in conn.execute(stmt).mappings()
            ]
