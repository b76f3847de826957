"""Benchmark: the daemon's hourly collection over a simulated month, at fleet scale.

Not a test. Drives the real `collect_job` (discovery replaced by a fake organization whose EC2
inventory is a function of the simulated clock: tests/helpers/fleet.py; the EC2 collector, store,
assessment and findings are the real code; no cloud, no sleeps) for N accounts x 2 regions over
M days, on SQLite and/or PostgreSQL, and prints:

- the hourly job's wall and CPU time and peak memory on the first and the last measured day
  (mean over that day's runs), the database size as the month fills, and after the month is
  sealed and compacted (+ VACUUM),
- the monthly aggregate against one hand-written SQL statement, figures checked identical,
- with --report, the last month's report as the daemon produces it (all formats, notices) in a
  fresh process: stages, peak memory, PDF pages.

Measured days run hourly (`--edge-hours`). The days between are a fast-forward through the same
`collect_job` every `--every` hours; above 2 h pass `--fill-gap-minutes` (e.g. 400) so the coarse
stride is not itself a sampling gap (the stored month then holds fewer raw observations and
per-read coverage rows than an hourly one: those are what compaction deletes).

    .venv/bin/python bench/daemon_scale.py --accounts 1000 --days 30 --every 6 \
        --fill-gap-minutes 400 --edge-hours 6 --backend sqlite --report
    .venv/bin/python bench/daemon_scale.py --accounts 100 --days 365 --start 2026-01-01 \
        --year --every 6 --fill-gap-minutes 400 --edge-hours 6 --backend sqlite
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import sqlalchemy as sa
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from computewatch.domain import Metric, Window
from computewatch.engine.usage import BILLED_METRICS
from computewatch.pipeline.audit import AuditRequest, run_audit
from computewatch.pipeline.jobs import collect_job
from computewatch.pipeline.loading import load_config
from computewatch.pipeline.operations import compact_store
from computewatch.pipeline.stages import _reset_peak as reset_peak
from computewatch.pipeline.stages import peak_mib
from computewatch.store import ProducedReport, Store
from computewatch.store.schema import TS
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
            # Typed bounds: SQLite compares timestamps as the text SQLAlchemy stores.
            hand_sql = sa.text(HAND_SQL).bindparams(
                sa.bindparam("s", type_=TS), sa.bindparam("e", type_=TS)
            )
            result = conn.execute(hand_sql, {"s": window.start, "e": window.end}).all()
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


@dataclass(frozen=True)
class Plan:
    """When the simulated daemon collects. Measured days run hourly for their first `edge` hours
    with the configured sampling limit; the days between run every `fill_every` hours (a
    fast-forward through the same `collect_job`, with `fill_gap` minutes as the sampling limit so
    the coarse stride leaves no gap), plus a run at 23:05 before a measured day so it starts
    within the normal limit."""

    start: datetime
    days: int
    edge: int
    fill_every: int
    fill_gap: int | None
    monthly: bool  # measure the first day of every month (a year), else the first and last day

    def measured(self, day: int) -> bool:
        if self.monthly:
            return (self.start + timedelta(days=day)).day == 1
        return day in (0, self.days - 1)

    def hours(self, day: int) -> list[tuple[int, bool]]:
        """(hour, measured) of the runs of `day`."""
        if self.measured(day):
            return [(h, True) for h in range(self.edge)]
        # A stride of days (--every 48): one run at midnight every other day, and so on.
        skip = self.fill_every // 24 if self.fill_every > 24 else 1
        out = [(h, False) for h in range(0, 24, self.fill_every)] if day % skip == 0 else []
        if day + 1 < self.days and self.measured(day + 1) and (not out or out[-1][0] != 23):
            out.append((23, False))
        return out


def fill_config(directory: Path, base: Path, gap: int | None) -> Path:
    """The fast-forward's config: the same, with a wider sampling limit."""
    if gap is None:
        return base
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    data["collection"] = {**data.get("collection", {}), "max_sample_gap_minutes": gap}
    path = directory / "fill" / "computewatch.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run(
    backend: str,
    accounts: int,
    plan: Plan,
    workers: int,
    profile: frozenset[tuple[int, int]] = frozenset(),
    report: bool = False,
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
    clock = SimClock(plan.start)
    undo = install(Fleet(accounts=accounts, per_region=5, clock=clock))
    base = fleet_config(tmp, url, REPO / "config" / "rules" / "example.yaml", workers)
    config = load_config(base)
    fill = load_config(fill_config(tmp, base, plan.fill_gap))
    per_day: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    sizes: dict[int, int] = {}
    last = plan.days - 1
    reported: dict[str, object] = {}
    try:
        for day in range(plan.days):
            date = plan.start + timedelta(days=day)
            if plan.monthly and date.day == 1 and day > 0:
                # The daemon produces the previous month's report at 06:00 on the 1st; recorded
                # as produced here (no rendering), so retention compacts it after the grace days.
                seal(url, Window.month(f"{(date - timedelta(days=1)):%Y-%m}"), date)
            for hour, measured in plan.hours(day):
                clock.now = date + timedelta(hours=hour, minutes=5)
                reset_peak()
                wall, cpu = time.perf_counter(), time.process_time()
                cfg = config if measured else fill
                if (day + 1, hour) in profile:
                    prof = cProfile.Profile()
                    prof.runcall(collect_job, cfg, clock)
                    out = tmp / f"profile-{backend}-d{day + 1:02d}h{hour:02d}.pstats"
                    prof.dump_stats(out)
                    print(f"  profile written to {out}", flush=True)
                else:
                    collect_job(cfg, clock)
                per_day[day].append(
                    (time.perf_counter() - wall, time.process_time() - cpu, peak_mib())
                )
            if plan.measured(day) or day % 5 == 4 or day == last:
                with Store.open(url) as store:
                    sizes[day] = db_size(store)
                w = statistics.mean(x[0] for x in per_day[day] or [(0.0, 0.0)])
                c = statistics.mean(x[1] for x in per_day[day] or [(0.0, 0.0)])
                kind = "hourly" if plan.measured(day) else f"every {plan.fill_every} h (fill)"
                print(
                    f"  [{backend}] {date:%Y-%m-%d} (day {day + 1}): {len(per_day[day])} run(s) "
                    f"{kind}, mean {w:.2f} s wall / {c:.2f} s CPU, "
                    f"db {sizes[day] / 2**20:.1f} MiB",
                    flush=True,
                )
        window = Window.month(f"{plan.start + timedelta(days=last):%Y-%m}")
        with Store.open(url) as store:
            counts = rows(store)
            agg_store, agg_hand, agg_all, figures = aggregate(store, window)
            before = db_size(store)
        if report:
            reported = render_report(base, accounts, window)
        seal(url, window, window.end)
        t = time.perf_counter()
        done = compact_store(config, now=window.end + timedelta(days=8))
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
    measured = [d for d in range(plan.days) if plan.measured(d)]
    first = per_day[measured[0]]
    final = per_day[measured[-1]]
    return {
        "backend": backend,
        "day1_wall": statistics.mean(x[0] for x in first),
        "day1_cpu": statistics.mean(x[1] for x in first),
        "day1_peak": max(x[2] for x in first),
        "last_wall": statistics.mean(x[0] for x in final),
        "last_cpu": statistics.mean(x[1] for x in final),
        "last_peak": max(x[2] for x in final),
        "last_max_wall": max(x[0] for x in final),
        "monthly": {
            f"{plan.start + timedelta(days=d):%Y-%m}": statistics.mean(x[1] for x in per_day[d])
            for d in measured
        },
        "runs": sum(len(v) for v in per_day.values()),
        "size_day1": sizes[0],
        "size_last": sizes[last],
        "size_compacted": after,
        "size_before_compaction": before,
        "compact_s": compact_s,
        "compacted": sum(c.observations_deleted for c in done),
        "rows": counts,
        "rows_after": after_counts,
        "agg_store": agg_store,
        "agg_hand": agg_hand,
        "agg_all": agg_all,
        "pairs": len(figures),
        "report": reported,
    }


