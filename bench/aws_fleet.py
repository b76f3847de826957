"""Benchmark: computewatch against Cloud Custodian's c7n-org over one emulated AWS organization.

Not a test. A moto server (in a process of its own, seeded once: accounts x regions, accelerator
instances and Bedrock token series in each) serves both tools; the runs alternate (computewatch,
c7n-org, c7n-org, computewatch, ...) so that a change in machine load hits both alike. Each run is
a fresh process, measured from outside: wall time, CPU time (the process and every child it
reaped), peak resident memory (the whole process tree, sampled every 50 ms, and the largest single
process). computewatch runs every collector and writes the JSON report (no PDFs, no bundle);
c7n-org runs one policy, EC2 instances of an accelerator family, in every account and region.
Both must find the same instances. The moto server's own CPU time during each run is printed
too: it answers from one Python process (a thread per request, one core at most), so a run whose
"moto CPU" nears its wall time is waiting on the emulator, not on the tool.

c7n pins boto3/botocore versions of its own: install it in a separate virtual environment and
name its `c7n-org` (default: next to this Python):

    python -m venv /work/venv-c7n && /work/venv-c7n/bin/pip install c7n c7n-org
    .venv/bin/python bench/aws_fleet.py --accounts 50 --regions 4 --rounds 3 \
        --c7n-org /work/venv-c7n/bin/c7n-org
    .venv/bin/python bench/aws_fleet.py --accounts 1000 --regions 4 --rounds 1 --no-c7n
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ALL_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "eu-central-1", "us-east-2"]
TYPES = ["p5.48xlarge", "p4d.24xlarge", "g5.xlarge", "trn1.32xlarge", "g6e.12xlarge"]
ACCELERATOR_TYPE = r"^(p\d|g\d|gr\d|trn\d|inf\d|dl\d)[a-z0-9-]*\."  # as collectors/aws/ec2.py
HERE = Path(__file__).resolve()


# -- the emulated organization (a process of its own) -------------------------------------------
def serve(accounts: int, regions: list[str], per_region: int, models: int) -> None:
    """Seed the organization, print how to reach it as one JSON line, serve until stdin closes."""
    from computewatch.demo.emulated_aws import EmulatedAws, InstanceSpec, MemberSpec
    from computewatch.demo.emulated_aws_usage import ModelUsage, SeedTarget, seed_bedrock_tokens
    from computewatch.domain import Window

    window = Window.previous_month(datetime.now(UTC))
    members = [
        MemberSpec(
            f"bench-{a:04d}",
            tuple(
                InstanceSpec(
                    TYPES[(a + r + i) % len(TYPES)],
                    region,
                    window.start + timedelta(days=(a + i) % 20),
                )
                for r, region in enumerate(regions)
                for i in range(per_region)
            ),
        )
        for a in range(accounts)
    ]
    cloud = EmulatedAws().start()
    org = cloud.seed_organization(members)
    days = Window(window.start, window.start + timedelta(days=3))
    usage = [ModelUsage(f"bench.model-{m}", 1000 * (m + 1), 100, 10) for m in range(models)]
    for account_id in org.members.values():
        inside = cloud.credentials_for(account_id)
        for region in regions:
            seed_bedrock_tokens(
                cloud, SeedTarget(account_id, region, inside), days, usage, points_per_day=1
            )
    # IAM is not enforced: the audit role grants computewatch's actions only, and c7n-org also
    # calls ec2:DescribeTags. Both tools sign every request alike either way.
    print(
        json.dumps(
            {
                "endpoint": cloud.endpoint,
                "key": org.auditor_key_id,
                "secret": org.auditor_secret,
                "role": org.role_name,
                "members": org.members,
                "month": window.start.strftime("%Y-%m"),
            }
        ),
        flush=True,
    )
    sys.stdin.read()  # until the benchmark closes the pipe
    cloud.stop()


# -- one computewatch run (a process of its own) ------------------------------------------------
def run_computewatch(config: Path, month: str, out: Path) -> None:
    """Collect every collector and write the JSON report; print the figures as one JSON line."""
    import sqlalchemy as sa

    from computewatch.domain import Window
    from computewatch.pipeline.audit import AuditRequest, run_audit
    from computewatch.pipeline.loading import load_config
    from computewatch.store import Store

    loaded = load_config(config)
    window = Window.month(month)
    outcome = run_audit(
        loaded, AuditRequest(window, datetime.now(UTC), out, ["json"], bundle=False)
    )
    with Store.open(loaded.app.store.resolved_url()) as store, store.engine.connect() as conn:
        instances = conn.execute(sa.text("SELECT COUNT(DISTINCT resource_id) FROM observations"))
        found = int(instances.scalar() or 0)
    print(
        json.dumps(
            {
                "instances": found,
                "records": outcome.records_written,
                "coverage": str(outcome.context.coverage.status),
                "api_calls": outcome.api_calls,
                "stages": [t.describe() for t in outcome.stages],
            }
        )
    )


# -- measuring a process tree from outside ------------------------------------------------------
def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _tree_rss_mib(root: int) -> float:
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo += _children(pid)
    return total / 1024


def _cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    wall: float
    cpu: float  # the process and every child it reaped
    peak_mib: float  # the process tree's resident memory, sampled
    stdout: str
    server_cpu: float = 0.0  # the moto server's CPU time meanwhile


def measure(cmd: list[str], env: dict[str, str], server: int) -> Measured:
    peak = [0.0]
    server_before = _cpu_seconds(server)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], _tree_rss_mib(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 3, 4):  # computewatch: 3 breach, 4 coverage incomplete
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}):\n{stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(wall, cpu, peak[0], stdout, _cpu_seconds(server) - server_before)


# -- the two tools --------------------------------------------------------------------------------
def write_inputs(tmp: Path, org: dict[str, Any], regions: list[str], workers: int) -> None:
    (tmp / "computewatch.yaml").write_text(
        yaml.safe_dump(
            {
                "reporting_entity": {"name": "bench"},
                "store": {"url": f"sqlite:///{tmp}/cw.db"},
                "aws": {
                    "regions": regions,
                    "organization": {
                        "role_name": org["role"],
                        "include_accounts": sorted(org["members"].values()),
                    },
                    "max_workers": workers,
                },
            }
        )
    )
    accounts = [
        {
            "account_id": aid,
            "name": name,
            "role": f"arn:aws:iam::{aid}:role/{org['role']}",
            "regions": regions,
        }
        for name, aid in sorted(org["members"].items())
    ]
    (tmp / "accounts.yml").write_text(yaml.safe_dump({"accounts": accounts}))
    policy = {
        "name": "gpu-instances",
        "resource": "aws.ec2",
        "filters": [
            {"type": "value", "key": "InstanceType", "op": "regex", "value": ACCELERATOR_TYPE}
        ],
    }
    (tmp / "policy.yml").write_text(yaml.safe_dump({"policies": [policy]}))


def computewatch_cmd(tmp: Path, month: str) -> list[str]:
    return [sys.executable, str(HERE), "--as-computewatch", str(tmp / "computewatch.yaml"), month]


def c7n_cmd(c7n_org: str, tmp: Path, regions: list[str]) -> list[str]:
    cmd = [c7n_org, "run", "-c", str(tmp / "accounts.yml"), "-u", str(tmp / "policy.yml")]
    cmd += ["-s", str(tmp / "c7n-out"), "--cache-period", "0"]
    for region in regions:
        cmd += ["-r", region]
    return cmd


def c7n_instances(out: Path) -> int:
    return sum(len(json.loads(p.read_text())) for p in out.rglob("resources.json"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--regions", type=int, default=4, choices=range(1, len(ALL_REGIONS) + 1))
    parser.add_argument("--instances", type=int, default=3, help="per account-region")
    parser.add_argument("--models", type=int, default=2, help="Bedrock models per account-region")
    parser.add_argument("--workers", type=int, default=16, help="computewatch aws.max_workers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-c7n", action="store_true", help="computewatch only")
    parser.add_argument(
        "--c7n-org",
        default=str(Path(sys.executable).parent / "c7n-org"),
        help="the c7n-org command (installed in a virtual environment of its own)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--as-computewatch", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    regions = ALL_REGIONS[: args.regions]
    if args.serve:
        serve(args.accounts, regions, args.instances, args.models)
        return
    if args.as_computewatch:
        config = Path(args.as_computewatch[0])
        run_computewatch(config, args.as_computewatch[1], config.parent / "out")
        return

    started = time.perf_counter()
    seeding = ["--accounts", str(args.accounts), "--regions", str(args.regions)]
    seeding += ["--instances", str(args.instances), "--models", str(args.models)]
    server = subprocess.Popen(
        [sys.executable, str(HERE), "--serve", *seeding],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    org = json.loads(server.stdout.readline())
    print(f"seeded in {time.perf_counter() - started:.0f} s (not measured)", flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_ENDPOINT_URL": org["endpoint"],
        "AWS_ACCESS_KEY_ID": org["key"],
        "AWS_SECRET_ACCESS_KEY": org["secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "C7N_ORG_PARALLEL": env.get("C7N_ORG_PARALLEL", str((os.cpu_count() or 1) * 4)),
    }
    tools = ["computewatch"] if args.no_c7n else ["computewatch", "c7n-org"]
    results: dict[str, list[Measured]] = {t: [] for t in tools}
    expected = args.accounts * len(regions) * args.instances
    try:
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            write_inputs(tmp, org, regions, args.workers)
            for r in range(args.rounds):
                for tool in tools if r % 2 == 0 else tools[::-1]:
                    shutil.rmtree(tmp / "c7n-out", ignore_errors=True)
                    (tmp / "cw.db").unlink(missing_ok=True)
                    if tool == "computewatch":
                        m = measure(computewatch_cmd(tmp, org["month"]), env, server.pid)
                        found = json.loads(m.stdout.strip().splitlines()[-1])
                        assert found["instances"] == expected, found
                    else:
                        m = measure(c7n_cmd(args.c7n_org, tmp, regions), env, server.pid)
                        found = {"instances": c7n_instances(tmp / "c7n-out")}
                        assert found["instances"] == expected, found
                    results[tool].append(m)
                    print(
                        f"round {r + 1} {tool:<12} wall {m.wall:6.1f} s  CPU {m.cpu:6.1f} s  "
                        f"peak {m.peak_mib:6.0f} MiB  moto CPU {m.server_cpu:6.1f} s  "
                        f"instances {found['instances']}  load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
    finally:
        server.stdin.close()
        server.wait(timeout=60)
    report(args, regions, results)


def report(
    args: argparse.Namespace, regions: list[str], results: dict[str, list[Measured]]
) -> None:
    print(
        f"\n{args.accounts} accounts x {len(regions)} regions x {args.instances} instances, "
        f"{args.models} Bedrock models each; {args.rounds} rounds, medians:"
    )
    med = {
        tool: (
            statistics.median(m.wall for m in ms),
            statistics.median(m.cpu for m in ms),
            statistics.median(m.peak_mib for m in ms),
            statistics.median(m.server_cpu for m in ms),
        )
        for tool, ms in results.items()
    }
    for tool, (wall, cpu, peak, moto) in med.items():
        print(
            f"  {tool:<12} wall {wall:6.1f} s  CPU {cpu:6.1f} s  peak {peak:6.0f} MiB  "
            f"moto CPU {moto:6.1f} s"
        )
    if "c7n-org" in med:
        (cw, c7) = med["computewatch"], med["c7n-org"]
        print(
            f"  ratio computewatch / c7n-org: wall {cw[0] / c7[0]:.2f}, CPU {cw[1] / c7[1]:.2f}, "
            f"peak memory {cw[2] / c7[2]:.2f}"
        )
    last = json.loads(results["computewatch"][-1].stdout.strip().splitlines()[-1])
    units = args.accounts * len(regions)
    print(f"  computewatch: {last['records']} records, coverage {last['coverage']}")
    print("  stages: " + "; ".join(last["stages"]))
    print("  API calls by operation:")
    for op, n in sorted(last["api_calls"].items()):
        print(f"    {op:<45} {n:>7}  ({n / units:.2f} per account-region)")


if __name__ == "__main__":
    main()
