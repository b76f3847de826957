"""The store's tables and indexes (SQLAlchemy Core). What exists in a database is decided by the
migrations (computewatch.store.migrations), which create these objects version by version."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", TS, nullable=False),
)
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.Column("window_start", TS, nullable=False),
    sa.Column("window_end", TS, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("tool_version", sa.String(40), nullable=False),
    sa.Column("config_digest", sa.String(64), nullable=False),
    sa.Column("api_calls", sa.Text, nullable=False, default="{}"),
)
run_stages = sa.Table(  # migration 7
    "run_stages",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("wall_s", sa.Float, nullable=False),
    sa.Column("cpu_s", sa.Float, nullable=False),
    sa.Column("peak_mib", sa.Float),
)
usage = sa.Table(
    "usage",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("provider", sa.String(20), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("collector", sa.String(64), nullable=False),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("unit", sa.String(32), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("accelerator", sa.String(64), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("resource_id", sa.String(400), nullable=False),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("collected_at", TS, nullable=False),
    sa.Index("ix_usage_account_period", "provider", "account_id", "period_start"),
)
coverage = sa.Table(
    "coverage",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("provider", sa.String(20), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("collector", sa.String(64), nullable=False),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("error_code", sa.String(200), nullable=False),
    sa.Column("error_message", sa.Text, nullable=False),
    sa.Column("recorded_at", TS, nullable=False),
    sa.Index("ix_coverage_run", "run_id"),
)
accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(400), nullable=False),
)

observations = sa.Table(
    "observations",
    metadata,
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("region", sa.String(64), primary_key=True),
    sa.Column("collector", sa.String(64), primary_key=True),
    sa.Column("resource_id", sa.String(400), primary_key=True),
    sa.Column("observed_at", TS, primary_key=True),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("accelerator", sa.String(64), nullable=False),
    sa.Column("count", sa.Float, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("ended_at", TS),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Index("ix_observations_time", "provider", "collector", "observed_at"),
)

findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("rule_id", sa.String(100), nullable=False),
    sa.Column("scope_kind", sa.String(20), nullable=False),
    sa.Column("scope_key", sa.String(400), nullable=False),
    sa.Column("window_start", TS, nullable=False),
    sa.Column("window_end", TS, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("lifecycle", sa.String(10), nullable=False),
    sa.Column("first_seen", TS, nullable=False),
    sa.Column("last_seen", TS, nullable=False),
    sa.Column("reported_at", TS),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Index("ix_findings_status", "status", "lifecycle"),
)

evidence_ledger = sa.Table(
    "evidence_ledger",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("bundle", sa.String(400), nullable=False),
    sa.Column("report_id", sa.String(64), nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("prev_digest", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
)
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("message_id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("recipients", sa.Text, nullable=False),
    sa.Column("message", sa.LargeBinary, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("sent_at", TS),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Index("ix_outbox_due", "sent_at", "next_attempt_at"),
)

produced_reports = sa.Table(
    "produced_reports",
    metadata,
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("period", sa.String(20), primary_key=True),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("produced_at", TS, nullable=False),
    sa.Column("report_id", sa.String(64), nullable=False),
    sa.Column("bundle", sa.String(400), nullable=False),
)

# Added by migration 6: a month of hourly runs writes millions of coverage rows, and every run asks
# when each sampling unit was last read and what the window's latest read of each unit recorded.
COVERAGE_INDEXES = [
    sa.Index("ix_coverage_reads", coverage.c.collector, coverage.c.recorded_at),
    sa.Index("ix_coverage_period", coverage.c.period_start, coverage.c.period_end),
]
