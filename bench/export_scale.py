"""Benchmark: aggregate a generated CUR 2.0-shaped Parquet month into the store, against a
hand-written DuckDB GROUP BY over the same files; time ratio and peak memory of each.

Not a test. Each measurement runs in a fresh process (peak RSS is per process). Usage:
    .venv/bin/python bench/export_scale.py --rows 10000000 --accounts 50000
    .venv/bin/python bench/export_scale.py --rows 10000000 --dir /tmp/cur-bench --keep   # reuse
The issue's target is 100 million rows (50,000 accounts, one month hourly) in at most 3x the
GROUP BY's time with peak memory under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

EXPORT = "cur2-bench"
PERIOD = "2026-10"
# (usage type, product code, product_instance_type, pricing unit, share of rows)
USAGE_TYPES = [
    ("USE1-BoxUsage:p5.48xlarge", "AmazonEC2", "p5.48xlarge", "Hrs", 0.01),
    ("USE1-BoxUsage:p4d.24xlarge", "AmazonEC2", "p4d.24xlarge", "Hrs", 0.01),
    ("USW2-BoxUsage:trn1.32xlarge", "AmazonEC2", "trn1.32xlarge", "Hrs", 0.005),
    ("USE1-SpotUsage:g5.12xlarge", "AmazonEC2", "g5.12xlarge", "Hrs", 0.01),
    ("USE1-Train:ml.p4d.24xlarge", "AmazonSageMaker", "ml.p4d.24xlarge", "Hrs", 0.005),
    ("USE1-Claude3.5Sonnet-input-tokens", "AmazonBedrock", "", "1K tokens", 0.01),
    ("USE1-Claude3.5Sonnet-output-tokens", "AmazonBedrock", "", "1K tokens", 0.01),
    ("USE1-BoxUsage:m5.large", "AmazonEC2", "m5.large", "Hrs", 0.30),
    ("USE1-BoxUsage:c6i.2xlarge", "AmazonEC2", "c6i.2xlarge", "Hrs", 0.15),
    ("USE1-EBS:VolumeUsage.gp3", "AmazonEC2", "", "GB-Mo", 0.20),
    ("USE1-DataTransfer-Out-Bytes", "AmazonEC2", "", "GB", 0.15),
    ("USE1-Requests-Tier1", "AmazonS3", "", "Requests", 0.14),
]
LINE_TYPES = [
    ("Usage", 0.90),
    ("DiscountedUsage", 0.04),
    ("SavingsPlanCoveredUsage", 0.03),
    ("Credit", 0.01),
    ("Tax", 0.01),
    ("SavingsPlanNegation", 0.01),
]

BASELINE = """
SELECT line_item_usage_account_id, CAST(date_trunc('day', line_item_usage_start_date) AS DATE),
  line_item_usage_type, product_instance_type, pricing_unit, sum(line_item_usage_amount)
FROM read_parquet({files})
WHERE line_item_line_item_type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
  AND line_item_usage_amount > 0
