"""Benchmark: the daemon's hourly collection over a simulated month, at fleet scale.

Not a test. Drives the real `collect_job` (discovery replaced by a fake organization whose EC2
inventory is a function of the simulated clock: tests/helpers/fleet.py; the EC2 collector, store,
assessment and findings are the real code; no cloud, no sleeps) for N accounts x 2 regions over
M days, on SQLite and/or PostgreSQL, and prints:

- the hourly job's wall and CPU time on day 1 and on the last day (mean over that day's runs),
- the database size as the month fills, and after the month is sealed and compacted,
- the monthly aggregate (what the assessment asks of the store for the window) against one
  hand-written SQL statement over the same store, with the figures checked identical.

Usage:
    .venv/bin/python bench/daemon_scale.py --accounts 100 --days 30 --backend both
    .venv/bin/python bench/daemon_scale.py --accounts 1000 --days 3 --every 2 --backend sqlite

`--every K` collects every K hours between the first and the last day (which are hourly, for
their first `--edge-hours` hours); K <= 2 stays inside the default 150-minute sampling gap.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from computewatch.domain import Metric, Window
from computewatch.engine.usage import BILLED_METRICS
from computewatch.pipeline.jobs import collect_job
from computewatch.pipeline.loading import load_config
from computewatch.pipeline.operations import compact_store
from computewatch.store import ProducedReport, Store
from tests.helpers.fleet import Fleet, SimClock, fleet_config, install

REPO = Path(__file__).resolve().parents[1]
MONTH = Window.month("2026-11")
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# One hand-written statement: accelerator-hours per account and chip over the window, billing
# superseding inventory day by day (what store.usage.billed computes, summed over sku and method).
HAND_SQL = """
WITH d AS (
  SELECT provider, account_id, accelerator, method, period_start AS day, SUM(quantity) AS q
  FROM usage
  WHERE metric = 'accelerator_hours' AND period_start >= :s AND period_end <= :e
  GROUP BY provider, account_id, accelerator, method, period_start
), b AS (
  SELECT DISTINCT provider, account_id, day FROM d WHERE method = 'billing'
)
SELECT d.provider, d.account_id, d.accelerator, SUM(d.q)
FROM d LEFT JOIN b ON b.provider = d.provider AND b.account_id = d.account_id AND b.day = d.day
WHERE d.method = 'billing' OR b.day IS NULL
GROUP BY d.provider, d.account_id, d.accelerator
"""


def db_size(store: Store) -> int:
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            return int(
                conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
            )
        page = conn.exec_driver_sql("PRAGMA page_size").scalar()
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        return int(page) * int(pages)


def rows(store: Store) -> dict[str, int]:
    out = {}
    with store.engine.connect() as conn:
        for t in ("observations", "proven_intervals", "usage", "coverage", "findings"):
            count = sa.select(sa.func.count()).select_from(sa.table(t))
            out[t] = int(conn.execute(count).scalar() or 0)
    return out


def vacuum(store: Store) -> None:
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(
            "VACUUM FULL" if store.engine.dialect.name == "postgresql" else "VACUUM"
        )


def aggregate(
    store: Store, window: Window
) -> tuple[float, float, float, dict[tuple[str, str, str], float]]:
    """Seconds (best of 3) of the store's accelerator-hours measure, of the hand-written
    statement, and of all four queries the assessment makes for a window; and the figures per
    account and chip (checked equal between the first two)."""
    best_store = best_hand = best_all = float("inf")
    figures: dict[tuple[str, str, str], float] = {}
    hand: dict[tuple[str, str, str], float] = {}
    for _ in range(3):
        t = time.perf_counter()  # the same measure as the hand-written statement
        billed = store.usage.billed(window, [str(Metric.ACCELERATOR_HOURS)])
        best_store = min(best_store, time.perf_counter() - t)
        t = time.perf_counter()
        store.usage.totals(window)
        store.usage.peaks(window)
        store.usage.billed(window, BILLED_METRICS)
        store.usage.daily_hours(window)
        best_all = min(best_all, time.perf_counter() - t)
        figures = defaultdict(float)
        for b in billed:
            if b.metric == str(Metric.ACCELERATOR_HOURS):
                figures[(b.provider, b.account_id, b.accelerator)] += b.quantity
        t = time.perf_counter()
        with store.engine.connect() as conn:
            result = conn.execute(sa.text(HAND_SQL), {"s": window.start, "e": window.end}).all()
        best_hand = min(best_hand, time.perf_counter() - t)
        hand = {(p, a, c): float(q) for p, a, c, q in result}
    mismatch = [
        k
        for k in hand.keys() | figures.keys()
        if abs(hand.get(k, -1) - figures.get(k, -2)) > 1e-6 * max(1.0, abs(hand.get(k, 0.0)))
    ]
    if mismatch:
        raise SystemExit(
            f"figures differ for {len(mismatch)} account/chip pairs, e.g. {mismatch[:3]}"
        )
    return best_store, best_hand, best_all, dict(figures)


def run(
    backend: str, accounts: int, days: int, every: int, workers: int, edge: int = 24
) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-"))
    pg_name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    if backend == "postgresql":
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{pg_name}"'))
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_name}"
    else:
        url = f"sqlite:///{tmp / 'store.db'}"
    clock = SimClock(MONTH.start)
    undo = install(Fleet(accounts=accounts, per_region=5, clock=clock))
    config = load_config(
        fleet_config(tmp, url, REPO / "config" / "rules" / "example.yaml", workers)
    )
    per_day: dict[int, list[tuple[float, float]]] = defaultdict(list)
    sizes: dict[int, int] = {}
    try:
        for day in range(days):
            hourly = day in (0, days - 1)
            for hour in range(0, edge if hourly else 24, 1 if hourly else every):
                clock.now = MONTH.start + timedelta(days=day, hours=hour, minutes=5)
                wall, cpu = time.perf_counter(), time.process_time()
                collect_job(config, clock)
                per_day[day].append((time.perf_counter() - wall, time.process_time() - cpu))
            with Store.open(url) as store:
                sizes[day] = db_size(store)
            w = statistics.mean(x for x, _ in per_day[day])
            print(
                f"  [{backend}] day {day + 1}: {len(per_day[day])} run(s), mean {w:.2f} s wall, "
                f"db {sizes[day] / 2**20:.1f} MiB",
                flush=True,
            )
        with Store.open(url) as store:
            counts = rows(store)
            agg_store, agg_hand, agg_all, figures = aggregate(store, MONTH)
            store.reports.record(
                ProducedReport(
                    "monthly",
                    MONTH.month_label(),
                    MONTH.start,
                    MONTH.end,
                    MONTH.end,
                    "CW-BENCH",
                    "",
                )
            )
            before = db_size(store)
        t = time.perf_counter()
        done = compact_store(config, now=MONTH.end + timedelta(days=8))
        compact_s = time.perf_counter() - t
        with Store.open(url) as store:
            vacuum(store)
            after = db_size(store)
            after_counts = rows(store)
    finally:
        undo()
        Store.dispose(url)
        if backend == "postgresql":
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()
    first, last = per_day[0], per_day[days - 1]
    return {
        "backend": backend,
        "day1_wall": statistics.mean(x for x, _ in first),
        "day1_cpu": statistics.mean(c for _, c in first),
        "last_wall": statistics.mean(x for x, _ in last),
        "last_cpu": statistics.mean(c for _, c in last),
        "runs": sum(len(v) for v in per_day.values()),
        "size_day1": sizes[0],
        "size_last": sizes[days - 1],
        "size_compacted": after,
        "size_before_compaction": before,
        "compact_s": compact_s,
        "compacted": done[0].observations_deleted if done else 0,
        "rows": counts,
        "rows_after": after_counts,
        "agg_store": agg_store,
        "agg_hand": agg_hand,
        "agg_all": agg_all,
        "pairs": len(figures),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--every", type=int, default=1, help="hours between runs on days 2..M-1")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--edge-hours", type=int, default=24, help="hourly runs on the first and last day"
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [
        run(b, args.accounts, args.days, args.every, args.workers, args.edge_hours)
        for b in backends
    ]
    mib = 2**20
    print(
        f"\n{args.accounts} accounts x 2 regions x 5 instances, {args.days} day(s), "
        f"runs hourly on day 1 and {args.days}, every {args.every} h between"
    )
    print(
        f"| backend | hourly job day 1 (wall / CPU) | day {args.days} (wall / CPU) | DB day 1 "
        f"| DB day {args.days} | after compaction + VACUUM "
        "| accelerator-hours: store / hand-written SQL | all 4 window queries |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['day1_wall']:.2f} s / {r['day1_cpu']:.2f} s "
            f"| {r['last_wall']:.2f} s / {r['last_cpu']:.2f} s "
            f"| {r['size_day1'] / mib:.1f} MiB | {r['size_last'] / mib:.1f} MiB "
            f"| {r['size_compacted'] / mib:.1f} MiB "
            f"| {r['agg_store'] * 1000:.0f} ms / {r['agg_hand'] * 1000:.0f} ms "
            f"| {r['agg_all'] * 1000:.0f} ms |"
        )
    for r in results:
        print(
            f"{r['backend']}: {r['runs']} runs; rows {r['rows']} -> after compaction "
            f"{r['rows_after']} (compaction {r['compact_s']:.1f} s); {r['pairs']} account/chip "
            "figures identical between the store's aggregate and the hand-written statement"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole benchmark process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
