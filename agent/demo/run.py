"""The embedded demo: emulated AWS organization and Azure tenant, fictional scenario, full audit.

All names are fictional. The audited period is the last full calendar month before `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from computewatch.collectors.permissions import azure_actions
from computewatch.collectors.runner import Progress
from computewatch.demo.demo_exports import write_demo_exports
from computewatch.demo.emulated_aws import (
    MANAGEMENT_ACCOUNT,
    EmulatedAws,
    InstanceSpec,
    MemberSpec,
    SeededOrg,
    aws_environment,
)
from computewatch.demo.emulated_aws_usage import (
    ModelUsage,
    TrainingJobSpec,
    seed_bedrock_tokens,
    seed_customization_job,
    seed_target,
    seed_training_job,
)
from computewatch.demo.emulated_azure import (
    CognitiveAccountSpec,
    DailyUsage,
    DeploymentSpec,
    EmulatedAzure,
    ScaleSetSpec,
    SubscriptionSpec,
    TenantSpec,
    VmSpec,
)
from computewatch.demo.registry import demo_customers
from computewatch.domain import Window
from computewatch.domain.shipped import shipped
from computewatch.pipeline.audit import AuditOutcome, AuditRequest, run_audit
from computewatch.pipeline.loading import load_config

REGIONS = ["us-east-1", "us-west-2"]
DEMO_RULE_FILES = ("example.yaml", "reference-thresholds.yaml", "internal-policy.yaml")
AZURE_SECRET_ENV = "COMPUTEWATCH_DEMO_AZURE_SECRET"  # noqa: S105 - a variable's name


def scenario(period: Window) -> list[MemberSpec]:
    """Five member accounts: one over the 3A090 threshold, one that denies the audit role."""
    p = period.start

    def at(days: float) -> datetime:
        return p + timedelta(days=days)

    return [
        MemberSpec(
            "aurora-frontier-research",
            (InstanceSpec("p5.48xlarge", "us-east-1", at(-5), count=2),),
        ),
        MemberSpec(
            "meridian-genomics",
            (
                InstanceSpec("p4d.24xlarge", "us-west-2", at(9), stopped=at(19)),
                InstanceSpec("g5.xlarge", "us-east-1", at(2)),
            ),
        ),
        MemberSpec(
            "kestrel-analytics",
            (
                InstanceSpec("trn1.32xlarge", "us-east-1", at(14)),
                InstanceSpec("g5.12xlarge", "us-west-2", at(20), stopped=at(27)),
            ),
        ),
        MemberSpec(
            # Its audit role lacks ec2:DescribeInstances: a real AccessDenied from the emulator.
            "halcyon-media",
            (InstanceSpec("p5.48xlarge", "us-west-2", at(3)),),
            allowed_actions=("ec2:DescribeInstanceTypes", "ec2:DescribeRegions"),
        ),
        MemberSpec("quiet-ledger-finance"),
        # Nobody is registered for this account: its H100 usage is a know-your-customer finding.
        MemberSpec("atlas-render-farm", (InstanceSpec("p5.4xlarge", "us-east-1", at(11)),)),
    ]


# Daily Bedrock traffic per member: (region, models); the demo's CUR bills the same.
BEDROCK_USAGE: dict[str, tuple[str, list[ModelUsage]]] = {
    "kestrel-analytics": (
        "us-east-1",
        [
            ModelUsage("anthropic.claude-3-5-sonnet-20241022-v2:0", 1_200_000, 240_000, 900),
            ModelUsage("meta.llama3-1-70b-instruct-v1:0", 400_000, 90_000, 350),
        ],
    ),
    "meridian-genomics": (
        "us-west-2",
        [ModelUsage("amazon.titan-embed-text-v2:0", 2_500_000, 0, 5_000)],
    ),
}


def seed_aws_usage(cloud: EmulatedAws, org: SeededOrg, period: Window) -> None:
    """Bedrock tokens, fine-tuning and SageMaker training, and Cost Explorer billing history."""
    kestrel = seed_target(cloud, org.members["kestrel-analytics"], "us-east-1")
    meridian = seed_target(cloud, org.members["meridian-genomics"], "us-west-2")
    for member, (region, models) in BEDROCK_USAGE.items():
        seed_bedrock_tokens(cloud, seed_target(cloud, org.members[member], region), period, models)
    seed_customization_job(
        cloud,
        kestrel,
        "kestrel-support-tune",
        "meta.llama3-1-70b-instruct-v1:0",
        period.start + timedelta(days=6),
        period.start + timedelta(days=7),
    )
    seed_training_job(
        cloud,
        meridian,
        TrainingJobSpec(
            "protein-fold-pretrain",
            "ml.p4d.24xlarge",
            period.start + timedelta(days=21),
            period.start + timedelta(days=22, hours=12),
            instance_count=2,
            billable_seconds=36 * 3600,
        ),
    )
    cloud.inject_cost_and_usage([cost_explorer_history(org, period)])


def cost_explorer_history(org: SeededOrg, period: Window) -> dict[str, object]:
    """Daily billed hours: the H100 fleet all month; the A100 instance also on two days before its
    last start (which the inventory cannot see, so the report shows a variance)."""
    aurora, meridian = org.members["aurora-frontier-research"], org.members["meridian-genomics"]
    kestrel = org.members["kestrel-analytics"]
    results = []
    for day in period.day_windows():
        offset = (day.start - period.start).days
        groups: list[list[object]] = [[aurora, "p5.48xlarge", 48.0]]
        if offset in (4, 5) or 9 <= offset < 19:
            groups.append([meridian, "p4d.24xlarge", 24.0])
        if offset >= 2:
            groups.append([meridian, "g5.xlarge", 24.0])
        if offset >= 14:
            groups.append([kestrel, "trn1.32xlarge", 24.0])
        if 20 <= offset < 27:
            groups.append([kestrel, "g5.12xlarge", 24.0])
        results.append(
            {
                "TimePeriod": {
                    "Start": day.start.date().isoformat(),
                    "End": day.end.date().isoformat(),
                },
                "Groups": [
                    {
                        "Keys": [a, t],
                        "Metrics": {"UsageQuantity": {"Amount": str(h), "Unit": "Hrs"}},
                    }
                    for a, t, h in groups
                ],
                "Total": {},
                "Estimated": False,
            }
        )
    return {"ResultsByTime": results, "DimensionValueAttributes": []}


def azure_scenario(period: Window, granted: tuple[str, ...]) -> TenantSpec:
    """Three subscriptions: H100/A100 training with an AKS GPU pool, Azure OpenAI apps, and one
    that answers 403. The readable two grant exactly the shipped custom role's actions."""
    p = period.start

    def at(days: float) -> datetime:
        return p + timedelta(days=days)

    def usage(inp: int, out: int, req: int) -> tuple[DailyUsage, ...]:
        # A weekly rhythm: weekdays between 80 % and 120 % of the base, weekends at 40 %.
        days = [d.start.date() for d in period.day_windows()]
        scale = {d: 4 if d.weekday() >= 5 else 8 + d.day % 5 for d in days}
        return tuple(
            DailyUsage(d, inp * scale[d] // 10, out * scale[d] // 10, req * scale[d] // 10)
            for d in days
        )

    training = SubscriptionSpec(
        "5d3b8f2e-6a41-4c97-b2d8-0e7f1a9c4b63",
        "borealis-ai-labs",
        vms=(
            VmSpec(
                "nd-h100-train-01",
                "Standard_ND96isr_H100_v5",
                "eastus",
                at(-20),
                ((at(-20), None),),
            ),
            VmSpec(
                "nd-h100-train-02",
                "Standard_ND96isr_H100_v5",
                "eastus",
                at(-20),
                ((at(-20), at(-15)), (at(6), at(16))),
            ),
            VmSpec(
                "nc-a100-notebook",
                "Standard_NC24ads_A100_v4",
                "westeurope",
                at(2),
                ((at(2), at(9)), (at(12.5), at(14))),
                stop_action="powerOff",
            ),
            VmSpec(
                "nv-a10-workstation",
                "Standard_NV12ads_A10_v5",
                "westeurope",
                at(-60),
                ((at(-60), None),),
            ),
            VmSpec("build-agent-01", "Standard_D4s_v5", "eastus", at(-90), ((at(-90), None),)),
        ),
        scale_sets=(
            ScaleSetSpec(
                "aks-gpu-nodepool",
                "Standard_NC48ads_A100_v4",
                "westeurope",
                capacity=4,
                created=at(-40),
                runs=((at(-40), at(-30)), (at(11), None)),
            ),
        ),
        allowed_actions=granted,
    )
    assistant = SubscriptionSpec(
        "a7c1e94b-2f3d-4e8a-9b61-c5d0f2e7a318",
        "cobalt-assist-prod",
        accounts=(
            CognitiveAccountSpec(
                "cobalt-openai-eus",
                "eastus",
                deployments=(
                    DeploymentSpec(
                        "chat-gpt4o", "gpt-4o", "2024-11-20", usage(1_400_000, 350_000, 4_200)
                    ),
                    DeploymentSpec(
                        "batch-mini", "gpt-4o-mini", "2024-07-18", usage(2_000_000, 400_000, 9_000)
                    ),
                    DeploymentSpec(
                        "embeddings", "text-embedding-3-large", "1", usage(900_000, 0, 3_000)
                    ),
                ),
            ),
            CognitiveAccountSpec(
                "cobalt-foundry-swe",
                "swedencentral",
                kind="AIServices",
                deployments=(
                    DeploymentSpec(
                        "reasoning", "o3-mini", "2025-01-31", usage(300_000, 600_000, 800)
                    ),
                ),
            ),
        ),
        allowed_actions=granted,
    )
    sandbox = SubscriptionSpec(
        # Visible to the auditor, but no role on it: every read answers 403 AuthorizationFailed.
        "e2b6d0f4-8c5a-4a1e-b7f3-19d4c6a8e052",
        "tundra-contractor-sandbox",
        vms=(VmSpec("gpu-box", "Standard_ND96isr_H100_v5", "eastus", at(-3), ((at(-3), None),)),),
        allowed_actions=("Microsoft.Resources/subscriptions/read",),
    )
    return TenantSpec("4f8e2a61-93c7-4d2b-a5e0-7b1c9d3f6e28", (training, assistant, sandbox))


@dataclass
class DemoResult:
    outcome: AuditOutcome
    config_path: Path
    window: Window


def write_demo_config(
    out_dir: Path,
    store_url: str,
    azure: EmulatedAzure | None = None,
    org: SeededOrg | None = None,
    exports: dict[str, object] | None = None,
) -> Path:
    cfg_dir = out_dir / "config"
    (cfg_dir / "rules").mkdir(parents=True, exist_ok=True)
    for name in DEMO_RULE_FILES:
        (cfg_dir / "rules" / name).write_text(
            shipped("rules", name).read_text("utf-8"), encoding="utf-8"
        )
    if org is not None:
        (cfg_dir / "customers.yaml").write_text(
            yaml.safe_dump(demo_customers(org.members), sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
    config = {
        "version": 1,
        "reporting_entity": {"name": "Northwind Cloud Resale Ltd. (fictional)"},
        "store": {"url": store_url},
        "aws": {
            "regions": REGIONS,
            # The management account runs no workloads here; excluding it is the usual practice.
            "organization": {
                "role_name": "ComputewatchReadOnly",
                "exclude_accounts": [MANAGEMENT_ACCOUNT],
            },
            "max_workers": 4,
        },
        "rules": [f"rules/{name}" for name in DEMO_RULE_FILES],
        **({"customers": "customers.yaml"} if org is not None else {}),
        "reports": {
            "formats": ["html", "md", "json", "pdf", "csv", "xlsx"],
            "out_dir": str(out_dir / "reports"),
        },
        # The demo writes the monthly e-mail as an .eml file (a dry run); nothing is sent.
        "mail": {
            "host": "smtp.northwind.example",
            "sender": "compliance-reports@northwind.example",
            "sender_name": "Northwind compliance (computewatch)",
            "recipients": {"monthly": ["export-control@northwind.example"]},
        },
    }
    if azure is not None:
        config["azure"] = {
            "cloud": azure.cloud_config(),
            "credential": azure.credential_config(AZURE_SECRET_ENV),
            "max_workers": 4,
        }
    if exports is not None:
        config["exports"] = exports
    path = cfg_dir / "computewatch.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_demo(
    out_dir: Path, now: datetime, progress: Progress | None = None, *, full: bool = True
) -> DemoResult:
    """Seed both emulated clouds and audit the last full month. `full=False` writes only the
    JSON report (no bundle, PDFs or e-mail): what the golden-report test compares."""
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "computewatch.db"
    if db.exists():
        db.unlink()  # the demo starts from an empty store each time
    window = Window.previous_month(now)
    granted = azure_actions()
    cloud = EmulatedAws().start()
    tenant = azure_scenario(window, granted)
    azure = EmulatedAzure(tenant)
    try:
        azure.start()
        members = scenario(window)
        org = cloud.seed_organization(members)
        seed_aws_usage(cloud, org, window)
        cloud.enforce_iam()
        exports = write_demo_exports(
            out_dir / "exports",
            members,
            org,
            tenant,
            window,
            cost_explorer_history(org, window),
            BEDROCK_USAGE,
        )
        config_path = write_demo_config(out_dir, f"sqlite:///{db}", azure, org, exports)
        config = load_config(config_path)
        with (
            aws_environment(cloud.endpoint, org.auditor_key_id, org.auditor_secret),
            azure.secret_environment(AZURE_SECRET_ENV),
        ):
            outcome = run_audit(
                config,
                AuditRequest(
                    window=window,
                    now=now,
                    out_dir=out_dir / "reports",
                    formats=["html", "md", "json", "pdf", "csv", "xlsx"] if full else ["json"],
                    progress=progress,
                    bundle=full,
                    mail="dry-run" if full else "off",
                ),
            )
    finally:
        azure.stop()
        cloud.stop()
    return DemoResult(outcome, config_path, window)