def _report_child(base: str, accounts: int, month: str, queue: Any) -> None:
    """In a fresh process (its own peak memory): the monthly report as the daemon produces it
    at 06:05 on the 1st, every format, notices included, no mail."""
    window = Window.month(month)
    now = window.end + timedelta(hours=6, minutes=5)
    install(Fleet(accounts=accounts, per_region=5, clock=lambda: now))
    cfg = load_config(Path(base))
    request = AuditRequest(
        window=window,
        now=now,
        out_dir=cfg.relative(cfg.app.reports.out_dir),
        formats=[str(f) for f in cfg.app.reports.formats],
        report_key=f"monthly:{month}",
    )
    from bench.report_render import TreePeak  # the process tree's RSS: the PDF workers count

    def children_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    tree = TreePeak()
    wall, cpu, workers_cpu = time.perf_counter(), time.process_time(), children_cpu()
    outcome = run_audit(cfg, request)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    workers_cpu = children_cpu() - workers_cpu
    tree_peak = tree.stop()
    pdfs = {
        name: len(pdfium.PdfDocument(path))
        for name, path in {**outcome.delivered.paths, **outcome.delivered.extra}.items()
        if str(path).endswith(".pdf")
    }
    queue.put(
        {
            "wall": wall,
            "cpu": cpu,
            "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "tree_peak": tree_peak,
            "tree_pss": tree.peak_pss_mib,
            "workers_cpu": workers_cpu,
            "stages": [(t.name, t.wall_s, t.cpu_s, t.peak_mib) for t in outcome.stages],
            "pdf_pages": pdfs,
            "notices": len(outcome.delivered.notices),
            "breaches": outcome.assessment.breaches,
        }
    )


