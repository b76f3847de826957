"""Retention: once a month has been reported and sealed, its raw observations and superseded
per-read coverage are compacted away; what was compacted is recorded.

What stays answers every later question the same way: the proven intervals (the union the raw
observations were folded into), the daily usage, and per unit and period the coverage of its
latest read (what a later run carries over, the last read a sampling gap is measured from, the
final billing days). Each month is compacted in one transaction, so a process killed halfway
leaves the month as it was, and compacting it again is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from computewatch.domain import Window
from computewatch.store.schema import compactions, coverage, observations, proven_intervals
from computewatch.store.sql import Repository, aware


@dataclass(frozen=True, slots=True)
class Compaction:
    """What compacting one month removed and kept."""

    month: str
    compacted_at: datetime
    report_id: str
    observations_deleted: int
    coverage_deleted: int
    coverage_kept: int
    intervals_kept: int


def _count(conn: sa.Connection, stmt: Any) -> int:
    return int(conn.execute(stmt).scalar() or 0)


class RetentionRepo(Repository):
    """`store.retention`."""

    def compacted(self) -> list[Compaction]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(compactions).order_by(compactions.c.month)).mappings()
            return [Compaction(**{**r, "compacted_at": aware(r["compacted_at"])}) for r in rows]

    def compact_month(self, month: Window, report_id: str, now: datetime) -> Compaction | None:
        """Compact one sealed month; None if it was compacted already."""
        label = month.month_label()
        in_month = sa.and_(
            coverage.c.period_start >= month.start, coverage.c.period_end <= month.end
        )
        unit_period = [
            coverage.c.provider,
            coverage.c.account_id,
            coverage.c.region,
            coverage.c.collector,
            coverage.c.period_start,
            coverage.c.period_end,
        ]
        ranked = (
            sa.select(
                coverage.c.id,
                coverage.c.run_id,
                sa.func.max(coverage.c.run_id).over(partition_by=unit_period).label("last"),
            )
            .where(in_month)
            .subquery()
        )
        superseded = sa.select(ranked.c.id).where(ranked.c.run_id < ranked.c.last)
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.select(compactions.c.month).where(compactions.c.month == label)
            ).first()
            if done is not None:
                return None
            obs = conn.execute(
                sa.delete(observations).where(
                    observations.c.observed_at >= month.start,
                    observations.c.observed_at < month.end,
                )
            ).rowcount
            cov = conn.execute(sa.delete(coverage).where(coverage.c.id.in_(superseded))).rowcount
            kept = _count(conn, sa.select(sa.func.count()).select_from(coverage).where(in_month))
            intervals = _count(
                conn,
                sa.select(sa.func.count())
                .select_from(proven_intervals)
                .where(
                    proven_intervals.c.end_at > month.start,
                    proven_intervals.c.start_at < month.end,
                ),
            )
            record = Compaction(
                label, now, report_id, int(obs or 0), int(cov or 0), kept, intervals
            )
            conn.execute(sa.insert(compactions).values(**_row(record)))
        return record


def _row(c: Compaction) -> dict[str, object]:
    return {
        "month": c.month,
        "compacted_at": c.compacted_at,
        "report_id": c.report_id,
        "observations_deleted": c.observations_deleted,
        "coverage_deleted": c.coverage_deleted,
        "coverage_kept": c.coverage_kept,
        "intervals_kept": c.intervals_kept,
    }