GROUP BY ALL
"""


def _dict(values: list[str], idx: np.ndarray) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(values))


def generate(root: Path, rows: int, accounts: int, part_rows: int = 2_000_000) -> list[Path]:
    rng = np.random.default_rng(15)
    ids = [f"{100000000000 + i:012d}" for i in range(accounts)]
    names = [f"account-{i}" for i in range(accounts)]
    shares = np.array([u[4] for u in USAGE_TYPES])
    line_shares = np.array([s for _, s in LINE_TYPES])
    period = np.datetime64("2026-10-01T00:00:00", "ms")
    data = root / EXPORT / "data" / f"BILLING_PERIOD={PERIOD}"
    data.mkdir(parents=True, exist_ok=True)
    files = []
    for n, start in enumerate(range(0, rows, part_rows)):
        size = min(part_rows, rows - start)
        acc = rng.integers(0, accounts, size)
        kind = rng.choice(len(USAGE_TYPES), size, p=shares / shares.sum())
        line = rng.choice(len(LINE_TYPES), size, p=line_shares / line_shares.sum())
        hour = rng.integers(0, 31 * 24, size).astype("timedelta64[h]")
        table = pa.table(
            {
                "bill_billing_period_start_date": pa.array(np.full(size, period)),
                "bill_payer_account_id": pa.array(np.full(size, "999900000001")),
                "line_item_usage_account_id": _dict(ids, acc),
                "line_item_usage_account_name": _dict(names, acc),
                "line_item_line_item_type": _dict([t for t, _ in LINE_TYPES], line),
                "line_item_usage_start_date": pa.array(period + hour),
                "line_item_usage_type": _dict([u[0] for u in USAGE_TYPES], kind),
                "line_item_product_code": _dict([u[1] for u in USAGE_TYPES], kind),
                "product_instance_type": _dict([u[2] for u in USAGE_TYPES], kind),
                "pricing_unit": _dict([u[3] for u in USAGE_TYPES], kind),
                "line_item_usage_amount": pa.array(rng.random(size)),
                "line_item_unblended_cost": pa.array(rng.random(size) * 3),
            }
        )
        path = data / f"{EXPORT}-{n + 1:05d}.snappy.parquet"
        pq.write_table(table, path, compression="snappy", row_group_size=500_000)
        files.append(path)
    return files


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(root: Path, store_url: str) -> dict[str, float]:
    from computewatch.collectors.exports.reader import read_export
    from computewatch.config.exports import ExportSource
    from computewatch.domain import Window
    from computewatch.domain.catalog import Catalog
    from computewatch.domain.window import utc
    from computewatch.store import Store

    t0 = time.perf_counter()
    source = ExportSource(name="bench", format="cur2", location=str(root))
    read = read_export(source, Window.month(PERIOD), Catalog.load(), "")
    if read.error is not None:
        raise SystemExit(f"export failed: {read.error}")
    records = [r for rs in read.records.values() for r in rs]
    read_seconds = time.perf_counter() - t0
    with Store.open(store_url) as store:
        run = store.runs.start(Window.month(PERIOD), utc(2026, 11, 2), "bench", "0" * 64)
        store.usage.write(run, records, utc(2026, 11, 2))
    hours = sum(r.quantity for r in records if str(r.metric) == "accelerator_hours")
    return {
        "seconds": time.perf_counter() - t0,
        "peak_mib": peak_mib(),
        "read_seconds": read_seconds,
        "records": len(records),
        "accelerator_hours": hours,
    }


def run_baseline(root: Path) -> dict[str, float]:
    import duckdb

    files = sorted(str(p) for p in root.rglob("*.parquet"))
    t0 = time.perf_counter()
    con = duckdb.connect(config={"threads": 2})
    con.execute("SET enable_progress_bar = false")
    sql = BASELINE.format(files=json.dumps(files).replace('"', "'"))
    # Fetched as Arrow (no Python object per group): the fastest way to get the groups out.
    got = con.execute(sql).to_arrow_table()
    return {"seconds": time.perf_counter() - t0, "peak_mib": peak_mib(), "groups": got.num_rows}


def measure(phase: str, root: Path, store_url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--dir", str(root), "--store", store_url],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--accounts", type=int, default=50_000)
    p.add_argument("--dir", type=Path, default=None)
    p.add_argument("--keep", action="store_true", help="reuse files already in --dir")
    p.add_argument("--store", default="")
    p.add_argument("--phase", choices=["ours", "baseline"], default=None)
    args = p.parse_args()
    if args.phase:
        result = run_ours(args.dir, args.store) if args.phase == "ours" else run_baseline(args.dir)
        print(json.dumps(result))
        return 0
    root = args.dir or Path(tempfile.mkdtemp(prefix="cw-export-bench-"))
    if not (args.keep and list(root.rglob("*.parquet"))):
        t0 = time.perf_counter()
        files = generate(root, args.rows, args.accounts)
        size = sum(f.stat().st_size for f in files) / 2**20
        print(
            f"generated {args.rows:,} rows, {args.accounts:,} accounts, {len(files)} files, "
            f"{size:,.0f} MiB in {time.perf_counter() - t0:.1f} s"
        )
    store_url = args.store or f"sqlite:///{root}/bench-store.db"
    Path(store_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    base = measure("baseline", root, store_url)
    ours = measure("ours", root, store_url)
    print(f"{datetime.now():%Y-%m-%d %H:%M}  rows {args.rows:,}  accounts {args.accounts:,}")
    print(
        f"  hand-written DuckDB GROUP BY   {base['seconds']:7.2f} s   peak {base['peak_mib']:6.0f} MiB"
        f"   ({base['groups']:,} groups)"
    )
    print(
        f"  computewatch export -> store    {ours['seconds']:7.2f} s   peak {ours['peak_mib']:6.0f} MiB"
        f"   ({ours['records']:,} records, {ours['accelerator_hours']:,.0f} accelerator-hours)"
    )
    print(
        f"    of which export read (DuckDB + records) {ours['read_seconds']:.2f} s, "
        f"store write {ours['seconds'] - ours['read_seconds']:.2f} s"
    )
    print(
        f"  ratio {ours['seconds'] / base['seconds']:.2f} x (target <= 3), "
        f"peak under 1 GiB: {max(ours['peak_mib'], base['peak_mib']) < 1024}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