def render_report(base: Path, accounts: int, window: Window) -> dict[str, object]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(
        target=_report_child, args=(str(base), accounts, window.month_label(), queue)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"the monthly report failed (exit {child.exitcode}); see above")
    result: dict[str, object] = queue.get(timeout=60)
    return result


def post_only(directory: Path, accounts: int, month: str, report: bool) -> None:
    """The steps after the simulation, on the store a finished (or failed) run left in its
    temporary directory (SQLite): aggregate check, report, compaction + VACUUM."""
    url = f"sqlite:///{directory / 'store.db'}"
    base = directory / "computewatch.yaml"
    window = Window.month(month)
    with Store.open(url) as store:
        print(f"rows {rows(store)}, db {db_size(store) / 2**20:.1f} MiB", flush=True)
        agg_store, agg_hand, agg_all, figures = aggregate(store, window)
    print(
        f"accelerator-hours: store {agg_store * 1000:.0f} ms / hand-written "
        f"{agg_hand * 1000:.0f} ms ({agg_store / agg_hand:.2f}x), all 4 window queries "
        f"{agg_all * 1000:.0f} ms; {len(figures)} account/chip figures identical",
        flush=True,
    )
    if report:
        rep: Any = render_report(base, accounts, window)
        print(
            f"monthly report: {rep['wall']:.1f} s wall / {rep['cpu']:.1f} s CPU (+ "
            f"{rep['workers_cpu']:.1f} s in PDF workers), peak {rep['peak']:.0f} MiB (process "
            f"tree with the workers: RSS {rep['tree_peak']:.0f} MiB, PSS {rep['tree_pss']:.0f} MiB), "
            f"{rep['breaches']} breach(es), "
            f"{rep['notices']} notice "
            f"file(s); PDF pages {rep['pdf_pages']}"
        )
        for name, wall, cpu, peak in rep["stages"]:
            print(f"    {name:<28} {wall:8.2f} s {cpu:8.2f} s CPU {peak or 0:7.0f} MiB")
    seal(url, window, window.end)
    t = time.perf_counter()
    done = compact_store(load_config(base), now=window.end + timedelta(days=8))
    print(f"compaction {time.perf_counter() - t:.1f} s: {done}", flush=True)
    with Store.open(url) as store:
        vacuum(store)
        print(f"after compaction + VACUUM: {db_size(store) / 2**20:.1f} MiB, rows {rows(store)}")
    Store.dispose(url)


