"""The store's tables and indexes (SQLAlchemy Core). What exists in a database is decided by the
migrations (computewatch.store.migrations), which create these objects version by version."""

from __future__ import annotations

import sqlalchemy as sa

from computewatch.domain.enums import Method

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
# Added by migration 15: per account and day the usage rows summed over regions, collectors and
# resources, kept by every usage write for the days it touched (store.rollup). The window sums an
# hour asks (totals, peaks, billed, daily series) read it: O(accounts x days), not O(instances x
# days). The key leads with the day: a window is a range of it, a refresh deletes by its prefix.
usage_daily = sa.Table(
    "usage_daily",
    metadata,
    sa.Column("period_start", TS, primary_key=True),
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("metric", sa.String(64), primary_key=True),
    sa.Column("accelerator", sa.String(64), primary_key=True),
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("sku", sa.String(128), primary_key=True),
    sa.Column("method", sa.String(32), primary_key=True),
    sa.Column("period_end", TS, primary_key=True),
    sa.Column("quantity", sa.Float, nullable=False),
    # The day's choice of billing source for its (account, metric, day), made when the day is
    # summed (store.aggregates.RANKS): the best rank present, the best live rank below the
    # export's (-1 if none), and whether billing and inventory rows are both there (0/1).
    sa.Column("day_top", sa.SmallInteger, nullable=False),
    sa.Column("day_live", sa.SmallInteger, nullable=False),
    sa.Column("day_billed", sa.SmallInteger, nullable=False),
    sa.Column("day_inventory", sa.SmallInteger, nullable=False),
    sqlite_with_rowid=False,  # the key is the table: no second copy of it in an index
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

# Added by migration 12: which process runs each run (host, pid, the process's start time), so a
# run whose process died is found by the next command that opens the store and marked abandoned.
run_processes = sa.Table(
    "run_processes",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("process_start", sa.String(40)),  # None where the platform does not tell
)

# Added by migration 8: the proven running intervals of each sampled resource, extended by every
# read (observations are folded in as they are written), so no run reads the raw history back.
# One row per maximal interval (a zero-length row keeps an observation that proves no time).
proven_intervals = sa.Table(
    "proven_intervals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String(20), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("collector", sa.String(64), nullable=False),
    sa.Column("resource_id", sa.String(400), nullable=False),
    sa.Column("start_at", TS, nullable=False),
    sa.Column("end_at", TS, nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("accelerator", sa.String(64), nullable=False),
    sa.Column("count", sa.Float, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("first_observed_at", TS, nullable=False),
    sa.Column("last_observed_at", TS, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Index("ix_intervals_resource", "resource_id", "end_at"),
    sa.Index("ix_intervals_end", "end_at"),
)
# Added by migration 14: per account and day, the true simultaneous peak of running accelerators
# (all regions, all chips: region and accelerator ''; per chip: region ''; per region and chip),
# kept by the interval fold for the days a read changed: a month's peak is the largest of its
# days' (an instant lies in one day), so no hour sweeps the month's intervals again.
# Rebuilt by migration 15 with the day leading its key (a window is a range of days; the fold's
# refresh and its writes search the key) and, on SQLite, no rowid: the key is stored once, where
# the first shape kept it twice and a day index on top.
daily_peaks = sa.Table(
    "daily_peaks",
    metadata,
    sa.Column("day", TS, primary_key=True),
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("region", sa.String(64), primary_key=True),
    sa.Column("accelerator", sa.String(64), primary_key=True),
    sa.Column("peak", sa.Float, nullable=False),
    sqlite_with_rowid=False,
)
# Also migration 14: API calls by operation summed over all runs, added to as each run finishes
# (a `/metrics` scrape read and parsed every run's calls, growing with the runs).
api_call_totals = sa.Table(
    "api_call_totals",
    metadata,
    sa.Column("operation", sa.String(200), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
)
# Also migration 14: an hourly run reads only the intervals observed since yesterday (the
# rest cannot change the days it derives), and a unit's older ones only when it must.
INTERVAL_INDEXES = (
    sa.Index("ix_intervals_last", proven_intervals.c.last_observed_at),
    sa.Index(
        "ix_intervals_account_last",
        proven_intervals.c.account_id,
        proven_intervals.c.last_observed_at,
    ),
)

# Added by migration 9: per unit, its latest read and its latest successful read (maintained as
# coverage is written, so `status`, `/metrics` and the next run ask O(units) rows, not the history),
# and failed API reads counted as they are written.
unit_state = sa.Table(
    "unit_state",
    metadata,
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("region", sa.String(64), primary_key=True),
    sa.Column("collector", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("error_code", sa.String(200), nullable=False),
    sa.Column("error_message", sa.Text, nullable=False),
    sa.Column("recorded_at", TS, nullable=False),
    sa.Column("ok_period_start", TS),
    sa.Column("ok_period_end", TS),
    sa.Column("ok_recorded_at", TS),
)
api_error_counts = sa.Table(
    "api_error_counts",
    metadata,
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("collector", sa.String(64), primary_key=True),
    sa.Column("error_code", sa.String(200), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)
# Indexes for the queries every run and scrape makes (checked with EXPLAIN by a test).
STATE_INDEXES = [
    sa.Index("ix_findings_lifecycle", findings.c.lifecycle, findings.c.status),
]
# Created by migration 9, dropped by migration 15: the window sums read usage_daily since, and the
# records still carrying a first read's estimate are found through the partial index below.
RETIRED_INDEXES = (
    "ix_usage_period",
    "ix_usage_metric_period",
    "ix_usage_method_period",
    "ix_daily_peaks_day",
)
# Migration 15: only the few records still carrying a first read's launch-time estimate (the
# next read derives their days again); a whole-table (method, day) index cost 6 % of the store.
ESTIMATE = str(Method.LAUNCH_TIME_ESTIMATE)
ESTIMATED = usage.c.method == sa.literal_column(f"'{ESTIMATE}'")  # a literal: SQLite matches it
USAGE_ESTIMATES_INDEX = sa.Index(
    "ix_usage_estimates",
    usage.c.collector,
    usage.c.period_start,
    sqlite_where=ESTIMATED,
    postgresql_where=ESTIMATED,
)

# Added by migration 10: what retention compacted, month by month (the sealed bundle and the
# daily usage stay; raw observations and superseded per-read coverage go).
compactions = sa.Table(
    "compactions",
    metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("compacted_at", TS, nullable=False),
    sa.Column("report_id", sa.String(64), nullable=False),
    sa.Column("observations_deleted", sa.Integer, nullable=False),
    sa.Column("coverage_deleted", sa.Integer, nullable=False),
    sa.Column("coverage_kept", sa.Integer, nullable=False),
    sa.Column("intervals_kept", sa.Integer, nullable=False),
)