def seal(url: str, window: Window, at: datetime) -> None:
    with Store.open(url) as store:
        label = window.month_label()
        if any(p.period == label for p in store.reports.produced("monthly")):
            return
        store.reports.record(
            ProducedReport("monthly", label, window.start, window.end, at, "CW-BENCH", "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--start", default="2026-11-01", help="first simulated day (UTC)")
    parser.add_argument("--every", type=int, default=1, help="hours between runs on fill days")
    parser.add_argument(
        "--fill-gap-minutes",
        type=int,
        default=None,
        help="sampling limit on fill days (for --every above 2: no gap from the coarse stride)",
    )
    parser.add_argument("--year", action="store_true", help="measure day 1 of every month")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--edge-hours", type=int, default=24, help="hourly runs on each measured day"
    )
    parser.add_argument(
        "--report", action="store_true", help="produce the last month's report (all formats)"
    )
    parser.add_argument(
        "--profile",
        default="",
        help="runs to profile with cProfile, as DAY:HOUR,... (stats files in the temp dir)",
    )
    parser.add_argument("--post-only", type=Path, help="a failed run's temp dir (SQLite)")
    args = parser.parse_args()
    if args.post_only:
        start = datetime.fromisoformat(args.start)
        post_only(args.post_only, args.accounts, f"{start:%Y-%m}", args.report)
        return
    profile = frozenset(
        (int(d), int(h)) for d, h in (p.split(":") for p in args.profile.split(",") if p)
    )
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    plan = Plan(start, args.days, args.edge_hours, args.every, args.fill_gap_minutes, args.year)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run(b, args.accounts, plan, args.workers, profile, args.report) for b in backends]
    mib = 2**20
    print(
        f"\n{args.accounts} accounts x 2 regions x 5 instances, {args.days} day(s) from "
        f"{args.start}; measured days hourly for {args.edge_hours} h, every {args.every} h "
        f"between (sampling limit there {args.fill_gap_minutes or 'as configured'} min); "
        f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        "| backend | hourly job first day (wall / CPU / peak) | last measured day "
        "| ratio CPU | DB first day | DB last day | after compaction + VACUUM "
        "| accelerator-hours: store / hand-written SQL | all 4 window queries |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['day1_wall']:.2f} s / {r['day1_cpu']:.2f} s / "
            f"{r['day1_peak']:.0f} MiB "
            f"| {r['last_wall']:.2f} s / {r['last_cpu']:.2f} s / {r['last_peak']:.0f} MiB "
            f"| {r['last_cpu'] / r['day1_cpu']:.2f}x "
            f"| {r['size_day1'] / mib:.1f} MiB | {r['size_last'] / mib:.1f} MiB "
            f"| {r['size_compacted'] / mib:.1f} MiB "
            f"| {r['agg_store'] * 1000:.0f} ms / {r['agg_hand'] * 1000:.0f} ms "
            f"({r['agg_store'] / r['agg_hand']:.2f}x) | {r['agg_all'] * 1000:.0f} ms |"
        )
    for r in results:
        print(
            f"{r['backend']}: {r['runs']} runs (slowest measured {r['last_max_wall']:.1f} s "
            f"wall); rows {r['rows']} -> after compaction {r['rows_after']} (compaction "
            f"{r['compact_s']:.1f} s); {r['pairs']} account/chip figures identical between the "
            "store's aggregate and the hand-written statement"
        )
        if args.year:
            print(
                "  hourly job CPU by month: "
                + ", ".join(
                    f"{m} {c:.2f} s"
                    for m, c in r["monthly"].items()  # type: ignore[attr-defined]
                )
            )
        rep = r["report"]
        if rep:
            print(
                f"  monthly report: {rep['wall']:.1f} s wall / {rep['cpu']:.1f} s CPU (+ "
                f"{rep['workers_cpu']:.1f} s in PDF workers), peak {rep['peak']:.0f} MiB "
                f"(process tree RSS {rep['tree_peak']:.0f} MiB, PSS {rep['tree_pss']:.0f} MiB), "
                f"{rep['breaches']} breach(es), "
                f"{rep['notices']} notice "
                f"file(s); PDF pages {rep['pdf_pages']}"
            )
            for name, wall, cpu, peak in rep["stages"]:
                print(f"    {name:<28} {wall:8.2f} s {cpu:8.2f} s CPU {peak or 0:7.0f} MiB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole benchmark process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
